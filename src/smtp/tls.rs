//! TLS for SMTP: which servers are trusted (the rustls client configuration for a
//! profile), certificate pinning, and the fingerprints `rmail check` prints.
//!
//! The system trust store (honouring `SSL_CERT_FILE`, through rustls-native-certs) plus the
//! profile's `ca_file`. A pinned certificate (`tls_fingerprint`) replaces chain
//! verification, as in msmtp: the session compares the pin right after the handshake,
//! before anything is sent. Handshake signatures are always verified.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
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

    if options.accept_any_certificate {
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier {
                    chain: Chain::Any,
                    provider,
                }))
                .with_no_client_auth(),
        ));
    }
    let config = match ca_pem {
        None => builder
            .with_root_certificates(system_store())
            .with_no_client_auth(),
        Some((path, pem)) => {
            let ca_file = ca_file_roots(profile_name, path, pem)?;
            let verifier = Verifier {
                chain: Chain::CaFileFirst {
                    ca_file: verifier(ca_file.clone(), &provider).map_err(|e| {
                        Error::config(format!("profile '{profile_name}': cannot set up TLS: {e}"))
                    })?,
                    union: std::sync::OnceLock::new(),
                    ca_roots: ca_file,
                },
                provider: Arc::clone(&provider),
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// The roots of the profile's `ca_file`.
fn ca_file_roots(profile_name: &str, path: &std::path::Path, pem: &[u8]) -> Result<RootCertStore> {
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
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            Error::config(format!(
                "profile '{profile_name}': ca_file {} holds a certificate rustls cannot use: {e}",
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

/// The system trust store as roots.
fn system_store() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system_roots());
    roots
}

/// rustls's own chain verifier for `roots`.
fn verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> std::result::Result<Arc<WebPkiServerVerifier>, rustls::Error> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))
}

/// rmail's certificate verifier: which chains it accepts is [`Chain`]; handshake signatures
/// are always checked with the provider's algorithms, so the server must hold the key of the
/// certificate it showed.
#[derive(Debug)]
struct Verifier {
    chain: Chain,
    provider: Arc<CryptoProvider>,
}

/// Which certificate chains a [`Verifier`] accepts.
#[derive(Debug)]
enum Chain {
    /// Any: the certificate is pinned (`tls_fingerprint`), and the pin is compared after
    /// the handshake.
    Any,
    /// One the system store plus `ca_file` trusts, as rustls's verifier with both sets of
    /// roots does, but with the system store read only when it is needed: reading and
    /// decoding it is most of what TLS adds to a one-off send (about 140 roots, and with
    /// `SSL_CERT_DIR` set every file of the folder too). A chain that ends at a `ca_file`
    /// root is valid whatever else is trusted, so it is accepted at once; any other chain
    /// gets the full verifier with both sets, so the verdict and its error are the same as
    /// with both loaded up front.
    CaFileFirst {
        ca_file: Arc<WebPkiServerVerifier>,
        ca_roots: RootCertStore,
        /// System store plus `ca_file`, built on first need.
        union: std::sync::OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, rustls::Error>>,
    },
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Chain::CaFileFirst {
            ca_file,
            ca_roots,
            union,
        } = &self.chain
        else {
            return Ok(ServerCertVerified::assertion());
        };
        let by_ca_file =
            ca_file.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        if by_ca_file.is_ok() {
            return by_ca_file;
        }
        let union = union.get_or_init(|| {
            let mut roots = system_store();
            roots.roots.extend(ca_roots.roots.iter().cloned());
            verifier(roots, &self.provider)
        });
        match union {
            Ok(union) => {
                union.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Err(e) => Err(e.clone()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The system's bundle files: Debian and Ubuntu, Fedora and RHEL, openSUSE, older Fedora,
/// Alpine and the BSDs (the places OpenSSL distributions put theirs).
const BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

/// The system trust store. rustls-native-certs reads the bundle file and then every file of
/// the certificate folder, which on Debian holds the same roots again one per file: twice
/// the PEM decoding, 300 more file lookups, and most of what TLS adds to a one-off send.
/// The bundle alone is the same set of roots; `SSL_CERT_FILE` / `SSL_CERT_DIR`, or a system
/// without a bundle, still go through rustls-native-certs.
fn system_roots() -> Vec<CertificateDer<'static>> {
    let from_env = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|var| std::env::var_os(var).is_some());
    let bundle = BUNDLES
        .iter()
        .map(std::path::Path::new)
        .find(|path| path.is_file());
    match bundle {
        Some(bundle) if !from_env => {
            rustls_native_certs::load_certs_from_paths(Some(bundle), None).certs
        }
        _ => rustls_native_certs::load_native_certs().certs,
    }
}

/// `sha256:` + lowercase hex of a DER certificate, the form `tls_fingerprint` takes.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", crate::digest::sha256_hex(der, 32))
}
