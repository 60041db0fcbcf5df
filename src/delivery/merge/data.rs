//! Merge data: the rows of a CSV, TSV, JSON or JSONL file, each a map of variables for the
//! template, plus what is needed to identify a row across runs (the journal) and to write
//! failed rows back out in the same format.
//!
//! Everything is read up front: a malformed file is reported (with row, line and column)
//! before any message is rendered, let alone sent.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

/// The file formats a merge reads, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Tsv,
    /// A top-level array of objects.
    Json,
    /// One object per line.
    Jsonl,
}

impl Format {
    /// The format for a file name, from its extension.
    pub(crate) fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            _ => Err(Error::usage(format!(
                "cannot tell the format of data file {}: name it .csv, .tsv, .json or .jsonl",
                path.display()
            ))),
        }
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    /// 1-based position among the data rows (the header of a CSV is not a row).
    pub(crate) number: usize,
    /// The line of the file it starts on, when the format has one row per line or record.
    pub(crate) line: Option<u64>,
    /// The template variables: column name → value (strings for CSV/TSV).
    pub(crate) values: Map<String, Value>,
    /// The row as it was read, for writing failed rows back out unchanged.
    raw: Raw,
}

#[derive(Debug, Clone, PartialEq)]
enum Raw {
    /// CSV/TSV fields in column order.
    Fields(Vec<String>),
    /// A JSON object; JSONL keeps its line as read.
    Json(Value),
    Line(String),
}

impl Row {
    /// `row 3 (line 4)`: how errors and the summary point at a row.
    pub(crate) fn describe(&self) -> String {
        match self.line {
            Some(line) => format!("row {} (line {line})", self.number),
            None => format!("row {}", self.number),
        }
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A data file, fully read.
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    pub(crate) path: PathBuf,
    pub(crate) format: Format,
    /// CSV/TSV header, in file order (empty for JSON).
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Row>,
}

impl Dataset {
    /// Reads and parses a data file. A missing file is `NoInput`; malformed content is
    /// `Data`, naming the row, line and column.
    pub(crate) fn read(path: &Path) -> Result<Dataset> {
        let format = Format::from_path(path)?;
        let bytes = std::fs::read(path).map_err(|e| Error::read_file("data file", path, &e))?;
        Dataset::parse(path, format, &bytes)
    }

    /// Parses data already in memory; `path` only names the file in errors.
    pub(crate) fn parse(path: &Path, format: Format, bytes: &[u8]) -> Result<Dataset> {
        // Spreadsheet programs on Windows write a BOM; it is not part of the first column name.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (columns, rows) = match format {
            Format::Csv => parse_delimited(path, bytes, b',')?,
            Format::Tsv => parse_delimited(path, bytes, b'\t')?,
            Format::Json => (Vec::new(), parse_json(path, bytes)?),
            Format::Jsonl => (Vec::new(), parse_jsonl(path, bytes)?),
        };
        Ok(Dataset {
            path: path.to_path_buf(),
            format,
            columns,
            rows,
        })
    }

    /// A stable identity for each row: a hash of its content plus its occurrence number
    /// among identical rows. Fixing one row changes only that row's key, and reordering
    /// rows changes none, so the journal survives edits to the data file.
    pub(crate) fn row_keys(&self) -> Vec<String> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        self.rows
            .iter()
            .map(|row| {
                // serde_json's Map is ordered by key, so this text is canonical.
                let canonical = Value::Object(row.values.clone()).to_string();
                let hex = crate::digest::sha256_hex(canonical.as_bytes(), 16);
                let n = seen.entry(hex.clone()).or_insert(0);
                *n += 1;
                format!("{hex}.{n}")
            })
            .collect()
    }

    /// Writes `rows` (a subset of this data set) to `path` in the same format, so they can
    /// be fixed and sent again.
    pub(crate) fn write_rows(&self, path: &Path, rows: &[&Row]) -> Result<()> {
        let cant = |e: &dyn fmt::Display| {
            Error::new(
                ErrorKind::CantCreate,
                format!("cannot write failed rows to {}: {e}", path.display()),
            )
        };
        let mut out = Vec::new();
        match self.format {
            Format::Csv | Format::Tsv => {
                let mut builder = csv::WriterBuilder::new();
                if self.format == Format::Tsv {
                    builder.delimiter(b'\t').quote_style(csv::QuoteStyle::Never);
                }
                let mut writer = builder.from_writer(&mut out);
                writer.write_record(&self.columns).map_err(|e| cant(&e))?;
                for row in rows {
                    if let Raw::Fields(fields) = &row.raw {
                        writer.write_record(fields).map_err(|e| cant(&e))?;
                    }
                }
                writer.flush().map_err(|e| cant(&e))?;
            }
            Format::Json => {
                let values: Vec<&Value> = rows
                    .iter()
                    .filter_map(|row| match &row.raw {
                        Raw::Json(value) => Some(value),
                        _ => None,
                    })
                    .collect();
                out = serde_json::to_vec_pretty(&values).map_err(|e| cant(&e))?;
                out.push(b'\n');
            }
            Format::Jsonl => {
                for row in rows {
                    if let Raw::Line(line) = &row.raw {
                        out.extend_from_slice(line.as_bytes());
                        out.push(b'\n');
                    }
                }
            }
        }
        crate::private::write(path, &out).map_err(|e| cant(&e))
    }
}

