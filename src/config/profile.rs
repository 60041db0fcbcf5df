//! A profile resolved from the config: preset + the profile's own keys + command-line
//! overrides, with every default filled in. Everything after this step reads a [`Profile`],
//! never the raw config.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::file::{ImapConfig, LoadedConfig, ProfileConfig};
use crate::config::secret::{PasswordSource, Secret};
use crate::config::{oauth, provider};
use crate::error::{Error, ErrorKind, Result};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Security {
    /// Plain connection upgraded with STARTTLS; a server without STARTTLS is an error.
    #[default]
    Starttls,
    /// Implicit TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a trusted local relay.
    None,
}

impl Security {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Security::Starttls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }

    /// The usual port for this mode.
    pub(crate) fn default_port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// The SASL mechanism used to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuthMechanism {
    Plain,
    Login,
    /// OAuth 2 bearer token, taken from `password_command`.
    Xoauth2,
}

impl AuthMechanism {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "plain",
            AuthMechanism::Login => "login",
            AuthMechanism::Xoauth2 => "xoauth2",
        }
    }
}

/// The DKIM signature algorithm; the key in `private_key_file` must be of this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub(crate) enum DkimAlgorithm {
    /// RSA (2048 bits or more) with SHA-256: what every verifier understands.
    #[default]
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
    /// Ed25519 with SHA-256 (RFC 8463); usually sent alongside an RSA signature.
    #[serde(rename = "ed25519-sha256")]
    Ed25519Sha256,
}

impl DkimAlgorithm {
    /// The name as written in the config and in the signature's `a=` tag.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DkimAlgorithm::RsaSha256 => "rsa-sha256",
            DkimAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }
}

/// A profile's DKIM identity and key (`dkim = { … }`); the key file is read by
/// `mime::dkim::Signer::from_profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dkim {
    /// The signing domain (`d=`).
    pub(crate) domain: String,
    /// The selector (`s=`).
    pub(crate) selector: String,
    pub(crate) private_key_file: PathBuf,
    pub(crate) algorithm: DkimAlgorithm,
}

/// `save_sent = true | false | "always"`: whether `send` keeps a copy in Sent. `true` adds
/// none for a provider that keeps its own copy of SMTP-submitted mail (Gmail, Outlook…);
/// `"always"` adds one anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SaveSent {
    #[default]
    No,
    Yes,
    Always,
}

impl<'de> Deserialize<'de> for SaveSent {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SaveSent;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or \"always\"")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<SaveSent, E> {
                Ok(if v { SaveSent::Yes } else { SaveSent::No })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<SaveSent, E> {
                match v {
                    "always" => Ok(SaveSent::Always),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A fully resolved SMTP account.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    pub(crate) name: String,
    /// The preset this profile started from, if any.
    pub(crate) provider: Option<&'static provider::Preset>,
    pub(crate) server: Endpoint,
    /// `None`: the first of PLAIN, LOGIN that the server offers.
    pub(crate) auth: Option<AuthMechanism>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<PasswordSource>,
    pub(crate) from: Option<String>,
    pub(crate) reply_to: Option<String>,
    pub(crate) hello_name: Option<String>,
    pub(crate) max_per_second: Option<f64>,
    pub(crate) concurrency: usize,
    /// `sha256:` + hex of the certificate the server must present.
    pub(crate) tls_fingerprint: Option<String>,
    /// DKIM key and identity; the key file is read by `dkim::Signer::from_profile`.
    pub(crate) dkim: Option<Dkim>,
    /// The config file the profile was read from (absolute), recorded with a message kept
    /// in the outbox so that `queue flush` finds the same profile without `--config`.
    pub(crate) config_file: Option<PathBuf>,
    /// `save_sent`: whether `send` keeps a copy in the IMAP Sent mailbox.
    pub(crate) save_sent: SaveSent,
    /// The IMAP server for that copy, when the profile or its preset names one.
    pub(crate) imap: Option<ImapProfile>,
}

/// The IMAP side of a profile, resolved: the `imap` table, else the preset, else the SMTP
/// profile's own credentials, CA and timeout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImapProfile {
    pub(crate) server: Endpoint,
    pub(crate) username: Option<String>,
    /// The table's own password; `None`: the SMTP profile's secret, got the way SMTP gets it.
    pub(crate) password: Option<PasswordSource>,
    /// Log in with XOAUTH2 (the SMTP profile's token), not a password.
    pub(crate) xoauth2: bool,
    pub(crate) sent_folder: Option<String>,
    /// The provider files SMTP-submitted mail in Sent itself.
    pub(crate) provider_keeps_copy: bool,
}

/// A server and how to reach it, resolved: the SMTP side of a profile and its IMAP side
/// each have one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: Security,
    /// An extra trusted root (PEM), tried before the system store.
    pub(crate) ca_file: Option<PathBuf>,
    /// For connecting and for each read and write.
    pub(crate) timeout: Duration,
}

