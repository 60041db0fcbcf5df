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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::file::parse;
    use crate::config::profile::select;
    use crate::error::ErrorKind;
    use crate::oauth::Flow;

    fn resolve(text: &str) -> crate::error::Result<crate::oauth::OAuthSettings> {
        let loaded = parse(PathBuf::from("t.toml"), text.to_owned())?;
        let profile = select(&loaded, Some("p"))?.expect("profile p");
        Ok(profile.oauth().expect("an oauth profile").clone())
    }

    #[test]
    fn outlook_preset_fills_tenant_endpoints_and_scopes() {
        let s = resolve(
            "[profiles.p]\nprovider = \"outlook\"\nusername = \"me@contoso.com\"\n\
             oauth = { client_id = \"abc\", flow = \"device\", tenant = \"contoso.com\" }\n",
        )
        .unwrap();
        assert_eq!(s.flow, Flow::Device);
        assert_eq!(
            s.device_url.as_deref(),
            Some("https://login.microsoftonline.com/contoso.com/oauth2/v2.0/devicecode")
        );
        assert_eq!(
            s.token_url.as_deref(),
            Some("https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token")
        );
        assert_eq!(
            s.scopes,
            ["https://outlook.office.com/SMTP.Send", "offline_access"]
        );
        assert_eq!(s.refresh_before.as_secs(), 600);
        // No tenant: "common". Client credentials: the app-only scope.
        let s = resolve(
            "[profiles.p]\nprovider = \"outlook\"\nusername = \"me@contoso.com\"\n\
             oauth = { client_id = \"abc\", client_secret = \"x\", flow = \"client-credentials\" }\n",
        )
        .unwrap();
        assert!(s.token_url.unwrap().contains("/common/"));
        assert_eq!(s.scopes, ["https://outlook.office365.com/.default"]);
    }

    #[test]
    fn gmail_preset_is_browser_only_and_asks_for_offline_access() {
        let s = resolve(
            "[profiles.p]\nprovider = \"gmail\"\nusername = \"me@gmail.com\"\n\
             oauth = { client_id = \"abc\" }\n",
        )
        .unwrap();
        assert_eq!(s.flow, Flow::AuthCode);
        assert_eq!(s.scopes, ["https://mail.google.com/"]);
        assert_eq!(
            s.auth_params,
            [("access_type".to_owned(), "offline".to_owned())]
        );
        let err = resolve(
            "[profiles.p]\nprovider = \"gmail\"\nusername = \"me@gmail.com\"\n\
             oauth = { client_id = \"abc\", flow = \"device\" }\n",
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("auth-code"), "{err}");
    }

    #[test]
    fn mistakes_are_config_errors_that_say_what_to_set() {
        let cases = [
            // no client id
            (
                "provider = \"gmail\"\nusername = \"u@x\"\noauth = {}\n",
                "client_id",
            ),
            // no endpoints, no issuer
            (
                "host = \"h\"\nusername = \"u@x\"\noauth = { client_id = \"c\", scopes = [\"s\"] }\n",
                "token_url",
            ),
            // plain http off loopback
            (
                "host = \"h\"\nusername = \"u@x\"\noauth = { client_id = \"c\", scopes = [\"s\"], token_url = \"http://idp.example/t\" }\n",
                "https://",
            ),
            // both a password and an oauth table
            (
                "provider = \"gmail\"\nusername = \"u@x\"\npassword = \"p\"\noauth = { client_id = \"c\" }\n",
                "exclude each other",
            ),
            // another mechanism
            (
                "provider = \"gmail\"\nusername = \"u@x\"\nauth = \"plain\"\noauth = { client_id = \"c\" }\n",
                "xoauth2",
            ),
            // no username for XOAUTH2's user=
            (
                "provider = \"gmail\"\noauth = { client_id = \"c\" }\n",
                "username",
            ),
            // client credentials without a secret
            (
                "provider = \"outlook\"\nusername = \"u@x\"\noauth = { client_id = \"c\", flow = \"client-credentials\" }\n",
                "client_secret",
            ),
            // a tenant that would change the endpoint's path
            (
                "provider = \"outlook\"\nusername = \"u@x\"\noauth = { client_id = \"c\", tenant = \"../x\" }\n",
                "tenant",
            ),
        ];
        for (table, expected) in cases {
            let err = resolve(&format!("[profiles.p]\n{table}")).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{table}");
            assert!(err.message().contains(expected), "{table}: {err}");
            assert!(err.message().contains("profile 'p'"), "{err}");
        }
    }

    #[test]
    fn the_client_secret_is_never_shown() {
        let s = resolve(
            "[profiles.p]\nprovider = \"gmail\"\nusername = \"u@x\"\n\
             oauth = { client_id = \"c\", client_secret = \"hunter2\" }\n",
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
