//! Secrets (passwords, tokens) and where they come from. A [`Secret`] never prints its
//! value; a [`PasswordSource`] is only asked for it when a connection needs it.

use std::fmt;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A secret (password or token). Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: String) -> Self {
        Secret(value)
    }
    /// The secret itself, for the one place that needs it: the AUTH exchange.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// Where a profile's password comes from. It is only fetched when a connection needs it,
/// so `--dry-run` and `rmail profiles` never run a password command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PasswordSource {
    /// Written in the config file.
    Plain(Secret),
    /// Read from this environment variable.
    Env(String),
    /// The first line printed by this `sh -c` command.
    Command(String),
    /// An OAuth 2.0 access token rmail obtains itself (`rmail login`, then refreshed).
    OAuth(Box<crate::oauth::OAuthSettings>),
}

impl PasswordSource {
    /// How the password is obtained, for `rmail profiles`; never the value.
    pub(crate) fn describe(&self) -> String {
        match self {
            PasswordSource::Plain(_) => "password in config file".to_string(),
            PasswordSource::Env(var) => format!("environment variable ${var}"),
            PasswordSource::Command(cmd) => format!("command `{cmd}`"),
            PasswordSource::OAuth(settings) => format!(
                "OAuth2 access token (flow {}, client {}; tokens in {})",
                settings.flow.as_str(),
                settings.client_id,
                settings
                    .token_dir
                    .join(format!("{}.json", settings.profile))
                    .display()
            ),
        }
    }

    /// Obtains the secret.
    pub(crate) fn fetch(&self, profile: &str) -> Result<Secret> {
        match self {
            PasswordSource::Plain(secret) => Ok(secret.clone()),
            PasswordSource::Env(var) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
                _ => Err(Error::config(format!(
                    "profile '{profile}': password_env names ${var}, which is not set; \
                     export it or change password_env"
                ))),
            },
            PasswordSource::Command(cmd) => run_password_command(profile, cmd),
            PasswordSource::OAuth(settings) => crate::oauth::access_token(settings),
        }
    }
}

fn run_password_command(profile: &str, cmd: &str) -> Result<Secret> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            Error::config(format!(
                "profile '{profile}': cannot run password_command: {e}"
            ))
        })?;
    if !output.status.success() {
        return Err(Error::config(format!(
            "profile '{profile}': password_command `{cmd}` failed ({}); run it by hand to see why",
            output.status
        )));
    }
    let text = String::from_utf8(output.stdout).map_err(|_| {
        Error::config(format!(
            "profile '{profile}': password_command `{cmd}` printed something that is not UTF-8"
        ))
    })?;
    // `pass show` prints the password on the first line, metadata after it.
    let first = text.lines().next().unwrap_or("").to_string();
    if first.is_empty() {
        return Err(Error::config(format!(
            "profile '{profile}': password_command `{cmd}` printed nothing"
        )));
    }
    Ok(Secret::new(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "(redacted) (redacted)");
    }

    #[test]
    fn password_command_first_line() {
        let src = PasswordSource::Command("printf 'tok en\\nmeta: x\\n'".into());
        assert_eq!(src.fetch("p").unwrap().expose(), "tok en");
    }
}