#[cfg(test)]
impl Endpoint {
    /// Host, port and security: what the tests compare.
    pub(crate) fn address(&self) -> (&str, u16, Security) {
        (&self.host, self.port, self.security)
    }

    /// 127.0.0.1:`port`, for the unit tests' scripted servers.
    pub(crate) fn loopback(port: u16, security: Security, timeout: Duration) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port,
            security,
            ca_file: None,
            timeout,
        }
    }
}

/// `host:port` (`[::1]:25` for an IPv6 address), as messages name a server.
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Used when no `timeout_secs` is set: long enough for a slow relay, short enough for cron.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

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

        let password = password_source(
            &entry.password,
            &entry.password_env,
            &entry.password_command,
        )
        .map_err(|what| Error::config(in_profile(what)))?;
        if password.is_some() && entry.username.is_none() {
            return Err(Error::config(in_profile(
                "a password is set but no username; add username = \"…\"",
            )));
        }
        let timeout = entry
            .timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TIMEOUT);
        let (auth, password) = match &entry.oauth {
            Some(table) => {
                if password.is_some() {
                    return Err(Error::config(in_profile(
                        "an oauth table and a password source exclude each other; keep one",
                    )));
                }
                if matches!(entry.auth, Some(a) if a != AuthMechanism::Xoauth2) {
                    return Err(Error::config(in_profile(
                        "an oauth table logs in with auth = \"xoauth2\"",
                    )));
                }
                if entry.username.is_none() {
                    return Err(Error::config(in_profile(
                        "XOAUTH2 needs the mailbox address: add username = \"…\"",
                    )));
                }
                let settings = oauth::resolve(name, table, preset, timeout, &in_profile)?;
                (
                    Some(AuthMechanism::Xoauth2),
                    Some(PasswordSource::OAuth(Box::new(settings))),
                )
            }
            None => {
                if entry.auth == Some(AuthMechanism::Xoauth2)
                    && !matches!(password, Some(PasswordSource::Command(_)))
                {
                    return Err(Error::config(in_profile(
                        "auth = \"xoauth2\" needs an oauth table (then `rmail login`) or password_command",
                    )));
                }
                (entry.auth, password)
            }
        };
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
        let imap = resolve_imap(entry, preset, auth, timeout)
            .map_err(|what| Error::config(in_profile(&what)))?;
        Ok(Profile {
            name: name.to_string(),
            provider: preset,
            server: Endpoint {
                host,
                port,
                security,
                ca_file: entry.ca_file.clone(),
                timeout,
            },
            auth,
            username: entry.username.clone(),
            password,
            from: entry.from.clone(),
            reply_to: entry.reply_to.clone(),
            hello_name: entry.hello_name.clone(),
            max_per_second: entry.max_per_second,
            concurrency: entry.concurrency.unwrap_or(1),
            tls_fingerprint,
            dkim: entry.dkim.as_ref().map(|d| Dkim {
                domain: d.domain.clone(),
                selector: d.selector.clone(),
                private_key_file: d.private_key_file.clone(),
                algorithm: d.algorithm,
            }),
            config_file: loaded
                .path
                .as_ref()
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
            save_sent: entry.save_sent.unwrap_or_default(),
            imap,
        })
    }

    /// The profile's OAuth settings, when rmail obtains its tokens itself.
    pub(crate) fn oauth(&self) -> Option<&crate::oauth::OAuthSettings> {
        match &self.password {
            Some(PasswordSource::OAuth(settings)) => Some(settings),
            _ => None,
        }
    }

    /// Fetches the password (or OAuth access token), if the profile logs in at all.
    pub(crate) fn secret(&self) -> Result<Option<Secret>> {
        self.password
            .as_ref()
            .map(|source| source.fetch(&self.name))
            .transpose()
    }
}

/// At most one of `password`, `password_env`, `password_command`.
fn password_source(
    plain: &Option<String>,
    env: &Option<String>,
    command: &Option<String>,
) -> std::result::Result<Option<PasswordSource>, &'static str> {
    let sources = [
        plain.clone().map(|p| PasswordSource::Plain(Secret::new(p))),
        env.clone().map(PasswordSource::Env),
        command.clone().map(PasswordSource::Command),
    ];
    let mut sources = sources.into_iter().flatten();
    let password = sources.next();
    if sources.next().is_some() {
        return Err("set only one of password, password_env, password_command");
    }
    Ok(password)
}

