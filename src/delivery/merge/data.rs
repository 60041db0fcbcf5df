//! Merge data: the rows of a CSV, TSV, JSON or JSONL file, each a map of variables for the
//! template, plus what is needed to identify a row across runs (the journal) and to write
//! failed rows back out in the same format.
//!
//! Rows are streamed: a [`DataFile`] is opened once and read from the start for each pass of
//! a merge (validate every row, then send), one row in memory at a time, so a merge of a
//! million rows costs what one row costs. A row longer than [`MAX_ROW_BYTES`] (a runaway
//! quote, a file of NUL bytes) is refused with its line number rather than read whole.
//! Errors name the row, line and column.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

/// The most one row may take in the file: far beyond any real row, small enough that a
/// broken file cannot exhaust memory.
pub(crate) const MAX_ROW_BYTES: usize = 1 << 20;

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
    /// The line of the file it starts on.
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

    /// A stable identity of the row's content (the journal adds the occurrence number among
    /// identical rows): fixing one row changes only its digest, reordering rows changes none.
    pub(crate) fn digest(&self) -> [u8; 16] {
        // serde_json's Map is ordered by key, so this text is canonical.
        let canonical = Value::Object(self.values.clone()).to_string();
        let full = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full.as_ref()[..16]);
        digest
    }
}

/// The journal key of a row: its digest in hex and its occurrence number (1 for the first
/// of identical rows).
pub(crate) fn row_key(digest: &[u8; 16], occurrence: usize) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.{occurrence}")
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A data file, open: each [`DataFile::rows`] reads it again from the start, through the
/// same open file (a file replaced by name meanwhile is not what the merge reads).
#[derive(Debug)]
pub(crate) struct DataFile {
    pub(crate) path: PathBuf,
    pub(crate) format: Format,
    file: File,
}

impl DataFile {
    /// Opens a data file. A missing file is `NoInput`; the format comes from the name.
    pub(crate) fn open(path: &Path) -> Result<DataFile> {
        let format = Format::from_path(path)?;
        let file = File::open(path).map_err(|e| Error::read_file("data file", path, &e))?;
        Ok(DataFile {
            path: path.to_path_buf(),
            format,
            file,
        })
    }

    /// A pass over the rows from the first. Malformed content is `Data`, naming the row,
    /// line and column, when the pass reaches it.
    pub(crate) fn rows(&self) -> Result<Rows<BufReader<File>>> {
        let io = |e: io::Error| Error::read_file("data file", &self.path, &e);
        let mut file = self.file.try_clone().map_err(io)?;
        file.rewind().map_err(io)?;
        Rows::new(
            &self.path,
            self.format,
            BufReader::with_capacity(64 * 1024, file),
        )
    }
}

/// A data file read whole, for tests and the fuzz targets (a merge streams [`DataFile`]).
#[derive(Debug, Clone)]
pub(crate) struct Dataset {
    #[cfg_attr(not(test), allow(dead_code))]
    format: Format,
    /// CSV/TSV header, in file order (empty for JSON).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Row>,
}

impl Dataset {
    /// Parses data already in memory; `path` only names the file in errors.
    pub(crate) fn parse(path: &Path, format: Format, bytes: &[u8]) -> Result<Dataset> {
        let mut rows = Rows::new(path, format, bytes)?;
        let columns = rows.columns().to_vec();
        let rows = rows.by_ref().collect::<Result<Vec<Row>>>()?;
        Ok(Dataset {
            format,
            columns,
            rows,
        })
    }

    /// The journal key of every row, in order (see [`Row::digest`]).
    pub(crate) fn row_keys(&self) -> Vec<String> {
        let mut seen: std::collections::HashMap<[u8; 16], usize> = Default::default();
        self.rows
            .iter()
            .map(|row| {
                let digest = row.digest();
                let n = seen.entry(digest).or_insert(0);
                *n += 1;
                row_key(&digest, *n)
            })
            .collect()
    }

    /// Writes `rows` (a subset of this data set) to `path` in the same format.
    #[cfg(test)]
    pub(crate) fn write_rows(&self, path: &Path, rows: &[&Row]) -> Result<()> {
        let mut out = FailedRows::create(path, self.format, &self.columns)?;
        for row in rows {
            out.push(row)?;
        }
        out.finish()
    }
}

