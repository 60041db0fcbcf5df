//! The config loader: any text as `config.toml`, then every profile resolved, as
//! `rmail profiles` does. Errors are fine; panics are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rmail::fuzzing::config(String::from_utf8_lossy(data).into_owned());
});
