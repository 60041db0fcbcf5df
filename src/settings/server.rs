//! `--server HOST[:PORT]` → a [`Profile`] built from the flags alone, for a one-off send or
//! check without a config (swaks users expect it). The config's profiles are not used at all
//! then: their passwords must never go to a server someone is only trying.

use crate::cli::ServerArgs;
use crate::config::file::ProfileConfig;
use crate::config::profile::{self, Profile, Security};
use crate::error::{Error, Result};

/// The profile `--server` describes, or `None` without `--server`.
pub(crate) fn one_off(args: &ServerArgs) -> Result<Option<Profile>> {
    let Some(server) = args.server.as_deref() else {
        return Ok(None);
    };
    let (host, port) = split_host_port(server)?;
    let security = match args.security.as_deref() {
        Some("tls") => Some(Security::Tls),
        Some("none") => Some(Security::None),
        Some(_) => Some(Security::Starttls),
        None => None,
    };
    let entry = ProfileConfig {
        host: Some(host),
        port,
        // Port 465 speaks TLS from the first byte; everything else defaults to STARTTLS.
        security: security.or((port == Some(465)).then_some(Security::Tls)),
        username: args.user.clone(),
        password_env: args.password_env.clone(),
        ..ProfileConfig::default()
    };
    profile::from_flags("--server", &entry).map(Some)
}

/// `host`, `host:587`, `[::1]:25`, `::1` → host and port.
fn split_host_port(text: &str) -> Result<(String, Option<u16>)> {
    let bad = || {
        Error::usage(format!(
            "--server '{text}' must be HOST or HOST:PORT, e.g. --server smtp.example.com:587"
        ))
    };
    let text = text.trim();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else if text.matches(':').count() == 1 {
        let (host, port) = text.split_once(':').ok_or_else(bad)?;
        (host, Some(port))
    } else {
        (text, None)
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let port = port
        .map(|p| p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad))
        .transpose()?;
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        let ok = |t: &str| split_host_port(t).unwrap();
        assert_eq!(ok("smtp.example.com"), ("smtp.example.com".into(), None));
        assert_eq!(ok("127.0.0.1:2525"), ("127.0.0.1".into(), Some(2525)));
        assert_eq!(ok("[::1]:25"), ("::1".into(), Some(25)));
        assert_eq!(ok("::1"), ("::1".into(), None));
        for bad in ["", ":25", "host:", "host:0", "host:99999", "[::1", "a b:25"] {
            assert!(split_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_465_means_implicit_tls() {
        let args = |server: &str, security: Option<&str>| ServerArgs {
            server: Some(server.into()),
            security: security.map(Into::into),
            ..ServerArgs::default()
        };
        let p = one_off(&args("mx:465", None)).unwrap().unwrap();
        assert_eq!((p.server.port, p.server.security), (465, Security::Tls));
        let p = one_off(&args("mx", None)).unwrap().unwrap();
        assert_eq!(
            (p.server.port, p.server.security),
            (587, Security::Starttls)
        );
        let p = one_off(&args("mx", Some("none"))).unwrap().unwrap();
        assert_eq!((p.server.port, p.server.security), (25, Security::None));
        assert!(one_off(&ServerArgs::default()).unwrap().is_none());
    }
}
