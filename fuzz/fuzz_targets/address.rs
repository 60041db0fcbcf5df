//! The address parser: `--to`/`--cc` values and sendmail arguments
//! (`Mailbox::parse_list`, `Mailbox::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmail::message::Mailbox;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Mailbox::parse_list(text);
        let _ = Mailbox::parse(text);
    }
});
