//! Merge data rows: the first byte picks CSV, TSV, JSON or JSONL, the rest is the file;
//! every row is then turned into a template context, as a merge does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((&pick, bytes)) = data.split_first() {
        rmail::fuzzing::data(pick, bytes);
    }
});
