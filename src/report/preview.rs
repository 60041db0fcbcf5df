//! The merge dry run's `index.html`: one card per row with the subject, the envelope, the
//! HTML part as the recipient will see it (inline `cid:` images shown), the text part and
//! the attachments with their sizes — so a user checks 2,000 invoices by scrolling, not by
//! opening `.eml` files.
//!
//! Everything from a template or a data row is data here too: the card's fields are
//! HTML-escaped, and the HTML part is shown in an `<iframe sandbox srcdoc=…>` (no
//! `allow-scripts`, no `allow-same-origin`) under a page-wide Content-Security-Policy that
//! forbids scripts, so a row cannot run script in the preview or reach the page around it.
//! Inline images are `data:` URLs: a sandboxed frame has an opaque origin, and browsers do
//! not let it load `file:` images beside the page. Cards are written as they come, so a
//! large merge does not hold its previews in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::error::{Error, ErrorKind, Result};
use crate::message::address::Mailbox;
use crate::message::spec::{Envelope, MessageSpec, Part};
use crate::mime::data::base64_lines;
use crate::mime::html_text::html_to_text;

/// `index.html` being written.
pub(crate) struct Preview {
    path: PathBuf,
    out: BufWriter<File>,
    /// Each distinct image's `data:` URL by digest: a logo every row shows is encoded once.
    images: HashMap<String, String>,
    cards: usize,
}

impl Preview {
    /// Starts `DIR/index.html`, creating `DIR` (the `.eml` files go there too).
    pub(crate) fn create(dir: &Path, title: &str) -> Result<Preview> {
        std::fs::create_dir_all(dir).map_err(|e| cant_write(dir, &e))?;
        let path = dir.join("index.html");
        let file = File::create(&path).map_err(|e| cant_write(&path, &e))?;
        let mut preview = Preview {
            path,
            out: BufWriter::new(file),
            images: HashMap::new(),
            cards: 0,
        };
        let head = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'; \
             object-src 'none'; form-action 'none'; base-uri 'none'\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
             <h1>{title}</h1>\n<p class=\"note\">Dry run: nothing was sent. One card per \
             message, as it would go out; the .eml files beside this page hold the exact \
             bytes.</p>\n",
            title = escape(title)
        );
        preview.put(&head)?;
        Ok(preview)
    }

    /// Adds the card of one message: `label` names the row, `eml` is the file beside this
    /// page that holds the message.
    pub(crate) fn add(
        &mut self,
        label: &str,
        eml: &str,
        spec: &MessageSpec,
        envelope: &Envelope,
    ) -> Result<()> {
        self.cards += 1;
        let mut card = format!(
            "<article class=\"card\" id=\"card-{n}\">\n<header><span class=\"row\">{label}</span> \
             <a href=\"{eml}\">{eml}</a></header>\n<h2 class=\"subject\">{subject}</h2>\n<dl>\n",
            n = self.cards,
            label = escape(label),
            eml = escape(eml),
            subject = escape(&spec.subject),
        );
        let mut field = |name: &str, class: &str, value: String| {
            if !value.is_empty() {
                card += &format!(
                    "<dt>{name}</dt><dd class=\"{class}\">{}</dd>\n",
                    escape(&value)
                );
            }
        };
        field("From", "from", mailboxes(spec.from.as_slice()));
        field("To", "to", mailboxes(&spec.to));
        field("Cc", "cc", mailboxes(&spec.cc));
        field("Bcc", "bcc", mailboxes(&spec.bcc));
        field("Reply-To", "reply-to", mailboxes(&spec.reply_to));
        field("MAIL FROM", "mail-from", format!("<{}>", envelope.from));
        field(
            "RCPT TO",
            "rcpt-to",
            envelope
                .recipients
                .iter()
                .map(|r| format!("<{r}>"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        for header in &spec.headers {
            field(&header.name, "header", header.value.clone());
        }
        card += "</dl>\n";
        if let Some(html) = &spec.html {
            let shown = self.with_images(html, spec);
            card += &format!(
                "<h3>HTML part</h3>\n<iframe class=\"html\" sandbox=\"\" referrerpolicy=\"no-referrer\" \
                 title=\"HTML part of message {n}\" srcdoc=\"{}\"></iframe>\n",
                escape(&shown),
                n = self.cards,
            );
        }
        let text = match (&spec.text, &spec.html) {
            (Some(text), _) => Some(text.clone()),
            // What rmail generates as the text alternative of an HTML-only message.
            (None, Some(html)) => Some(html_to_text(html)),
            (None, None) => None,
        };
        if let Some(text) = text {
            card += &format!(
                "<h3>Text part</h3>\n<pre class=\"text\">{}</pre>\n",
                escape(&text)
            );
        }
        if !spec.inline.is_empty() || !spec.attachments.is_empty() {
            card += "<h3>Files</h3>\n<ul class=\"files\">\n";
            for image in &spec.inline {
                card += &file_item("inline", &image.part, Some(&image.cid));
            }
            for part in &spec.attachments {
                card += &file_item("attachment", part, None);
            }
            card += "</ul>\n";
        }
        card += "</article>\n";
        self.put(&card)
    }

    /// Closes the page; returns its path.
    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        self.put("</body>\n</html>\n")?;
        self.out.flush().map_err(|e| cant_write(&self.path, &e))?;
        Ok(self.path)
    }

    /// `html` with each `cid:ID` that names one of the message's inline images replaced by
    /// the image as a `data:` URL. Other `cid:` references stay as they are (a
    /// broken image in the preview, as in the recipient's mail client).
    fn with_images(&mut self, html: &str, spec: &MessageSpec) -> String {
        let mut out = String::with_capacity(html.len());
        let mut rest = html;
        while let Some(at) = find_cid(rest) {
            out.push_str(&rest[..at]);
            let after = &rest[at + 4..];
            let end = after
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>'))
                .unwrap_or(after.len());
            let id = &after[..end];
            match spec.inline.iter().find(|image| image.cid == id) {
                Some(image) => out.push_str(self.data_url(&image.part)),
                None => out.push_str(&rest[at..at + 4 + end]),
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }

    /// The image as a `data:` URL (its type only when it is an image type, so a browser
    /// never takes an inline part for a page).
    fn data_url(&mut self, part: &Part) -> &str {
        // A large inline image is read whole here: a preview shows it.
        let data = part.data.read_all().unwrap_or_default();
        let digest = sha256_hex(&data, 16);
        self.images.entry(digest).or_insert_with(|| {
            let kind = if part.content_type.starts_with("image/") {
                part.content_type.as_str()
            } else {
                "application/octet-stream"
            };
            let mut url = format!("data:{kind};base64,");
            let encoded = base64_lines(&data);
            url.extend(
                encoded
                    .iter()
                    .filter(|b| !b.is_ascii_whitespace())
                    .map(|&b| char::from(b)),
            );
            url
        })
    }

    fn put(&mut self, text: &str) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| cant_write(&self.path, &e))
    }
}

/// Where the next `cid:` (any case) starts.
fn find_cid(html: &str) -> Option<usize> {
    html.as_bytes()
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b"cid:"))
}