/// Rows that failed, written out as they fail, in the data file's format, so they can be
/// fixed and sent again.
pub(crate) struct FailedRows {
    path: PathBuf,
    format: Format,
    csv: Option<csv::Writer<File>>,
    file: Option<io::BufWriter<File>>,
    count: usize,
}

impl FailedRows {
    /// Creates (or truncates) `path`; CSV/TSV get the header at once.
    pub(crate) fn create(path: &Path, format: Format, columns: &[String]) -> Result<FailedRows> {
        // Private: the rows are people's addresses and whatever else the data holds.
        let file = crate::private::open(
            path,
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true),
        )
        .map_err(|e| cant_write(path, &e))?;
        let mut out = FailedRows {
            path: path.to_path_buf(),
            format,
            csv: None,
            file: None,
            count: 0,
        };
        match format {
            Format::Csv | Format::Tsv => {
                let mut builder = csv::WriterBuilder::new();
                if format == Format::Tsv {
                    builder.delimiter(b'\t').quote_style(csv::QuoteStyle::Never);
                }
                let mut writer = builder.from_writer(file);
                writer
                    .write_record(columns)
                    .map_err(|e| cant_write(path, &e))?;
                out.csv = Some(writer);
            }
            Format::Json | Format::Jsonl => out.file = Some(io::BufWriter::new(file)),
        }
        Ok(out)
    }

    /// Appends one row.
    pub(crate) fn push(&mut self, row: &Row) -> Result<()> {
        let path = self.path.clone();
        let cant = |e: &dyn fmt::Display| cant_write(&path, e);
        match (&row.raw, &mut self.csv, &mut self.file) {
            (Raw::Fields(fields), Some(writer), _) => {
                writer.write_record(fields).map_err(|e| cant(&e))?
            }
            (Raw::Json(value), _, Some(file)) => {
                let text = serde_json::to_string_pretty(value).map_err(|e| cant(&e))?;
                let indented = text.replace('\n', "\n  ");
                let lead = if self.count == 0 { "[\n  " } else { ",\n  " };
                write!(file, "{lead}{indented}").map_err(|e| cant(&e))?;
            }
            (Raw::Line(line), _, Some(file)) => writeln!(file, "{line}").map_err(|e| cant(&e))?,
            _ => return Ok(()),
        }
        self.count += 1;
        Ok(())
    }

    /// Completes the file (a JSON array is closed) and flushes it.
    pub(crate) fn finish(mut self) -> Result<()> {
        let path = self.path.clone();
        let cant = |e: &dyn fmt::Display| cant_write(&path, e);
        if let Some(mut writer) = self.csv.take() {
            writer.flush().map_err(|e| cant(&e))?;
        }
        if let Some(mut file) = self.file.take() {
            if self.format == Format::Json {
                let close = if self.count == 0 { "[]\n" } else { "\n]\n" };
                file.write_all(close.as_bytes()).map_err(|e| cant(&e))?;
            }
            file.flush().map_err(|e| cant(&e))?;
        }
        Ok(())
    }
}

fn cant_write(path: &Path, e: &dyn fmt::Display) -> Error {
    Error::new(
        ErrorKind::CantCreate,
        format!("cannot write failed rows to {}: {e}", path.display()),
    )
}

fn malformed(path: &Path, what: impl fmt::Display) -> Error {
    Error::data(format!("data file {}: {what}", path.display()))
}

/// The rows of one pass, in file order.
pub(crate) struct Rows<R: Read> {
    path: PathBuf,
    columns: Vec<String>,
    source: Source<R>,
    /// Rows returned so far.
    count: usize,
    /// After an error or the end, nothing more.
    done: bool,
}

enum Source<R: Read> {
    Delimited(Box<csv::Reader<Window<R>>>, csv::ByteRecord),
    Json(Window<R>),
    Jsonl(Window<R>),
}

