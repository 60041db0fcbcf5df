//! A profile resolved from the config: preset + the profile's own keys + command-line
//! overrides, with every default filled in. Everything after this step reads a [`Profile`],
//! never the raw config.

use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::config::{AuthMechanism, DkimConfig, LoadedConfig, ProfileConfig, Security};
use crate::error::{Error, ErrorKind, Result};
use crate::provider;

/// A secret (password or token). Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    /// The secret itself, for the one place that needs it: the AUTH exchange.
    pub fn expose(&self) -> &str {
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
pub enum PasswordSource {
    /// Written in the config file.
    Plain(Secret),
    /// Read from this environment variable.
    Env(String),
    /// The first line printed by this `sh -c` command.
    Command(String),
}

impl PasswordSource {
    /// How the password is obtained, for `rmail profiles`; never the value.
    pub fn describe(&self) -> String {
        match self {
            PasswordSource::Plain(_) => "password in config file".to_string(),
            PasswordSource::Env(var) => format!("environment variable ${var}"),
            PasswordSource::Command(cmd) => format!("command `{cmd}`"),
        }
    }

    /// Obtains the secret.
    pub fn fetch(&self, profile: &str) -> Result<Secret> {
        match self {
            PasswordSource::Plain(secret) => Ok(secret.clone()),
            PasswordSource::Env(var) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(Secret(value)),
                _ => Err(Error::config(format!(
                    "profile '{profile}': password_env names ${var}, which is not set; \
                     export it or change password_env"
                ))),
            },
            PasswordSource::Command(cmd) => run_password_command(profile, cmd),
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
    Ok(Secret(first))
}

/// A fully resolved SMTP account.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// The preset this profile started from, if any.
    pub provider: Option<&'static provider::Preset>,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// `None`: the first of PLAIN, LOGIN that the server offers.
    pub auth: Option<AuthMechanism>,
    pub username: Option<String>,
    pub password: Option<PasswordSource>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub hello_name: Option<String>,
    pub max_per_second: Option<f64>,
    pub concurrency: usize,
    /// `sha256:` + hex of the certificate the server must present.
    pub tls_fingerprint: Option<String>,
    /// DKIM key and identity; the key file is read by `dkim::Signer::from_profile`.
    pub dkim: Option<DkimConfig>,
}

/// Used when no `timeout_secs` is set: long enough for a slow relay, short enough for cron.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Profile {
    /// Resolves the entry `name` of the config.
    fn resolve(loaded: &LoadedConfig, name: &str, entry: &ProfileConfig) -> Result<Profile> {
        let preset = match &entry.provider {
            Some(p) => Some(provider::find(p.get_ref()).ok_or_else(|| {
                Error::config(format!(
                    "config file {}: profile '{name}': unknown provider '{}'; known providers: {}",
                    loaded.locate_span(p),
                    p.get_ref(),
                    provider::names()
                ))
            })?),
            None => None,
        };
        let in_profile = |what: &str| {
            format!(
                "config file {}: profile '{name}': {what}",
                loaded.describe_path()
            )
        };
        let host = entry
            .host
            .clone()
            .or_else(|| preset.map(|p| p.host.to_string()))
            .ok_or_else(|| {
                Error::config(in_profile(&format!(
                    "no host; set host = \"smtp.example.com\" or provider = one of {}",
                    provider::names()
                )))
            })?;
        let security = entry
            .security
            .or(preset.map(|p| p.security))
            .unwrap_or_default();
        // A preset's port belongs to its security mode: overriding one without the other
        // would pair 465 with STARTTLS.
        let port = entry
            .port
            .or(preset
                .filter(|p| entry.security.is_none() || entry.security == Some(p.security))
                .map(|p| p.port))
            .unwrap_or(security.default_port());

        let sources = [
            entry
                .password
                .clone()
                .map(|p| PasswordSource::Plain(Secret(p))),
            entry.password_env.clone().map(PasswordSource::Env),
            entry.password_command.clone().map(PasswordSource::Command),
        ];
        let mut sources = sources.into_iter().flatten();
        let password = sources.next();
        if sources.next().is_some() {
            return Err(Error::config(in_profile(
                "set only one of password, password_env, password_command",
            )));
        }
        if password.is_some() && entry.username.is_none() {
            return Err(Error::config(in_profile(
                "a password is set but no username; add username = \"…\"",
            )));
        }
        if entry.auth == Some(AuthMechanism::Xoauth2)
            && !matches!(password, Some(PasswordSource::Command(_)))
        {
            return Err(Error::config(in_profile(
                "auth = \"xoauth2\" takes the access token from password_command; set password_command",
            )));
        }
        if entry.concurrency == Some(0) {
            return Err(Error::config(in_profile("concurrency must be at least 1")));
        }
        if let Some(rate) = entry.max_per_second
            && !(rate > 0.0 && rate.is_finite())
        {
            return Err(Error::config(in_profile(
                "max_per_second must be a positive number",
            )));
        }
        if entry.timeout_secs == Some(0) {
            return Err(Error::config(in_profile("timeout_secs must be at least 1")));
        }
        let tls_fingerprint = entry
            .tls_fingerprint
            .as_deref()
            .map(|f| normalize_fingerprint(f).ok_or_else(|| {
                Error::config(in_profile(
                    "tls_fingerprint must be sha256: followed by 64 hex digits (as `rmail check` prints it)",
                ))
            }))
            .transpose()?;
        Ok(Profile {
            name: name.to_string(),
            provider: preset,
            host,
            port,
            security,
            auth: entry.auth,
            username: entry.username.clone(),
            password,
            from: entry.from.clone(),
            reply_to: entry.reply_to.clone(),
            ca_file: entry.ca_file.clone(),
            timeout: entry
                .timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_TIMEOUT),
            hello_name: entry.hello_name.clone(),
            max_per_second: entry.max_per_second,
            concurrency: entry.concurrency.unwrap_or(1),
            tls_fingerprint,
            dkim: entry.dkim.clone(),
        })
    }

    /// Fetches the password, if the profile logs in at all.
    pub fn secret(&self) -> Result<Option<Secret>> {
        self.password
            .as_ref()
            .map(|source| source.fetch(&self.name))
            .transpose()
    }
}

