//! [`MessageData`]: a rendered message as it is sent, written to `--eml` or kept in the
//! outbox — bytes, with the base64 bodies of large files encoded on the way out.

use std::borrow::Cow;

/// A rendered message: bytes, with the base64 bodies of large files still to be encoded.
/// Sending it, writing it to `--eml` or keeping it in the outbox streams the encoding, so
/// a 100 MiB attachment costs its own size in memory, not three times that.
#[derive(Debug, Clone)]
pub(crate) struct MessageData {
    pub(crate) pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    Base64(std::sync::Arc<[u8]>),
}

/// Input bytes per streamed base64 block: a whole number of 57-byte lines.
const BLOCK: usize = 57 * 1024;

impl MessageData {
    /// The message in chunks, in order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = Cow<'_, [u8]>> {
        self.pieces
            .iter()
            .flat_map(|piece| -> Box<dyn Iterator<Item = Cow<'_, [u8]>>> {
                match piece {
                    Piece::Bytes(bytes) => {
                        Box::new(std::iter::once(Cow::Borrowed(bytes.as_slice())))
                    }
                    Piece::Base64(data) => {
                        // Each block is whole 57-byte lines, so blocks simply follow each other:
                        // lines end with CRLF, and so does the body, as mail-builder's own does.
                        Box::new(data.chunks(BLOCK).map(|block| {
                            let mut out = base64_lines(block);
                            out.extend_from_slice(b"\r\n");
                            Cow::Owned(out)
                        }))
                    }
                }
            })
    }

    /// The whole message, when it is already one buffer.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self.pieces.as_slice() {
            [Piece::Bytes(bytes)] => Some(bytes),
            _ => None,
        }
    }

    /// Size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::Base64(d) => {
                    let lines = d.len().div_ceil(57) as u64;
                    (d.len() as u64).div_ceil(3) * 4 + lines * 2
                }
            })
            .sum()
    }

    /// Streams the message to `out`.
    pub(crate) fn write_to(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        for chunk in self.chunks() {
            out.write_all(&chunk)?;
        }
        out.flush()
    }
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
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // 57 input bytes make one 76-character line.
    let mut out = Vec::with_capacity(data.len().div_ceil(57) * 78);
    for (i, line) in data.chunks(57).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        for chunk in line.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (j, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
                if j <= chunk.len() {
                    out.push(ALPHABET[((n >> shift) & 63) as usize]);
                } else {
                    out.push(b'=');
                }
            }
        }
    }
    out
}
