//! [`MessageSpec`] → RFC 5322 bytes, with mail-builder. Pure: no network, no files.
//!
//! Structure: text alone is `text/plain`; text and HTML are `multipart/alternative`; HTML with
//! inline images is `multipart/related` inside the alternative; attachments put
//! `multipart/mixed` around it all.

use std::borrow::Cow;

use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};

use crate::message::address::Mailbox;
use crate::message::identity::new_message_id;
use crate::message::part_data::PartData;
use crate::message::spec::{MessageSpec, Part};
use crate::mime::data::{MessageData, Piece, base64_lines};
use crate::mime::file_name;
use crate::mime::html_text::html_to_text;

/// Renders the message into memory, large files read whole and encoded by mail-builder:
/// the reference the streamed rendering ([`MessageData::render`]) is tested against.
#[cfg(test)]
pub(crate) fn render(spec: &MessageSpec) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_with(spec, &mut bytes, false);
    bytes
}

/// Renders, with large files left as [`PLACEHOLDER`]s when `placeholders` is set (else read
/// whole: tests only). The output always ends with CRLF. With the Message-ID and Date
/// pinned (see [`pin_identity`]) the bytes are a pure function of the spec: rendering twice
/// gives the same bytes, so what is sent, what `--eml` writes and what the outbox keeps agree.
fn write_with(
    spec: &MessageSpec,
    out: impl std::io::Write,
    placeholders: bool,
) -> std::io::Result<()> {
    let message_id = spec
        .headers
        .iter()
        .find(|h| h.name == "Message-ID")
        .map(|h| {
            h.value
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .unwrap_or_else(|| new_message_id(spec.from.as_ref().map_or("localhost", Mailbox::domain)));
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
    builder = builder.message_id(MessageId::new(message_id.as_str()));
    for header in spec.headers.iter().filter(|h| h.name != "Message-ID") {
        builder = builder.header(header.name.as_str(), Text::new(header.value.as_str()));
    }
    builder = builder.body(body(spec, &boundary_seed(&message_id), placeholders));

    let mut out = EndsWithCrlf {
        inner: out,
        last: [0; 2],
    };
    builder.write_to(&mut out)?;
    if out.last != *b"\r\n" {
        std::io::Write::write_all(&mut out, b"\r\n")?;
    }
    Ok(())
}

/// Boundaries derived from the Message-ID: unique per message, the same on every
/// rendering. "=_" cannot occur in base64 or quoted-printable text.
fn boundary_seed(message_id: &str) -> String {
    format!("=_{}", crate::digest::sha256_hex(message_id.as_bytes(), 12))
}

/// Passes bytes through, remembering the last two.
struct EndsWithCrlf<W> {
    inner: W,
    last: [u8; 2],
}

impl<W: std::io::Write> std::io::Write for EndsWithCrlf<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        match n {
            0 => {}
            1 => self.last = [self.last[1], buf[0]],
            _ => self.last = [buf[n - 2], buf[n - 1]],
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn address(mailbox: &Mailbox) -> Address<'_> {
    Address::new_address(mailbox.name.as_deref(), mailbox.email.as_str())
}

fn address_list(list: &[Mailbox]) -> Address<'_> {
    Address::new_list(list.iter().map(address).collect())
}

/// A multipart container with a known boundary.
fn multipart<'x>(kind: &'static str, boundary: String, parts: Vec<MimePart<'x>>) -> MimePart<'x> {
    MimePart::new(
        ContentType::new(kind).attribute("boundary", boundary),
        parts,
    )
}

/// The MIME tree of the body.
fn body<'x>(spec: &'x MessageSpec, boundary: &str, placeholders: bool) -> MimePart<'x> {
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
                related.extend(spec.inline.iter().map(|image| {
                    let mut part = binary_part(&image.part, placeholders);
                    // A file name, so a reader that lists the image (or saves it) shows
                    // what it is rather than "unnamed".
                    part.headers.push((
                        Cow::Borrowed("Content-Disposition"),
                        ContentType::new("inline")
                            .attribute("filename", image.part.file_name.as_str())
                            .into(),
                    ));
                    cte_last(part.cid(image.cid.as_str()))
                }));
                // RFC 2387: `type` names the root part's type; readers that check it
                // (and spam filters) want it.
                MimePart::new(
                    ContentType::new("multipart/related")
                        .attribute("boundary", format!("{boundary}_r"))
                        .attribute("type", "text/html"),
                    related,
                )
            };
            multipart(
                "multipart/alternative",
                format!("{boundary}_a"),
                vec![text_part, html_part],
            )
        }
    };

    if spec.attachments.is_empty() {
        return content;
    }
    let mut mixed = vec![content];
    mixed.extend(
        spec.attachments.iter().map(|part| {
            cte_last(binary_part(part, placeholders).attachment(part.file_name.as_str()))
        }),
    );
    multipart("multipart/mixed", format!("{boundary}_m"), mixed)
}

/// A file's bytes as a base64 part. The Content-Type goes in as a raw header: mail-builder
/// picks quoted-printable or 7bit for `text/*` parts, which would let a `.csv` have its line
/// endings rewritten in transit; attachments must arrive byte-identical.
fn binary_part(part: &Part, placeholders: bool) -> MimePart<'_> {
    // The file name travels in Content-Disposition (RFC 2231-encoded by mail-builder) and
    // in Content-Type's `name=`.
    if placeholders && matches!(part.data, PartData::File(_)) {
        return encoded_part(part, PLACEHOLDER);
    }
    if let Some(encoded) = &part.encoded {
        return encoded_part(part, encoded);
    }
    // Only the reference rendering of the tests reads a large file whole here.
    let bytes = part.data.read_all().unwrap_or_default();
    MimePart {
        headers: vec![content_type(part)],
        contents: BodyPart::Binary(bytes),
    }
}