impl<R: Read> Rows<R> {
    fn new(path: &Path, format: Format, input: R) -> Result<Rows<R>> {
        let mut window = Window::new(input);
        // Spreadsheet programs on Windows write a BOM; it is not part of the first column name.
        let bom = window.peek(3).map_err(|e| read_error(path, 1, &e))?;
        if bom == b"\xEF\xBB\xBF" {
            window.skip(3);
            // Offsets count from after it, as the parsers see the input.
            window.rebase();
        }
        let source = match format {
            Format::Csv | Format::Tsv => {
                let delimiter = if format == Format::Csv { b',' } else { b'\t' };
                let reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(false)
                    .flexible(true)
                    // TSV has no quoting: a '"' in a field is just a character.
                    .quoting(delimiter != b'\t')
                    .from_reader(window);
                Source::Delimited(Box::new(reader), csv::ByteRecord::new())
            }
            Format::Json => Source::Json(window),
            Format::Jsonl => Source::Jsonl(window),
        };
        let mut rows = Rows {
            path: path.to_path_buf(),
            columns: Vec::new(),
            source,
            count: 0,
            done: false,
        };
        if let Source::Json(window) = &mut rows.source {
            json_open(path, window)?;
        }
        if matches!(rows.source, Source::Delimited(..)) {
            let Some((line, fields)) = rows.next_record()? else {
                return Err(malformed(
                    path,
                    "is empty; the first line must name the columns (e.g. name,email)",
                ));
            };
            rows.columns = header(path, line, fields)?;
        }
        Ok(rows)
    }

    /// CSV/TSV header, in file order (empty for JSON).
    pub(crate) fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The next CSV/TSV record as UTF-8 fields, with the line it starts on.
    fn next_record(&mut self) -> Result<Option<(u64, Vec<String>)>> {
        let Source::Delimited(reader, record) = &mut self.source else {
            return Ok(None);
        };
        let path = &self.path;
        let more = reader.read_byte_record(record).map_err(|e| {
            let line = e
                .position()
                .map(|p| reader.get_ref().line_at(p.byte()))
                .unwrap_or_else(|| reader.get_ref().current_line());
            match e.kind() {
                csv::ErrorKind::Io(io) => read_error(path, line, io),
                _ => malformed(path, format!("line {line}: {e}")),
            }
        })?;
        if !more {
            return Ok(None);
        }
        let window = reader.get_mut();
        // The position is where reading started, before any blank lines csv skipped.
        let start = record
            .position()
            .map(|p| window.skip_line_ends_from(p.byte()))
            .unwrap_or(0);
        let line = window.line_at(start);
        window.forget_before(start);
        let columns = &self.columns;
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
        Ok(Some((line, fields)))
    }

    fn next_delimited(&mut self) -> Result<Option<Row>> {
        loop {
            let Some((line, fields)) = self.next_record()? else {
                return Ok(None);
            };
            if fields.len() == 1 && fields[0].is_empty() {
                continue; // a blank line
            }
            let number = self.count + 1;
            if fields.len() != self.columns.len() {
                return Err(malformed(
                    &self.path,
                    format!(
                        "row {number} (line {line}) has {} fields but the header has {} ({}); \
                         quote values that contain the delimiter",
                        fields.len(),
                        self.columns.len(),
                        self.columns.join(", ")
                    ),
                ));
            }
            let values = self
                .columns
                .iter()
                .cloned()
                .zip(fields.iter().cloned().map(Value::String))
                .collect();
            return Ok(Some(Row {
                number,
                line: Some(line),
                values,
                raw: Raw::Fields(fields),
            }));
        }
    }

