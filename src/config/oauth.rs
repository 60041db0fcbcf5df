//! A profile's `oauth` table + its provider preset → resolved [`OAuthSettings`]: every
//! default filled in and every endpoint checked (https, or http on loopback) before anything
//! connects.

use crate::config::dirs;
use crate::config::file::{OAuthConfig, OAuthFlow};
use crate::config::provider::{OAuthPreset, Preset};
use crate::config::secret::Secret;
use crate::error::{Error, Result};
use crate::oauth::{self, ClientSecret, DEFAULT_REFRESH_BEFORE, Flow, OAuthSettings};

/// Resolves `table` for profile `name`; `in_profile` prefixes messages with file and profile.
pub(crate) fn resolve(
    name: &str,
    table: &OAuthConfig,
    preset: Option<&Preset>,
    timeout: std::time::Duration,
    in_profile: &dyn Fn(&str) -> String,
) -> Result<OAuthSettings> {
    let fail = |what: &str| Error::config(in_profile(what));
    let client_id = table
        .client_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            fail("oauth.client_id is not set: register an app with the provider (see README, \"Accounts\") and put its client id here")
        })?;
    let client_secret = match (&table.client_secret, &table.client_secret_env) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "set only one of oauth.client_secret, oauth.client_secret_env",
            ));
        }
        (Some(secret), None) => Some(ClientSecret::Plain(Secret::new(secret.clone()))),
        (None, Some(var)) => Some(ClientSecret::Env(var.clone())),
        (None, None) => None,
    };
    let flow = match table.flow.unwrap_or(OAuthFlow::AuthCode) {
        OAuthFlow::AuthCode => Flow::AuthCode,
        OAuthFlow::Device => Flow::Device,
        OAuthFlow::ClientCredentials => Flow::ClientCredentials,
    };
    let known = preset.and_then(|p| p.oauth);
    if flow == Flow::ClientCredentials && client_secret.is_none() {
        return Err(fail(
            "flow = \"client-credentials\" needs oauth.client_secret or oauth.client_secret_env",
        ));
    }
    if let Some(known) = known {
        if flow == Flow::Device && known.device_url.is_none() && table.device_url.is_none() {
            return Err(fail(
                "this provider does not allow its mail scopes in the device flow; use flow = \"auth-code\"",
            ));
        }
        if flow == Flow::ClientCredentials && known.app_scopes.is_empty() && table.scopes.is_none()
        {
            return Err(fail(
                "this provider has no app-only (client credentials) access for SMTP; use flow = \"auth-code\"",
            ));
        }
    }
    if table.tenant.is_some() && known.and_then(|k| k.default_tenant).is_none() {
        return Err(fail("oauth.tenant is only for provider = \"outlook\""));
    }
    let tenant = table
        .tenant
        .clone()
        .or_else(|| known.and_then(|k| k.default_tenant).map(str::to_owned))
        .unwrap_or_default();
    if !tenant
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(fail(
            "oauth.tenant must be a tenant id or domain (letters, digits, '-', '.')",
        ));
    }
    let from_preset = |pick: fn(&OAuthPreset) -> Option<&'static str>| {
        known
            .and_then(pick)
            .map(|url| url.replace("{tenant}", &tenant))
    };
    let auth_url = table
        .auth_url
        .clone()
        .or_else(|| from_preset(|k| Some(k.auth_url)));
    let token_url = table
        .token_url
        .clone()
        .or_else(|| from_preset(|k| Some(k.token_url)));
    let device_url = table
        .device_url
        .clone()
        .or_else(|| from_preset(|k| k.device_url));
    for (key, url) in [
        ("auth_url", &auth_url),
        ("token_url", &token_url),
        ("device_url", &device_url),
        ("issuer", &table.issuer),
    ] {
        if let Some(url) = url {
            oauth::check_endpoint(&format!("oauth.{key}"), url).map_err(|e| fail(e.message()))?;
        }
    }
    if token_url.is_none() && table.issuer.is_none() {
        return Err(fail(
            "oauth needs token_url (and auth_url or device_url for its flow), or an issuer to discover them from",
        ));
    }
    let scopes = match &table.scopes {
        Some(scopes) => scopes.clone(),
        None => match (known, flow) {
            (Some(k), Flow::ClientCredentials) => {
                k.app_scopes.iter().map(|s| s.to_string()).collect()
            }
            (Some(k), _) => k.scopes.iter().map(|s| s.to_string()).collect(),
            (None, _) => {
                return Err(fail(
                    "oauth.scopes is not set (e.g. scopes = [\"offline_access\", \"…SMTP scope…\"])",
                ));
            }
        },
    };
    if scopes
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(fail("oauth.scopes: each scope is one word without spaces"));
    }
    let auth_params = if table.auth_url.is_none() {
        known
            .map(|k| {
                k.auth_params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let token_dir = dirs::state_dir()
        .map(|state| state.join("tokens"))
        .ok_or_else(|| {
            fail("cannot find where to keep OAuth tokens: neither $XDG_STATE_HOME nor $HOME is set")
        })?;
    Ok(OAuthSettings {
        profile: name.to_owned(),
        client_id,
        client_secret,
        flow,
        scopes,
        auth_url,
        token_url,
        device_url,
        issuer: table.issuer.clone(),
        auth_params,
        refresh_before: table
            .refresh_before_secs
            .map(std::time::Duration::from_secs)
            .unwrap_or(DEFAULT_REFRESH_BEFORE),
        token_dir,
        timeout,
    })
}