/// A file part's Content-Type, with the file name also as `name=` for readers that do not
/// read Content-Disposition's RFC 2231 `filename*=` (see [`file_name`]).
fn content_type(part: &Part) -> (Cow<'static, str>, HeaderType<'static>) {
    (
        Cow::Borrowed("Content-Type"),
        Raw::new(file_name::with_name(&part.content_type, &part.file_name)).into(),
    )
}

/// A part whose body is already base64 (or a placeholder for it): an explicit
/// Content-Transfer-Encoding makes mail-builder write the body as it is.
fn encoded_part<'x>(part: &'x Part, body: &'x [u8]) -> MimePart<'x> {
    MimePart {
        headers: vec![
            content_type(part),
            (
                Cow::Borrowed("Content-Transfer-Encoding"),
                Raw::new("base64").into(),
            ),
        ],
        contents: BodyPart::Binary(Cow::Borrowed(body)),
    }
}

/// Moves an explicit Content-Transfer-Encoding after the headers added since, where
/// mail-builder writes the one it chooses itself, so pre-encoded and streamed parts come
/// out byte-identical to parts it encodes.
fn cte_last(mut part: MimePart<'_>) -> MimePart<'_> {
    if let Some(i) = part
        .headers
        .iter()
        .position(|(name, _)| name == "Content-Transfer-Encoding")
    {
        let header = part.headers.remove(i);
        part.headers.push(header);
    }
    part
}

/// Stands for a large file's base64 body in a rendered skeleton. NUL never occurs in
/// rendered MIME (everything is encoded), so it cannot be confused with content.
const PLACEHOLDER: &[u8] = b"\0rmail-part\0";

impl MessageData {
    /// Renders `spec`, leaving the bodies of large files to be read and encoded on the way
    /// out.
    pub(crate) fn render(spec: &MessageSpec) -> MessageData {
        let mut skeleton = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = write_with(spec, &mut skeleton, true);
        // In the order mail-builder writes them: inline images (inside the alternative),
        // then attachments.
        let files = spec
            .inline
            .iter()
            .map(|i| &i.part)
            .chain(&spec.attachments)
            .filter_map(|p| match &p.data {
                PartData::File(file) => Some(file.clone()),
                PartData::Bytes(_) => None,
            });
        let mut pieces = Vec::new();
        let mut rest = skeleton.as_slice();
        for file in files {
            let Some(at) = find(rest, PLACEHOLDER) else {
                break;
            };
            pieces.push(Piece::Bytes(rest[..at].to_vec()));
            pieces.push(Piece::File(file));
            rest = &rest[at + PLACEHOLDER.len()..];
        }
        pieces.push(Piece::Bytes(rest.to_vec()));
        MessageData { pieces }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Encodes a part's data as MIME base64 once, for a part that many messages share (the
/// logo or terms-and-conditions PDF of a merge). The messages are byte-for-byte what they
/// would be otherwise; only the work is not repeated.
/// A large file is not: it streams per message, in constant memory.
pub(crate) fn pre_encode(part: &mut Part) {
    if let (None, PartData::Bytes(data)) = (&part.encoded, &part.data) {
        let mut encoded = base64_lines(data);
        // mail-builder ends its own base64 bodies with CRLF.
        encoded.extend_from_slice(b"\r\n");
        part.encoded = Some(encoded.into());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn streamed_rendering_is_byte_identical() {
        use crate::message::address::Mailbox;
        use crate::message::spec::{MessageSpec, Part};
        let big: Vec<u8> = (0..(3 << 20) + 7)
            .map(|i: usize| (i * 7 % 251) as u8)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        std::fs::write(&path, &big).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut spec = MessageSpec {
            from: Some(Mailbox::parse("a@example.com").unwrap()),
            to: vec![Mailbox::parse("b@example.com").unwrap()],
            subject: "big".into(),
            text: Some("see attachment".into()),
            attachments: vec![
                Part::from_open_file(file, &path, "attachment").unwrap(),
                Part {
                    file_name: "small.txt".into(),
                    content_type: "text/plain".into(),
                    data: b"tiny\r\n".to_vec().into(),
                    encoded: None,
                },
            ],
            ..Default::default()
        };
        crate::message::identity::pin_identity(&mut spec);
        let whole = render(&spec);
        let streamed = MessageData::render(&spec);
        assert!(streamed.as_bytes().is_none(), "the big file is streamed");
        assert_eq!(streamed.len(), whole.len() as u64);
        let got = streamed.to_vec().unwrap();
        if let Some(at) = got.iter().zip(&whole).position(|(a, b)| a != b) {
            panic!(
                "differ at {at}: {:?} vs {:?}",
                String::from_utf8_lossy(&got[at.saturating_sub(90)..at + 20]),
                String::from_utf8_lossy(&whole[at.saturating_sub(90)..at + 20])
            );
        }
        assert!(got == whole, "streamed bytes differ from rendered bytes");
        assert_eq!(
            render(&spec),
            whole,
            "rendering is deterministic once pinned"
        );
    }

    use super::*;
    use crate::message::address::Mailbox;
    use crate::message::spec::InlineImage;

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
