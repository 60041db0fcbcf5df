//! The one error type of the library.
//!
//! Every failure carries an [`ErrorKind`] that says what sort of failure it is, in the terms
//! a caller acts on (fix the input, fix the config, retry later), a one-line message for the
//! user, the server's reply when one caused it, and the underlying error as its `source()`.
//! [`ErrorKind::exit_code`] is the one mapping to sysexits; the library never exits.

use std::fmt;
use std::sync::Arc;

/// What sort of failure happened; each maps to one sysexits code ([`ErrorKind::exit_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The command line was wrong (EX_USAGE, 64).
    Usage,
    /// Input data was wrong: an address, a header, a template row (EX_DATAERR, 65).
    Data,
    /// An input file does not exist or cannot be read (EX_NOINPUT, 66).
    NoInput,
    /// The server refused for good, or cannot be used (EX_UNAVAILABLE, 69).
    Unavailable,
    /// Something outside rmail went wrong (EX_SOFTWARE, 70).
    Internal,
    /// A local file could not be written (EX_CANTCREAT, 73).
    CantCreate,
    /// A temporary failure: retry later (EX_TEMPFAIL, 75).
    Temporary,
    /// Authentication failed or the server's certificate is not trusted (EX_NOPERM, 77).
    Auth,
    /// The configuration is wrong (EX_CONFIG, 78).
    Config,
    /// The user stopped the run: Ctrl-C, or "no" to a confirmation (128 + SIGINT, 130, as a
    /// shell reports a command Ctrl-C ended).
    Cancelled,
}

impl ErrorKind {
    /// Every kind, in the order of their exit codes (the man page's EXIT STATUS lists them).
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Usage,
        ErrorKind::Data,
        ErrorKind::NoInput,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
        ErrorKind::CantCreate,
        ErrorKind::Temporary,
        ErrorKind::Auth,
        ErrorKind::Config,
        ErrorKind::Cancelled,
    ];

    /// What the exit code tells the user, for the man page's EXIT STATUS.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage error: an unknown option, a missing --to",
            ErrorKind::Data => {
                "bad input data: an address, a header with a line break, a template row, \
                 a recipient refused with 5xx"
            }
            ErrorKind::NoInput => "an input file is missing or unreadable",
            ErrorKind::Unavailable => "the server refused permanently (5xx) or cannot be used",
            ErrorKind::Internal => "an internal error in rmail (please report it)",
            ErrorKind::CantCreate => "a local file (outbox, --eml, --out-dir) could not be written",
            ErrorKind::Temporary => {
                "temporary failure (network, timeout, 4xx): the message is kept in the outbox"
            }
            ErrorKind::Auth => {
                "authentication failed, the server's certificate is not trusted, or STARTTLS \
                 is missing"
            }
            ErrorKind::Config => "configuration error: the message names file, line and key",
            ErrorKind::Cancelled => {
                "stopped by the user: Ctrl-C, or no answer yes to a merge's confirmation"
            }
        }
    }

    /// The sysexits.h code, so cron wrappers and scripts can tell failures apart.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Usage => 64,
            ErrorKind::Data => 65,
            ErrorKind::NoInput => 66,
            ErrorKind::Unavailable => 69,
            ErrorKind::Internal => 70,
            ErrorKind::CantCreate => 73,
            ErrorKind::Temporary => 75,
            ErrorKind::Auth => 77,
            ErrorKind::Config => 78,
            ErrorKind::Cancelled => 130,
        }
    }

    /// How bad a failure is, to pick the one a run of many messages (a merge, a queue
    /// flush) exits with: what needs a person to fix the setup ranks highest, what a re-run
    /// may fix by itself lowest.
    pub fn severity(self) -> u8 {
        match self {
            ErrorKind::Cancelled => 7,
            ErrorKind::Config | ErrorKind::Auth => 6,
            ErrorKind::CantCreate | ErrorKind::Internal | ErrorKind::Usage => 5,
            ErrorKind::Unavailable => 4,
            ErrorKind::Data => 3,
            ErrorKind::NoInput => 2,
            ErrorKind::Temporary => 1,
        }
    }
}

/// A failure, with a message that says what went wrong and what to do about it.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    reply: Option<String>,
    /// What caused it (an I/O or protocol error), kept for `source()`; shared so that one
    /// failure can be reported for several messages (a flush behind a dead relay).
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Short for `Result<T, rmail::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a complete one-line message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            reply: None,
            source: None,
        }
    }

    /// Keeps `source` as the cause of this error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Attaches the SMTP server's reply (e.g. `550 5.1.1 no such user`) that caused the error.
    pub fn with_reply(mut self, reply: impl Into<String>) -> Self {
        self.reply = Some(reply.into());
        self
    }

    /// Prefixes the message with what it concerns (`recipient <a@x>: …`), keeping kind,
    /// reply and source.
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// A file rmail was asked to read could not be read. Missing files are `NoInput`;
    /// anything else (permissions, a directory) is reported the same way, with the reason.
    pub fn read_file(what: &str, path: &std::path::Path, err: &std::io::Error) -> Self {
        let reason = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => err.to_string(),
        };
        Self::new(
            ErrorKind::NoInput,
            format!("cannot read {what} {}: {reason}", path.display()),
        )
        .with_source(std::io::Error::new(err.kind(), err.to_string()))
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The server's reply, when a server's reply caused this error.
    pub fn reply(&self) -> Option<&str> {
        self.reply.as_deref()
    }

    /// True for failures worth retrying later (network errors, 4xx replies).
    pub fn is_temporary(&self) -> bool {
        self.kind == ErrorKind::Temporary
    }

    /// True when the server refused for good (a 5xx reply): sending again cannot help.
    pub fn is_permanent(&self) -> bool {
        self.reply.is_some() && matches!(self.kind, ErrorKind::Unavailable | ErrorKind::Data)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_kind_reply_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = Error::new(ErrorKind::Temporary, "DATA failed")
            .with_reply("451 try later")
            .with_source(io)
            .context("row 3");
        assert_eq!(err.message(), "row 3: DATA failed");
        assert_eq!(err.reply(), Some("451 try later"));
        assert!(err.is_temporary() && !err.is_permanent());
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("reset by peer"));
        assert_eq!(err.kind().exit_code(), 75);
    }

    #[test]
    fn permanent_means_a_refusal() {
        let refused = Error::new(ErrorKind::Unavailable, "554 no").with_reply("554 no");
        assert!(refused.is_permanent());
        assert!(!Error::config("bad key").is_permanent());
    }
}
