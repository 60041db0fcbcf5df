//! The token source: the stored access token while it has more than `refresh_before` left,
//! else a fresh one, obtained under the profile's lock so that concurrent cron jobs or merge
//! sessions never refresh twice (a rotated refresh token used twice revokes the grant at
//! some providers). Every new refresh token is saved before the access token is used.

use super::discovery;
use super::flow::{self, AuthServer, LoginOptions, Prompt, login_again};
use super::http::Http;
use super::store::{StoredTokens, TokenStore};
use super::{Flow, OAuthSettings, now};
use crate::config::secret::Secret;
use crate::error::{Error, ErrorKind, Result};

/// How long an access token is taken to live when the server did not say (`expires_in`
/// is only RECOMMENDED by RFC 6749).
const ASSUMED_LIFETIME: u64 = 3600;

/// What `rmail login` and `rmail check` may show about the stored tokens: never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenInfo {
    /// Unix time the access token expires, if known.
    pub(crate) expires_at: Option<u64>,
    pub(crate) scopes: Vec<String>,
    /// Whether a refresh token is kept (so the access token renews itself).
    pub(crate) refreshable: bool,
}

impl From<&StoredTokens> for TokenInfo {
    fn from(tokens: &StoredTokens) -> Self {
        TokenInfo {
            expires_at: tokens.expires_at,
            scopes: tokens.scopes.clone(),
            refreshable: tokens.refresh_token.is_some(),
        }
    }
}

/// A valid access token for the profile: stored, refreshed, or (client credentials)
/// fetched. Errors: no tokens yet / refused grant → [`ErrorKind::Auth`] with the
/// `rmail login -p NAME` hint; provider unreachable → [`ErrorKind::Temporary`].
pub(crate) fn access_token(settings: &OAuthSettings) -> Result<Secret> {
    let store = TokenStore::new(&settings.token_dir, &settings.profile)?;
    if let Some(tokens) = store.load()?
        && usable(&tokens, settings, now())
    {
        return Ok(Secret::new(tokens.access_token));
    }
    let _lock = store.lock()?;
    // Another process may have refreshed while this one waited for the lock.
    let current = store.load()?;
    if let Some(tokens) = &current
        && usable(tokens, settings, now())
    {
        return Ok(Secret::new(tokens.access_token.clone()));
    }
    let http = Http::new(settings.timeout);
    let fresh = match (settings.flow, current) {
        (Flow::ClientCredentials, _) => {
            let endpoints = discovery::endpoints(settings, &http, false)?;
            flow::client_credentials(&AuthServer::new(settings, &http, &endpoints))?
        }
        (_, None) => {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "profile {} has no OAuth tokens yet: run `rmail login -p {}`",
                    settings.profile, settings.profile
                ),
            ));
        }
        (_, Some(old)) if old.client_id != settings.client_id => {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "profile {}: the stored tokens belong to another client_id; {}",
                    settings.profile,
                    login_again(settings)
                ),
            ));
        }
        (_, Some(old)) => {
            // Not yet expired, only inside the margin: usable if nothing better can be had.
            let still_valid = old.expires_at.is_some_and(|t| t > now());
            let Some(refresh_token) = &old.refresh_token else {
                if still_valid {
                    return Ok(Secret::new(old.access_token));
                }
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "profile {}: the access token expired and the server gave no refresh \
                         token (is offline_access among the scopes?); {}",
                        settings.profile,
                        login_again(settings)
                    ),
                ));
            };
            let refreshed = discovery::endpoints(settings, &http, false).and_then(|endpoints| {
                let server = AuthServer {
                    settings,
                    http: &http,
                    endpoints: &endpoints,
                };
                flow::refresh(&server, refresh_token)
            });
            let mut fresh = match refreshed {
                Ok(fresh) => fresh,
                // The provider is unreachable: the old token serves while it lasts.
                Err(err) if err.is_temporary() && still_valid => {
                    return Ok(Secret::new(old.access_token));
                }
                Err(err) => return Err(err),
            };
            // A refresh response may omit scope: the grant's scopes are unchanged then.
            if fresh.scopes == settings.scopes && !old.scopes.is_empty() {
                fresh.scopes = old.scopes;
            }
            fresh
        }
    };
    store.save(&fresh)?;
    Ok(Secret::new(fresh.access_token))
}

