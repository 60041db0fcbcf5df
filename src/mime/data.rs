//! [`MessageData`]: a rendered message as it is sent, written to `--eml` or kept in the
//! outbox — bytes, with the base64 bodies of large files read and encoded on the way out.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use crate::message::part_data::OpenFile;

/// A rendered message: bytes, with the base64 bodies of large files still to be read and
/// encoded. Sending it, writing it to `--eml` or keeping it in the outbox reads each large
/// file in blocks from the descriptor opened at compose time, so a 100 MiB attachment costs
/// a block of memory, not its size. Reading can fail (the file changed since it was opened:
/// see [`crate::message::part_data`]); every writer stops at that chunk.
#[derive(Debug, Clone)]
pub(crate) struct MessageData {
    pub(crate) pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    /// A large file's base64 body, in lines of 76, ending with CRLF.
    File(Arc<OpenFile>),
}

/// Input bytes per streamed base64 block: a whole number of 57-byte lines (about 300 KB of
/// output a block).
const BLOCK: usize = 57 * 4096;

impl MessageData {
    /// The message in chunks, in order; an error ends it.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = io::Result<Cow<'_, [u8]>>> {
        self.pieces.iter().flat_map(
            |piece| -> Box<dyn Iterator<Item = io::Result<Cow<'_, [u8]>>> + '_> {
                match piece {
                    Piece::Bytes(bytes) => {
                        Box::new(std::iter::once(Ok(Cow::Borrowed(bytes.as_slice()))))
                    }
                    Piece::File(file) => {
                        // Each block is whole 57-byte lines, so blocks simply follow each other:
                        // lines end with CRLF, and so does the body, as mail-builder's own does.
                        Box::new(file.blocks(BLOCK, |block| {
                            let mut out = base64_lines(block);
                            out.extend_from_slice(b"\r\n");
                            Cow::Owned(out)
                        }))
                    }
                }
            },
        )
    }

    /// The whole message, when it is already one buffer.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self.pieces.as_slice() {
            [Piece::Bytes(bytes)] => Some(bytes),
            _ => None,
        }
    }

    /// The first piece: the whole header section (and more), as rendered.
    pub(crate) fn head(&self) -> &[u8] {
        match self.pieces.first() {
            Some(Piece::Bytes(bytes)) => bytes,
            _ => &[],
        }
    }

    /// Puts `header` (a whole header field, CRLF-terminated) first: a DKIM signature.
    pub(crate) fn prepend(&mut self, header: &[u8]) {
        match self.pieces.first_mut() {
            Some(Piece::Bytes(bytes)) => {
                bytes.splice(0..0, header.iter().copied());
            }
            _ => self.pieces.insert(0, Piece::Bytes(header.to_vec())),
        }
    }

    /// Size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::File(file) => base64_len(file.len()),
            })
            .sum()
    }

    /// Streams the message to `out`.
    pub(crate) fn write_to(&self, mut out: impl io::Write) -> io::Result<()> {
        for chunk in self.chunks() {
            out.write_all(&chunk?)?;
        }
        out.flush()
    }

    /// The whole message in memory (for what needs it whole: an IMAP copy in Sent).
    pub(crate) fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// The size of `len` bytes as [`base64_lines`] plus the final CRLF write them.
fn base64_len(len: u64) -> u64 {
    len.div_ceil(3) * 4 + len.div_ceil(57) * 2
}

impl From<Vec<u8>> for MessageData {
    fn from(bytes: Vec<u8>) -> Self {
        MessageData {
            pieces: vec![Piece::Bytes(bytes)],
        }
    }
}

/// Base64 in lines of 76 characters separated by CRLF (RFC 2045), no trailing CRLF: the
/// boundary that follows the part starts with its own.
pub(crate) fn base64_lines(data: &[u8]) -> Vec<u8> {
    let lines = data.len().div_ceil(57);
    // The exact size, then filled by index: pushing four bytes at a time was half the CPU
    // time of sending a 100 MiB attachment.
    let mut out = vec![0u8; data.len().div_ceil(3) * 4 + lines.saturating_sub(1) * 2 + 2];
    let mut o = 0;
    for (i, line) in data.chunks(57).enumerate() {
        if i > 0 {
            out[o..o + 2].copy_from_slice(b"\r\n");
            o += 2;
        }
        let mut groups = line.chunks_exact(3);
        for (g, dst) in (&mut groups).zip(out[o..].chunks_exact_mut(4)) {
            let n = (u32::from(g[0]) << 16) | (u32::from(g[1]) << 8) | u32::from(g[2]);
            dst[0] = ALPHABET[(n >> 18) as usize & 63];
            dst[1] = ALPHABET[(n >> 12) as usize & 63];
            dst[2] = ALPHABET[(n >> 6) as usize & 63];
            dst[3] = ALPHABET[n as usize & 63];
        }
        o += line.len() / 3 * 4;
        let tail = groups.remainder();
        if !tail.is_empty() {
            let b1 = tail.get(1).copied().unwrap_or(0);
            let n = (u32::from(tail[0]) << 16) | (u32::from(b1) << 8);
            out[o] = ALPHABET[(n >> 18) as usize & 63];
            out[o + 1] = ALPHABET[(n >> 12) as usize & 63];
            out[o + 2] = if tail.len() == 2 {
                ALPHABET[(n >> 6) as usize & 63]
            } else {
                b'='
            };
            out[o + 3] = b'=';
            o += 4;
        }
    }
    // The room for the CRLF the callers append, without growing the buffer.
    out.truncate(o);
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
