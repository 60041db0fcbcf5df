//! DKIM signing (RFC 6376): a profile's `dkim = { … }` key signs every message it sends.
//!
//! The signature covers the exact bytes handed to SMTP, so it is added last: after
//! `mime::render` (send, merge) or `sendmail::prepare` (sendmail), before `--eml`, dry-run
//! output and the outbox see the message. The crypto and the canonicalization are Stalwart's
//! `mail-auth` (ring backend, the same ring rustls already uses); this module only loads the
//! key, checks the settings, and prepends the header.
//!
//! A rendered message ([`MessageData`]) is signed in two passes over its chunks: the first
//! streams them through mail-auth's streaming signer (which keeps only the header section
//! and a running body hash), the second is the sending itself. A large attachment is read
//! twice from its open file and is never in memory whole.

use std::path::Path;

use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{DkimSigner, Done};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use crate::config::profile::Profile;
use crate::config::profile::{Dkim, DkimAlgorithm};
use crate::error::{Error, ErrorKind, Result};
use crate::message::part_data;
use crate::mime::data::MessageData;

/// The headers signed when present. Listing an absent one (say Cc) in `h=` is deliberate
/// (RFC 6376 §5.4.2): a relay cannot add it later without breaking the signature.
///
/// `List-Unsubscribe` and `List-Unsubscribe-Post` must be covered (RFC 8058 §3): the
/// one-click unsubscribe of the large mailbox providers is only offered when they are.
pub(crate) const SIGNED_HEADERS: [&str; 11] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Reply-To",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// A loaded DKIM key with its domain and selector, built once per run and reused for every
/// message (a merge signs each row with the same `Signer`).
pub(crate) struct Signer {
    inner: DkimSigner<DkimKey, Done>,
    domain: String,
    selector: String,
}

impl std::fmt::Debug for Signer {
    // The key itself never appears in output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The profile's signer, or `None` when the profile has no `dkim` table. A missing or
    /// unreadable key, or a key of the wrong type, is a configuration error naming the file.
    pub(crate) fn from_profile(profile: &Profile) -> Result<Option<Signer>> {
        profile
            .dkim
            .as_ref()
            .map(|settings| Signer::new(&profile.name, settings))
            .transpose()
    }

    /// A signer for `settings` (`profile` only names the profile in error messages).
    pub(crate) fn new(profile: &str, settings: &Dkim) -> Result<Signer> {
        let in_profile = |what: String| Error::config(format!("profile '{profile}': dkim: {what}"));
        if !is_dns_name(&settings.domain) {
            return Err(in_profile(format!(
                "domain '{}' is not a domain name (write an internationalized domain in its \
                 xn-- form)",
                settings.domain
            )));
        }
        if !is_dns_name(&settings.selector) {
            return Err(in_profile(format!(
                "selector '{}' must be letters, digits, '-' and '.' (the name before \
                 ._domainkey in DNS)",
                settings.selector
            )));
        }
        let key = load_key(&settings.private_key_file, settings.algorithm).map_err(in_profile)?;
        let inner = DkimSigner::from_key(key)
            .domain(settings.domain.as_str())
            .selector(settings.selector.as_str())
            .headers(SIGNED_HEADERS);
        Ok(Signer {
            inner,
            domain: settings.domain.clone(),
            selector: settings.selector.clone(),
        })
    }

