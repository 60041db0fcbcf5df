//! The first half of a merge: every selected row rendered and checked, with no connection
//! open. Any bad row stops the merge here with nothing sent.
//!
//! Checking streams the data file and keeps no rendered message: a row is rendered again
//! when it is sent ([`Plan::build`]). What checking keeps is small and per row at most a
//! few bytes: which row contents exist (to number identical rows for the journal and to
//! notice a data file changed before the second pass), and the files rows share.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::delivery::merge::data::{DataFile, Row, row_key};
use crate::delivery::merge::journal::Journal;
use crate::delivery::merge::key;
use crate::error::{Error, ErrorKind, Result};
use crate::message::address::Mailbox;
use crate::message::part_data;
use crate::message::spec::{Envelope, Header, MessageSpec, Part};
use crate::mime::data::MessageData;
use crate::mime::{dkim, render as mime};
use crate::template::confine::Confined;
use crate::template::{self, Rendered, Template};

/// How many rows use each file.
pub(crate) type Uses = HashMap<Confined, usize>;

/// Distinct files counted for sharing: beyond this (a merge with one file per row), the
/// rest are read for each row that uses them, as files used once are anyway.
const MAX_COUNTED_FILES: usize = 4096;

/// Distinct problems listed when rows are invalid; the rest are counted.
const MAX_LISTED_PROBLEMS: usize = 100;

/// Rows that cannot be sent: one line per problem, and the error the merge exits with.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub(crate) lines: Vec<String>,
    pub(crate) error: Error,
}

/// Why checking stopped: bad rows, or a data file that cannot be read.
#[derive(Debug)]
pub(crate) enum Refused {
    Rows(Invalid),
    File(Error),
}

impl From<Error> for Refused {
    fn from(error: Error) -> Refused {
        Refused::File(error)
    }
}

/// Which rows a run sends: every N-th row from row K (`--shard K/N`), at most `limit`
/// of those not yet journaled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selection {
    pub(crate) shard: Option<(usize, usize)>,
    pub(crate) limit: Option<usize>,
}

impl Selection {
    fn selects(&self, row: &Row) -> bool {
        match self.shard {
            Some((k, n)) => (row.number - 1) % n == k - 1,
            None => true,
        }
    }
}

/// What checking learnt, for the second pass.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// Rows in the file.
    pub(crate) rows: usize,
    /// CSV/TSV header (for the failed-rows file).
    pub(crate) columns: Vec<String>,
    /// Rows selected (shard), all of them valid.
    pub(crate) selected: usize,
    /// Selected rows the journal already has.
    pub(crate) already: usize,
    /// Selected rows to send now (after `--limit`).
    pub(crate) pending: usize,
    pub(crate) uses: Uses,
    /// Digest prefixes of every row's content: a row read in the second pass must be one
    /// that was checked.
    seen: HashSet<u64>,
    /// Prefixes that occur more than once (identical rows get occurrence numbers).
    repeated: HashSet<u64>,
    /// One bit per row of the file: send it in this run.
    to_send: Vec<u64>,
}

impl Checked {
    fn mark(&mut self, index: usize) {
        if self.to_send.len() <= index / 64 {
            self.to_send.resize(index / 64 + 1, 0);
        }
        self.to_send[index / 64] |= 1 << (index % 64);
    }

    fn marked(&self, index: usize) -> bool {
        self.to_send
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }
}

/// Numbers identical rows in file order, for the journal keys (see [`Row::digest`]).
#[derive(Debug, Default)]
pub(crate) struct Occurrences {
    counts: HashMap<u64, usize>,
}

impl Occurrences {
    /// The journal key of the next row, and its digest prefix.
    pub(crate) fn key(&mut self, row: &Row, checked: &Checked) -> (String, u64) {
        let digest = row.digest();
        let prefix = prefix(&digest);
        let n = if checked.repeated.contains(&prefix) {
            let n = self.counts.entry(prefix).or_insert(0);
            *n += 1;
            *n
        } else {
            1
        };
        (row_key(&digest, n), prefix)
    }
}

