//! `rmail login`: the OAuth2 flow of a profile with an `oauth` table.

use clap::Args;

/// Options of `rmail login`.
#[derive(Debug, Args, Clone, Default)]
pub struct LoginArgs {
    /// Print the authorization URL (alone on one line of stderr) instead of opening a browser
    #[arg(long)]
    pub no_browser: bool,
}
