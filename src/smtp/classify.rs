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
        (Stage::RcptTo, _) => "the recipient address was refused".into(),
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
    let advice = advice(stage, code, kind);
    Error::new(
        kind,
        format!("{server} replied {reply} to {}: {advice}", stage.describe()),
    )
    .with_reply(reply)
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
        assert!(err.message().contains("RCPT TO"));
        let err = reply_error("mx:25", Stage::Data, 250, "250 ok");
        assert_eq!(err.kind(), Temporary);
        assert!(err.message().contains("354"), "{}", err.message());
    }
}
