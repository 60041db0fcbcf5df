//! Endpoints: the ones the profile names, else those of its issuer's OpenID discovery
//! document (`ISSUER/.well-known/openid-configuration`), fetched only when one is missing.

use super::http::{Http, check_endpoint};
use super::{Flow, OAuthSettings};
use crate::error::{Error, Result};

/// The endpoints one flow needs, checked against the https rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) auth_url: Option<String>,
    pub(crate) token_url: String,
    pub(crate) device_url: Option<String>,
}

/// Resolves the endpoints needed, asking the issuer for missing ones: for `login`, those
/// of `settings.flow`; otherwise (refresh, client credentials) the token endpoint alone.
pub(crate) fn endpoints(settings: &OAuthSettings, http: &Http, login: bool) -> Result<Endpoints> {
    let needs_auth = login && settings.flow == Flow::AuthCode;
    let needs_device = login && settings.flow == Flow::Device;
    let mut auth_url = settings.auth_url.clone();
    let mut token_url = settings.token_url.clone();
    let mut device_url = settings.device_url.clone();
    let missing = token_url.is_none()
        || (needs_auth && auth_url.is_none())
        || (needs_device && device_url.is_none());
    if missing {
        let Some(issuer) = &settings.issuer else {
            return Err(Error::config(format!(
                "profile {}: oauth needs {} (or an issuer to discover it from)",
                settings.profile,
                missing_keys(settings, needs_auth, needs_device).join(", ")
            )));
        };
        let document = discover(issuer, http)?;
        let field = |name: &str| {
            document
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        auth_url = auth_url.or_else(|| field("authorization_endpoint"));
        token_url = token_url.or_else(|| field("token_endpoint"));
        device_url = device_url.or_else(|| field("device_authorization_endpoint"));
    }
    let require = |key: &str, value: Option<String>| -> Result<String> {
        let value = value.ok_or_else(|| {
            Error::config(format!(
                "profile {}: oauth.{key} is not set and the issuer does not publish it",
                settings.profile
            ))
        })?;
        check_endpoint(&format!("oauth.{key}"), &value)?;
        Ok(value)
    };
    Ok(Endpoints {
        token_url: require("token_url", token_url)?,
        auth_url: if needs_auth {
            Some(require("auth_url", auth_url)?)
        } else {
            None
        },
        device_url: if needs_device {
            Some(require("device_url", device_url)?)
        } else {
            None
        },
    })
}

fn missing_keys(
    settings: &OAuthSettings,
    needs_auth: bool,
    needs_device: bool,
) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if needs_auth && settings.auth_url.is_none() {
        keys.push("auth_url");
    }
    if settings.token_url.is_none() {
        keys.push("token_url");
    }
    if needs_device && settings.device_url.is_none() {
        keys.push("device_url");
    }
    keys
}

/// Fetches the discovery document and checks that it is the issuer's own (OpenID
/// Connect Discovery 1.0 §4.3: the `issuer` it names must be the one asked).
fn discover(issuer: &str, http: &Http) -> Result<serde_json::Value> {
    check_endpoint("oauth.issuer", issuer)?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document = http.get_json(&url)?;
    let named = document
        .get("issuer")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if named.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::config(format!(
            "{url} names the issuer {named:?}, not {issuer:?}: refusing its endpoints"
        )));
    }
    Ok(document)
}
