//! What a message is, before it becomes bytes: who sends it, who gets it, its text, HTML,
//! inline images and attachments. Everything a user typed is validated here, so that the
//! MIME and SMTP steps never see an address they cannot use or a header that could smuggle a
//! line break.

use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::message::address::Mailbox;
use crate::message::part_data::{OpenFile, PartData, STREAM_MIN};

/// Refuses CR and LF in anything that becomes a header: a line break there would let a
/// subject or address inject headers of its own.
pub(crate) fn refuse_line_breaks(what: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n']) {
        return Err(Error::data(format!(
            "{what} contains a line break, which could inject headers; remove it: {:?}",
            value
        )));
    }
    Ok(())
}

/// Headers rmail writes itself; `-H` may not set them (use the matching flag instead).
const RESERVED_HEADERS: &[(&str, &str)] = &[
    ("from", "--from"),
    ("to", "--to"),
    ("cc", "--cc"),
    ("bcc", "--bcc"),
    ("subject", "--subject"),
    ("reply-to", "--reply-to"),
    ("mime-version", "nothing (rmail sets it)"),
    ("content-type", "--text/--html-file/--attach"),
    ("content-transfer-encoding", "nothing (rmail chooses it)"),
];

/// An extra header from `-H "Name: value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) value: String,
}

impl Header {
    /// Parses and checks `Name: value`.
    pub(crate) fn parse(text: &str) -> Result<Header> {
        refuse_line_breaks("header", text)?;
        let (name, value) = text.split_once(':').ok_or_else(|| {
            Error::usage(format!(
                "header '{text}' has no ':'; write it as -H \"Name: value\""
            ))
        })?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(Error::usage(format!(
                "header name '{name}' is not valid; use letters, digits and '-', e.g. X-Job"
            )));
        }
        let lower = name.to_ascii_lowercase();
        if let Some((_, flag)) = RESERVED_HEADERS.iter().find(|(h, _)| *h == lower) {
            return Err(Error::usage(format!(
                "header '{name}' cannot be set with -H; use {flag}"
            )));
        }
        // mail-builder recognises its own Date / Message-ID only under these spellings.
        let name = match lower.as_str() {
            "date" => "Date".to_string(),
            "message-id" => "Message-ID".to_string(),
            _ => name.to_string(),
        };
        Ok(Header {
            name,
            value: value.trim().to_string(),
        })
    }
}

/// `List-Unsubscribe` (RFC 2369) for these targets, and `List-Unsubscribe-Post:
/// List-Unsubscribe=One-Click` (RFC 8058) when one of them is an HTTPS URL, as large
/// mailbox providers require of bulk senders. Each target is an `https://` URL or a
/// `mailto:` address.
pub(crate) fn list_unsubscribe(targets: &[String]) -> Result<Vec<Header>> {
    let mut uris = Vec::new();
    let mut one_click = false;
    for target in targets.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        refuse_line_breaks("unsubscribe", target)?;
        let lower = target.to_ascii_lowercase();
        let valid = (lower.starts_with("https://") || lower.starts_with("mailto:"))
            && target.len() > "mailto:".len()
            && !target.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ','));
        if !valid {
            return Err(Error::data(format!(
                "unsubscribe target '{target}' must be an https:// URL or a mailto: address \
                 without spaces, '<', '>' or ','"
            )));
        }
        one_click |= lower.starts_with("https://");
        uris.push(format!("<{target}>"));
    }
    if uris.is_empty() {
        return Ok(Vec::new());
    }
    let mut headers = vec![Header {
        name: "List-Unsubscribe".into(),
        value: uris.join(", "),
    }];
    if one_click {
        headers.push(Header {
            name: "List-Unsubscribe-Post".into(),
            value: "List-Unsubscribe=One-Click".into(),
        });
    }
    Ok(headers)
}

