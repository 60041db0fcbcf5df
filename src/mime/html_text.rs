//! A plain-text rendering of an HTML body, for the text/plain alternative of messages that
//! were given only HTML. Mail clients that show text, and spam filters that compare the two
//! parts, want readable text: paragraphs as blank-line-separated blocks, list items as
//! dashes, links with their address. Anything fancier belongs in an explicit text part.

/// Converts HTML to readable plain text: `<p>Hi <b>Ann</b>,</p><ul><li>one</li></ul>` →
/// `"Hi Ann,\n\n- one\n"`.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    let mut link: Option<String> = None;
    let mut link_text_start = 0;

    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip_until.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        if skip_until.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |end| &rest[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();

        if let Some(end) = skip_until {
            if closing && name == end {
                skip_until = None;
            }
            continue;
        }
        match (name.as_str(), closing) {
            ("script", false) => skip_until = Some("script"),
            ("style", false) => skip_until = Some("style"),
            ("head", false) => skip_until = Some("head"),
            ("title", false) => skip_until = Some("title"),
            ("br", _) => out.push('\n'),
            ("li", false) => {
                newline(&mut out, 1);
                out.push_str("- ");
            }
            ("a", false) => {
                link = attribute(tag, "href");
                link_text_start = out.len();
            }
            ("a", true) => {
                if let Some(href) = link.take() {
                    // A block tag inside the link may have trimmed trailing spaces from
                    // before it, so `out` can be shorter than where the link text started.
                    let text = out.get(link_text_start..).unwrap_or("").trim();
                    let href_shown = href.strip_prefix("mailto:").unwrap_or(&href);
                    if !href.starts_with('#') && !href.starts_with("cid:") && text != href_shown {
                        out.push_str(&format!(" <{href}>"));
                    }
                }
            }
            ("img", _) => {
                if let Some(alt) = attribute(tag, "alt") {
                    push_text(&mut out, &alt);
                }
            }
            (
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol"
                | "blockquote" | "pre" | "hr",
                _,
            ) => newline(&mut out, 2),
            ("tr", _) => newline(&mut out, 1),
            ("td" | "th", true) => out.push(' '),
            _ => {}
        }
    }

    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut text = String::with_capacity(out.len());
    let mut blank = 0;
    for line in lines {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        text.push_str(line);
    }
    text.push('\n');
    text
}

/// Appends text with HTML whitespace rules (runs collapse to one space) and entities decoded.
fn push_text(out: &mut String, raw: &str) {
    let decoded = decode_entities(raw);
    for c in decoded.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else {
            out.push(if c == '\u{a0}' { ' ' } else { c });
        }
    }
}

/// Ends the current line and leaves `count - 1` blank lines after it.
fn newline(out: &mut String, count: usize) {
    while out.ends_with(' ') {
        out.pop();
    }
    let have = out.chars().rev().take_while(|c| *c == '\n').count();
    for _ in have..count {
        out.push('\n');
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let preceded_by_space = lower[..at].ends_with(|c: char| c.is_whitespace());
        let after = lower[from..].trim_start();
        if !preceded_by_space || !after.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - after.len() + 1;
        let value = tag[value_start..].trim_start();
        let value = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or(""),
        };
        return Some(decode_entities(value));
    }
    None
}

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let entity = &rest[1..e];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity.strip_prefix('#').and_then(|num| {
                    match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse().ok(),
                    }
                    .and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn paragraphs_and_lists() {
        let text = html_to_text("<p>Hi <b>Ann</b>,</p><ul><li>one</li></ul>");
        assert_eq!(text, "Hi Ann,\n\n- one\n");
    }

    #[test]
    fn paragraphs_lists_links() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\
            <h1>Hello&nbsp;Zoë</h1><p>Dear  <b>Ann</b>,\n  your invoice &amp; receipt.</p>\
            <ul><li>one</li><li>two</li></ul>\
            <p>See <a href=\"https://x.example/a?b=1&amp;c=2\">the site</a>.<br>Bye</p>\
            <img src=\"cid:logo\" alt=\"ACME\"></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hello Zoë\n\nDear Ann, your invoice & receipt.\n\n- one\n- two\n\n\
             See the site <https://x.example/a?b=1&c=2>.\nBye\n\nACME\n"
        );
    }

    #[test]
    fn odd_input_does_not_panic() {
        for html in [
            "<",
            "<a href=",
            "&#xZZ;",
            "&#99999999;",
            "<p",
            "a & b",
            "<!-- x",
            "é<br/>ü",
        ] {
            let _ = html_to_text(html);
        }
    }

    #[test]
    fn block_tag_inside_link_after_spaces_does_not_panic() {
        // Found by `cargo fuzz run html_text`: `<p>` trimmed the two spaces the link text
        // started after, and slicing from the old position panicked.
        assert_eq!(
            html_to_text("<p>&nbsp;&nbsp;<a href=\"https://x.example/\"><p></a>"),
            "<https://x.example/>\n"
        );
    }
}
