//! IMAP's modified UTF-7 (RFC 3501 §5.1.3): how a mailbox name that is not ASCII, such as
//! 已发送 or Envoyés, travels in LIST and APPEND when UTF8=ACCEPT is not enabled.
//!
//! A name the user writes in `sent_folder` is UTF-8; the server lists names in this form.
//! rmail compares decoded names and sends back the name exactly as the server listed it.

/// The modified-UTF-7 alphabet: base64 with `,` instead of `/`, no padding.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Decodes a mailbox name as a server lists it; `None` if it is not valid modified UTF-7
/// (such a name is then compared as it is).
pub(crate) fn decode(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find('-')?;
        let chunk = &after[..end];
        if chunk.is_empty() {
            out.push('&');
        } else {
            out.push_str(&decode_chunk(chunk)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The UTF-16BE text in one `&…-` run.
fn decode_chunk(chunk: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(chunk.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in chunk.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Encodes a UTF-8 mailbox name for the wire.
#[cfg(test)]
pub(crate) fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
fn flush(pending: &mut Vec<u16>, out: &mut String) {
    if pending.is_empty() {
        return;
    }
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out.push('-');
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_servers_list() {
        // RFC 3501's own example, and names from Chinese and French mailboxes.
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some("~peter/mail/台北/日本語")
        );
        assert_eq!(decode("&XfJT0ZAB-").as_deref(), Some("已发送"));
        assert_eq!(decode("Envoy&AOk-s").as_deref(), Some("Envoyés"));
        assert_eq!(decode("Tom &- Jerry").as_deref(), Some("Tom & Jerry"));
        assert_eq!(decode("Sent Items").as_deref(), Some("Sent Items"));
    }

    #[test]
    fn refuses_what_is_not_modified_utf7() {
        assert_eq!(decode("&unterminated"), None);
        assert_eq!(decode("&!!!-"), None);
    }

    #[test]
    fn encodes_and_round_trips() {
        assert_eq!(encode("已发送"), "&XfJT0ZAB-");
        assert_eq!(encode("Envoyés"), "Envoy&AOk-s");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        for name in [
            "台北/日本語",
            "Gesendete Objekte",
            "Отправленные",
            "😀 sent",
        ] {
            assert_eq!(decode(&encode(name)).as_deref(), Some(name));
        }
    }
}
