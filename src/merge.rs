//! `rmail merge`: one personalised message per data row.

use crate::cli::{GlobalArgs, MergeArgs};
use crate::config::LoadedConfig;
use crate::error::{Error, Result};

/// Runs a merge.
pub fn run(_global: &GlobalArgs, _config: &LoadedConfig, _args: &MergeArgs) -> Result<()> {
    Err(Error::usage("rmail merge is not implemented yet"))
}
