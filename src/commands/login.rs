//! `rmail login`: run a profile's OAuth2 flow once and store the tokens. The person is told
//! what to do on stderr (the URL or the device code, each on a line of its own); the outcome
//! (who, until when) goes to stdout. No token is ever printed.

use std::time::Duration;

use crate::commands::write_stdout;
use crate::error::Result;
use crate::oauth::{self, Flow, LoginOptions, Prompt};
use crate::report::Report;
use crate::settings::LoginRequest;
use crate::time::timestamp;

/// How long rmail waits for the person to finish signing in.
const LOGIN_WAIT: Duration = Duration::from_secs(600);

pub(crate) fn run(request: LoginRequest) -> Result<Report> {
    let LoginRequest {
        profile,
        oauth: settings,
        no_browser,
    } = request;
    let options = LoginOptions {
        no_browser,
        wait: LOGIN_WAIT,
    };
    let info = oauth::login(&settings, &options, &mut |prompt| match prompt {
        Prompt::BrowserOpened { url } => eprintln!(
            "rmail: sign in in the browser that opened; if none did, open this URL on this machine:\n{url}"
        ),
        Prompt::OpenUrl { url } => {
            eprintln!("rmail: open this URL in a browser on this machine and sign in:\n{url}")
        }
        Prompt::Device {
            verification_uri,
            user_code,
            expires_in,
        } => eprintln!(
            "rmail: on any device, open the page below and enter the code under it \
             (within {} minutes):\n{verification_uri}\n{user_code}",
            expires_in.as_secs().div_ceil(60)
        ),
    })?;
    let who = profile.username.as_deref().unwrap_or("?");
    let until = info
        .expires_at
        .map(|t| format!("valid until {}", timestamp(t)))
        .unwrap_or_else(|| "valid until the server says otherwise".to_owned());
    let renewal = match (settings.flow, info.refreshable) {
        (Flow::ClientCredentials, _) => "a new app token is fetched when needed",
        (_, true) => "it renews itself with the stored refresh token",
        (_, false) => {
            "the server gave no refresh token (is offline_access among the scopes?): \
             log in again when it expires"
        }
    };
    let text = format!(
        "logged in: profile {} as {who}; access token {until}, scopes {}; {renewal}\n",
        profile.name,
        info.scopes.join(" "),
    );
    write_stdout(|out| out.write_all(text.as_bytes()))?;
    Ok(Report::default())
}
