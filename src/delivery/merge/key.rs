//! `--key COLUMN`: rows known to the journal by one column (an invoice number) rather than
//! by their whole content, so that a row edited after it was sent (a typo in a name fixed)
//! is not sent again.
//!
//! Every accepted row is journaled under its content key and, with `--key`, its column key
//! too (`k:` + a hash of the value); a row counts as sent when either is recorded. So a
//! merge can start or stop using `--key` without sending anyone a duplicate.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::delivery::merge::data::Row;
use crate::error::{Error, Result};

/// How a column key is marked in the journal, beside the content key.
pub(crate) const PREFIX: &str = "k:";

/// The journal key of `row` under `--key column`: the column's value, which must be present
/// and non-empty.
pub(crate) fn column_key(
    row: &Row,
    column: &str,
    columns: &[String],
    path: &Path,
) -> Result<String> {
    let value = value(row, column);
    if value.is_empty() {
        let known = if columns.is_empty() {
            String::new()
        } else {
            format!(" (columns: {})", columns.join(", "))
        };
        return Err(Error::data(format!(
            "--key {column}: {} of {} has no {column}{known}; every row needs one to be \
             told apart in the journal",
            row.describe(),
            path.display()
        )));
    }
    Ok(format!(
        "{PREFIX}{}",
        crate::digest::sha256_hex(format!("{column}\0{value}").as_bytes(), 16)
    ))
}

fn value(row: &Row, column: &str) -> String {
    match row.values.get(column) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Checks, a row at a time, that every row's key differs: keeps 8 bytes of each key and the
/// row it was first seen in, not the values.
#[derive(Debug, Default)]
pub(crate) struct Distinct {
    first_row: HashMap<u64, usize>,
}

impl Distinct {
    /// `key` is `row`'s column key (from [`column_key`]); a second row with the same key is
    /// refused, naming both rows.
    pub(crate) fn check(&mut self, row: &Row, column: &str, key: &str, path: &Path) -> Result<()> {
        let hex = key.strip_prefix(PREFIX).unwrap_or(key);
        let short = u64::from_str_radix(hex.get(..16).unwrap_or(hex), 16).unwrap_or(0);
        if let Some(first) = self.first_row.get(&short) {
            return Err(Error::data(format!(
                "--key {column}: rows {first} and {} of {} both have {column} '{}'; a key \
                 must tell rows apart (pick a unique column, or leave out --key)",
                row.number,
                path.display(),
                value(row, column)
            )));
        }
        self.first_row.insert(short, row.number);
        Ok(())
    }
}
