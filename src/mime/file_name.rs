//! The file name a part carries in its Content-Type (`name=`), beside the RFC 2231
//! `filename*=` that mail-builder writes in Content-Disposition.
//!
//! RFC 2231 is the standard, but older Outlook versions and several webmail readers only
//! look at `name=` and only understand RFC 2047 encoded words there. Putting an encoded
//! word inside a quoted parameter is outside RFC 2047 §5, yet it is what those readers
//! expect and what modern parsers (Python's email, mail-parser) decode too.

use crate::mime::data::base64_lines;

/// Input bytes per encoded word: 42 bytes make 56 base64 characters, so a word with its
/// `=?utf-8?B?` … `?=` frame stays within RFC 2047's 75, and a line with ` name="` within 78.
const WORD_BYTES: usize = 42;

/// `content_type` with `; name="…"` appended: quoted as it is when plain printable ASCII,
/// else as RFC 2047 base64 encoded words folded onto continuation lines.
pub(crate) fn with_name(content_type: &str, file_name: &str) -> String {
    let plain = file_name
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
    if plain && file_name.len() <= WORD_BYTES * 2 {
        // Short enough for one line: `Content-Type: image/png; name="logo.png"`.
        let fold = if content_type.len() + file_name.len() > 50 {
            "\r\n"
        } else {
            ""
        };
        return format!("{content_type};{fold} name=\"{file_name}\"");
    }
    let words: Vec<String> = chunks(file_name)
        .map(|chunk| {
            format!(
                "=?utf-8?B?{}?=",
                String::from_utf8_lossy(&base64_lines(chunk.as_bytes()))
            )
        })
        .collect();
    format!("{content_type};\r\n name=\"{}\"", words.join("\r\n "))
}

/// `text` in pieces of at most [`WORD_BYTES`] bytes, never splitting a character (RFC
/// 2047 §5: each encoded word must decode to whole characters).
fn chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(WORD_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed_name(content_type: &str) -> String {
        use mail_parser::MimeHeaders;
        let raw = format!("Content-Type: {content_type}\r\n\r\n");
        let message = mail_parser::MessageParser::new()
            .parse(raw.as_bytes())
            .unwrap();
        message
            .content_type()
            .and_then(|ct| ct.attribute("name"))
            .unwrap()
            .to_string()
    }

    #[test]
    fn ascii_names_are_quoted_as_they_are() {
        let ct = with_name("application/pdf", "Q3 report.pdf");
        assert_eq!(ct, "application/pdf; name=\"Q3 report.pdf\"");
    }

    #[test]
    fn other_names_are_encoded_words_of_whole_characters() {
        let name = "Übersicht März – 売上 und noch viel mehr Text, damit es zwei Wörter werden.csv";
        let ct = with_name("text/csv", name);
        assert!(ct.contains("name=\"=?utf-8?B?"), "{ct}");
        for line in ct.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        assert_eq!(parsed_name(&ct), name);
        // A quote in the name cannot end the parameter early.
        assert_eq!(
            parsed_name(&with_name("text/plain", "a\"b.txt")),
            "a\"b.txt"
        );
    }
}
