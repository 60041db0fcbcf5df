//! The address parser: `--to`/`--cc` values and sendmail arguments
//! (`Mailbox::parse_list`, `Mailbox::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        rmail::fuzzing::address(text);
    }
});
