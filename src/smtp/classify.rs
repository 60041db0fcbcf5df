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
    if let Some(tls) = tls_failure(&err) {
        return Error::new(
            ErrorKind::Auth,
            format!("TLS with {server} failed: {}", explain_tls(&tls)),
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
                Stage::RcptTo => {
                    // One line with the next step; the caller names the recipient in front.
                    return Error::new(
                        ErrorKind::Data,
                        format!(
                            "refused by {server} ({reply}); check the address for a typo or \
                             ask for the right one; the message was not sent"
                        ),
                    )
                    .with_reply(reply);
                }
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

/// The rustls error, when a lettre error is at heart one (e.g. an untrusted certificate).
/// lettre reports handshake failures as I/O errors, with the rustls error inside the
/// `io::Error` rather than in its `source()` chain.
fn tls_failure(err: &lettre::transport::smtp::Error) -> Option<rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.clone());
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref())
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls.clone());
        }
        current = e.source();
    }
    None
}

/// What to do about a certificate nobody vouches for: the same two ways out everywhere.
const TRUST_IT: &str = "if the server uses a private CA, set ca_file = \"/path/to/ca.pem\" in \
    the profile; or pin this very certificate with tls_fingerprint (`rmail check` prints it)";

/// A TLS failure in words: what is wrong (mostly with the certificate) and what to do.
/// rustls's own Display of a certificate error is Rust debug text
/// (`invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`), which says nothing
/// to someone setting up a relay.
pub(crate) fn explain_tls(err: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = err else {
        return match err {
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                "the server did not answer in TLS; port 465 wants security = \"tls\", \
                 ports 587 and 25 want security = \"starttls\""
                    .to_string()
            }
            rustls::Error::PeerIncompatible(_) | rustls::Error::NoApplicationProtocol => {
                "the server offers no TLS version or cipher rmail accepts (TLS 1.2 or newer); \
                 the server needs a newer TLS setup"
                    .to_string()
            }
            rustls::Error::AlertReceived(alert) => format!(
                "the server ended the TLS handshake ({}); check the host name and port",
                words(&format!("{alert:?}"))
            ),
            other => format!("{other}; check the host name, port and security setting"),
        };
    };
    match cert {
        C::UnknownIssuer => {
            format!(
                "the server's certificate is signed by a CA this machine does not trust; {TRUST_IT}"
            )
        }
        C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired; its \
             administrator must renew it (if this machine's clock is wrong, fix the clock)"
            .to_string(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet; check this machine's clock".to_string()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            let names = match cert {
                C::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
                    format!(" (it names {})", presented.join(", "))
                }
                _ => String::new(),
            };
            format!(
                "the server's certificate is for another host name{names}; set host to a name \
                 the certificate holds"
            )
        }
        C::Revoked => "the server's certificate has been revoked; do not send through it, \
             ask its administrator"
            .to_string(),
        C::BadSignature | C::BadEncoding => "the server's certificate is damaged (its \
             signature or encoding does not check out); ask its administrator"
            .to_string(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not meant for a TLS server; ask its administrator"
                .to_string()
        }
        // webpki's reasons come wrapped in OtherError; its Debug name is all there is.
        C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "the server presents a CA certificate as its own (a self-signed certificate \
             with CA:TRUE); give the server a certificate signed by that CA, or pin this one \
             with tls_fingerprint (`rmail check` prints it)"
                .to_string()
        }
        other => format!(
            "the server's certificate was refused ({}); {TRUST_IT}",
            words(&format!("{other:?}"))
        ),
    }
}

/// `UnknownIssuer` → `unknown issuer`: a debug name made readable.
fn words(debug: &str) -> String {
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut out = String::new();
    for c in name.chars() {
        if c.is_uppercase() && !out.is_empty() {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
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
