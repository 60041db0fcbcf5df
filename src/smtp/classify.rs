//! Stage × reply → error kind: what a server's answer means, in the one table rmail acts on.
//!
//! The same code means different things at different stages: a 5xx to RCPT TO is a bad
//! address (fix the data, exit 65), a 5xx to the message is a refusal (exit 69), a 5xx to
//! AUTH is a login problem (exit 77). A positive reply that is not the one the stage wants
//! (`250` to DATA instead of `354`, `250` to AUTH instead of `235`) is never taken as
//! success: it is the server's answer to that command, and the session ends.

use crate::error::{Error, ErrorKind};

/// Where in the dialogue a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Greeting,
    Ehlo,
    Starttls,
    Auth,
    MailFrom,
    RcptTo,
    /// The DATA command itself (the server should say 354).
    Data,
    /// The message data, after the final dot.
    Message,
    Rset,
}

impl Stage {
    /// The reply that means "go on" at this stage.
    pub(crate) fn expected(self) -> u16 {
        match self {
            Stage::Greeting | Stage::Starttls => 220,
            Stage::Auth => 235,
            Stage::Data => 354,
            Stage::Ehlo | Stage::MailFrom | Stage::RcptTo | Stage::Message | Stage::Rset => 250,
        }
    }

    /// Whether `code` is the go-ahead at this stage. After MAIL, RCPT, the message and
    /// RSET any 2xx will do (251 "will forward" is a success too); elsewhere only the code
    /// the RFCs name.
    pub(crate) fn accepts(self, code: u16) -> bool {
        match self {
            Stage::MailFrom | Stage::RcptTo | Stage::Message | Stage::Rset | Stage::Ehlo => {
                (200..300).contains(&code)
            }
            _ => code == self.expected(),
        }
    }

    /// How the stage is named in messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Stage::Greeting => "the greeting",
            Stage::Ehlo => "EHLO",
            Stage::Starttls => "STARTTLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "the message data",
            Stage::Rset => "RSET",
        }
    }
}

/// The kind of failure a reply `code` is at `stage`, when it is not the go-ahead.
pub(crate) fn classify(stage: Stage, code: u16) -> ErrorKind {
    match (stage, code / 100) {
        // Every 4xx is worth retrying, at any stage.
        (_, 4) => ErrorKind::Temporary,
        // TLS refused, or a login not confirmed: the security of the session is at stake.
        (Stage::Starttls, _) => ErrorKind::Auth,
        (Stage::Auth, _) => ErrorKind::Auth,
        (Stage::MailFrom, 5) if code == 530 => ErrorKind::Auth,
        (Stage::RcptTo, 5) => ErrorKind::Data,
        (_, 5) => ErrorKind::Unavailable,
        // A positive reply that is not the go-ahead (250 to DATA, 334 out of AUTH): the
        // server and rmail disagree about where they are. Nothing was delivered; retry.
        _ => ErrorKind::Temporary,
    }
}

/// What to tell the user about a reply of `kind` at `stage`.
fn advice(stage: Stage, code: u16, kind: ErrorKind) -> String {
    if code / 100 == 4 {
        return "a temporary failure; try again later".into();
    }
    if code / 100 != 5 {
        return format!(
            "not the {} that means go on; the session was ended",
            stage.expected()
        );
    }
    match (stage, kind) {
        (Stage::Auth, _) => "login failed; check username and password (providers such as \
                             Gmail, QQ and 163 want an app password or authorization code)"
            .into(),
        (Stage::Starttls, _) => "the server would not start TLS, and security = \"starttls\" \
                                 never falls back to plaintext"
            .into(),
        (Stage::MailFrom, ErrorKind::Auth) => {
            "the server requires authentication; set username and a password source".into()
        }
        _ => "the server refused for good".into(),
    }
}

/// The error for `reply` (`"550 5.1.1 no such user"`, code `code`) from `server` at `stage`.
pub(crate) fn reply_error(server: &str, stage: Stage, code: u16, reply: &str) -> Error {
    let kind = classify(stage, code);
    if stage == Stage::RcptTo && kind == ErrorKind::Data {
        // One line with the next step; the caller names the recipient in front.
        return Error::new(
            kind,
            format!(
                "refused by {server} ({reply}); check the address for a typo or ask for the \
                 right one; the message was not sent"
            ),
        )
        .with_reply(reply);
    }
    let advice = advice(stage, code, kind);
    Error::new(
        kind,
        format!("{server} replied {reply} to {}: {advice}", stage.describe()),
    )
    .with_reply(reply)
}

