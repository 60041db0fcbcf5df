//! A copy in Sent: after the SMTP server accepted a message, rmail stores it in the
//! account's Sent mailbox over IMAP (APPEND), as mutt and himalaya do.
//!
//! - [`connect`]: TCP, STARTTLS or implicit TLS, the greeting (no read-ahead across
//!   STARTTLS), bounds on what the server may send.
//! - [`tls`]: rustls with the system roots plus `ca_file`, as for SMTP.
//! - [`session`]: login (AUTH=PLAIN, LOGIN or XOAUTH2), LIST, APPEND `\Seen` with the
//!   message's date, over the `imap` crate.
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

use std::path::PathBuf;
use std::time::Duration;

pub(crate) use copy::with_bcc;
pub(crate) use session::append;

/// How the IMAP connection is secured; the same words and rules as SMTP's `security`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Security {
    /// Implicit TLS from the first byte (port 993).
    Tls,
    /// STARTTLS, required: a server that refuses it is an error (port 143).
    Starttls,
    /// No TLS at all (a local test server only).
    None,
}

/// How rmail logs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// A password: AUTHENTICATE PLAIN when offered, else LOGIN.
    Password,
    /// An OAuth2 access token: AUTHENTICATE XOAUTH2.
    XOAuth2,
}

/// A resolved IMAP account: the profile's `[imap]` table with presets and SMTP defaults
/// applied.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    /// What to call it in errors: `profile 'work' [imap]`.
    pub what: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// An extra trusted root (PEM).
    pub ca_file: Option<PathBuf>,
    /// For connecting and for each read and write.
    pub timeout: Duration,
    pub username: String,
    pub auth: Auth,
    /// The mailbox to use instead of the server's `\Sent` one (UTF-8).
    pub sent_folder: Option<String>,
}

impl Account {
    /// `IMAP server host:port`, for messages.
    pub fn server(&self) -> String {
        format!("IMAP server {}:{}", self.host, self.port)
    }
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
