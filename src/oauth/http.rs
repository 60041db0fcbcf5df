//! The HTTP client for the authorization server: ureq (blocking, rustls, the system trust
//! store), no redirects, a bound on time and size, and the one rule for endpoints: `https://`,
//! or plain `http://` only to a loopback address (where tests run their provider).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use oauth2::url::{Host, Url};

use crate::error::{Error, ErrorKind, Result};

/// The most of a provider's reply that is read (token replies are a few KiB).
const MAX_BODY: u64 = 1024 * 1024;

/// A blocking HTTPS client for token, device and discovery endpoints.
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client whose requests each take at most `timeout`.
    pub(crate) fn new(timeout: Duration) -> Http {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(system_roots())
            .build();
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // Error replies (400 invalid_grant, authorization_pending) are answers to parse.
            .http_status_as_error(false)
            // A redirect could lead a token request (with its secrets) elsewhere.
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(concat!("rmail/", env!("CARGO_PKG_VERSION")))
            .build();
        Http {
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// GETs a JSON document (the discovery document).
    pub(crate) fn get_json(&self, url: &str) -> Result<serde_json::Value> {
        let parsed = check_endpoint("issuer", url)?;
        let mut response = self
            .agent
            .get(parsed.as_str())
            .header("Accept", "application/json")
            .call()
            .map_err(|e| unreachable_provider(url, &HttpError::Transport(e)))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| unreachable_provider(url, &HttpError::Transport(e)))?;
        if !status.is_success() {
            return Err(Error::config(format!(
                "{url} answered HTTP {status}: is the issuer URL right?"
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|e| Error::config(format!("{url} did not answer with JSON: {e}")))
    }
}

/// A failure to reach the provider, as oauth2 reports it.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// The endpoint is not `https://` (nor loopback `http://`).
    Insecure(String),
    Transport(ureq::Error),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Insecure(message) => f.write_str(message),
            HttpError::Transport(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl oauth2::SyncHttpClient for Http {
    type Error = HttpError;

    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        // Checked again here, for every request oauth2 makes (the token endpoint too).
        check_endpoint("endpoint", &request.uri().to_string())
            .map_err(|e| HttpError::Insecure(e.message().to_owned()))?;
        let response = self.agent.run(request).map_err(HttpError::Transport)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(HttpError::Transport)?;
        Ok(oauth2::HttpResponse::from_parts(parts, bytes))
    }
}

/// Parses an endpoint URL and applies the https rule: `https://` anywhere; `http://` only to
/// 127.0.0.0/8 or ::1, since anything else would send codes and tokens in clear text.
pub(crate) fn check_endpoint(what: &str, url: &str) -> Result<Url> {
    let parsed =
        Url::parse(url).map_err(|e| Error::config(format!("{what} {url:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(Error::config(format!(
            "{what} {url} must use https:// (plain http:// is allowed only on 127.0.0.1 or [::1])"
        ))),
        other => Err(Error::config(format!(
            "{what} {url} must be an https:// URL, not {other}:"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

/// The provider could not be reached: worth retrying later, like an SMTP server that is down.
pub(crate) fn unreachable_provider(url: &str, err: &HttpError) -> Error {
    match err {
        HttpError::Insecure(message) => Error::config(message.clone()),
        HttpError::Transport(e) => Error::new(
            ErrorKind::Temporary,
            format!("cannot reach the authorization server {url}: {e}"),
        ),
    }
}

/// The system's trusted roots (honours `SSL_CERT_FILE`), else the built-in Mozilla roots.
fn system_roots() -> ureq::tls::RootCerts {
    let loaded = rustls_native_certs::load_native_certs();
    let certs: Vec<ureq::tls::Certificate<'static>> = loaded
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        ureq::tls::RootCerts::new_with_certs(&certs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_http_only_on_loopback() {
        assert!(check_endpoint("token_url", "https://login.example.com/token").is_ok());
        assert!(check_endpoint("token_url", "http://127.0.0.1:8080/token").is_ok());
        assert!(check_endpoint("token_url", "http://127.8.9.10/token").is_ok());
        assert!(check_endpoint("token_url", "http://[::1]:9/token").is_ok());
        for bad in [
            "http://login.example.com/token",
            "http://localhost/token", // a name can resolve anywhere
            "http://10.0.0.1/token",
            "ftp://127.0.0.1/token",
            "not a url",
        ] {
            let err = check_endpoint("token_url", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(err.message().contains("token_url"), "{err}");
        }
    }
}
