//! The merge journal: one line per row a server accepted, so that running the same merge
//! again sends only what was not accepted yet.
//!
//! The file is append-only. Each line is written with a single `write` of the whole line
//! as soon as the server accepts the row, so a process killed at any moment (even with
//! SIGKILL: the kernel keeps what was written) leaves at worst one torn last line, which has
//! no newline and is ignored (and cut off) on the next run. Against a power cut the file is
//! also fsynced, at most every [`SYNC_EVERY`] and when the merge ends: a sync per row would
//! cost more than sending the row.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};

const HEADER: &str = "# rmail merge journal: one line per row the server accepted. \
Delete this file to send every row again.\n";

/// How often accepted rows are fsynced while a merge runs.
pub(crate) const SYNC_EVERY: Duration = Duration::from_millis(100);

/// An open journal: the keys already recorded, and the file to append to.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    done: HashSet<String>,
    last_sync: Instant,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and reads the rows it records.
    pub(crate) fn open(path: &Path) -> Result<Journal> {
        let cant = |e: std::io::Error| {
            Error::new(
                ErrorKind::CantCreate,
                format!(
                    "cannot open the merge journal {}: {e}; choose another with --journal PATH",
                    path.display()
                ),
            )
        };
        let mut file = crate::private::open(
            path,
            OpenOptions::new().read(true).append(true).create(true),
        )
        .map_err(cant)?;
        if !file.metadata().map_err(cant)?.is_file() {
            return Err(cant(std::io::Error::other("not a regular file")));
        }
        // One merge per journal: a second run of the same merge would send every row the
        // first has not journaled yet, again. It refuses at once rather than wait: the
        // first may run for hours, and a cron job that waits piles up behind it.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorKind::Temporary,
                    format!(
                        "the merge journal {} is in use by another rmail merge of the same data; \
                         wait for it to finish (then run this again to send what is left), or \
                         give a separate merge its own --journal PATH",
                        path.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cant(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(cant)?;

        // Only complete lines count; a torn last line (killed mid-write) is cut off so the
        // next record starts on a line of its own.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            file.set_len(complete as u64).map_err(cant)?;
        }
        let done = parse(&bytes[..complete]);
        if complete == 0 {
            file.write_all(HEADER.as_bytes()).map_err(cant)?;
        }
        Ok(Journal {
            last_sync: Instant::now(),
            path: path.to_path_buf(),
            file,
            done,
        })
    }

    /// Where the journal is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// True when the row with this key was accepted in an earlier run.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.done.contains(key)
    }

    /// Records that the server accepted a row. `note` (row number, recipient) is for
    /// people reading the file; only the key is read back.
    pub(crate) fn record(&mut self, key: &str, note: &str) -> Result<()> {
        let note: String = note
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let line = format!("{key} {note}\n");
        // One write per line: appends of a whole line never interleave with a torn one.
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| {
                if self.last_sync.elapsed() >= SYNC_EVERY {
                    self.last_sync = Instant::now();
                    self.file.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| {
                Error::new(
                    ErrorKind::CantCreate,
                    format!(
                        "cannot write to the merge journal {}: {e}",
                        self.path.display()
                    ),
                )
            })?;
        // Not added to the keys read at open: a merge looks keys up before it sends (its
        // check pass), never after, and a million keys kept here would be most of the
        // merge's memory.
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // The rows recorded since the last sync; a failure here changes nothing already sent.
        let _ = self.file.sync_data();
    }
}

/// The keys of complete, non-comment lines: the first word, and a `--key` column key
/// (`k:…`) right after it when the row was sent with one.
fn parse(bytes: &[u8]) -> HashSet<String> {
    let mut keys = HashSet::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        keys.extend(words.next().map(str::to_string));
        keys.extend(
            words
                .next()
                .filter(|w| w.starts_with(crate::delivery::merge::key::PREFIX))
                .map(str::to_string),
        );
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_torn_lines_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut j = Journal::open(&path).unwrap();
        assert!(!j.contains("a.1"));
        j.record("a.1", "row 1 to x@y").unwrap();
        j.record("b.1", "row 2\nto z").unwrap();
        drop(j);

        // Simulate a kill in the middle of writing the third line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"c.1 row").unwrap();
        drop(f);

        let mut j = Journal::open(&path).unwrap();
        assert!(j.contains("a.1") && j.contains("b.1"));
        assert!(!j.contains("c.1"), "a torn line does not count");
        j.record("d.1", "row 4").unwrap();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# rmail"));
        assert!(text.ends_with("\nd.1 row 4\n"), "{text}");
        assert_eq!(text.lines().count(), 4);
    }
}