/// `sha256:AB:CD…`, `AB:CD…` or plain hex → `sha256:abcd…`.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex = text.trim();
    let hex = hex
        .strip_prefix("sha256:")
        .or_else(|| hex.strip_prefix("SHA256:"))
        .unwrap_or(hex);
    let hex: String = hex
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// Picks the profile to use: `requested` (the `-p` flag or `$RMAIL_PROFILE`), else the
/// config's `default_profile`, else the only profile there is. `Ok(None)` means there is
/// no profile at all and none was asked for.
pub fn select(loaded: &LoadedConfig, requested: Option<&str>) -> Result<Option<Profile>> {
    let profiles = &loaded.config.profiles;
    // `RMAIL_PROFILE=` (set but empty) means no choice, as for the other variables.
    let requested = requested.filter(|name| !name.is_empty());
    let name = match requested {
        Some(name) => name.to_string(),
        None => match &loaded.config.default_profile {
            Some(name) => {
                if !profiles.contains_key(name.get_ref()) {
                    return Err(Error::config(format!(
                        "config file {}: default_profile '{}' is not defined; profiles: {}",
                        loaded.locate_span(name),
                        name.get_ref(),
                        list(loaded)
                    )));
                }
                name.get_ref().clone()
            }
            None if profiles.is_empty() => return Ok(None),
            None if profiles.len() == 1 => profiles.keys().next().cloned().unwrap_or_default(),
            None => {
                return Err(Error::config(format!(
                    "config file {}: several profiles and no default_profile; pick one with -p ({})",
                    loaded.describe_path(),
                    list(loaded)
                )));
            }
        },
    };
    let entry = profiles.get(&name).ok_or_else(|| {
        let known = if profiles.is_empty() {
            format!("{} defines no profiles", loaded.describe_path())
        } else {
            format!("profiles in {}: {}", loaded.describe_path(), list(loaded))
        };
        Error::new(
            ErrorKind::Config,
            format!("unknown profile '{name}'; {known}"),
        )
    })?;
    Profile::resolve(loaded, &name, entry).map(Some)
}

/// Resolves every profile, for `rmail profiles`.
pub fn all(loaded: &LoadedConfig) -> Result<Vec<Profile>> {
    loaded
        .config
        .profiles
        .iter()
        .map(|(name, entry)| Profile::resolve(loaded, name, entry))
        .collect()
}

fn list(loaded: &LoadedConfig) -> String {
    loaded
        .config
        .profiles
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn load(text: &str) -> LoadedConfig {
        config::parse(PathBuf::from("t.toml"), text.to_string()).unwrap()
    }

    #[test]
    fn preset_fills_host_port_security() {
        let cfg = load(
            "[profiles.q]\nprovider = \"qq\"\nusername = \"1@qq.com\"\npassword_env = \"X\"\n",
        );
        let p = select(&cfg, Some("q")).unwrap().unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.security),
            ("smtp.qq.com", 465, Security::Tls)
        );
    }

    #[test]
    fn overriding_security_drops_preset_port() {
        let cfg = load("[profiles.q]\nprovider = \"gmail\"\nsecurity = \"tls\"\n");
        let p = select(&cfg, None).unwrap().unwrap();
        assert_eq!((p.port, p.security), (465, Security::Tls));
    }

    #[test]
    fn unknown_provider_names_line() {
        let cfg = load("[profiles.q]\n\nprovider = \"gmial\"\n");
        let err = select(&cfg, None).unwrap_err();
        assert!(err.message().contains("t.toml:3"), "{err}");
        assert!(err.message().contains("gmail"), "{err}");
    }

    #[test]
    fn empty_request_means_default() {
        let cfg = load(
            "default_profile = \"a\"\n[profiles.a]\nhost = \"h\"\n[profiles.b]\nhost = \"i\"\n",
        );
        assert_eq!(select(&cfg, Some("")).unwrap().unwrap().name, "a");
    }

    #[test]
    fn unknown_profile() {
        let cfg = load("[profiles.a]\nhost = \"h\"\n");
        let err = select(&cfg, Some("b")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("unknown profile 'b'"), "{err}");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s} {s:?}"), "(redacted) (redacted)");
        let cfg = load("[profiles.a]\nhost = \"h\"\nusername = \"u\"\npassword = \"hunter2\"\n");
        let p = select(&cfg, None).unwrap().unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn password_command_first_line() {
        let src = PasswordSource::Command("printf 'tok en\\nmeta: x\\n'".into());
        assert_eq!(src.fetch("p").unwrap().expose(), "tok en");
    }

    #[test]
    fn fingerprints_normalize() {
        let hex = "AB".repeat(32);
        assert_eq!(
            normalize_fingerprint(&format!("sha256:{hex}")).unwrap(),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert!(normalize_fingerprint("sha256:abc").is_none());
    }
}