fn prefix(digest: &[u8; 16]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// What every row is rendered with.
pub(crate) struct Plan {
    pub(crate) template: Template,
    /// Folders attachments may come from: the template's and the data file's.
    roots: Vec<PathBuf>,
    default_from: Option<Mailbox>,
    redirect: Option<Mailbox>,
    /// Files used by more than one row, read and base64-encoded once.
    cache: HashMap<Confined, Part>,
    /// The profile's DKIM key: every message is signed as it is built.
    signer: Option<dkim::Signer>,
    /// `--key COLUMN`: rows are journaled by this column too.
    key: Option<String>,
}

impl Plan {
    /// A plan for rows rendered through `template`.
    pub(crate) fn new(
        template: Template,
        roots: Vec<PathBuf>,
        default_from: Option<Mailbox>,
        redirect: Option<Mailbox>,
        signer: Option<dkim::Signer>,
        key: Option<String>,
    ) -> Plan {
        Plan {
            template,
            roots,
            default_from,
            redirect,
            cache: HashMap::new(),
            signer,
            key,
        }
    }

    /// Renders one row: template, default sender, redirect, checks.
    fn render(&self, row: &Row) -> Result<Rendered> {
        let mut rendered = self
            .template
            .render(&template::context(&row.values), &self.roots)?;
        let spec = &mut rendered.spec;
        if spec.from.is_none() {
            spec.from = self.default_from.clone();
        }
        if let Some(to) = &self.redirect {
            // A rehearsal: only ADDR gets the message, in the envelope and in To; the
            // original recipients are shown in a header so each message can be checked.
            let original: Vec<String> = spec
                .to
                .iter()
                .chain(&spec.cc)
                .map(|m| m.to_string())
                .collect();
            spec.to = vec![to.clone()];
            spec.cc.clear();
            spec.bcc.clear();
            spec.headers.push(Header {
                name: "X-Rmail-Redirected-From".into(),
                value: original.join(", "),
            });
        }
        spec.validate()?;
        Ok(rendered)
    }

    /// The message for one row, as bytes: rendered again (checking kept nothing of it).
    pub(crate) fn build(&self, row: &Row) -> Result<(Envelope, MessageData)> {
        let spec = self.spec(row)?;
        let message = dkim::maybe_sign_data(self.signer.as_ref(), MessageData::render(&spec))?;
        Ok((spec.envelope(), message))
    }

    /// The message for one row, with its files read.
    fn spec(&self, row: &Row) -> Result<MessageSpec> {
        let rendered = self.render(row)?;
        rendered.into_spec(|file| match self.cache.get(file) {
            Some(part) => Ok(part.clone()),
            None => file.read(),
        })
    }

    /// Reads the data file once, rendering every selected row before anything is sent, and
    /// counts what the journal (when given) already has. On any bad row, fails with every
    /// problem (one line each) and nothing sent; a `--key` column missing from a row, or the
    /// same in two rows, fails at once.
    pub(crate) fn check(
        &self,
        data: &DataFile,
        selection: Selection,
        journal: Option<&Journal>,
    ) -> std::result::Result<Checked, Refused> {
        let mut checked = Checked::default();
        let mut problems: Vec<(String, Vec<usize>)> = Vec::new();
        let mut unlisted = 0usize;
        let mut bad = 0usize;
        let mut repeats: HashMap<u64, usize> = HashMap::new();
        let mut first_lines: HashMap<usize, String> = HashMap::new();
        let mut distinct = key::Distinct::default();
        let rows = data.rows()?;
        checked.columns = rows.columns().to_vec();
        for row in rows {
            let row = row?;
            checked.rows += 1;
            let column_key = match &self.key {
                Some(column) => {
                    let key = key::column_key(&row, column, &checked.columns, &data.path)?;
                    distinct.check(&row, column, &key, &data.path)?;
                    Some(key)
                }
                None => None,
            };
            let digest = row.digest();
            let prefix = prefix(&digest);
            let occurrence = if checked.seen.insert(prefix) {
                1
            } else {
                checked.repeated.insert(prefix);
                let n = repeats.entry(prefix).or_insert(1);
                *n += 1;
                *n
            };
            if !selection.selects(&row) {
                continue;
            }
            checked.selected += 1;
            match self.render(&row) {
                Ok(rendered) => {
                    let files = rendered
                        .attach
                        .iter()
                        .chain(rendered.inline.iter().map(|(_, p)| p));
                    for path in files {
                        if let Some(n) = checked.uses.get_mut(path) {
                            *n += 1;
                        } else if checked.uses.len() < MAX_COUNTED_FILES {
                            checked.uses.insert(path.clone(), 1);
                        }
                    }
                }
                Err(err) => {
                    bad += 1;
                    let err = with_fix(err, &data.path, &checked.columns);
                    let message = err.message().to_string();
                    let room = problems.len() < MAX_LISTED_PROBLEMS;
                    match problems.iter_mut().find(|(m, _)| *m == message) {
                        Some((_, rows)) => rows.push(row.number),
                        None if room => {
                            first_lines.insert(row.number, row.describe());
                            problems.push((message, vec![row.number]));
                        }
                        None => unlisted += 1,
                    }
                    continue;
                }
            }
            let done = journal.is_some_and(|j| {
                j.contains(&row_key(&digest, occurrence))
                    || column_key.as_ref().is_some_and(|k| j.contains(k))
            });
            if done {
                checked.already += 1;
            } else if checked.pending < selection.limit.unwrap_or(usize::MAX) {
                checked.pending += 1;
                checked.mark(row.number - 1);
            }
        }
        if problems.is_empty() {
            return Ok(checked);
        }
        let mut lines: Vec<String> = problems
            .iter()
            .map(|(message, rows)| {
                let which = match rows.as_slice() {
                    [one] => first_lines.get(one).cloned().unwrap_or_default(),
                    many => format!("rows {} ({} rows)", ranges(many), many.len()),
                };
                format!("{which}: {message}")
            })
            .collect();
        if unlisted > 0 {
            lines.push(format!("{unlisted} more row(s) with other problems"));
        }
        Err(Refused::Rows(Invalid {
            lines,
            error: Error::data(format!(
                "{bad} of {} rows cannot be sent (listed above); nothing was sent. Fix {} or {} \
                 and run the same command again",
                checked.selected,
                self.template.path().display(),
                data.path.display()
            )),
        }))
    }

    /// Reads and encodes, once, every file more than one row uses.
    pub(crate) fn cache_shared(&mut self, uses: &Uses) -> Result<()> {
        for (file, &count) in uses {
            if count > 1 {
                let mut part = file.read()?;
                mime::pre_encode(&mut part);
                self.cache.insert(file.clone(), part);
            }
        }
        Ok(())
    }

    /// Writes one `.eml` per selected row (at most `limit`), named after the row number,
    /// and sends nothing. `each` sees every message written (row, file name, spec,
    /// envelope): the preview page. Returns how many were written.
    pub(crate) fn dry_run(
        &self,
        data: &DataFile,
        checked: &Checked,
        selection: Selection,
        out_dir: &Path,
        mut each: impl FnMut(&Row, &str, &MessageSpec, &Envelope) -> Result<()>,
    ) -> Result<usize> {
        let cant = |path: &Path, e: std::io::Error| {
            Error::new(
                ErrorKind::CantCreate,
                format!("cannot write {}: {e}", path.display()),
            )
        };
        std::fs::create_dir_all(out_dir).map_err(|e| cant(out_dir, e))?;
        let width = checked.rows.to_string().len().max(4);
        let limit = selection.limit.unwrap_or(usize::MAX);
        let mut written = 0;
        for row in data.rows()? {
            let row = row?;
            if written == limit {
                break;
            }
            if !selection.selects(&row) {
                continue;
            }
            let spec = self.spec(&row)?;
            let message = dkim::maybe_sign_data(self.signer.as_ref(), MessageData::render(&spec))?;
            let name = format!("{:0width$}.eml", row.number);
            let path = out_dir.join(&name);
            std::fs::File::create(&path)
                .and_then(|file| message.write_to(std::io::BufWriter::new(file)))
                .map_err(|e| part_data::input_error(&e).unwrap_or_else(|| cant(&path, e)))?;
            each(&row, &name, &spec, &spec.envelope())?;
            written += 1;
        }
        Ok(written)
    }

    /// The second pass: the rows checking chose to send, in file order, each with its
    /// journal key (the content key, and with `--key` the column key after a space). A row
    /// that was not checked (the data file changed in between) stops the pass with an error
    /// before it is sent.
    pub(crate) fn pending<'a>(
        &'a self,
        data: &'a DataFile,
        checked: &'a Checked,
    ) -> Result<impl Iterator<Item = Result<(Row, String)>> + Send + 'a> {
        let mut rows = data.rows()?;
        let mut occurrences = Occurrences::default();
        let mut left = checked.pending;
        let mut read = 0usize;
        Ok(std::iter::from_fn(move || {
            while left > 0 {
                let row = match rows.next()? {
                    Ok(row) => row,
                    Err(e) => return Some(Err(e)),
                };
                read += 1;
                let (key, prefix) = occurrences.key(&row, checked);
                if read > checked.rows || !checked.seen.contains(&prefix) {
                    return Some(Err(Error::data(format!(
                        "data file {} changed while the merge ran ({} is not what was checked); \
                         rows sent so far are journaled: run the same command again",
                        data.path.display(),
                        row.describe()
                    ))));
                }
                if !checked.marked(row.number - 1) {
                    continue;
                }
                left -= 1;
                let key = match &self.key {
                    Some(column) => {
                        match key::column_key(&row, column, &checked.columns, &data.path) {
                            Ok(by_column) => format!("{key} {by_column}"),
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    None => key,
                };
                return Some(Ok((row, key)));
            }
            None
        }))
    }
}

/// An undefined variable gets the fix: the column the data file lacks.
fn with_fix(err: Error, data: &Path, columns: &[String]) -> Error {
    let Some(var) = template::undefined_variable(&err) else {
        return err;
    };
    let data = data.display();
    let add = if columns.is_empty() {
        format!("add the key \"{var}\" to each object in {data}")
    } else {
        let has = columns.join(", ");
        format!("add a column {var} to {data} (it has: {has})")
    };
    Error::data(format!(
        "{}; {add}, or write {{{{ {var} | default(\"\") }}}} in the template",
        err.message()
    ))
}

/// `1, 2, 3, 5, 7, 8` → `1-3, 5, 7-8`.
fn ranges(numbers: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(ranges(&[4]), "4");
    }
}
