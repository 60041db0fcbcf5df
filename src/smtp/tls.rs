//! TLS for SMTP: the trust store plus the profile's `ca_file`, certificate pinning, and the
//! fingerprints `rmail check` prints.

use lettre::transport::smtp::client::{Certificate, TlsParameters, TlsVersion};

use crate::config::profile::Profile;
use crate::error::{Error, Result};
use crate::smtp::session::ConnectOptions;

/// TLS settings: the system trust store plus the profile's `ca_file`. A pinned certificate
/// (`tls_fingerprint`) replaces chain verification, as in msmtp: it is checked right after
/// the handshake, before anything is sent.
pub(crate) fn tls_parameters(profile: &Profile, options: ConnectOptions) -> Result<TlsParameters> {
    let mut builder = TlsParameters::builder(profile.host.clone());
    if let Some(ca_file) = &profile.ca_file {
        let pem = std::fs::read(ca_file).map_err(|e| {
            Error::config(format!(
                "profile '{}': cannot read ca_file {}: {e}",
                profile.name,
                ca_file.display()
            ))
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| {
            Error::config(format!(
                "profile '{}': ca_file {} is not a PEM certificate: {e}",
                profile.name,
                ca_file.display()
            ))
        })?;
        builder = builder.add_root_certificate(cert);
    }
    if profile.tls_fingerprint.is_some() || options.inspect_untrusted {
        builder = builder
            .dangerous_accept_invalid_certs(true)
            .dangerous_accept_invalid_hostnames(true);
    }
    if options.tls13_only {
        builder = builder.set_min_tls_version(TlsVersion::Tlsv13);
    }
    builder.build_rustls().map_err(|e| {
        Error::config(format!(
            "profile '{}': cannot set up TLS: {e}",
            profile.name
        ))
    })
}

/// `sha256:` + lowercase hex of a DER certificate, the form `tls_fingerprint` takes.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}
