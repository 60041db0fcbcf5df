//! A copy in Sent: after the SMTP server accepted a message, rmail stores it in the
//! account's Sent mailbox over IMAP (APPEND), as mutt and himalaya do.
//!
//! - [`connect`]: TCP, STARTTLS or implicit TLS, the greeting (no read-ahead across
//!   STARTTLS), bounds on what the server may send.
//! - [`tls`]: rustls with the system roots plus `ca_file`, as for SMTP.
//! - [`session`]: login (AUTH=PLAIN, LOGIN or XOAUTH2), LIST, APPEND `\Seen` with the
//!   message's date, over the `imap` crate; one session for all the copies of a run.
//! - [`folder`]: which mailbox (`sent_folder`, `\Sent`, a well-known name).
//! - [`copy`]: the stored bytes (what was sent, plus `Bcc:`) and the date.
//! - [`utf7`]: modified UTF-7 mailbox names.
//!
//! The IMAP client is the `imap` crate (3.0 alpha): the one synchronous IMAP client that
//! is kept up and runs over any `Read + Write` stream, so it rides on rmail's own rustls
//! connection; `async-imap` and `imap-client` need an async runtime, `imap-codec` is only a
//! codec.

pub(crate) mod connect;
pub(crate) mod copy;
pub(crate) mod folder;
pub(crate) mod session;
pub(crate) mod tls;
pub(crate) mod utf7;

use crate::config::profile::Security;
use crate::config::profile::{Endpoint, Profile};
use crate::config::secret::Secret;
use crate::error::{Error, Result};

pub(crate) use copy::{hidden_recipients, with_bcc};
pub(crate) use session::Saver;

/// How rmail logs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// A password: AUTHENTICATE PLAIN when offered, else LOGIN.
    Password,
    /// An OAuth2 access token: AUTHENTICATE XOAUTH2.
    XOAuth2,
}

/// Where the copies of one profile go: its IMAP server, resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Account {
    /// The profile it belongs to.
    pub(crate) profile: String,
    pub(crate) server: Endpoint,
    pub(crate) username: String,
    pub(crate) auth: Auth,
    /// The mailbox to use instead of the server's `\Sent` one (UTF-8).
    pub(crate) sent_folder: Option<String>,
}

impl Account {
    /// The profile's IMAP account; a configuration error when it has no IMAP server or no
    /// username to log in with.
    pub(crate) fn for_profile(profile: &Profile) -> Result<Account> {
        let name = &profile.name;
        let Some(imap) = &profile.imap else {
            return Err(Error::config(format!(
                "profile '{name}': save_sent needs an IMAP server; add [profiles.{name}.imap] \
                 with host = \"imap.example.com\" (a provider preset fills it in)"
            )));
        };
        let Some(username) = imap.username.clone() else {
            return Err(Error::config(format!(
                "profile '{name}': save_sent needs an IMAP username; set username in \
                 [profiles.{name}.imap] or in the profile"
            )));
        };
        Ok(Account {
            profile: name.clone(),
            server: imap.server.clone(),
            username,
            auth: if imap.xoauth2 {
                Auth::XOAuth2
            } else {
                Auth::Password
            },
            sent_folder: imap.sent_folder.clone(),
        })
    }

    /// `IMAP server host:port`, for messages.
    pub(crate) fn server(&self) -> String {
        format!("IMAP server {}", self.server)
    }
}

#[cfg(test)]
impl Account {
    /// A password account on 127.0.0.1, for the unit tests' scripted servers.
    pub(crate) fn on_loopback(
        port: u16,
        security: Security,
        timeout: std::time::Duration,
    ) -> Account {
        Account {
            profile: "t".into(),
            server: Endpoint::loopback(port, security, timeout),
            username: "me".into(),
            auth: Auth::Password,
            sent_folder: None,
        }
    }
}

/// The secret the profile logs in to IMAP with: the imap table's own password, else the
/// SMTP profile's secret (password or OAuth token), got exactly as SMTP gets it.
pub(crate) fn secret(profile: &Profile) -> Result<Secret> {
    let own = profile.imap.as_ref().and_then(|i| i.password.as_ref());
    let secret = match own {
        Some(source) => Some(source.fetch(&profile.name)?),
        None => profile.secret()?,
    };
    secret.ok_or_else(|| {
        Error::config(format!(
            "profile '{}': save_sent needs an IMAP password; set password_env, \
             password_command or password in [profiles.{}.imap] or in the profile",
            profile.name, profile.name
        ))
    })
}

/// A server's text made safe for a terminal: control characters escaped, length bounded.
pub(crate) fn printable(text: &str) -> String {
    const MAX: usize = 200;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