/// A file carried by the message: an attachment or an inline image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// The name the recipient sees (the file's own name).
    pub(crate) file_name: String,
    /// MIME type, from the file extension.
    pub(crate) content_type: String,
    /// Its bytes: in memory, or for a large file the open file, streamed when sent.
    pub(crate) data: PartData,
    /// `data` already base64-encoded for MIME (see `mime::pre_encode`), so that an
    /// attachment shared by every row of a merge is also encoded once. `None`: encoded
    /// when the message is rendered.
    pub(crate) encoded: Option<Arc<[u8]>>,
}

impl Part {
    /// Reads a file the user named (`--attach`), naming it after its last path component.
    /// It must be a regular file: a FIFO or a device is refused without blocking on it.
    pub(crate) fn read(path: &Path, what: &str) -> Result<Part> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(path)
            .map_err(|e| Error::read_file(what, path, &e))?;
        Part::from_open_file(file, path, what)
    }

    /// Takes an opened file (checked here to be a regular file); `path` gives its name and
    /// content type. A small file is read now; a large one is kept open and read while the
    /// message is written, from this same descriptor.
    pub(crate) fn from_open_file(file: std::fs::File, path: &Path, what: &str) -> Result<Part> {
        let meta = file
            .metadata()
            .map_err(|e| Error::read_file(what, path, &e))?;
        if !meta.is_file() {
            return Err(Error::new(
                crate::error::ErrorKind::NoInput,
                format!(
                    "{what} {} is not a regular file (a FIFO, device or folder cannot be attached)",
                    path.display()
                ),
            ));
        }
        let data = if meta.len() >= STREAM_MIN {
            let open =
                OpenFile::new(file, path, what).map_err(|e| Error::read_file(what, path, &e))?;
            PartData::File(Arc::new(open))
        } else {
            PartData::Bytes(read_shared(file).map_err(|e| Error::read_file(what, path, &e))?)
        };
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".to_string());
        Ok(Part {
            content_type: content_type_for(path),
            file_name,
            data,
            encoded: None,
        })
    }
}

/// Reads a (small) file straight into shared memory. `Arc::from(Vec)` would copy it.
fn read_shared(mut file: std::fs::File) -> std::io::Result<Arc<[u8]>> {
    use std::io::{Read, Seek};
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let mut data: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
    let complete = match Arc::get_mut(&mut data) {
        Some(buf) => file.read_exact(buf).is_ok() && file.read(&mut [0u8])? == 0,
        None => false,
    };
    if complete {
        return Ok(data);
    }
    // The file changed size while being read: take it as it is now, from the same open
    // file (never by name again).
    drop(data);
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes.into())
}

/// Reads a UTF-8 text file the user named (`what` says which, for the error).
pub(crate) fn read_utf8(path: &Path, what: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::read_file(what, path, &e))?;
    String::from_utf8(bytes).map_err(|_| {
        Error::data(format!(
            "{what} {} is not UTF-8; convert it first (e.g. iconv -t UTF-8)",
            path.display()
        ))
    })
}

/// The MIME type for a file name, `application/octet-stream` when unknown.
pub(crate) fn content_type_for(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

/// An inline image and the Content-ID the HTML refers to it by (`cid:logo.png`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InlineImage {
    pub(crate) cid: String,
    pub(crate) part: Part,
}

impl InlineImage {
    /// An image with an explicit Content-ID (a bare id, `logo`, not `cid:logo`).
    pub(crate) fn new(cid: String, part: Part) -> Result<InlineImage> {
        let cid = cid.strip_prefix("cid:").unwrap_or(&cid).to_string();
        if cid.is_empty()
            || !cid
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"<>\"".contains(&b))
        {
            return Err(Error::usage(format!(
                "Content-ID '{cid}' must be printable ASCII without spaces or <>\"; name it with PATH=CID"
            )));
        }
        Ok(InlineImage { cid, part })
    }
}

/// Sender and recipients as SMTP sees them (MAIL FROM / RCPT TO), apart from the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) from: String,
    pub(crate) recipients: Vec<String>,
}

