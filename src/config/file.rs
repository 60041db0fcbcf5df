//! Finding and parsing the TOML configuration file.
//!
//! This module only reads: it turns the file into typed structs and reports mistakes with
//! the file, line and key. Turning a profile entry into something that can send is
//! `profile.rs`'s job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::dirs;
use crate::config::profile::{AuthMechanism, DkimAlgorithm, SaveSent, Security};
use crate::error::{Error, Result};

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Profile used when neither `-p` nor `$RMAIL_PROFILE` names one.
    pub(crate) default_profile: Option<Spanned<String>>,
    /// Append one line per delivery attempt to this file (like msmtp's logfile).
    pub(crate) log_file: Option<PathBuf>,
    /// sendmail mode: where mail to a local name goes (`root = "ops@example.com"`);
    /// `default` catches every local name not listed. Like /etc/aliases.
    #[serde(default)]
    pub(crate) aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, ProfileConfig>,
}

/// One `[profiles.NAME]` table, as written; every key optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileConfig {
    pub(crate) provider: Option<Spanned<String>>,
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) security: Option<Security>,
    pub(crate) auth: Option<AuthMechanism>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) password_env: Option<String>,
    pub(crate) password_command: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) reply_to: Option<String>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) hello_name: Option<String>,
    pub(crate) max_per_second: Option<f64>,
    pub(crate) concurrency: Option<usize>,
    pub(crate) tls_fingerprint: Option<String>,
    pub(crate) dkim: Option<DkimConfig>,
    /// `auth = "xoauth2"` with tokens rmail obtains itself (`rmail login`).
    pub(crate) oauth: Option<OAuthConfig>,
    /// Keep a copy of each delivered message in the IMAP Sent mailbox.
    pub(crate) save_sent: Option<SaveSent>,
    /// The IMAP server for `save_sent`; a provider preset may fill it.
    pub(crate) imap: Option<ImapConfig>,
}

/// `[profiles.NAME.imap]`: where the copy in Sent goes. Unset keys come from the provider
/// preset (host, port, security) and from the profile (username, password, ca_file,
/// timeout_secs).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImapConfig {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) security: Option<Security>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) password_env: Option<String>,
    pub(crate) password_command: Option<String>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) timeout_secs: Option<u64>,
    /// The mailbox to use instead of the server's `\Sent` one.
    pub(crate) sent_folder: Option<String>,
}

/// The `[profiles.NAME.oauth]` table: rmail as an OAuth 2.0 client. A provider preset
/// (gmail, outlook) fills the endpoints and scopes.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuthConfig {
    /// The client id of the user's own app registration.
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) client_secret_env: Option<String>,
    pub(crate) flow: Option<OAuthFlow>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) auth_url: Option<String>,
    pub(crate) token_url: Option<String>,
    pub(crate) device_url: Option<String>,
    /// OpenID issuer: its discovery document fills the endpoints not given.
    pub(crate) issuer: Option<String>,
    /// Microsoft: the directory (tenant) in the endpoints; default "common".
    pub(crate) tenant: Option<String>,
    /// Replace the access token when less than this many seconds remain (default 600).
    pub(crate) refresh_before_secs: Option<u64>,
}

/// `flow = "auth-code" | "device" | "client-credentials"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OAuthFlow {
    AuthCode,
    Device,
    ClientCredentials,
}

/// `dkim = { domain, selector, private_key_file, algorithm }` in a profile: sign every
/// message sent with it (see `dkim.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DkimConfig {
    /// The signing domain (`d=`), normally the From address's domain.
    pub(crate) domain: String,
    /// The selector (`s=`): the public key is in DNS at `SELECTOR._domainkey.DOMAIN`.
    pub(crate) selector: String,
    /// PEM private key (PKCS#8, or PKCS#1 for RSA); `~/` is expanded.
    pub(crate) private_key_file: PathBuf,
    #[serde(default)]
    pub(crate) algorithm: DkimAlgorithm,
}

/// A parsed configuration and where it came from.
#[derive(Debug, Default)]
pub(crate) struct LoadedConfig {
    /// The file read, or `None` when no file exists (rmail still works for `--dry-run`).
    pub(crate) path: Option<PathBuf>,
    /// The file's text, kept to turn byte offsets into line numbers.
    source: String,
    pub(crate) config: Config,
    /// Problems worth telling the user that do not stop the command.
    pub(crate) warnings: Vec<String>,
}

/// Where the config file is looked for: `--config`, else `$RMAIL_CONFIG`, else
/// `$XDG_CONFIG_HOME/rmail/config.toml`, else `~/.config/rmail/config.toml`.
/// The flag says whether the path was asked for explicitly (then it must exist).
pub(crate) fn locate(flag: Option<&Path>) -> Option<(PathBuf, bool)> {
    if let Some(path) = flag {
        return Some((path.to_path_buf(), true));
    }
    if let Some(path) = std::env::var_os("RMAIL_CONFIG").filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(path), true));
    }
    let dir = crate::config::dirs::config_dir()?;
    Some((dir.join("config.toml"), false))
}

/// Finds and parses the configuration. A missing default file is not an error; a missing
/// file that was named explicitly is.
pub(crate) fn load(flag: Option<&Path>) -> Result<LoadedConfig> {
    let Some((path, explicit)) = locate(flag) else {
        return Ok(LoadedConfig::default());
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(LoadedConfig::default());
        }
        Err(err) => {
            return Err(Error::config(format!(
                "cannot read config file {}: {}",
                path.display(),
                if err.kind() == std::io::ErrorKind::NotFound {
                    "no such file (see config.example.toml for a starting point)".to_string()
                } else {
                    err.to_string()
                }
            )));
        }
    };
    parse(path, source)
}

