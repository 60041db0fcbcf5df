//! MIME bytes → an SMTP server: the session (connect, TLS, AUTH, MAIL/RCPT/DATA) on a
//! connection of rmail's own, the TLS trust, and what each reply means.
//!
//! - `session.rs`: the dialogue, one command and one reply at a time;
//! - `wire.rs`: replies read with bounds on length and time; `stream.rs`: TCP and rustls;
//! - `data.rs`: message data checked and dot-stuffed; `utf8.rs`: SMTPUTF8 and IDN;
//! - `classify.rs`: stage × reply → error kind; `tls.rs`: trust store, pin, fingerprint.

pub(crate) mod classify;
pub(crate) mod data;
pub(crate) mod session;
pub(crate) mod stream;
pub(crate) mod tls;
pub(crate) mod utf8;
pub(crate) mod wire;
