//! Non-ASCII addresses on the wire (RFC 6531 SMTPUTF8, RFC 6532 headers, IDNA).
//!
//! - An address whose only non-ASCII part is its domain (`zoe@bücher.example`) goes as
//!   punycode (`zoe@xn--bcher-kva.example`): every server takes it, SMTPUTF8 or not.
//! - A non-ASCII local part (`zoë@example.com`), in the envelope or in an address header
//!   (From, To, Cc, Reply-To, Sender, …), needs SMTPUTF8; without it the message is refused
//!   before MAIL FROM rather than sent as bytes the server never agreed to take.

use crate::error::{Error, Result};
use crate::message::address::{ADDRESS_HEADERS, ascii_domain};

/// An envelope address as it goes on the wire, and whether it needs SMTPUTF8.
pub(crate) fn envelope_address(address: &str) -> Result<(String, bool)> {
    if address.is_ascii() {
        return Ok((address.to_owned(), false));
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Ok((address.to_owned(), true));
    };
    let domain = ascii_domain(domain)
        .map_err(|why| Error::data(format!("invalid domain in the address '{address}': {why}")))?;
    let needs_utf8 = !local.is_ascii();
    Ok((format!("{local}@{domain}"), needs_utf8))
}

/// The first non-ASCII address in an address header of `message` (only the header section
/// is read). Such a header is an RFC 6532 header: it may only travel with SMTPUTF8.
pub(crate) fn non_ascii_header_address(message: &[u8]) -> Option<String> {
    let end = find(message, b"\r\n\r\n").unwrap_or(message.len());
    let headers = &message[..end];
    if headers.is_ascii() {
        return None;
    }
    let text = String::from_utf8_lossy(headers);
    let mut unfolded: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = unfolded.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            unfolded.push(line.to_owned());
        }
    }
    unfolded.iter().find_map(|header| {
        let (name, value) = header.split_once(':')?;
        if !ADDRESS_HEADERS.contains(&name.trim().to_ascii_lowercase().as_str()) {
            return None;
        }
        if value.is_ascii() {
            return None;
        }
        addr_specs(value).into_iter().find(|a| !a.is_ascii())
    })
}

/// The addr-specs in an address-list header value: what is inside `<…>`, or bare tokens
/// with an `@`; quoted display names and comments are skipped.
fn addr_specs(value: &str) -> Vec<String> {
    let mut plain = String::with_capacity(value.len());
    let mut quoted = false;
    let mut comment = 0usize;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted || comment > 0 => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => comment -= 1,
            _ if quoted || comment > 0 => {}
            c => plain.push(c),
        }
    }
    let mut specs = Vec::new();
    let mut rest = plain.as_str();
    while let Some(open) = rest.find('<') {
        let before = &rest[..open];
        specs.extend(bare_specs(before));
        let after = &rest[open + 1..];
        let close = after.find('>').unwrap_or(after.len());
        specs.push(after[..close].trim().to_owned());
        rest = after.get(close + 1..).unwrap_or("");
    }
    specs.extend(bare_specs(rest));
    specs
}

fn bare_specs(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split([',', ' ', '\t', ';'])
        .filter(|t| t.contains('@'))
        .map(str::to_owned)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_only_idn_goes_as_punycode() {
        assert_eq!(
            envelope_address("zoe@bücher.example").unwrap(),
            ("zoe@xn--bcher-kva.example".into(), false)
        );
        assert_eq!(
            envelope_address("a@example.com").unwrap(),
            ("a@example.com".into(), false)
        );
        assert_eq!(
            envelope_address("zoë@bücher.example").unwrap(),
            ("zoë@xn--bcher-kva.example".into(), true)
        );
    }

    #[test]
    fn header_addresses() {
        let msg = "From: Zoë <zoe@example.com>\r\nTo: \"Zoë, x\" <a@b.c>\r\n\r\nzoë@x".as_bytes();
        assert_eq!(non_ascii_header_address(msg), None);
        let msg = "From: a@b.c\r\nReply-To: <zoë@example.com>\r\n\r\n".as_bytes();
        assert_eq!(
            non_ascii_header_address(msg).as_deref(),
            Some("zoë@example.com")
        );
        let msg = "Subject: ë\r\nCc: x@y.z,\r\n zoë@example.com (Zoë)\r\n\r\n".as_bytes();
        assert_eq!(
            non_ascii_header_address(msg).as_deref(),
            Some("zoë@example.com")
        );
        let msg = "To: <zoe@bücher.example>\r\n\r\n".as_bytes();
        assert_eq!(
            non_ascii_header_address(msg).as_deref(),
            Some("zoe@bücher.example")
        );
    }
}
