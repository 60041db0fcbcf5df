//! The one error type of the library.
//!
//! Every failure carries an [`ErrorKind`] that says what sort of failure it is, in the terms
//! a caller acts on (fix the input, fix the config, retry later). Only `main.rs` turns a kind
//! into an exit code; the library never exits.

use std::fmt;

/// What sort of failure happened; each maps to one sysexits code in `main.rs`.
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
}

impl ErrorKind {
    /// How bad a failure is, to pick the one a run of many messages (a merge, a queue
    /// flush) exits with: what needs a person to fix the setup ranks highest, what a re-run
    /// may fix by itself lowest.
    pub fn severity(self) -> u8 {
        match self {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    reply: Option<String>,
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
        }
    }

    /// Attaches the SMTP server's reply (e.g. `550 5.1.1 no such user`) that caused the error.
    pub fn with_reply(mut self, reply: impl Into<String>) -> Self {
        self.reply = Some(reply.into());
        self
    }

    /// Prefixes the message with what it concerns (`recipient <a@x>: …`), keeping kind and reply.
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
