//! `--key COLUMN`: rows known to the journal by one column (an invoice number) rather than
//! by their whole content, so that a row edited after it was sent (a typo in a name fixed)
//! is not sent again.
//!
//! Every accepted row is journaled under its content key and, with `--key`, its column key
//! too (`k:` + a hash of the value); a row counts as sent when either is recorded. So a
//! merge can start or stop using `--key` without sending anyone a duplicate.

use std::collections::HashMap;

use serde_json::Value;

use crate::delivery::merge::data::Dataset;
use crate::error::{Error, Result};

/// How a column key is marked in the journal, beside the content key.
pub(crate) const PREFIX: &str = "k:";

/// The journal key of each row under `--key column`: the column's value, which must be
/// present, non-empty and different in every row (checked before anything is sent).
pub(crate) fn column_keys(data: &Dataset, column: &str) -> Result<Vec<String>> {
    let mut first_row: HashMap<String, usize> = HashMap::new();
    let mut keys = Vec::with_capacity(data.rows.len());
    for row in &data.rows {
        let value = match row.values.get(column) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if value.is_empty() {
            let known = if data.columns.is_empty() {
                String::new()
            } else {
                format!(" (columns: {})", data.columns.join(", "))
            };
            return Err(Error::data(format!(
                "--key {column}: {} of {} has no {column}{known}; every row needs one to be \
                 told apart in the journal",
                row.describe(),
                data.path.display()
            )));
        }
        if let Some(first) = first_row.get(&value) {
            return Err(Error::data(format!(
                "--key {column}: rows {first} and {} of {} both have {column} '{value}'; a key \
                 must tell rows apart (pick a unique column, or leave out --key)",
                row.number,
                data.path.display()
            )));
        }
        first_row.insert(value.clone(), row.number);
        keys.push(format!(
            "{PREFIX}{}",
            crate::digest::sha256_hex(format!("{column}\0{value}").as_bytes(), 16)
        ));
    }
    Ok(keys)
}