/// The profile's IMAP server: its `imap` table over the preset's, with the SMTP
/// credentials, CA and timeout where the table has none. `None` when neither names a host.
fn resolve_imap(
    entry: &ProfileConfig,
    preset: Option<&'static provider::Preset>,
    smtp_auth: Option<AuthMechanism>,
    smtp_timeout: Duration,
) -> std::result::Result<Option<ImapProfile>, String> {
    let table = entry.imap.clone().unwrap_or_default();
    let ImapConfig {
        host,
        port,
        security,
        username,
        password,
        password_env,
        password_command,
        ca_file,
        timeout_secs,
        sent_folder,
    } = table;
    let imap_preset = preset.and_then(|p| provider::imap_preset(p.name));
    let Some(host) = host.or_else(|| imap_preset.map(|p| p.host.to_string())) else {
        return Ok(None);
    };
    let own_password = password_source(&password, &password_env, &password_command)
        .map_err(|what| format!("[imap]: {what}"))?;
    if timeout_secs == Some(0) {
        return Err("[imap]: timeout_secs must be at least 1".to_string());
    }
    let security = security
        .or(imap_preset.map(|p| p.security))
        .unwrap_or_default();
    // As for SMTP, a preset's port belongs to its security mode.
    let port = port
        .or(imap_preset
            .filter(|p| p.security == security)
            .map(|p| p.port))
        .unwrap_or(match security {
            Security::Tls => 993,
            Security::Starttls | Security::None => 143,
        });
    // Without a password of its own, IMAP logs in the way SMTP does: an OAuth token (from
    // the oauth table or password_command) goes with XOAUTH2.
    let xoauth2 = own_password.is_none() && smtp_auth == Some(AuthMechanism::Xoauth2);
    Ok(Some(ImapProfile {
        server: Endpoint {
            host,
            port,
            security,
            ca_file: ca_file.or_else(|| entry.ca_file.clone()),
            timeout: timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(smtp_timeout),
        },
        username: username.or_else(|| entry.username.clone()),
        password: own_password,
        xoauth2,
        sent_folder,
        provider_keeps_copy: imap_preset.is_some_and(|p| p.keeps_sent_copy),
    }))
}

