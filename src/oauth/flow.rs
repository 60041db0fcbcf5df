//! The OAuth 2.0 grants, through the oauth2 crate: authorization code with PKCE and a
//! loopback redirect (RFC 7636, RFC 8252), the device grant (RFC 8628), client credentials,
//! and the refresh grant. Each returns the token response as [`StoredTokens`]; saving is the
//! caller's job. The person is reached only through the [`Prompt`] callback, so that
//! printing stays in `commands/`.

use std::process::{Command, Stdio};
use std::time::Duration;

use oauth2::DeviceCodeErrorResponseType;
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    ErrorResponseType, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, StandardErrorResponse, TokenResponse, TokenUrl,
};

use super::discovery::Endpoints;
use super::http::{Http, HttpError, unreachable_provider};
use super::loopback::Listener;
use super::store::StoredTokens;
use super::{Flow, OAuthSettings, now, printable};
use crate::error::{Error, ErrorKind, Result};

/// What the person must see or do during `rmail login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prompt {
    /// The browser was asked to open this authorization URL.
    BrowserOpened { url: String },
    /// Open this authorization URL yourself (`--no-browser`, or no browser could be started).
    OpenUrl { url: String },
    /// Device flow: visit `verification_uri` and enter `user_code` within `expires_in`.
    Device {
        verification_uri: String,
        user_code: String,
        expires_in: Duration,
    },
}

/// How `rmail login` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginOptions {
    /// Print the authorization URL instead of starting a browser.
    pub(crate) no_browser: bool,
    /// How long to wait for the person to finish signing in.
    pub(crate) wait: Duration,
}

/// A profile's authorization server, as every grant talks to it: the client settings, the
/// HTTP client and the endpoints (configured or discovered).
#[derive(Clone, Copy)]
pub(crate) struct AuthServer<'a> {
    pub(crate) settings: &'a OAuthSettings,
    pub(crate) http: &'a Http,
    pub(crate) endpoints: &'a Endpoints,
}

impl<'a> AuthServer<'a> {
    pub(crate) fn new(
        settings: &'a OAuthSettings,
        http: &'a Http,
        endpoints: &'a Endpoints,
    ) -> AuthServer<'a> {
        AuthServer {
            settings,
            http,
            endpoints,
        }
    }
}

/// The person signing in: how `rmail login` runs, and how they are told what to do.
struct Person<'a, 'p> {
    options: &'a LoginOptions,
    prompt: &'a mut (dyn FnMut(Prompt) + 'p),
}

/// Runs the profile's interactive flow and returns the first tokens.
pub(crate) fn login(
    server: &AuthServer<'_>,
    options: &LoginOptions,
    prompt: &mut dyn FnMut(Prompt),
) -> Result<StoredTokens> {
    match server.settings.flow {
        Flow::AuthCode => auth_code(server, Person { options, prompt }),
        Flow::Device => device(server, Person { options, prompt }),
        Flow::ClientCredentials => client_credentials(server),
    }
}

fn client(settings: &OAuthSettings, endpoints: &Endpoints) -> Result<TokenClient> {
    let token_url = TokenUrl::new(endpoints.token_url.clone())
        .map_err(|e| Error::config(format!("oauth.token_url: {e}")))?;
    let client =
        BasicClient::new(ClientId::new(settings.client_id.clone())).set_token_uri(token_url);
    Ok(match &settings.client_secret {
        Some(source) => {
            let secret = source.fetch(&settings.profile)?;
            client.set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        }
        None => client,
    })
}

type TokenClient = BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn scopes(settings: &OAuthSettings) -> impl Iterator<Item = Scope> + '_ {
    settings.scopes.iter().cloned().map(Scope::new)
}

