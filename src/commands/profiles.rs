//! `rmail profiles`: every profile resolved, passwords never shown.

use crate::commands::write_stdout;
use crate::error::Result;
use crate::report::{Report, listing};
use crate::settings::ProfilesRequest;

pub(crate) fn run(request: ProfilesRequest) -> Result<Report> {
    let text = if request.profiles.is_empty() {
        format!(
            "no profiles in {}; see config.example.toml\n",
            request.config_path
        )
    } else {
        listing::profiles(&request.profiles, request.default.as_deref())
    };
    write_stdout(|out| out.write_all(text.as_bytes()))?;
    Ok(Report::default())
}
