//! sendmail mode's message parser: any bytes on stdin, with `-t` (recipients from the
//! headers) and without (a fixed recipient), through `sendmail::prepare`; what it accepts is
//! then DKIM-signed, as rmail does before sending.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rmail::cli::SendmailArgs;
use rmail::config::{DkimAlgorithm, DkimConfig};
use rmail::dkim::Signer;
use rmail::profile::Profile;

// A throwaway Ed25519 key: fast to sign with, so the target stays fast.
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGLsYV22NY8eRxkshgUcOvIXEQTI/+I/BFqhqfUisx+e
-----END PRIVATE KEY-----
";

fn fixtures() -> &'static (Profile, Signer) {
    static FIXTURES: OnceLock<(Profile, Signer)> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let config = rmail::config::parse(
            PathBuf::from("fuzz.toml"),
            "[profiles.f]\nhost = \"127.0.0.1\"\nfrom = \"Fuzz <fuzz@example.com>\"\n".into(),
        )
        .expect("fixed config parses");
        let profile = rmail::profile::select(&config, None)
            .expect("fixed profile resolves")
            .expect("one profile");
        let key = std::env::temp_dir().join(format!("rmail-fuzz-{}.pem", std::process::id()));
        std::fs::write(&key, KEY).expect("write the fuzz DKIM key");
        let signer = Signer::new(
            "f",
            &DkimConfig {
                domain: "example.com".into(),
                selector: "fuzz".into(),
                private_key_file: key,
                algorithm: DkimAlgorithm::Ed25519Sha256,
            },
        )
        .expect("fixed DKIM key loads");
        (profile, signer)
    })
}

fuzz_target!(|data: &[u8]| {
    let (profile, signer) = fixtures();
    let extract = SendmailArgs {
        extract_recipients: true,
        ..SendmailArgs::default()
    };
    let fixed = SendmailArgs {
        ignore_dots: true,
        recipients: vec!["rcpt@example.com".into()],
        ..SendmailArgs::default()
    };
    for args in [&extract, &fixed] {
        if let Ok(prepared) = rmail::sendmail::prepare(args, data, Some(profile), &Default::default()) {
            let _ = signer.sign(&prepared.message);
        }
    }
});