fn malformed(path: &Path, what: impl fmt::Display) -> Error {
    Error::data(format!("data file {}: {what}", path.display()))
}

fn parse_delimited(path: &Path, bytes: &[u8], delimiter: u8) -> Result<(Vec<String>, Vec<Row>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        // TSV has no quoting: a '"' in a field is just a character.
        .quoting(delimiter != b'\t')
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let at = e
                .position()
                .map(|p| format!("line {}: ", line_at(bytes, p.byte())))
                .unwrap_or_default();
            malformed(path, format!("{at}{e}"))
        })?;
        if !more {
            break;
        }
        // csv's own line counter skips blank lines; count newlines before the record.
        let line = record
            .position()
            .map(|p| {
                // The position is where reading started, before any blank lines skipped.
                let mut at = usize::try_from(p.byte())
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                    at += 1;
                }
                line_at(bytes, at as u64)
            })
            .unwrap_or(0);
        let fields = record
            .iter()
            .enumerate()
            .map(|(i, field)| {
                String::from_utf8(field.to_vec()).map_err(|_| {
                    let column = columns
                        .get(i)
                        .map(|c| format!("column '{c}'"))
                        .unwrap_or_else(|| format!("column {}", i + 1));
                    malformed(
                        path,
                        format!(
                            "line {line}, {column} is not UTF-8; save the file as UTF-8 (e.g. iconv -t UTF-8)"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<String>>>()?;
        if columns.is_empty() {
            columns = header(path, fields)?;
            continue;
        }
        if fields.len() == 1 && fields[0].is_empty() {
            continue; // a blank line
        }
        if fields.len() != columns.len() {
            return Err(malformed(
                path,
                format!(
                    "row {} (line {line}) has {} fields but the header has {} ({}); \
                     quote values that contain the delimiter",
                    rows.len() + 1,
                    fields.len(),
                    columns.len(),
                    columns.join(", ")
                ),
            ));
        }
        let values = columns
            .iter()
            .cloned()
            .zip(fields.iter().cloned().map(Value::String))
            .collect();
        rows.push(Row {
            number: rows.len() + 1,
            line: Some(line),
            values,
            raw: Raw::Fields(fields),
        });
    }
    if columns.is_empty() {
        return Err(malformed(
            path,
            "is empty; the first line must name the columns (e.g. name,email)",
        ));
    }
    Ok((columns, rows))
}

/// The 1-based line number of a byte offset.
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

fn header(path: &Path, fields: Vec<String>) -> Result<Vec<String>> {
    let columns: Vec<String> = fields.into_iter().map(|f| f.trim().to_string()).collect();
    for (i, name) in columns.iter().enumerate() {
        if name.is_empty() {
            return Err(malformed(
                path,
                format!(
                    "line 1: column {} has no name; every column of the header needs one",
                    i + 1
                ),
            ));
        }
        if columns[..i].contains(name) {
            return Err(malformed(
                path,
                format!("line 1: column '{name}' appears twice in the header"),
            ));
        }
    }
    Ok(columns)
}

fn describe_json(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_json(path: &Path, bytes: &[u8]) -> Result<Vec<Row>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        malformed(
            path,
            format!("line {} column {}: {e}", e.line(), e.column()),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(malformed(
            path,
            format!(
                "must be an array of objects ([{{\"name\": …}}, …]), not {}",
                describe_json(&value)
            ),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match &item {
            Value::Object(values) => Ok(Row {
                number: i + 1,
                line: None,
                values: values.clone(),
                raw: Raw::Json(item),
            }),
            other => Err(malformed(
                path,
                format!(
                    "row {} is {}; every element must be an object",
                    i + 1,
                    describe_json(other)
                ),
            )),
        })
        .collect()
}

fn parse_jsonl(path: &Path, bytes: &[u8]) -> Result<Vec<Row>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        malformed(
            path,
            format!("line {line} is not UTF-8; save the file as UTF-8"),
        )
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let number = rows.len() + 1;
        let value: Value = serde_json::from_str(line).map_err(|e| {
            malformed(
                path,
                format!("row {number} (line {line_no}) column {}: {e}", e.column()),
            )
        })?;
        let Value::Object(values) = value else {
            return Err(malformed(
                path,
                format!(
                    "row {number} (line {line_no}) is {}; each line must be one object",
                    describe_json(&value)
                ),
            ));
        };
        rows.push(Row {
            number,
            line: Some(line_no),
            values,
            raw: Raw::Line(line.trim_end_matches('\r').to_string()),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(format: Format, text: &str) -> Result<Dataset> {
        Dataset::parse(Path::new("d"), format, text.as_bytes())
    }

    #[test]
    fn csv_with_bom_quotes_and_blank_lines() {
        let d = parse(
            Format::Csv,
            "\u{feff}name,email\n\"Lee, Ann\",a@x.com\n\nBo,\"b@x.com\"\n",
        )
        .unwrap();
        assert_eq!(d.columns, ["name", "email"]);
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.rows[0].values["name"], "Lee, Ann");
        assert_eq!(d.rows[1].values["email"], "b@x.com");
        assert_eq!(d.rows[1].describe(), "row 2 (line 4)");
    }

    #[test]
    fn csv_errors_name_row_line_and_column() {
        let err = parse(Format::Csv, "a,b\n1,2\n1,2,3\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert!(
            err.message().contains("row 2 (line 3) has 3 fields"),
            "{err}"
        );

        let err = Dataset::parse(Path::new("d"), Format::Csv, b"a,b\n1,\xff\n").unwrap_err();
        assert!(err.message().contains("line 2, column 'b'"), "{err}");

        let err = parse(Format::Csv, "a,,c\n").unwrap_err();
        assert!(err.message().contains("column 2 has no name"), "{err}");
        let err = parse(Format::Csv, "a,a\n").unwrap_err();
        assert!(err.message().contains("twice"), "{err}");
        assert!(parse(Format::Csv, "").is_err());
    }

    #[test]
    fn tsv_has_no_quoting() {
        let d = parse(Format::Tsv, "name\tnote\nAnn\tsays \"hi\", ok\n").unwrap();
        assert_eq!(d.rows[0].values["note"], "says \"hi\", ok");
    }

    #[test]
    fn json_and_jsonl() {
        let d = parse(
            Format::Json,
            r#"[{"name":"Ann","n":1},{"name":"Bo","tags":["x"]}]"#,
        )
        .unwrap();
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.rows[0].values["n"], 1);

        let err = parse(Format::Json, "[{\"a\":1},\n 3]").unwrap_err();
        assert!(err.message().contains("row 2 is a number"), "{err}");
        let err = parse(Format::Json, "[{\"a\":1},\n {\"a\" 2}]").unwrap_err();
        assert!(err.message().contains("line 2 column"), "{err}");
        let err = parse(Format::Json, "{\"a\":1}").unwrap_err();
        assert!(err.message().contains("array of objects"), "{err}");

        let d = parse(Format::Jsonl, "{\"a\":1}\n\n{\"a\":2}\r\n").unwrap();
        assert_eq!(d.rows.len(), 2);
        assert_eq!(d.rows[1].describe(), "row 2 (line 3)");
        let err = parse(Format::Jsonl, "{\"a\":1}\n{\"a\":}\n").unwrap_err();
        assert!(err.message().contains("row 2 (line 2) column"), "{err}");
    }

    #[test]
    fn row_keys_survive_edits_and_count_duplicates() {
        let before = parse(Format::Csv, "n,e\nA,a@x\nB,b@x\nA,a@x\n").unwrap();
        let after = parse(Format::Csv, "n,e\nA,a@x\nB,fixed@x\nA,a@x\n").unwrap();
        let (k1, k2) = (before.row_keys(), after.row_keys());
        assert_eq!(k1[0], k2[0]);
        assert_eq!(k1[2], k2[2]);
        assert_ne!(k1[0], k1[2], "identical rows get distinct keys");
        assert_ne!(k1[1], k2[1]);
    }

    #[test]
    fn failed_rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for (format, text) in [
            (Format::Csv, "n,e\n\"A, B\",a@x\nC,c@x\n"),
            (Format::Tsv, "n\te\nA\ta@x\nC\tc@x\n"),
            (Format::Json, r#"[{"n":"A"},{"n":"C"}]"#),
            (Format::Jsonl, "{\"n\":\"A\"}\n{\"n\":\"C\"}\n"),
        ] {
            let d = parse(format, text).unwrap();
            let out = dir.path().join("failed");
            d.write_rows(&out, &[&d.rows[0]]).unwrap();
            let back = Dataset::parse(&out, format, &std::fs::read(&out).unwrap()).unwrap();
            assert_eq!(back.rows.len(), 1);
            assert_eq!(back.rows[0].values, d.rows[0].values, "{format:?}");
        }
    }
}