fn auth_code(server: &AuthServer<'_>, person: Person<'_, '_>) -> Result<StoredTokens> {
    let (settings, http, endpoints) = (server.settings, server.http, server.endpoints);
    let Person { options, prompt } = person;
    let auth_url = endpoints.auth_url.clone().unwrap_or_default();
    let auth_url =
        AuthUrl::new(auth_url).map_err(|e| Error::config(format!("oauth.auth_url: {e}")))?;
    let listener = Listener::bind()?;
    let redirect = RedirectUrl::new(listener.redirect_uri())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("redirect URI: {e}")))?;
    let client = client(settings, endpoints)?
        .set_auth_uri(auth_url)
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes(settings))
        .set_pkce_challenge(challenge)
        // Ask for consent every time: OpenID providers grant offline_access (a refresh
        // token) only with it, and Google issues a refresh token only on consent.
        .add_extra_param("prompt", "consent");
    for (name, value) in &settings.auth_params {
        request = request.add_extra_param(name.clone(), value.clone());
    }
    let (url, state) = request.url();
    let url = url.to_string();

    let mut browser = None;
    if options.no_browser {
        prompt(Prompt::OpenUrl { url: url.clone() });
    } else {
        match open_browser(&url) {
            Ok(child) => {
                browser = Some(child);
                prompt(Prompt::BrowserOpened { url: url.clone() });
            }
            Err(_) => prompt(Prompt::OpenUrl { url: url.clone() }),
        }
    }
    let code = listener.wait_for_code(state.secret(), options.wait);
    if let Some(mut child) = browser {
        // xdg-open has long returned; a $BROWSER that is still running stays as it is.
        let _ = child.try_wait();
    }
    let response = client
        .exchange_code(AuthorizationCode::new(code?))
        .set_pkce_verifier(verifier)
        .request(http)
        .map_err(|e| token_error(settings, &endpoints.token_url, e))?;
    Ok(stored(settings, &response, None))
}

/// Starts `$BROWSER URL`, else `xdg-open URL`, without waiting for it.
fn open_browser(url: &str) -> std::io::Result<std::process::Child> {
    let browser = std::env::var("BROWSER")
        .ok()
        .and_then(|b| b.split(':').find(|b| !b.is_empty()).map(str::to_owned))
        .unwrap_or_else(|| "xdg-open".to_owned());
    Command::new(browser)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

fn device(server: &AuthServer<'_>, person: Person<'_, '_>) -> Result<StoredTokens> {
    let (settings, http, endpoints) = (server.settings, server.http, server.endpoints);
    let device_url = endpoints.device_url.clone().unwrap_or_default();
    let device_url = DeviceAuthorizationUrl::new(device_url)
        .map_err(|e| Error::config(format!("oauth.device_url: {e}")))?;
    let client = client(settings, endpoints)?.set_device_authorization_url(device_url);
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes(settings))
        .request(http)
        .map_err(|e| token_error(settings, endpoints.device_url.as_deref().unwrap_or(""), e))?;
    (person.prompt)(Prompt::Device {
        verification_uri: printable(details.verification_uri()),
        user_code: printable(details.user_code().secret()),
        expires_in: details.expires_in(),
    });
    // oauth2 polls at the server's interval, slows down on slow_down and keeps waiting
    // on authorization_pending.
    let wait = person.options.wait.min(details.expires_in());
    let response = client
        .exchange_device_access_token(&details)
        .request(http, std::thread::sleep, Some(wait))
        .map_err(|e| device_error(settings, &endpoints.token_url, e))?;
    Ok(stored(settings, &response, None))
}

/// Client credentials: an app-only token, no person involved.
pub(crate) fn client_credentials(server: &AuthServer<'_>) -> Result<StoredTokens> {
    let (settings, http, endpoints) = (server.settings, server.http, server.endpoints);
    if settings.client_secret.is_none() {
        return Err(Error::config(format!(
            "profile {}: flow = \"client-credentials\" needs oauth.client_secret \
             (or oauth.client_secret_env)",
            settings.profile
        )));
    }
    let response = client(settings, endpoints)?
        .exchange_client_credentials()
        .add_scopes(scopes(settings))
        .request(http)
        .map_err(|e| token_error(settings, &endpoints.token_url, e))?;
    Ok(stored(settings, &response, None))
}

/// Trades the refresh token for a new access token; a rotated refresh token replaces the
/// old one, an unrotated one is kept.
pub(crate) fn refresh(server: &AuthServer<'_>, refresh_token: &str) -> Result<StoredTokens> {
    let (settings, http, endpoints) = (server.settings, server.http, server.endpoints);
    let token = RefreshToken::new(refresh_token.to_owned());
    let response = client(settings, endpoints)?
        .exchange_refresh_token(&token)
        .request(http)
        .map_err(|e| token_error(settings, &endpoints.token_url, e))?;
    Ok(stored(settings, &response, Some(refresh_token)))
}

