//! MIME bytes → an SMTP server: the session (connect, TLS, AUTH, MAIL/RCPT/DATA), the TLS
//! parameters, and what each reply means.

pub(crate) mod classify;
mod redact;
pub(crate) mod session;
pub(crate) mod tls;
