//! Quoted-printable (RFC 2045 §6.7) for sendmail-mode bodies that could not go on the wire
//! as they came: a NUL, or a line over 998 octets. Text stays readable in the raw message,
//! and a reader decodes exactly the original bytes (line breaks are kept as hard breaks).
//!
//! mail-builder encodes the parts rmail composes, but its encoders are private; a sendmail
//! body is passed on rather than composed, so it is encoded here (thirty lines, not a crate).

/// The longest encoded line, soft line break included (RFC 2045 §6.7 rule 5).
const MAX_ENCODED: usize = 76;

/// `lines` (a body's lines, without their line ends) as quoted-printable, CRLF after each.
pub(crate) fn encode_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        let mut width = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            // Space and tab survive unless they end the line (transports strip trailing
            // whitespace); everything else outside printable ASCII, and '=', is escaped.
            let literal = match b {
                b'=' => false,
                b' ' | b'\t' => !last,
                33..=126 => true,
                _ => false,
            };
            let len = if literal { 1 } else { 3 };
            // Room for a soft break ("=") unless this is the line's last character.
            let limit = if last { MAX_ENCODED } else { MAX_ENCODED - 1 };
            if width + len > limit {
                out.extend_from_slice(b"=\r\n");
                width = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.extend_from_slice(format!("={b:02X}").as_bytes());
            }
            width += len;
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder written from the RFC, to check the round trip.
    fn decode(encoded: &[u8]) -> Vec<Vec<u8>> {
        let text = std::str::from_utf8(encoded).unwrap();
        let mut lines = vec![Vec::new()];
        for line in text.split("\r\n") {
            let (line, soft) = match line.strip_suffix('=') {
                Some(l) => (l, true),
                None => (line, false),
            };
            let bytes = line.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    lines
                        .last_mut()
                        .unwrap()
                        .push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                } else {
                    lines.last_mut().unwrap().push(bytes[i]);
                    i += 1;
                }
            }
            if !soft {
                lines.push(Vec::new());
            }
        }
        lines.pop();
        lines.pop();
        lines
    }

    #[test]
    fn round_trip() {
        let long = vec![b'z'; 5000];
        let input: Vec<&[u8]> = vec![
            b"plain",
            b"nul\0byte = x ",
            &long,
            b"",
            "caf\u{e9}".as_bytes(),
            b"tab\t",
        ];
        let encoded = encode_lines(input.iter().copied());
        for line in encoded.split(|b| *b == b'\n') {
            assert!(line.len() <= MAX_ENCODED + 1, "{}", line.len());
            assert!(!line.contains(&0));
        }
        assert!(encoded.is_ascii());
        assert_eq!(decode(&encoded), input);
    }
}
