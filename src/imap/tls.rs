//! TLS for IMAP, by the same rules as SMTP (and through SMTP's trust configuration): rustls
//! with the system trust store (which honours `SSL_CERT_FILE`) plus the account's `ca_file`,
//! certificates always verified.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::error::{Error, ErrorKind};
use crate::smtp;
use crate::smtp::tls::TrustOptions;

/// A client configuration trusting the system roots and `ca_file`: SMTP's, so both
/// protocols follow one set of rules. `profile` names the profile in errors.
pub(crate) fn config(ca_file: Option<&Path>, profile: &str) -> Result<Arc<ClientConfig>, Error> {
    let pem = match ca_file {
        Some(path) => Some((
            path,
            std::fs::read(path).map_err(|e| {
                Error::config(format!(
                    "profile '{profile}' [imap]: cannot read ca_file {}: {e}",
                    path.display()
                ))
                .with_source(e)
            })?,
        )),
        None => None,
    };
    smtp::tls::client_config(
        profile,
        pem.as_ref().map(|(path, bytes)| (*path, bytes.as_slice())),
        TrustOptions::default(),
    )
}

/// A client connection to `host` (a DNS name or an IP address, checked against the
/// certificate).
pub(crate) fn connection(config: Arc<ClientConfig>, host: &str) -> Result<ClientConnection, Error> {
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        Error::config(format!(
            "IMAP host {host:?} is not a valid name for TLS: {e}"
        ))
    })?;
    ClientConnection::new(config, name).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot start TLS with {host}: {e}"),
        )
    })
}

/// The TLS failure behind an I/O error from a handshake, if it is one (rustls reports an
/// untrusted certificate as `InvalidData` wrapping its own error).
pub(crate) fn tls_failure(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}