    fn next_json(&mut self) -> Result<Option<Row>> {
        let Source::Json(window) = &mut self.source else {
            return Ok(None);
        };
        let path = &self.path;
        let number = self.count + 1;
        // Before each element: `]` ends the array, else a `,` separates it from the last.
        let separator = window.next_token().map_err(|e| read_error(path, 0, &e))?;
        match (separator, number) {
            (Some(b']'), _) => {
                return match window.next_token().map_err(|e| read_error(path, 0, &e))? {
                    None => Ok(None),
                    Some(_) => Err(malformed(
                        path,
                        format!(
                            "line {}: text after the closing ']' of the array",
                            window.current_line()
                        ),
                    )),
                };
            }
            (Some(b','), n) if n > 1 => {}
            (Some(_), 1) => window.unread(),
            (None, _) => {
                return Err(malformed(
                    path,
                    format!(
                        "line {}: the array is not closed with ']'",
                        window.current_line()
                    ),
                ));
            }
            (Some(other), _) => {
                return Err(malformed(
                    path,
                    format!(
                        "line {}: expected ',' or ']' after row {}, found '{}'",
                        window.current_line(),
                        number - 1,
                        char::from(other)
                    ),
                ));
            }
        }
        let first_line = window.current_line();
        window.forget_before(window.offset());
        let item = {
            let mut de = serde_json::Deserializer::from_reader(&mut *window);
            Value::deserialize(&mut de)
        };
        let item = item.map_err(|e| {
            if let Some(io) = window.take_error().filter(|_| e.is_io()) {
                return read_error(path, first_line, &io);
            }
            let line = first_line + e.line() as u64 - 1;
            malformed(path, format!("line {line} column {}: {e}", e.column()))
        })?;
        match &item {
            Value::Object(values) => Ok(Some(Row {
                number,
                line: Some(first_line),
                values: values.clone(),
                raw: Raw::Json(item),
            })),
            other => Err(malformed(
                path,
                format!(
                    "row {number} is {}; every element must be an object",
                    describe_json(other)
                ),
            )),
        }
    }

