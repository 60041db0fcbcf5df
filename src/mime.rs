//! [`MessageSpec`] → RFC 5322 bytes, with mail-builder. Pure: no network, no files.
//!
//! Structure: text alone is `text/plain`; text and HTML are `multipart/alternative`; HTML with
//! inline images is `multipart/related` inside the alternative; attachments put
//! `multipart/mixed` around it all.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};

use crate::html_text::html_to_text;
use crate::message::{Mailbox, MessageSpec, Part};

/// Renders the message. The output always ends with CRLF.
pub fn render(spec: &MessageSpec) -> Vec<u8> {
    let mut builder = MessageBuilder::new();
    if let Some(from) = &spec.from {
        builder = builder.from(address(from));
    }
    if !spec.to.is_empty() {
        builder = builder.to(address_list(&spec.to));
    }
    if !spec.cc.is_empty() {
        builder = builder.cc(address_list(&spec.cc));
    }
    if !spec.reply_to.is_empty() {
        builder = builder.reply_to(address_list(&spec.reply_to));
    }
    builder = builder.subject(spec.subject.as_str());
    let has_message_id = spec.headers.iter().any(|h| h.name == "Message-ID");
    if !has_message_id {
        let domain = spec
            .from
            .as_ref()
            .and_then(|m| m.email.rsplit_once('@'))
            .map(|(_, d)| d)
            .unwrap_or("localhost");
        builder = builder.message_id(MessageId::new(new_message_id(domain)));
    }
    for header in &spec.headers {
        let value: mail_builder::headers::HeaderType<'_> = match header.name.as_str() {
            "Message-ID" => MessageId::new(
                header
                    .value
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            )
            .into(),
            _ => Text::new(header.value.as_str()).into(),
        };
        builder = builder.header(header.name.as_str(), value);
    }
    builder = builder.body(body(spec));

    let mut bytes = builder.write_to_vec().unwrap_or_default();
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

fn address(mailbox: &Mailbox) -> Address<'_> {
    Address::new_address(mailbox.name.as_deref(), mailbox.email.as_str())
}

fn address_list(list: &[Mailbox]) -> Address<'_> {
    Address::new_list(list.iter().map(address).collect())
}

/// The MIME tree of the body.
fn body(spec: &MessageSpec) -> MimePart<'_> {
    let text: Cow<'_, str> = match (&spec.text, &spec.html) {
        (Some(text), _) => Cow::Borrowed(text.as_str()),
        (None, Some(html)) => Cow::Owned(html_to_text(html)),
        (None, None) => Cow::Borrowed(""),
    };
    let text_part = MimePart::new("text/plain", BodyPart::Text(text));

    let content = match &spec.html {
        None => text_part,
        Some(html) => {
            let html_part = MimePart::new("text/html", html.as_str());
            let html_part = if spec.inline.is_empty() {
                html_part
            } else {
                let mut related = vec![html_part];
                related.extend(
                    spec.inline
                        .iter()
                        .map(|image| binary_part(&image.part).inline().cid(image.cid.as_str())),
                );
                MimePart::new("multipart/related", related)
            };
            MimePart::new("multipart/alternative", vec![text_part, html_part])
        }
    };

    if spec.attachments.is_empty() {
        return content;
    }
    let mut mixed = vec![content];
    mixed.extend(
        spec.attachments
            .iter()
            .map(|part| binary_part(part).attachment(part.file_name.as_str())),
    );
    MimePart::new("multipart/mixed", mixed)
}

/// A file's bytes as a base64 part. The Content-Type goes in as a raw header: mail-builder
/// picks quoted-printable or 7bit for `text/*` parts, which would let a `.csv` have its line
/// endings rewritten in transit; attachments must arrive byte-identical.
fn binary_part(part: &Part) -> MimePart<'_> {
    // The file name travels in Content-Disposition (RFC 2231-encoded by mail-builder).
    if let Some(encoded) = &part.encoded {
        // An explicit Content-Transfer-Encoding makes mail-builder write the body as is.
        return MimePart {
            headers: vec![
                (
                    Cow::Borrowed("Content-Type"),
                    Raw::new(part.content_type.as_str()).into(),
                ),
                (
                    Cow::Borrowed("Content-Transfer-Encoding"),
                    Raw::new("base64").into(),
                ),
            ],
            contents: BodyPart::Binary(Cow::Borrowed(encoded)),
        };
    }
    MimePart {
        headers: vec![(
            Cow::Borrowed("Content-Type"),
            Raw::new(part.content_type.as_str()).into(),
        )],
        contents: BodyPart::Binary(Cow::Borrowed(&part.data)),
    }
}

/// Encodes a part's data as MIME base64 once, for a part that many messages share (the
/// logo or terms-and-conditions PDF of a merge). The messages are byte-for-byte what they
/// would be otherwise; only the work is not repeated.
pub fn pre_encode(part: &mut Part) {
    if part.encoded.is_none() {
        part.encoded = Some(base64_lines(&part.data).into());
    }
}

/// Base64 in lines of 76 characters separated by CRLF (RFC 2045), no trailing CRLF: the
/// boundary that follows the part starts with its own.
fn base64_lines(data: &[u8]) -> Vec<u8> {
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

/// A globally unique Message-ID (without the angle brackets) in the sender's domain.
pub fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut random = [0u8; 8];
    // Without randomness the time, pid and counter are still unique on this host.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
    format!(
        "{:x}.{:x}.{}.{:x}@{}",
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u64::from_le_bytes(random),
        domain
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{InlineImage, Mailbox};

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64_lines(b""), b"");
        assert_eq!(base64_lines(b"f"), b"Zg==");
        assert_eq!(base64_lines(b"fo"), b"Zm8=");
        assert_eq!(base64_lines(b"foo"), b"Zm9v");
        let long = base64_lines(&[0u8; 100]);
        let lines: Vec<&[u8]> = long.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 77, "76 characters and the CR");
    }

    #[test]
    fn pre_encoded_parts_decode_to_the_same_bytes() {
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let plain = Part {
            file_name: "a.bin".into(),
            content_type: "application/octet-stream".into(),
            data: data.clone().into(),
            encoded: None,
        };
        let mut shared = Part {
            file_name: "b.pdf".into(),
            content_type: "application/pdf".into(),
            ..plain.clone()
        };
        pre_encode(&mut shared);
        let mut logo = plain.clone();
        pre_encode(&mut logo);
        let spec = MessageSpec {
            from: Some(Mailbox::parse("f@x.com").unwrap()),
            to: vec![Mailbox::parse("t@x.com").unwrap()],
            subject: "s".into(),
            html: Some("<img src=\"cid:logo\">".into()),
            inline: vec![InlineImage::new("logo".into(), logo).unwrap()],
            attachments: vec![plain, shared],
            ..Default::default()
        };
        let bytes = render(&spec);
        let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        let attachments: Vec<_> = message.attachments().collect();
        assert_eq!(attachments.len(), 3);
        for part in attachments {
            assert_eq!(part.contents(), data.as_slice());
        }
    }
}
