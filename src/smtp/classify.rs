//! What a failure means: the stage of the dialogue and the server's reply (or the network
//! error) → an [`Error`] whose kind says temporary, permanent, bad address, or login / TLS.

use std::io;

use crate::error::{Error, ErrorKind};

/// The stage of the SMTP dialogue a failure happened in; it decides what a 5xx means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Connect,
    Starttls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
}

impl Stage {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Stage::Connect => "connecting",
            Stage::Starttls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
        }
    }
}

/// Turns a lettre error into an rmail error that says what happened and what to do.
pub(crate) fn classify(server: &str, stage: Stage, err: lettre::transport::smtp::Error) -> Error {
    if let Some(reason) = tls_failure(&err) {
        return Error::new(
            ErrorKind::Auth,
            format!(
                "TLS with {server} failed: {reason}; if the server uses a private CA, set \
                 ca_file = \"/path/to/ca.pem\" in the profile, or pin it with tls_fingerprint"
            ),
        );
    }
    if let Some(code) = err.status() {
        let code: u16 = code.into();
        let text = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        let reply = format!("{code} {text}").trim_end().to_string();
        let at = stage.describe();
        let (kind, advice) = if (400..500).contains(&code) {
            (ErrorKind::Temporary, "a temporary failure; try again later")
        } else {
            match stage {
                Stage::RcptTo => (ErrorKind::Data, "the recipient address was refused"),
                Stage::Auth => (
                    ErrorKind::Auth,
                    "login failed; check username and password (providers such as Gmail, QQ \
                     and 163 want an app password or authorization code)",
                ),
                Stage::MailFrom if code == 530 => (
                    ErrorKind::Auth,
                    "the server requires authentication; set username and a password source",
                ),
                _ => (ErrorKind::Unavailable, "the server refused for good"),
            }
        };
        return Error::new(kind, format!("{server} replied {reply} to {at}: {advice}"))
            .with_reply(reply);
    }
    if err.is_timeout() || timed_out(&err) {
        return Error::new(
            ErrorKind::Temporary,
            format!(
                "{server} did not answer in time ({}); try again later or raise timeout_secs",
                stage.describe()
            ),
        );
    }
    let detail = error_chain(&err);
    match stage {
        Stage::Auth if err.is_client() => Error::new(
            ErrorKind::Auth,
            format!("AUTH with {server} failed: {detail}"),
        ),
        // A network failure after the greeting (e.g. the connection dropped in the middle of
        // DATA): say at which stage, since "incomplete response" alone tells the user nothing.
        Stage::Connect => Error::new(
            ErrorKind::Temporary,
            format!("connecting to {server} failed: {detail}"),
        ),
        _ => Error::new(
            ErrorKind::Temporary,
            format!(
                "the connection to {server} failed during {}: {detail}",
                stage.describe()
            ),
        ),
    }
}

/// The reason, when a lettre error is at heart a rustls error (e.g. an untrusted
/// certificate). lettre reports handshake failures as I/O errors, with the rustls error
/// inside the `io::Error` rather than in its `source()` chain.
fn tls_failure(err: &lettre::transport::smtp::Error) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref())
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls.to_string());
        }
        current = e.source();
    }
    None
}

/// Socket read/write timeouts surface as `WouldBlock` on Linux, which lettre's
/// `is_timeout` does not recognise.
fn timed_out(err: &lettre::transport::smtp::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            )
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut current = std::error::Error::source(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}