/// Parses config text read from `path`.
pub(crate) fn parse(path: PathBuf, source: String) -> Result<LoadedConfig> {
    let config: Config = toml::from_str(&source).map_err(|err| {
        let offset = err.span().map(|s| s.start);
        let key = offset.and_then(|o| key_at(&source, o));
        let detail = if key.as_deref() == Some("password") {
            // serde's message quotes the offending value, which here is a secret.
            "must be a string".to_string()
        } else {
            err.message().trim().to_string()
        };
        let at = offset
            .map(|o| format!(":{}", line_of(&source, o)))
            .unwrap_or_default();
        let key = key.map(|k| format!(" key `{k}`:")).unwrap_or_default();
        Error::config(format!("config file {}{at}:{key} {detail}", path.display()))
    })?;
    let mut config = config;
    config.log_file = config.log_file.map(dirs::expand_home);
    for profile in config.profiles.values_mut() {
        profile.ca_file = profile.ca_file.take().map(dirs::expand_home);
        if let Some(dkim) = &mut profile.dkim {
            dkim.private_key_file = dirs::expand_home(std::mem::take(&mut dkim.private_key_file));
        }
    }
    let mut loaded = LoadedConfig {
        path: Some(path),
        source,
        config,
        warnings: Vec::new(),
    };
    loaded.warnings.extend(loaded.readable_password_warning());
    Ok(loaded)
}

impl LoadedConfig {
    /// "FILE:LINE" for a value read from this file, to point error messages at it.
    pub(crate) fn locate_span<T>(&self, value: &Spanned<T>) -> String {
        let file = self
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "config".into());
        format!("{file}:{}", line_of(&self.source, value.span().start))
    }

    /// The file name for messages, or a hint that there is none.
    pub(crate) fn describe_path(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => match locate(None) {
                Some((p, _)) => format!("{} (not found)", p.display()),
                None => "no config file".to_string(),
            },
        }
    }

    /// A plain `password` in a file that group or others can read deserves a warning.
    fn readable_password_warning(&self) -> Option<String> {
        let path = self.path.as_deref()?;
        let holder = self.config.profiles.iter().find(|(_, p)| {
            p.password.is_some() || p.oauth.as_ref().is_some_and(|o| o.client_secret.is_some())
        })?;
        let mode = file_mode(path)?;
        (mode & 0o077 != 0).then(|| {
            format!(
                "warning: {} holds a password (profile '{}') and can be read by other users; \
                 run: chmod 600 {}",
                path.display(),
                holder.0,
                path.display()
            )
        })
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

/// 1-based line number of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    source
        .get(..offset)
        .map(|before| before.matches('\n').count() + 1)
        .unwrap_or(1)
}

/// The key written on the line holding `offset` (`port` for `port = "x"`), if any.
fn key_at(source: &str, offset: usize) -> Option<String> {
    let start = source.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = source.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<LoadedConfig> {
        parse(PathBuf::from("test.toml"), text.to_string())
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse_str("[profiles.a]\nhost = \"x\"\nprot = 25\n").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(
            err.message().starts_with("config file test.toml:3:"),
            "{err}"
        );
        assert!(err.message().contains("prot"), "{err}");
        assert!(!err.message().contains('\n'), "{err}");
    }

    #[test]
    fn type_error_names_key() {
        let err = parse_str("[profiles.a]\nport = \"abc\"\n").unwrap_err();
        assert!(err.message().contains(":2:"), "{err}");
        assert!(err.message().contains("key `port`"), "{err}");
    }

    #[test]
    fn password_type_error_does_not_echo_the_value() {
        let err = parse_str("[profiles.a]\npassword = 987654321\n").unwrap_err();
        assert!(!err.message().contains("987654321"), "{err}");
        assert!(err.message().contains("key `password`"), "{err}");
    }

    #[test]
    fn security_values() {
        let cfg =
            parse_str("[profiles.a]\nsecurity = \"tls\"\n[profiles.b]\nsecurity = \"none\"\n")
                .unwrap();
        assert_eq!(cfg.config.profiles["a"].security, Some(Security::Tls));
        assert_eq!(cfg.config.profiles["b"].security, Some(Security::None));
        assert!(parse_str("[profiles.a]\nsecurity = \"ssl\"\n").is_err());
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../config.example.toml");
        let cfg = parse_str(text).unwrap();
        assert!(!cfg.config.profiles.is_empty());
        // Every key a profile can take appears in the example, so the example documents them all.
        for key in [
            "provider",
            "host",
            "port",
            "security",
            "auth",
            "username",
            "password",
            "password_env",
            "password_command",
            "from",
            "reply_to",
            "ca_file",
            "timeout_secs",
            "hello_name",
            "max_per_second",
            "concurrency",
            "tls_fingerprint",
            "dkim",
            "save_sent",
            "sent_folder",
            "default_profile",
            "log_file",
            "aliases",
            "oauth",
            "client_id",
            "client_secret",
            "client_secret_env",
            "flow",
            "scopes",
            "auth_url",
            "token_url",
            "device_url",
            "issuer",
            "tenant",
            "refresh_before_secs",
        ] {
            assert!(
                text.lines().any(|l| l
                    .trim_start()
                    .trim_start_matches('#')
                    .trim_start()
                    .starts_with(&format!("{key} ="))),
                "config.example.toml does not document `{key}`"
            );
        }
    }
}
