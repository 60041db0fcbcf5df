//! The bytes that go into Sent: exactly what the SMTP server accepted, plus a `Bcc:` header
//! naming the blind-copy recipients (they were left out of what was sent, as they must be,
//! but the sender's own copy should say who got one), and the message's own date for the
//! mailbox's INTERNALDATE.

use chrono::{DateTime, FixedOffset};

use crate::message::address::Mailbox;

/// The longest line a header may have (RFC 5322 §2.1.1, without CRLF).
const MAX_LINE: usize = 998;

/// `sent` with a `Bcc:` header for `bcc` (bare addresses) inserted at the end of its header
/// block; `sent` itself when `bcc` is empty. The original bytes stay as they are around it.
/// Long lists are folded, one address per line once a line would pass 78 characters.
pub(crate) fn with_bcc(sent: &[u8], bcc: &[String]) -> Vec<u8> {
    if bcc.is_empty() {
        return sent.to_vec();
    }
    let mut header = String::from("Bcc:");
    let mut line_len = header.len();
    for (i, address) in bcc.iter().enumerate() {
        let piece = if i + 1 < bcc.len() {
            format!(" {address},")
        } else {
            format!(" {address}")
        };
        if i > 0 && line_len + piece.len() > 78 {
            header.push_str("\r\n");
            line_len = 0;
        }
        header.push_str(&piece);
        line_len += piece.len();
        debug_assert!(line_len <= MAX_LINE + 1);
    }
    header.push_str("\r\n");

    let at = end_of_headers(sent);
    let mut out = Vec::with_capacity(sent.len() + header.len());
    out.extend_from_slice(&sent[..at]);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&sent[at..]);
    out
}

/// Where the empty line that ends the header block starts (just after the last header's
/// CRLF); the end of the message when it has no body.
fn end_of_headers(message: &[u8]) -> usize {
    if message.starts_with(b"\r\n") {
        return 0;
    }
    message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 2)
        .unwrap_or(message.len())
}

/// The envelope recipients that the message's To and Cc headers do not name: the blind
/// copies, which the stored copy lists in its `Bcc:` header. A header rmail cannot read
/// names no one (its recipients then show up in Bcc, which hides nothing from the sender).
pub(crate) fn hidden_recipients(message: &[u8], recipients: &[String]) -> Vec<String> {
    let shown: Vec<String> = header_values(message)
        .into_iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("to") || name.eq_ignore_ascii_case("cc"))
        .flat_map(|(_, value)| Mailbox::parse_list(&value).unwrap_or_default())
        .map(|mailbox| mailbox.email)
        .collect();
    recipients
        .iter()
        .filter(|r| !shown.iter().any(|s| s.eq_ignore_ascii_case(r)))
        .cloned()
        .collect()
}

/// Every header as (name, unfolded value), in order.
fn header_values(message: &[u8]) -> Vec<(String, String)> {
    let headers = &message[..end_of_headers(message)];
    let text = String::from_utf8_lossy(headers);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_owned(), value.to_owned()));
        }
    }
    out
}

/// The message's `Date:` header as a date, for INTERNALDATE; `None` when it has none or
/// it cannot be read (the server then uses the time of the APPEND).
pub(crate) fn date(message: &[u8]) -> Option<DateTime<FixedOffset>> {
    let (_, value) = header_values(message)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("date"))?;
    // RFC 5322 allows comments such as "(UTC)" after the zone; chrono does not.
    let value = match value.find('(') {
        Some(i) => &value[..i],
        None => &value[..],
    };
    DateTime::parse_from_rfc2822(value.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"From: a@example.com\r\nTo: b@example.com\r\nDate: Tue, 1 Dec 2026 09:30:00 +0100\r\nSubject: Hi\r\n\r\nbody\r\n\r\nmore\r\n";

    #[test]
    fn bcc_goes_at_the_end_of_the_headers_and_nothing_else_changes() {
        let copy = with_bcc(MESSAGE, &["c@example.com".into(), "d@example.com".into()]);
        let expected = b"From: a@example.com\r\nTo: b@example.com\r\nDate: Tue, 1 Dec 2026 09:30:00 +0100\r\nSubject: Hi\r\nBcc: c@example.com, d@example.com\r\n\r\nbody\r\n\r\nmore\r\n";
        assert_eq!(
            String::from_utf8_lossy(&copy),
            String::from_utf8_lossy(expected)
        );
    }

    #[test]
    fn without_bcc_the_copy_is_the_sent_bytes() {
        assert_eq!(with_bcc(MESSAGE, &[]), MESSAGE);
    }

    #[test]
    fn a_long_bcc_list_is_folded_below_the_line_limit() {
        let many: Vec<String> = (0..200)
            .map(|i| format!("recipient{i}@example.com"))
            .collect();
        let copy = with_bcc(MESSAGE, &many);
        let text = String::from_utf8(copy).unwrap();
        assert!(text.lines().all(|l| l.len() <= 80), "{text}");
        let bcc_lines: Vec<&str> = text
            .split("\r\n")
            .skip_while(|l| !l.starts_with("Bcc:"))
            .take_while(|l| !l.is_empty())
            .collect();
        let unfolded = bcc_lines.join("");
        assert_eq!(unfolded.matches('@').count(), 200);
        assert!(bcc_lines[1..].iter().all(|l| l.starts_with(' ')));
    }

    #[test]
    fn a_message_without_a_body_gets_the_bcc_after_its_headers() {
        let copy = with_bcc(b"Subject: x\r\n", &["c@example.com".into()]);
        assert_eq!(copy, b"Subject: x\r\nBcc: c@example.com\r\n");
    }

    #[test]
    fn hidden_recipients_are_those_no_to_or_cc_header_names() {
        let message = b"From: a@example.com\r\nTo: \"Doe, Jane\" <Jane@example.com>,\r\n b@example.com\r\nCc: =?utf-8?q?C=C3=A9line?= <c@example.com>\r\nSubject: x\r\n\r\nTo: d@example.com\r\n";
        let all: Vec<String> = [
            "jane@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "e@example.com",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            hidden_recipients(message, &all),
            ["d@example.com", "e@example.com"]
        );
    }

    #[test]
    fn the_date_header_becomes_the_internal_date() {
        let date = date(MESSAGE).unwrap();
        assert_eq!(date.to_rfc3339(), "2026-12-01T09:30:00+01:00");
        let folded = b"date:\r\n Tue, 01 Dec 2026 08:00:00 +0000 (UTC)\r\n\r\n";
        assert_eq!(
            super::date(folded).unwrap().to_rfc3339(),
            "2026-12-01T08:00:00+00:00"
        );
    }

    #[test]
    fn no_date_or_a_bad_one_leaves_the_server_to_pick() {
        assert_eq!(
            date(b"Subject: x\r\n\r\nDate: Tue, 1 Dec 2026 09:30:00 +0100\r\n"),
            None
        );
        assert_eq!(date(b"Date: yesterday\r\n\r\n"), None);
    }
}
