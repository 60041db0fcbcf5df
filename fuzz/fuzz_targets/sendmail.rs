//! sendmail mode's message parser: any bytes on stdin, with `-t` (recipients from the
//! headers) and without (a fixed recipient), through `sendmail::prepare`; what it accepts is
//! then DKIM-signed, as rmail does before sending.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGLsYV22NY8eRxkshgUcOvIXEQTI/+I/BFqhqfUisx+e
-----END PRIVATE KEY-----
";

fn key_file() -> &'static PathBuf {
    static KEY_FILE: OnceLock<PathBuf> = OnceLock::new();
    KEY_FILE.get_or_init(|| {
        let key = std::env::temp_dir().join(format!("rmail-fuzz-{}.pem", std::process::id()));
        std::fs::write(&key, KEY).expect("write the fuzz DKIM key");
        key
    })
}

fuzz_target!(|data: &[u8]| {
    rmail::fuzzing::sendmail(data, key_file());
});