fn file_item(kind: &str, part: &Part, cid: Option<&str>) -> String {
    let cid = cid
        .map(|cid| format!(" (cid:{})", escape(cid)))
        .unwrap_or_default();
    format!(
        "<li class=\"{kind}\"><span class=\"name\">{}</span>{cid} · {} · {}</li>\n",
        escape(&part.file_name),
        escape(&part.content_type),
        size(usize::try_from(part.data.len()).unwrap_or(usize::MAX))
    )
}

fn mailboxes(list: &[Mailbox]) -> String {
    list.iter()
        .map(Mailbox::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1234` → `1.2 KB`, as a person reads a file size.
fn size(bytes: usize) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Escapes text for HTML content and for a double-quoted attribute (`srcdoc="…"`).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cant_write(path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::CantCreate,
        format!("cannot write {}: {e}", path.display()),
    )
}

const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;\
background:#f4f4f4;color:#222}.note{color:#555}.card{background:#fff;border:1px solid #ccc;\
border-radius:6px;margin:1.5em 0;padding:1em 1.5em}.card header{color:#666;font-size:90%}\
.card h2{margin:.3em 0}.card h3{font-size:95%;margin:1em 0 .3em;color:#444}\
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:0}dt{color:#666}\
dd{margin:0;word-break:break-all}iframe.html{width:100%;height:24em;border:1px solid #ddd;\
resize:vertical;background:#fff}pre.text{white-space:pre-wrap;background:#fafafa;\
border:1px solid #ddd;padding:.5em;max-height:20em;overflow:auto}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::spec::InlineImage;

    #[test]
    fn escapes_for_content_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\" b='y'>&</a>"),
            "&lt;a href=&quot;x&quot; b=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(51_200), "51.2 KB");
        assert_eq!(size(3_500_000), "3.5 MB");
    }

    #[test]
    fn only_known_cids_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut preview = Preview::create(dir.path(), "t").unwrap();
        let part = |name: &str, data: &[u8]| Part {
            file_name: name.into(),
            content_type: "image/png".into(),
            data: data.into(),
            encoded: None,
        };
        let spec = MessageSpec {
            html: Some(String::new()),
            inline: vec![
                InlineImage::new("logo".into(), part("logo.png", b"Logo")).unwrap(),
                InlineImage::new("logo2".into(), part("x.png", b"Logo")).unwrap(),
            ],
            ..MessageSpec::default()
        };
        let shown = preview.with_images(
            "<img src=\"cid:logo\"><img src='CID:logo2'><img src=cid:other>",
            &spec,
        );
        let url = "data:image/png;base64,TG9nbw==";
        assert_eq!(
            shown,
            format!("<img src=\"{url}\"><img src='{url}'><img src=cid:other>")
        );
        assert_eq!(preview.images.len(), 1);
    }
}
