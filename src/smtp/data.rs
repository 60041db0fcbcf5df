//! Message data as it goes on the wire after `354`: checked, dot-stuffed, terminated.
//!
//! The last line of defence of "nothing illegal on the wire" (RFC 5321 §2.3.8, §4.5.2,
//! §4.5.3.1.6): whatever path a message took (send, merge, sendmail, queue flush), no bare
//! CR, no bare LF, no NUL and no line over 998 octets reaches the server. A bare CR or LF
//! next to a "." is how SMTP smuggling ends a message early at one server and not at
//! another; rmail refuses such data rather than guess. The composing stages pick encodings
//! that never produce it, so a refusal here means a bug upstream, not a user mistake.

use std::fmt;

/// The longest line SMTP allows, without its CRLF.
pub(crate) const MAX_LINE_OCTETS: usize = 998;

/// Why message data cannot go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    BareCr { line: usize },
    BareLf { line: usize },
    Nul { line: usize },
    LongLine { line: usize },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::BareCr { line } => write!(f, "a CR without LF on line {line}"),
            Violation::BareLf { line } => write!(f, "an LF without CR on line {line}"),
            Violation::Nul { line } => write!(f, "a NUL byte on line {line}"),
            Violation::LongLine { line } => {
                write!(f, "line {line} is longer than {MAX_LINE_OCTETS} octets")
            }
        }
    }
}

/// Dot-stuffs message data chunk by chunk and checks it on the way.
#[derive(Debug)]
pub(crate) struct Stuffer {
    at_line_start: bool,
    after_cr: bool,
    line_len: usize,
    line: usize,
}

impl Default for Stuffer {
    fn default() -> Self {
        Stuffer {
            at_line_start: true,
            after_cr: false,
            line_len: 0,
            line: 1,
        }
    }
}

impl Stuffer {
    /// Appends `chunk`, dot-stuffed, to `out`; fails on the first illegal byte. Runs of
    /// ordinary bytes are found with `memchr` and copied whole: the base64 of a 100 MiB
    /// attachment passes through here.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), Violation> {
        out.reserve(chunk.len() + chunk.len() / 256 + 8);
        let mut rest = chunk;
        while let Some(&first) = rest.first() {
            if self.after_cr {
                if first != b'\n' {
                    return Err(Violation::BareCr { line: self.line });
                }
                out.push(b'\n');
                rest = &rest[1..];
                self.after_cr = false;
                self.at_line_start = true;
                self.line_len = 0;
                self.line += 1;
                continue;
            }
            if self.at_line_start && first == b'.' {
                // The extra dot; the line's own follows with the run below.
                out.push(b'.');
            }
            let run = memchr::memchr3(b'\r', b'\n', 0, rest).unwrap_or(rest.len());
            if run > 0 {
                self.line_len += run;
                if self.line_len > MAX_LINE_OCTETS {
                    return Err(Violation::LongLine { line: self.line });
                }
                self.at_line_start = false;
                out.extend_from_slice(&rest[..run]);
                rest = &rest[run..];
            }
            match rest.first() {
                None => break,
                Some(b'\r') => {
                    out.push(b'\r');
                    rest = &rest[1..];
                    self.after_cr = true;
                    self.at_line_start = false;
                }
                Some(b'\n') => return Err(Violation::BareLf { line: self.line }),
                Some(_) => return Err(Violation::Nul { line: self.line }),
            }
        }
        Ok(())
    }

    /// Appends the end of data: CRLF "." CRLF, or only "." CRLF when the data already
    /// ends with a line break (no empty line is added to the message).
    pub(crate) fn finish(self, out: &mut Vec<u8>) -> Result<(), Violation> {
        if self.after_cr {
            return Err(Violation::BareCr { line: self.line });
        }
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        Ok(())
    }
}

/// Checks that `data` could go on the wire, without copying it.
pub(crate) fn check(data: &[u8]) -> Result<(), Violation> {
    let mut stuffer = Stuffer::default();
    let mut scratch = Vec::new();
    for chunk in data.chunks(64 << 10) {
        stuffer.push(chunk, &mut scratch)?;
        scratch.clear();
    }
    stuffer.finish(&mut scratch)
}

