//! [`PartData`]: the bytes of an attachment or inline image — in memory for small files, and
//! for large ones the file itself, opened once and read in blocks while the message is
//! written (to the server, to `--eml`, to the outbox), so a 100 MiB attachment never sits in
//! memory.
//!
//! "What was checked is what is sent": a large file is read from the descriptor that was
//! opened (and checked to be a regular file) when the message was composed, never by name
//! again. Its size and modification time are taken then; a file that is shorter, longer or
//! modified when it is read fails the read with a [`SourceError`], and whoever is writing
//! the message stops before its end (SMTP: no final dot, so nothing is delivered).

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};

/// Files from this size on are kept open and streamed, not read into memory.
pub(crate) const STREAM_MIN: u64 = 1 << 20;

/// An attachment's bytes.
#[derive(Debug, Clone)]
pub(crate) enum PartData {
    /// Read when the message was composed. Shared, so that one attachment used by every row
    /// of a merge is read once.
    Bytes(Arc<[u8]>),
    /// A large file, read while the message is written.
    File(Arc<OpenFile>),
}

impl PartData {
    /// Size in bytes (for a file: as it was when opened).
    pub(crate) fn len(&self) -> u64 {
        match self {
            PartData::Bytes(bytes) => bytes.len() as u64,
            PartData::File(file) => file.len(),
        }
    }

    /// The whole content, read now for a file: for the few places that need it whole
    /// (the dry-run preview of an inline image).
    pub(crate) fn read_all(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            PartData::Bytes(bytes) => Ok(Cow::Borrowed(bytes)),
            PartData::File(file) => {
                let mut out = Vec::new();
                file.blocks(1 << 20, |block| out.extend_from_slice(block))
                    .collect::<io::Result<()>>()?;
                Ok(Cow::Owned(out))
            }
        }
    }
}

impl From<Vec<u8>> for PartData {
    fn from(bytes: Vec<u8>) -> Self {
        PartData::Bytes(bytes.into())
    }
}

impl From<&[u8]> for PartData {
    fn from(bytes: &[u8]) -> Self {
        PartData::Bytes(bytes.into())
    }
}

impl PartialEq for PartData {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PartData::Bytes(a), PartData::Bytes(b)) => a == b,
            (PartData::File(a), PartData::File(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for PartData {}

/// A regular file opened for a message, with what it was when opened.
#[derive(Debug)]
pub(crate) struct OpenFile {
    file: File,
    len: u64,
    modified: (i64, i64),
    /// "attachment big.bin": for error messages.
    label: String,
}

impl OpenFile {
    /// Keeps `file` (already checked to be a regular file) with its size and modification
    /// time now.
    pub(crate) fn new(file: File, path: &Path, what: &str) -> io::Result<OpenFile> {
        let (len, modified) = stat(&file)?;
        Ok(OpenFile {
            file,
            len,
            modified,
            label: format!("{what} {}", path.display()),
        })
    }

    /// Size in bytes when opened.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The content in blocks of `block` bytes (the last one shorter), each passed through
    /// `map` (which sees a buffer reused for every block), read with `pread` from the
    /// descriptor opened at compose time. The last item is an error when the file is no
    /// longer what it was when opened (shorter, longer, or modified since).
    pub(crate) fn blocks<'a, T: 'a>(
        &'a self,
        block: usize,
        mut map: impl FnMut(&[u8]) -> T + 'a,
    ) -> impl Iterator<Item = io::Result<T>> + 'a {
        let mut at = 0u64;
        let mut done = false;
        let mut buf = Vec::new();
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            if at == self.len {
                done = true;
                return self.unchanged().err().map(Err);
            }
            let want = usize::try_from(self.len - at).map_or(block, |left| left.min(block));
            buf.resize(want, 0);
            match self.read_exact_at(&mut buf, at) {
                Ok(()) => {
                    at += want as u64;
                    Some(Ok(map(&buf)))
                }
                Err(e) => {
                    done = true;
                    Some(Err(e))
                }
            }
        })
    }

    fn read_exact_at(&self, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.file.read_at(buf, at) {
                Ok(0) => return Err(self.changed()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(&e)),
            }
        }
        Ok(())
    }

    /// Whether the file is still as it was opened: nothing past its length, same size and
    /// modification time.
    fn unchanged(&self) -> io::Result<()> {
        let mut probe = [0u8; 1];
        let more = loop {
            match self.file.read_at(&mut probe, self.len) {
                Ok(n) => break n > 0,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.failed(&e)),
            }
        };
        let now = stat(&self.file).map_err(|e| self.failed(&e))?;
        if more || now != (self.len, self.modified) {
            return Err(self.changed());
        }
        Ok(())
    }

    fn changed(&self) -> io::Error {
        let now = stat(&self.file).map(|(len, _)| len).unwrap_or(0);
        io::Error::other(SourceError(Error::new(
            ErrorKind::Data,
            format!(
                "{} changed while the message was being written (it had {} bytes when \
                 opened, {now} now); send it again once nothing is writing to it",
                self.label, self.len
            ),
        )))
    }

    fn failed(&self, e: &io::Error) -> io::Error {
        io::Error::other(SourceError(Error::new(
            ErrorKind::NoInput,
            format!("cannot read {}: {e}", self.label),
        )))
    }
}

/// Size and modification time (seconds, nanoseconds) of an open file.
fn stat(file: &File) -> io::Result<(u64, (i64, i64))> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok((meta.len(), (meta.mtime(), meta.mtime_nsec())))
}

/// A file that could not be read as it was opened, inside an `io::Error` (message data is
/// written through `io::Write`): [`input_error`] takes it out again.
#[derive(Debug)]
struct SourceError(Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.message())
    }
}

impl std::error::Error for SourceError {}

/// The input problem behind `e` when writing a message failed because one of its files
/// could not be read as opened (exit 65 when it changed, 66 when it could not be read);
/// `None` when `e` is about where the message was going.
pub(crate) fn input_error(e: &io::Error) -> Option<Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<SourceError>())
        .map(|source| source.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn open(bytes: &[u8]) -> (tempfile::NamedTempFile, OpenFile) {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = File::open(tmp.path()).unwrap();
        let open = OpenFile::new(file, Path::new("big.bin"), "attachment").unwrap();
        (tmp, open)
    }

    #[test]
    fn blocks_read_the_whole_file() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let (_tmp, file) = open(&data);
        let blocks: Vec<Vec<u8>> = file
            .blocks(4096, <[u8]>::to_vec)
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks.concat(), data);
    }

    #[test]
    fn a_file_that_shrinks_or_grows_fails_the_read() {
        let (tmp, file) = open(&[7u8; 10_000]);
        tmp.as_file().set_len(5000).unwrap();
        let err = file.blocks(4096, |_| ()).find_map(|b| b.err()).unwrap();
        let input = input_error(&err).unwrap();
        assert_eq!(input.kind(), ErrorKind::Data);
        assert!(
            input.message().contains("attachment big.bin changed"),
            "{input}"
        );
        assert!(input.message().contains("10000 bytes"), "{input}");

        let (tmp, file) = open(&[7u8; 100]);
        tmp.as_file().set_len(200).unwrap();
        let last = file.blocks(4096, |_| ()).last().unwrap();
        assert_eq!(
            input_error(&last.unwrap_err()).unwrap().kind(),
            ErrorKind::Data
        );
    }

    #[test]
    fn other_io_errors_are_not_input_errors() {
        assert!(input_error(&io::Error::other("broken pipe")).is_none());
    }
}