/// Runs the profile's flow (`rmail login`) and stores the tokens.
pub(crate) fn login(
    settings: &OAuthSettings,
    options: &LoginOptions,
    prompt: &mut dyn FnMut(Prompt),
) -> Result<TokenInfo> {
    let store = TokenStore::new(&settings.token_dir, &settings.profile)?;
    let http = Http::new(settings.timeout);
    let endpoints = discovery::endpoints(settings, &http, true)?;
    let tokens = flow::login(
        &AuthServer::new(settings, &http, &endpoints),
        options,
        prompt,
    )?;
    let _lock = store.lock()?;
    store.save(&tokens)?;
    Ok(TokenInfo::from(&tokens))
}

/// What is stored for the profile, if anything (for `rmail check`).
pub(crate) fn token_info(settings: &OAuthSettings) -> Result<Option<TokenInfo>> {
    let store = TokenStore::new(&settings.token_dir, &settings.profile)?;
    Ok(store.load()?.as_ref().map(TokenInfo::from))
}

/// Whether the stored access token can be used as it is at unix time `now`.
fn usable(tokens: &StoredTokens, settings: &OAuthSettings, now: u64) -> bool {
    let expires_at = tokens
        .expires_at
        .unwrap_or(tokens.obtained_at.saturating_add(ASSUMED_LIFETIME));
    tokens.client_id == settings.client_id
        && expires_at > now.saturating_add(settings.refresh_before.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn settings(dir: &std::path::Path) -> OAuthSettings {
        OAuthSettings {
            profile: "work".into(),
            client_id: "client".into(),
            client_secret: None,
            flow: Flow::AuthCode,
            scopes: vec!["smtp".into()],
            auth_url: None,
            // Nothing listens there: a test that reaches the network fails.
            token_url: Some("http://127.0.0.1:9/token".into()),
            device_url: None,
            issuer: None,
            auth_params: Vec::new(),
            refresh_before: Duration::from_secs(600),
            token_dir: dir.to_path_buf(),
            timeout: Duration::from_secs(2),
        }
    }

    fn tokens(expires_at: Option<u64>, refresh: Option<&str>) -> StoredTokens {
        StoredTokens {
            access_token: "access".into(),
            expires_at,
            refresh_token: refresh.map(str::to_owned),
            scopes: vec!["smtp".into()],
            client_id: "client".into(),
            obtained_at: 1_000,
        }
    }

    /// Settings whose token store (in a fresh folder, kept by the guard) holds `tokens`.
    fn stored(tokens: StoredTokens) -> (tempfile::TempDir, OAuthSettings) {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        TokenStore::new(dir.path(), "work")
            .unwrap()
            .save(&tokens)
            .unwrap();
        (dir, s)
    }

    #[test]
    fn usable_until_the_margin() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let t = tokens(Some(10_000), None);
        assert!(usable(&t, &s, 10_000 - 601));
        assert!(!usable(&t, &s, 10_000 - 600));
        // No expires_in: taken to live an hour from when it came.
        let t = tokens(None, None);
        assert!(usable(&t, &s, 1_000 + 3_600 - 601));
        assert!(!usable(&t, &s, 1_000 + 3_600 - 599));
        // Issued to another client: never used.
        let mut t = tokens(Some(u64::MAX), None);
        t.client_id = "other".into();
        assert!(!usable(&t, &s, 0));
    }

    #[test]
    fn a_valid_stored_token_needs_no_network() {
        let (_dir, s) = stored(tokens(Some(now() + 3_600), Some("r")));
        assert_eq!(access_token(&s).unwrap().expose(), "access");
    }

    #[test]
    fn no_tokens_or_no_refresh_token_says_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let err = access_token(&s).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.message().contains("run `rmail login -p work`"), "{err}");

        let store = TokenStore::new(dir.path(), "work").unwrap();
        store.save(&tokens(Some(now()), None)).unwrap();
        let err = access_token(&s).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.message().contains("no refresh token"), "{err}");
    }

    #[test]
    fn an_unreachable_provider_leaves_the_old_token_while_it_lasts() {
        // Five minutes left: inside the ten-minute margin, so a refresh is tried (and fails).
        let (_dir, s) = stored(tokens(Some(now() + 300), Some("refresh-secret-value")));
        assert_eq!(access_token(&s).unwrap().expose(), "access");
    }

    #[test]
    fn an_unreachable_provider_is_temporary() {
        let (_dir, s) = stored(tokens(Some(now()), Some("refresh-secret-value")));
        let err = access_token(&s).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(!err.message().contains("secret-value"), "{err}");
    }
}
