//! Merge data rows: the first byte picks CSV, TSV, JSON or JSONL, the rest is the file;
//! every row is then turned into a template context, as a merge does.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rmail::data::{Dataset, Format};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let (format, name) = match pick % 4 {
        0 => (Format::Csv, "rows.csv"),
        1 => (Format::Tsv, "rows.tsv"),
        2 => (Format::Json, "rows.json"),
        _ => (Format::Jsonl, "rows.jsonl"),
    };
    if let Ok(dataset) = Dataset::parse(Path::new(name), format, bytes) {
        let _ = dataset.row_keys();
        for row in &dataset.rows {
            let _ = row.describe();
            let _ = rmail::template::context(&row.values);
        }
    }
});