/// A TLS failure with `server`: trust is at stake, so it is never retried (77).
pub(crate) fn tls_error(server: &str, tls: &rustls::Error) -> Error {
    Error::new(
        ErrorKind::Auth,
        format!("TLS with {server} failed: {}", explain_tls(tls)),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorKind::*;

    /// The whole table: every stage against a representative of every reply class.
    #[test]
    fn stage_by_reply() {
        #[rustfmt::skip]
        let table: &[(Stage, [ErrorKind; 6])] = &[
            //                    250        354        421        450        530           550
            (Stage::Greeting, [Temporary, Temporary, Temporary, Temporary, Unavailable, Unavailable]),
            (Stage::Ehlo,     [Temporary, Temporary, Temporary, Temporary, Unavailable, Unavailable]),
            (Stage::Starttls, [Auth,      Auth,      Temporary, Temporary, Auth,        Auth]),
            (Stage::Auth,     [Auth,      Auth,      Temporary, Temporary, Auth,        Auth]),
            (Stage::MailFrom, [Temporary, Temporary, Temporary, Temporary, Auth,        Unavailable]),
            (Stage::RcptTo,   [Temporary, Temporary, Temporary, Temporary, Data,        Data]),
            (Stage::Data,     [Temporary, Temporary, Temporary, Temporary, Unavailable, Unavailable]),
            (Stage::Message,  [Temporary, Temporary, Temporary, Temporary, Unavailable, Unavailable]),
            (Stage::Rset,     [Temporary, Temporary, Temporary, Temporary, Unavailable, Unavailable]),
        ];
        for (stage, kinds) in table {
            for (code, kind) in [250, 354, 421, 450, 530, 550].into_iter().zip(kinds) {
                assert_eq!(classify(*stage, code), *kind, "{stage:?} {code}");
            }
        }
    }

    #[test]
    fn only_the_named_reply_is_a_go_ahead() {
        assert!(Stage::Data.accepts(354));
        assert!(!Stage::Data.accepts(250));
        assert!(Stage::Auth.accepts(235));
        assert!(!Stage::Auth.accepts(250));
        assert!(!Stage::Auth.accepts(334));
        assert!(Stage::Starttls.accepts(220));
        assert!(!Stage::Starttls.accepts(250));
        assert!(Stage::Greeting.accepts(220));
        assert!(!Stage::Greeting.accepts(554));
        assert!(Stage::RcptTo.accepts(251));
        assert!(Stage::Message.accepts(250));
        assert!(!Stage::Message.accepts(354));
    }

    #[test]
    fn errors_carry_the_reply_and_say_where() {
        let err = reply_error("mx:25", Stage::RcptTo, 550, "550 5.1.1 no such user");
        assert_eq!(err.kind(), Data);
        assert_eq!(err.reply(), Some("550 5.1.1 no such user"));
        assert!(
            err.message()
                .starts_with("refused by mx:25 (550 5.1.1 no such user); check the address"),
            "{}",
            err.message()
        );
        let err = reply_error("mx:25", Stage::Data, 250, "250 ok");
        assert_eq!(err.kind(), Temporary);
        assert!(err.message().contains("354"), "{}", err.message());
    }

    #[test]
    fn tls_failures_in_words() {
        use rustls::CertificateError as C;
        let words_for = |e: C| explain_tls(&rustls::Error::InvalidCertificate(e));
        assert!(
            words_for(C::UnknownIssuer).contains("does not trust; if the server uses a private CA")
        );
        assert!(words_for(C::Expired).contains("has expired"));
        assert!(words_for(C::NotValidForName).contains("another host name"));
        assert_eq!(
            words("UnhandledCriticalExtension"),
            "unhandled critical extension"
        );
        let other = explain_tls(&rustls::Error::InvalidCertificate(
            C::UnhandledCriticalExtension,
        ));
        assert!(other.contains("(unhandled critical extension)"), "{other}");
    }
}