    fn next_jsonl(&mut self) -> Result<Option<Row>> {
        let Source::Jsonl(window) = &mut self.source else {
            return Ok(None);
        };
        let path = &self.path;
        loop {
            let line_no = window.current_line();
            let Some(bytes) = window
                .read_line()
                .map_err(|e| read_error(path, line_no, &e))?
            else {
                return Ok(None);
            };
            let Ok(line) = String::from_utf8(bytes) else {
                return Err(malformed(
                    path,
                    format!("line {line_no} is not UTF-8; save the file as UTF-8"),
                ));
            };
            if line.trim().is_empty() {
                continue;
            }
            let number = self.count + 1;
            let value: Value = serde_json::from_str(&line).map_err(|e| {
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
            return Ok(Some(Row {
                number,
                line: Some(line_no),
                values,
                raw: Raw::Line(line.trim_end_matches('\r').to_string()),
            }));
        }
    }
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        if self.done {
            return None;
        }
        let next = match self.source {
            Source::Delimited(..) => self.next_delimited(),
            Source::Json(_) => self.next_json(),
            Source::Jsonl(_) => self.next_jsonl(),
        };
        match next {
            Ok(Some(row)) => {
                self.count += 1;
                Some(Ok(row))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn read_error(path: &Path, line: u64, e: &io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData && e.to_string() == TOO_LONG {
        return malformed(
            path,
            format!(
                "the row starting on line {line} is longer than {} MiB (an unclosed quote, or not \
                 a text file?); rows this long are refused",
                MAX_ROW_BYTES >> 20
            ),
        );
    }
    Error::read_file("data file", path, e)
}

const TOO_LONG: &str = "row too long";

/// The reader under a pass: it keeps the bytes of the current row (from where the last row
/// started), which gives line numbers without counting from the file's start each time,
/// and refuses a row longer than [`MAX_ROW_BYTES`] before it fills memory.
struct Window<R> {
    inner: R,
    /// Bytes from `start` to what has been read so far.
    kept: VecDeque<u8>,
    /// File offset of `kept[0]`.
    start: u64,
    /// Newlines before `start`.
    lines_before: u64,
    /// Bytes handed out: `start + kept.len()` minus any byte given back by `unread`.
    offset: u64,
    /// A read error kept for the caller, when a parser hides it.
    error: Option<io::Error>,
}

impl<R: Read> Window<R> {
    fn new(inner: R) -> Window<R> {
        Window {
            inner,
            kept: VecDeque::new(),
            start: 0,
            lines_before: 0,
            offset: 0,
            error: None,
        }
    }

    /// Reads more bytes into `kept`; 0 at the end of the file.
    fn fill(&mut self) -> io::Result<usize> {
        if self.kept.len() > MAX_ROW_BYTES + 64 * 1024 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, TOO_LONG));
        }
        let mut buf = [0u8; 8192];
        let n = loop {
            match self.inner.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.kept.extend(&buf[..n]);
        Ok(n)
    }

    /// Bytes not yet handed out.
    fn pending(&self) -> usize {
        (self.start + self.kept.len() as u64 - self.offset) as usize
    }

    /// Up to `n` bytes ahead, without consuming them.
    fn peek(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.pending() < n {
            if self.fill()? == 0 {
                break;
            }
        }
        let from = (self.offset - self.start) as usize;
        Ok(self
            .kept
            .range(from..from + self.pending().min(n))
            .copied()
            .collect())
    }

    fn skip(&mut self, n: usize) {
        self.offset += n.min(self.pending()) as u64;
    }

    /// Makes the next byte offset 0.
    fn rebase(&mut self) {
        self.forget_before(self.offset);
        self.start = 0;
        self.offset = 0;
    }

    fn offset(&self) -> u64 {
        self.offset
    }

    fn byte(&self, offset: u64) -> Option<u8> {
        let i = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        self.kept.get(i).copied()
    }

    /// The first offset from `at` that is not a line end (where a record really starts).
    fn skip_line_ends_from(&self, mut at: u64) -> u64 {
        while matches!(self.byte(at), Some(b'\r' | b'\n')) {
            at += 1;
        }
        at
    }

    /// The 1-based line of a kept offset.
    fn line_at(&self, offset: u64) -> u64 {
        let end = offset
            .saturating_sub(self.start)
            .min(self.kept.len() as u64) as usize;
        self.lines_before + self.kept.range(..end).filter(|&&b| b == b'\n').count() as u64 + 1
    }

    /// The line of the next byte to be handed out.
    fn current_line(&self) -> u64 {
        self.line_at(self.offset)
    }

    /// Drops the kept bytes before `offset` (a new row starts there).
    fn forget_before(&mut self, offset: u64) {
        let n = offset
            .saturating_sub(self.start)
            .min(self.kept.len() as u64) as usize;
        self.lines_before += self.kept.range(..n).filter(|&&b| b == b'\n').count() as u64;
        self.kept.drain(..n);
        self.start += n as u64;
    }

    /// The next byte that is not JSON whitespace, consumed.
    fn next_token(&mut self) -> io::Result<Option<u8>> {
        loop {
            if self.pending() == 0 && self.fill()? == 0 {
                return Ok(None);
            }
            let b = self.byte(self.offset);
            self.offset += 1;
            match b {
                Some(b' ' | b'\t' | b'\r' | b'\n') => continue,
                other => return Ok(other),
            }
        }
    }

    /// Gives back the last byte handed out.
    fn unread(&mut self) {
        self.offset = self.offset.saturating_sub(1).max(self.start);
    }

    /// The next line without its `\n`, or `None` at the end; the row starts there.
    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        self.forget_before(self.offset);
        let mut scanned = 0;
        loop {
            if let Some(i) = self.kept.range(scanned..).position(|&b| b == b'\n') {
                let line: Vec<u8> = self.kept.range(..scanned + i).copied().collect();
                self.offset = self.start + (scanned + i + 1) as u64;
                return Ok(Some(line));
            }
            scanned = self.kept.len();
            if self.fill()? == 0 {
                if self.kept.is_empty() {
                    return Ok(None);
                }
                let line: Vec<u8> = self.kept.iter().copied().collect();
                self.offset = self.start + self.kept.len() as u64;
                return Ok(Some(line));
            }
        }
    }

    /// The error a parser saw as its reader failing.
    fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

impl<R: Read> Read for Window<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending() == 0 {
            match self.fill() {
                Ok(_) => {}
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    self.error = Some(e);
                    return Err(copy);
                }
            }
        }
        let from = (self.offset - self.start) as usize;
        let n = buf.len().min(self.pending());
        for (slot, byte) in buf.iter_mut().zip(self.kept.range(from..from + n)) {
            *slot = *byte;
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Reads up to the `[` that opens the top-level array.
fn json_open<R: Read>(path: &Path, window: &mut Window<R>) -> Result<()> {
    match window.next_token().map_err(|e| read_error(path, 1, &e))? {
        Some(b'[') => Ok(()),
        first => {
            // Say what the file holds instead, when it is small enough to parse.
            let found = match first {
                Some(b'{') => "an object",
                Some(b'"') => "a string",
                Some(b't' | b'f') => "a boolean",
                Some(b'n') => "null",
                Some(b'-' | b'0'..=b'9') => "a number",
                None => "empty",
                Some(_) => "not JSON",
            };
            Err(malformed(
                path,
                format!("must be an array of objects ([{{\"name\": …}}, …]), not {found}"),
            ))
        }
    }
}

fn header(path: &Path, line: u64, fields: Vec<String>) -> Result<Vec<String>> {
    let columns: Vec<String> = fields.into_iter().map(|f| f.trim().to_string()).collect();
    for (i, name) in columns.iter().enumerate() {
        if name.is_empty() {
            return Err(malformed(
                path,
                format!(
                    "line {line}: column {} has no name; every column of the header needs one",
                    i + 1
                ),
            ));
        }
        if columns[..i].contains(name) {
            return Err(malformed(
                path,
                format!("line {line}: column '{name}' appears twice in the header"),
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
    fn csv_line_numbers_count_quoted_newlines_and_crlf() {
        let d = parse(Format::Csv, "a,b\r\n1,\"two\nlines\"\r\n\r\n\r\n3,4\r\n5,6").unwrap();
        let lines: Vec<String> = d.rows.iter().map(Row::describe).collect();
        assert_eq!(
            lines,
            ["row 1 (line 2)", "row 2 (line 6)", "row 3 (line 7)"]
        );
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
    fn a_row_too_long_is_refused_without_reading_it_whole() {
        for format in [Format::Csv, Format::Jsonl, Format::Json] {
            let mut text = match format {
                Format::Json => b"[{\"a\": \"".to_vec(),
                Format::Jsonl => b"{\"a\": \"".to_vec(),
                _ => b"name,email\n\"".to_vec(),
            };
            text.resize(text.len() + MAX_ROW_BYTES + 200_000, b'x');
            let err = Dataset::parse(Path::new("d"), format, &text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Data, "{format:?}");
            assert!(
                err.message().contains("longer than 1 MiB"),
                "{format:?}: {err}"
            );
        }
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
        assert_eq!(parse(Format::Json, " [ ] ").unwrap().rows.len(), 0);

        let err = parse(Format::Json, "[{\"a\":1},\n 3]").unwrap_err();
        assert!(err.message().contains("row 2 is a number"), "{err}");
        let err = parse(Format::Json, "[{\"a\":1},\n {\"a\" 2}]").unwrap_err();
        assert!(err.message().contains("line 2 column"), "{err}");
        let err = parse(Format::Json, "{\"a\":1}").unwrap_err();
        assert!(err.message().contains("array of objects"), "{err}");
        let err = parse(Format::Json, "[{\"a\":1}").unwrap_err();
        assert!(err.message().contains("not closed"), "{err}");
        let err = parse(Format::Json, "[{\"a\":1}] x").unwrap_err();
        assert!(err.message().contains("after the closing"), "{err}");

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
        assert!(k1[0].ends_with(".1") && k1[2].ends_with(".2"), "{k1:?}");
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
            d.write_rows(&out, &[&d.rows[0], &d.rows[1]]).unwrap();
            let back = Dataset::parse(&out, format, &std::fs::read(&out).unwrap()).unwrap();
            assert_eq!(back.rows.len(), 2);
            assert_eq!(back.rows[0].values, d.rows[0].values, "{format:?}");
            assert_eq!(back.rows[1].values, d.rows[1].values, "{format:?}");
        }
    }

    #[test]
    fn a_data_file_is_read_again_from_the_start_for_each_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "n\nA\nB\n").unwrap();
        let file = DataFile::open(&path).unwrap();
        for _ in 0..2 {
            let rows: Vec<Row> = file.rows().unwrap().collect::<Result<_>>().unwrap();
            assert_eq!(rows.len(), 2);
        }
    }
}