fn stored(
    settings: &OAuthSettings,
    response: &BasicTokenResponse,
    old_refresh: Option<&str>,
) -> StoredTokens {
    let obtained_at = now();
    let scopes = match response.scopes() {
        Some(granted) => granted.iter().map(|s| s.to_string()).collect(),
        None => settings.scopes.clone(),
    };
    StoredTokens {
        access_token: response.access_token().secret().clone(),
        expires_at: response
            .expires_in()
            .map(|d| obtained_at.saturating_add(d.as_secs())),
        refresh_token: response
            .refresh_token()
            .map(|t| t.secret().clone())
            .or_else(|| old_refresh.map(str::to_owned)),
        scopes,
        client_id: settings.client_id.clone(),
        obtained_at,
    }
}

/// `run rmail login -p NAME again`, the fix for every refused grant.
pub(crate) fn login_again(settings: &OAuthSettings) -> String {
    format!("run `rmail login -p {}` again", settings.profile)
}

/// What the token endpoint answered, when it did not issue a token.
type TokenError<T> = RequestTokenError<HttpError, StandardErrorResponse<T>>;

/// A grant refused by the server ([`refused`]), or the endpoint unreachable or not
/// answering as OAuth.
fn token_error<T: ErrorResponseType + AsRef<str> + std::fmt::Display>(
    settings: &OAuthSettings,
    url: &str,
    err: TokenError<T>,
) -> Error {
    match err {
        RequestTokenError::ServerResponse(response) => refused(
            settings,
            response.error().as_ref(),
            response.error_description().map(String::as_str),
        ),
        RequestTokenError::Request(e) => unreachable_provider(url, &e),
        RequestTokenError::Parse(e, _body) => Error::new(
            ErrorKind::Unavailable,
            format!("{url} did not answer as an OAuth 2.0 token endpoint: {e}"),
        ),
        RequestTokenError::Other(message) => Error::new(
            ErrorKind::Unavailable,
            format!("{url}: {}", printable(&message)),
        ),
    }
}

/// The device grant's polling ends in two ways of its own: the code expired, or the person
/// did not finish in time. The rest as [`token_error`].
fn device_error(
    settings: &OAuthSettings,
    url: &str,
    err: TokenError<DeviceCodeErrorResponseType>,
) -> Error {
    match err {
        RequestTokenError::ServerResponse(response)
            if *response.error() == DeviceCodeErrorResponseType::ExpiredToken =>
        {
            Error::new(
                ErrorKind::Auth,
                format!(
                    "the device code expired before the sign-in finished: {}",
                    login_again(settings)
                ),
            )
        }
        RequestTokenError::Other(message) if message.contains("timed out") => Error::new(
            ErrorKind::Temporary,
            format!(
                "the sign-in was not finished in time: {}",
                login_again(settings)
            ),
        ),
        other => token_error(settings, url, other),
    }
}

/// The server said no (an OAuth error response).
fn refused(settings: &OAuthSettings, error: &str, description: Option<&str>) -> Error {
    let detail = description
        .map(|d| format!(" ({})", printable(d)))
        .unwrap_or_default();
    let error = printable(error);
    let invalid_grant = BasicErrorResponseType::InvalidGrant.as_ref();
    if error == invalid_grant {
        return Error::new(
            ErrorKind::Auth,
            format!(
                "profile {}: the authorization server refused the stored grant \
                 (invalid_grant{detail}): it expired or was revoked; {}",
                settings.profile,
                login_again(settings)
            ),
        );
    }
    let kind = match error.as_str() {
        "invalid_client" | "unauthorized_client" | "invalid_scope" => ErrorKind::Config,
        "temporarily_unavailable" => ErrorKind::Temporary,
        "server_error" => ErrorKind::Temporary,
        _ => ErrorKind::Auth,
    };
    Error::new(
        kind,
        format!(
            "profile {}: the authorization server refused: {error}{detail}",
            settings.profile
        ),
    )
}