    /// `message` (CRLF line endings, as it will be sent) with a `DKIM-Signature` header
    /// prepended. The rest of the bytes are unchanged.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signature = self.inner.sign(message).map_err(|e| self.cannot_sign(e))?;
        let header = without_fold_before_end(signature.to_header());
        let mut signed = Vec::with_capacity(header.len() + message.len());
        signed.extend_from_slice(header.as_bytes());
        signed.extend_from_slice(message);
        Ok(signed)
    }

    /// `message` with a `DKIM-Signature` header prepended, hashed chunk by chunk: its
    /// large files are read here once (and again when it is written), never held whole.
    /// A file that cannot be read as it was opened fails here, before anything is sent.
    pub(crate) fn sign_data(&self, mut message: MessageData) -> Result<MessageData> {
        let mut stream = self.inner.sign_streaming();
        for chunk in message.chunks() {
            let chunk = chunk.map_err(|e| {
                part_data::input_error(&e).unwrap_or_else(|| {
                    Error::new(
                        ErrorKind::Internal,
                        format!("cannot DKIM-sign the message: {e}"),
                    )
                })
            })?;
            stream.write(&chunk);
        }
        let signature = stream.finish().map_err(|e| self.cannot_sign(e))?;
        message.prepend(without_fold_before_end(signature.to_header()).as_bytes());
        Ok(message)
    }

    fn cannot_sign(&self, e: mail_auth::Error) -> Error {
        Error::new(
            ErrorKind::Data,
            format!(
                "cannot DKIM-sign the message (d={}, s={}): {e}",
                self.domain, self.selector
            ),
        )
    }
}

/// mail-auth 0.13 folds the header right before its closing `;` when the `b=` value ends
/// at its wrap column, yet it signed the header without that fold (`b=;`). A verifier
/// keeps folding whitespace after a tag value (RFC 6376 §3.2), sees `b= ;`, and the
/// signature fails (dkimpy does; it depends on the lengths of the tags, so only some
/// profiles meet it). Dropping the fold makes the header what was signed; the last line
/// stays within 78 characters.
fn without_fold_before_end(header: String) -> String {
    match header.strip_suffix("\r\n\t;\r\n") {
        Some(head) => format!("{head};\r\n"),
        None => header,
    }
}

/// Signs `message` when there is a signer; otherwise returns it unchanged.
pub(crate) fn maybe_sign(signer: Option<&Signer>, message: Vec<u8>) -> Result<Vec<u8>> {
    match signer {
        Some(signer) => signer.sign(&message),
        None => Ok(message),
    }
}

/// Signs a rendered message when there is a signer (see [`Signer::sign_data`]).
pub(crate) fn maybe_sign_data(
    signer: Option<&Signer>,
    message: MessageData,
) -> Result<MessageData> {
    match signer {
        Some(signer) => signer.sign_data(message),
        None => Ok(message),
    }
}

/// Reads a PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, or PKCS#1 `BEGIN RSA PRIVATE KEY`
/// for RSA) as `openssl genpkey` / `openssl genrsa` write it. Errors name the file.
fn load_key(path: &Path, algorithm: DkimAlgorithm) -> std::result::Result<DkimKey, String> {
    let pem = std::fs::read(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        };
        format!("cannot read private_key_file {}: {reason}", path.display())
    })?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        format!(
            "private_key_file {} holds no PEM private key ({e}); generate one with \
             `openssl genpkey -algorithm {} -out KEY.pem`",
            path.display(),
            match algorithm {
                DkimAlgorithm::RsaSha256 => "RSA -pkeyopt rsa_keygen_bits:2048",
                DkimAlgorithm::Ed25519Sha256 => "ed25519",
            }
        )
    })?;
    let wrong_type = |e: mail_auth::Error| {
        format!(
            "private_key_file {} is not a usable {} key ({e}); check `algorithm` (and that an \
             RSA key has at least 2048 bits)",
            path.display(),
            algorithm.as_str()
        )
    };
    match (algorithm, der) {
        (DkimAlgorithm::RsaSha256, der @ (PrivateKeyDer::Pkcs1(_) | PrivateKeyDer::Pkcs8(_))) => {
            RsaKey::<Sha256>::from_key_der(der)
                .map(DkimKey::from)
                .map_err(wrong_type)
        }
        // OpenSSL writes PKCS#8 v1 (no embedded public key), which ring's checked
        // constructor refuses; the public key is derived from the seed either way.
        (DkimAlgorithm::Ed25519Sha256, PrivateKeyDer::Pkcs8(der)) => {
            Ed25519Key::from_pkcs8_maybe_unchecked_der(der.secret_pkcs8_der())
                .map(DkimKey::from)
                .map_err(wrong_type)
        }
        _ => Err(format!(
            "private_key_file {} is not a {} key; check `algorithm`",
            path.display(),
            algorithm.as_str()
        )),
    }
}

