//! The config loader: any text as `config.toml`, then every profile resolved, as
//! `rmail profiles` does. Errors are fine; panics are bugs.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if let Ok(loaded) = rmail::config::parse(PathBuf::from("fuzz.toml"), text) {
        let _ = rmail::profile::all(&loaded);
        let _ = rmail::profile::select(&loaded, None);
        if let Ok(profiles) = rmail::profile::all(&loaded) {
            let _ = rmail::report::profiles(&profiles, None);
        }
    }
});
