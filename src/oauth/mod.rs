//! OAuth 2.0 for `auth = "xoauth2"`: log in once (`rmail login`), then every connection gets
//! a valid access token without anyone noticing.
//!
//! The API is small on purpose, so that any stage that authenticates (SMTP today, IMAP
//! tomorrow) asks one question: [`access_token`] — profile in, bearer token out. Inside:
//! `http` (the HTTPS client and the https-only rule), `discovery` (issuer → endpoints),
//! `flow` (the grants: authorization code + PKCE, device, client credentials, refresh),
//! `loopback` (the redirect listener of the authorization-code flow), `store` (the token
//! file and its lock) and `source` (stored token or a fresh one, refreshed under the lock).

mod discovery;
mod flow;
mod http;
mod loopback;
mod source;
mod store;

use std::path::PathBuf;
use std::time::Duration;

use crate::config::secret::Secret;
use crate::error::{Error, Result};

pub(crate) use flow::{LoginOptions, Prompt};
pub(crate) use http::check_endpoint;
pub(crate) use source::{access_token, login, token_info};

/// How long before its expiry an access token is replaced. Exchange Online refuses tokens
/// about ten minutes before they expire, so ten minutes is the default.
pub(crate) const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(600);

/// Which OAuth 2.0 grant obtains the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Authorization code with PKCE and a loopback redirect on 127.0.0.1 (RFC 8252): a
    /// browser on this machine.
    AuthCode,
    /// Device authorization grant (RFC 8628): the user signs in on another device.
    Device,
    /// Client credentials: app-only tokens for servers and cron, no user, no login.
    ClientCredentials,
}

impl Flow {
    /// The name used in the config file.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Flow::AuthCode => "auth-code",
            Flow::Device => "device",
            Flow::ClientCredentials => "client-credentials",
        }
    }
}

/// Where the client secret comes from; read only when a token request needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientSecret {
    /// `client_secret` in the config file.
    Plain(Secret),
    /// `client_secret_env`: this environment variable.
    Env(String),
}

impl ClientSecret {
    /// The secret, or a config error naming the unset variable.
    pub(crate) fn fetch(&self, profile: &str) -> Result<Secret> {
        match self {
            ClientSecret::Plain(secret) => Ok(secret.clone()),
            ClientSecret::Env(var) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
                _ => Err(Error::config(format!(
                    "profile '{profile}': oauth.client_secret_env names ${var}, which is not set"
                ))),
            },
        }
    }
}

/// A profile's resolved OAuth settings (its `oauth` table merged with the provider preset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthSettings {
    /// The profile these tokens belong to: names the token file and the hints.
    pub(crate) profile: String,
    pub(crate) client_id: String,
    /// Confidential clients only (client credentials needs one; Google's "desktop" clients
    /// have one that is not really secret).
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) flow: Flow,
    pub(crate) scopes: Vec<String>,
    /// Authorization endpoint (auth-code).
    pub(crate) auth_url: Option<String>,
    /// Token endpoint (every flow).
    pub(crate) token_url: Option<String>,
    /// Device authorization endpoint (device).
    pub(crate) device_url: Option<String>,
    /// OpenID issuer whose discovery document fills the endpoints not given.
    pub(crate) issuer: Option<String>,
    /// Extra authorization-request parameters a provider needs (Google: `access_type=offline`).
    pub(crate) auth_params: Vec<(String, String)>,
    /// Replace the access token when less than this much validity remains.
    pub(crate) refresh_before: Duration,
    /// Where the token file lives: `$XDG_STATE_HOME/rmail/tokens`.
    pub(crate) token_dir: PathBuf,
    /// Bound on each HTTP request to the provider.
    pub(crate) timeout: Duration,
}

use crate::time::now;

/// A server-supplied string made safe for one line of a terminal: control characters
/// (escape sequences, line breaks) dropped, at most 300 characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}