/// Letters, digits, hyphens, underscores and dots, in labels of 1 to 63 characters: what a DKIM domain
/// or selector can be. Anything else (spaces, `;`) would corrupt the signature header.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    // A throwaway Ed25519 key (PKCS#8 v1, as `openssl genpkey -algorithm ed25519` writes).
    const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGLsYV22NY8eRxkshgUcOvIXEQTI/+I/BFqhqfUisx+e
-----END PRIVATE KEY-----
";

    fn settings(dir: &Path, pem: &str, algorithm: DkimAlgorithm) -> Dkim {
        let path = dir.join("key.pem");
        std::fs::write(&path, pem).unwrap();
        Dkim {
            domain: "example.com".into(),
            selector: "s1".into(),
            private_key_file: path,
            algorithm,
        }
    }

    #[test]
    fn ed25519_signs_and_prepends_header() {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::new(
            "p",
            &settings(dir.path(), ED25519_PEM, DkimAlgorithm::Ed25519Sha256),
        )
        .unwrap();
        let message = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
        let signed = signer.sign(message).unwrap();
        let text = String::from_utf8(signed.clone()).unwrap();
        assert!(
            text.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"),
            "{text}"
        );
        assert!(text.contains("d=example.com"), "{text}");
        assert!(text.contains("s=s1"), "{text}");
        assert!(signed.ends_with(message));
    }

    #[test]
    fn signer_can_be_shared_across_threads() {
        // A merge signs rows from several SMTP sessions in parallel with one Signer.
        fn shareable<T: Send + Sync>() {}
        shareable::<Signer>();
    }

    #[test]
    fn config_table_parses() {
        let loaded = crate::config::file::parse(
            PathBuf::from("t.toml"),
            "[profiles.a]\nhost = \"h\"\ndkim = { domain = \"example.com\", selector = \"s1\", \
             private_key_file = \"/k.pem\", algorithm = \"ed25519-sha256\" }\n"
                .into(),
        )
        .unwrap();
        let dkim = loaded.config.profiles["a"].dkim.clone().unwrap();
        assert_eq!(dkim.algorithm, DkimAlgorithm::Ed25519Sha256);
        let err = crate::config::file::parse(
            PathBuf::from("t.toml"),
            "[profiles.a]\ndkim = { domain = \"d\", selector = \"s\", private_key_file = \"k\", \
             algorithm = \"rsa-sha1\" }\n"
                .into(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("t.toml:2"), "{err}");
    }

    #[test]
    fn missing_key_file_is_config_error_naming_it() {
        let settings = Dkim {
            domain: "example.com".into(),
            selector: "s1".into(),
            private_key_file: PathBuf::from("/nonexistent/dkim.pem"),
            algorithm: DkimAlgorithm::RsaSha256,
        };
        let err = Signer::new("work", &settings).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("/nonexistent/dkim.pem"), "{err}");
        assert!(err.message().contains("profile 'work'"), "{err}");
    }

    #[test]
    fn garbage_and_wrong_type_are_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Signer::new(
            "p",
            &settings(dir.path(), "not a key\n", DkimAlgorithm::RsaSha256),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("key.pem"), "{err}");
        // An Ed25519 key where an RSA key is expected.
        let err = Signer::new(
            "p",
            &settings(dir.path(), ED25519_PEM, DkimAlgorithm::RsaSha256),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("algorithm"), "{err}");
    }

    #[test]
    fn domain_and_selector_cannot_inject_tags() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path(), ED25519_PEM, DkimAlgorithm::Ed25519Sha256);
        s.selector = "s1; d=evil.example".into();
        assert_eq!(Signer::new("p", &s).unwrap_err().kind(), ErrorKind::Config);
        s.selector = "s1".into();
        s.domain = "exämple.com".into();
        assert_eq!(Signer::new("p", &s).unwrap_err().kind(), ErrorKind::Config);
    }
}
