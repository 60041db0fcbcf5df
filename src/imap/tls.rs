//! TLS for IMAP, by the same rules as SMTP: rustls with the system trust store (which
//! honours `SSL_CERT_FILE`) plus the account's `ca_file`, certificates always verified.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

use crate::error::{Error, ErrorKind};

/// A client configuration trusting the system roots and `ca_file`. `what` names the
/// account in errors (`profile 'work' [imap]`).
pub(crate) fn config(ca_file: Option<&Path>, what: &str) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are skipped, as lettre does; ca_file may add the root.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<_, _>>())
            .map_err(|e| {
                Error::config(format!(
                    "{what}: ca_file {} is not a readable PEM certificate: {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(Error::config(format!(
                "{what}: ca_file {} holds no PEM certificate",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| Error::config(format!("{what}: ca_file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("{what}: cannot set up TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
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