/// A message ready to be turned into MIME bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MessageSpec {
    pub(crate) from: Option<Mailbox>,
    pub(crate) to: Vec<Mailbox>,
    pub(crate) cc: Vec<Mailbox>,
    /// In the envelope only; never written as a header.
    pub(crate) bcc: Vec<Mailbox>,
    pub(crate) reply_to: Vec<Mailbox>,
    pub(crate) subject: String,
    pub(crate) text: Option<String>,
    pub(crate) html: Option<String>,
    pub(crate) inline: Vec<InlineImage>,
    pub(crate) attachments: Vec<Part>,
    pub(crate) headers: Vec<Header>,
}

impl MessageSpec {
    /// Checks what parsing alone cannot: someone to send to, a sender, no line breaks in
    /// the subject, inline images only with an HTML body.
    pub(crate) fn validate(&self) -> Result<()> {
        refuse_line_breaks("subject", &self.subject)?;
        if self.from.is_none() {
            return Err(Error::usage(
                "no sender: pass --from ADDR or set from = \"…\" in the profile",
            ));
        }
        if self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty() {
            return Err(Error::usage(
                "no recipient: pass --to ADDR (or --cc / --bcc)",
            ));
        }
        if !self.inline.is_empty() && self.html.is_none() {
            return Err(Error::usage(
                "--inline images need an HTML body that refers to them; add --html-file",
            ));
        }
        for (i, image) in self.inline.iter().enumerate() {
            if self.inline[..i].iter().any(|o| o.cid == image.cid) {
                return Err(Error::usage(format!(
                    "two inline images share the Content-ID '{}'; name one with PATH=CID",
                    image.cid
                )));
            }
        }
        Ok(())
    }

    /// MAIL FROM and RCPT TO: the sender, and To + Cc + Bcc without duplicates.
    pub(crate) fn envelope(&self) -> Envelope {
        let mut recipients: Vec<String> = Vec::new();
        for mailbox in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !recipients
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&mailbox.email))
            {
                recipients.push(mailbox.email.clone());
            }
        }
        Envelope {
            from: self
                .from
                .as_ref()
                .map(|m| m.email.clone())
                .unwrap_or_default(),
            recipients,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let h = Header::parse("X-Job:  backup ").unwrap();
        assert_eq!((h.name.as_str(), h.value.as_str()), ("X-Job", "backup"));
        assert!(Header::parse("X-Job backup").is_err());
        assert!(Header::parse("Bcc: x@y.com").is_err());
        assert_eq!(
            Header::parse("X: a\nB: c").unwrap_err().kind(),
            crate::ErrorKind::Data
        );
        assert_eq!(
            Header::parse("message-id: <a@b>").unwrap().name,
            "Message-ID"
        );
    }

    #[test]
    fn unsubscribe_headers() {
        let h = list_unsubscribe(&[
            "https://x.example/u/7".into(),
            "mailto:u@x.example?subject=7".into(),
        ])
        .unwrap();
        assert_eq!(
            h[0].value,
            "<https://x.example/u/7>, <mailto:u@x.example?subject=7>"
        );
        assert_eq!(
            (h[1].name.as_str(), h[1].value.as_str()),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        );
        // mailto only: no one-click POST header (RFC 8058 needs an HTTPS URI).
        assert_eq!(
            list_unsubscribe(&["mailto:u@x.example".into()])
                .unwrap()
                .len(),
            1
        );
        for bad in [
            "http://x.example/u",
            "javascript:alert(1)",
            "https://x/a b",
            "https://x/>,<y",
            "mailto:",
        ] {
            assert!(list_unsubscribe(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(list_unsubscribe(&["https://x/\r\nBcc: a@b".into()]).is_err());
    }

    #[test]
    fn envelope_dedups_and_includes_bcc() {
        let spec = MessageSpec {
            from: Some(Mailbox::parse("f@x.com").unwrap()),
            to: Mailbox::parse_list("a@x.com, b@x.com").unwrap(),
            bcc: Mailbox::parse_list("A@x.com, c@x.com").unwrap(),
            ..Default::default()
        };
        assert_eq!(
            spec.envelope().recipients,
            ["a@x.com", "b@x.com", "c@x.com"]
        );
    }
}