/// `data` dot-stuffed and terminated, ready to write after `354`.
pub(crate) fn stuffed(data: &[u8]) -> Result<Vec<u8>, Violation> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 256 + 8);
    let mut stuffer = Stuffer::default();
    stuffer.push(data, &mut out)?;
    stuffer.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_doubled_at_line_starts_only() {
        assert_eq!(
            stuffed(b".a\r\nb\r\n.\r\n..c\r\nd.\r\n.e").unwrap(),
            b"..a\r\nb\r\n..\r\n...c\r\nd.\r\n..e\r\n.\r\n"
        );
    }

    #[test]
    fn the_terminator_adds_no_empty_line() {
        assert_eq!(stuffed(b"a\r\n").unwrap(), b"a\r\n.\r\n");
        assert_eq!(stuffed(b"a").unwrap(), b"a\r\n.\r\n");
        assert_eq!(stuffed(b"").unwrap(), b".\r\n");
    }

    #[test]
    fn chunks_join_up() {
        let mut out = Vec::new();
        let mut s = Stuffer::default();
        s.push(b"x\r", &mut out).unwrap();
        s.push(b"\n.y\r\n", &mut out).unwrap();
        s.finish(&mut out).unwrap();
        assert_eq!(out, b"x\r\n..y\r\n.\r\n");
    }

    /// The byte-at-a-time reference the `memchr` version must agree with.
    fn reference(chunks: &[&[u8]]) -> Result<Vec<u8>, Violation> {
        let (mut out, mut start, mut after_cr, mut len, mut line) = (Vec::new(), true, false, 0, 1);
        for &b in chunks.iter().flat_map(|c| c.iter()) {
            if after_cr && b != b'\n' {
                return Err(Violation::BareCr { line });
            }
            match b {
                b'\n' if !after_cr => return Err(Violation::BareLf { line }),
                b'\n' => {
                    (after_cr, start, len) = (false, true, 0);
                    line += 1;
                    out.push(b);
                    continue;
                }
                b'\r' => after_cr = true,
                0 => return Err(Violation::Nul { line }),
                b'.' if start => out.push(b'.'),
                _ => {}
            }
            start = false;
            if b != b'\r' {
                len += 1;
                if len > MAX_LINE_OCTETS {
                    return Err(Violation::LongLine { line });
                }
            }
            out.push(b);
        }
        Ok(out)
    }

    #[test]
    fn runs_agree_with_the_byte_at_a_time_reference() {
        // Small alphabets make every case frequent: dots at line starts, CR LF split
        // across chunks, bare CR and LF, NUL, long lines.
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for round in 0..3000 {
            let alphabet: &[u8] = if round % 3 == 0 {
                b".\r\nab\0"
            } else {
                b"..\r\n\r\nab"
            };
            let len = (next() % 80) as usize;
            let mut data: Vec<u8> = (0..len)
                .map(|_| alphabet[next() as usize % alphabet.len()])
                .collect();
            if round % 50 == 0 {
                data.extend(std::iter::repeat_n(b'x', 990 + round % 20));
            }
            let cut = if data.is_empty() {
                0
            } else {
                next() as usize % data.len()
            };
            let (a, b) = data.split_at(cut);
            let mut stuffer = Stuffer::default();
            let mut out = Vec::new();
            let got = stuffer
                .push(a, &mut out)
                .and_then(|()| stuffer.push(b, &mut out))
                .map(|()| out);
            assert_eq!(got, reference(&[a, b]), "{data:?} cut at {cut}");
        }
    }

    #[test]
    fn illegal_bytes_are_refused() {
        assert_eq!(
            stuffed(b"a\r\nsmuggle\r.\r\n"),
            Err(Violation::BareCr { line: 2 })
        );
        assert_eq!(stuffed(b"a\n.\n"), Err(Violation::BareLf { line: 1 }));
        assert_eq!(stuffed(b"a\0"), Err(Violation::Nul { line: 1 }));
        assert_eq!(stuffed(b"a\r"), Err(Violation::BareCr { line: 1 }));
        let ok = [b'x'; 998];
        assert!(check(&ok).is_ok());
        let long = [b'x'; 999];
        assert_eq!(check(&long), Err(Violation::LongLine { line: 1 }));
        let mut split = Stuffer::default();
        let mut out = Vec::new();
        split.push(&[b'x'; 500], &mut out).unwrap();
        assert!(split.push(&[b'x'; 499], &mut out).is_err());
    }
}