/// `sha256:AB:CD…`, `AB:CD…` or plain hex → `sha256:abcd…`.
pub(crate) fn normalize_fingerprint(text: &str) -> Option<String> {
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
pub(crate) fn select(loaded: &LoadedConfig, requested: Option<&str>) -> Result<Option<Profile>> {
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

/// A profile from command-line flags alone (`--server`): no config file is involved, so
/// nothing from one (a password above all) can reach a server the user is only trying.
pub(crate) fn from_flags(name: &str, entry: &ProfileConfig) -> Result<Profile> {
    Profile::resolve(&LoadedConfig::default(), name, entry)
}

/// The config's `default_profile`, checked: naming a profile that does not exist is an error.
pub(crate) fn default_name(loaded: &LoadedConfig) -> Result<Option<String>> {
    match &loaded.config.default_profile {
        Some(name) if !loaded.config.profiles.contains_key(name.get_ref()) => {
            Err(Error::config(format!(
                "config file {}: default_profile '{}' is not defined; profiles: {}",
                loaded.locate_span(name),
                name.get_ref(),
                list(loaded)
            )))
        }
        Some(name) => Ok(Some(name.get_ref().clone())),
        None => Ok(None),
    }
}

/// Resolves every profile, for `rmail profiles`.
pub(crate) fn all(loaded: &LoadedConfig) -> Result<Vec<Profile>> {
    loaded
        .config
        .profiles
        .iter()
        .map(|(name, entry)| Profile::resolve(loaded, name, entry))
        .collect()
}

fn list(loaded: &LoadedConfig) -> String {
    let names: Vec<&str> = loaded.config.profiles.keys().map(String::as_str).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn load(text: &str) -> LoadedConfig {
        config::file::parse(PathBuf::from("t.toml"), text.to_string()).unwrap()
    }

    #[test]
    fn preset_fills_host_port_security() {
        let cfg = load(
            "[profiles.q]\nprovider = \"qq\"\nusername = \"1@qq.com\"\npassword_env = \"X\"\n",
        );
        let p = select(&cfg, Some("q")).unwrap().unwrap();
        assert_eq!(p.server.address(), ("smtp.qq.com", 465, Security::Tls));
    }

    #[test]
    fn overriding_security_drops_preset_port() {
        let cfg = load("[profiles.q]\nprovider = \"gmail\"\nsecurity = \"tls\"\n");
        let p = select(&cfg, None).unwrap().unwrap();
        assert_eq!((p.server.port, p.server.security), (465, Security::Tls));
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
        let cfg = load("[profiles.a]\nhost = \"h\"\nusername = \"u\"\npassword = \"hunter2\"\n");
        let p = select(&cfg, None).unwrap().unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
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

    #[test]
    fn an_endpoint_is_named_host_colon_port_with_brackets_for_ipv6() {
        let mut e = Endpoint::loopback(25, Security::None, DEFAULT_TIMEOUT);
        assert_eq!(e.to_string(), "127.0.0.1:25");
        e.host = "::1".into();
        assert_eq!(e.to_string(), "[::1]:25");
    }

    #[test]
    fn a_preset_fills_the_imap_side_and_the_smtp_credentials_are_the_default() {
        let cfg = load(
            "[profiles.f]\nprovider = \"fastmail\"\nusername = \"me@fastmail.com\"\n\
             password_env = \"FM\"\nsave_sent = true\n",
        );
        let p = select(&cfg, None).unwrap().unwrap();
        assert_eq!(p.save_sent, SaveSent::Yes);
        let imap = p.imap.unwrap();
        assert_eq!(
            imap.server.address(),
            ("imap.fastmail.com", 993, Security::Tls)
        );
        assert_eq!(imap.username.as_deref(), Some("me@fastmail.com"));
        // No own password: the SMTP profile's secret is used, the way SMTP gets it.
        assert_eq!(imap.password, None);
        assert!(!imap.provider_keeps_copy);
    }

    #[test]
    fn the_imap_table_overrides_the_preset_and_has_its_own_defaults() {
        let cfg = load(
            "[profiles.g]\nprovider = \"gmail\"\nusername = \"me@gmail.com\"\ntimeout_secs = 7\n\
             [profiles.g.imap]\nsecurity = \"starttls\"\nusername = \"other\"\n\
             password_env = \"IMAP_PW\"\nsent_folder = \"已发送\"\n",
        );
        let p = select(&cfg, None).unwrap().unwrap();
        assert_eq!(p.save_sent, SaveSent::No);
        let imap = p.imap.unwrap();
        // A preset's port belongs to its security mode: STARTTLS means 143, not 993.
        assert_eq!(
            imap.server.address(),
            ("imap.gmail.com", 143, Security::Starttls)
        );
        assert_eq!(imap.username.as_deref(), Some("other"));
        assert_eq!(imap.password, Some(PasswordSource::Env("IMAP_PW".into())));
        assert_eq!(imap.sent_folder.as_deref(), Some("已发送"));
        assert_eq!(imap.server.timeout, Duration::from_secs(7));
        assert!(imap.provider_keeps_copy);
    }

    #[test]
    fn an_oauth_profile_logs_in_to_imap_with_its_token_unless_the_table_has_a_password() {
        let oauth = "[profiles.g]\nprovider = \"gmail\"\nusername = \"me@gmail.com\"\n\
                     auth = \"xoauth2\"\npassword_command = \"token-helper\"\n";
        let p = select(&load(oauth), None).unwrap().unwrap();
        assert!(p.imap.unwrap().xoauth2);
        let own = format!("{oauth}[profiles.g.imap]\npassword_env = \"IMAP_APP_PASSWORD\"\n");
        let p = select(&load(&own), None).unwrap().unwrap();
        assert!(!p.imap.unwrap().xoauth2);
    }

    #[test]
    fn no_host_anywhere_means_no_imap_side() {
        let cfg = load("[profiles.r]\nhost = \"relay\"\nsave_sent = \"always\"\n");
        let p = select(&cfg, None).unwrap().unwrap();
        assert_eq!((p.save_sent, p.imap), (SaveSent::Always, None));
    }

    #[test]
    fn bad_imap_keys_are_config_errors_naming_the_problem() {
        let cfg = load(
            "[profiles.r]\nhost = \"h\"\n[profiles.r.imap]\nhost = \"i\"\npassword = \"a\"\n\
             password_env = \"B\"\n",
        );
        let err = select(&cfg, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("[imap]: set only one of"), "{err}");

        let err = config::file::parse(
            PathBuf::from("t.toml"),
            "[profiles.r]\nhost = \"h\"\nsave_sent = \"yes\"\n".into(),
        )
        .unwrap_err();
        assert!(err.message().contains("t.toml:3"), "{err}");
        assert!(err.message().contains("\"always\""), "{err}");

        let err = config::file::parse(
            PathBuf::from("t.toml"),
            "[profiles.r]\nhost = \"h\"\n[profiles.r.imap]\nsent_fodler = \"x\"\n".into(),
        )
        .unwrap_err();
        assert!(err.message().contains("sent_fodler"), "{err}");
    }
}
