//! The HTML → plain-text converter used for the text part of HTML-only messages.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(html) = std::str::from_utf8(data) {
        rmail::fuzzing::html_to_text(html);
    }
});
