//! TLS for SMTP: which servers are trusted (the rustls client configuration for a
//! profile), certificate pinning, and the fingerprints `rmail check` prints.
//!
//! The system trust store (honouring `SSL_CERT_FILE`, through rustls-native-certs) plus the
//! profile's `ca_file`. A pinned certificate (`tls_fingerprint`) replaces chain
//! verification, as in msmtp: the session compares the pin right after the handshake,
//! before anything is sent. Handshake signatures are always verified.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// What the configuration must do beyond the profile.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TrustOptions {
    /// Accept any certificate (the pin is checked after the handshake, or `rmail check`
    /// wants to show a certificate it does not trust).
    pub accept_any_certificate: bool,
    /// Refuse TLS below 1.3.
    pub tls13_only: bool,
}

/// The rustls configuration for `profile_name` with `ca_file`'s PEM bytes as an extra root.
pub(crate) fn client_config(
    profile_name: &str,
    ca_pem: Option<(&std::path::Path, &[u8])>,
    options: TrustOptions,
) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls13_only {
        &[&rustls::version::TLS13]
    } else {
        rustls::ALL_VERSIONS
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| Error::config(format!("profile '{profile_name}': cannot set up TLS: {e}")))?;

    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some((path, pem)) = ca_pem {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .ok()
            .filter(|certs| !certs.is_empty())
            .ok_or_else(|| {
                Error::config(format!(
                    "profile '{profile_name}': ca_file {} is not a PEM certificate",
                    path.display()
                ))
            })?;
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Error::config(format!(
                    "profile '{profile_name}': ca_file {} holds a certificate rustls cannot use: {e}",
                    path.display()
                ))
            })?;
        }
    }

    let config = if options.accept_any_certificate {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// Accepts any certificate chain, but still checks that the server holds the key of the
/// certificate it showed (so that the pin, compared after the handshake, means something).
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `sha256:` + lowercase hex of a DER certificate, the form `tls_fingerprint` takes.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", crate::digest::sha256_hex(der, 32))
}
