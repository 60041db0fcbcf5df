//! Address fields of a template (`to`, `cc`, `bcc`, `from`, `reply_to`): the template spells
//! the mailboxes, the data only fills them in.
//!
//! Rendering `"{{ name }} <{{ email }}>"` to text and parsing the result would let a value
//! be syntax: a name `Evil <evil@evil.example>, Ann` would add a recipient. So the field's
//! *source* is split first, outside `{{ … }}` tags, into mailbox slots (one per literal comma)
//! and, inside a slot, into the display name and the address (the literal `<…>`). Each part
//! is rendered on its own and must stay what it is: a display name may hold commas and quotes
//! (they are quoted on the wire) but no angle brackets or line breaks, an address must be one
//! bare `user@domain`, and a slot the template leaves entirely to a variable must hold exactly
//! one mailbox.

use crate::message::address::{Mailbox, split_list};

/// One mailbox as the template's source spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `NAME <ADDRESS>` with literal angle brackets: each part is a template of its own.
    /// `name` has the template's own quotes (`"{{ n }}" <…>`) removed; `None` when empty.
    Parts {
        name: Option<String>,
        address: String,
    },
    /// No literal `<…>`: the whole slot renders to one mailbox.
    Whole(String),
}

/// Splits an address field's template source into its mailbox slots. Empty slots (a
/// trailing comma) are dropped.
pub(crate) fn slots(source: &str) -> Vec<Slot> {
    split_outside_tags(source, ',')
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(slot)
        .collect()
}

fn slot(source: &str) -> Slot {
    let trimmed = source.trim();
    let literal = literal_positions(trimmed);
    let open = literal
        .iter()
        .rev()
        .find(|&&(_, c)| c == '<')
        .map(|&(i, _)| i);
    let closes_at_end = literal
        .last()
        .is_some_and(|&(i, c)| c == '>' && i + 1 == trimmed.len());
    match open {
        Some(open) if closes_at_end => {
            let name = trimmed[..open].trim();
            let name = name
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .unwrap_or(name)
                .trim();
            Slot::Parts {
                name: (!name.is_empty()).then(|| name.to_string()),
                address: trimmed[open + 1..trimmed.len() - 1].trim().to_string(),
            }
        }
        _ => Slot::Whole(trimmed.to_string()),
    }
}

/// Why a rendered value was refused; the caller names the field, row and variables.
pub(crate) type Refusal = String;

/// A rendered display name: kept as a value (quoted when written), but it may not look like
/// another mailbox.
pub(crate) fn display_name(value: &str) -> Result<Option<String>, Refusal> {
    if value.contains(['\r', '\n']) {
        return Err("a display name cannot hold a line break".into());
    }
    if value.contains(['<', '>']) {
        return Err(format!(
            "the display name '{value}' holds '<' or '>', which would spell another address"
        ));
    }
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_string()))
}

/// A rendered address: exactly one bare `user@domain`.
pub(crate) fn bare_address(value: &str) -> Result<String, Refusal> {
    if value.contains(['\r', '\n']) {
        return Err("an address cannot hold a line break".into());
    }
    let value = value.trim();
    if value.is_empty() {
        return Err("the address is empty".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "<>,;:\"()[]\\".contains(*c))
    {
        return Err(format!(
            "'{value}' is not one address (it holds {})",
            describe(c)
        ));
    }
    Mailbox::parse(value)
        .map(|m| m.email)
        .map_err(|e| e.message().to_string())
}

/// A whole rendered slot: exactly one mailbox, or none when it renders empty.
pub(crate) fn one_mailbox(value: &str) -> Result<Option<Mailbox>, Refusal> {
    if value.contains(['\r', '\n']) {
        return Err("an address cannot hold a line break".into());
    }
    let parts: Vec<&str> = split_list(value)
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect();
    match parts.as_slice() {
        [] => Ok(None),
        [one] => {
            let mailbox = Mailbox::parse(one).map_err(|e| e.message().to_string())?;
            // What the parser took must be the whole value: `a@x.com> (x` is not one address.
            bare_address(&mailbox.email)?;
            if let Some(name) = &mailbox.name {
                display_name(name)?;
            }
            Ok(Some(mailbox))
        }
        _ => Err(format!(
            "'{value}' is {} mailboxes where the template spells one",
            parts.len()
        )),
    }
}

/// The variables a template source reads: the first name of each `{{ … }}` expression.
pub(crate) fn variables(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let expr = rest.trim_start_matches(['-', '+']).trim_start();
        let name: String = expr
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
        match rest.find("}}") {
            Some(end) => rest = &rest[end + 2..],
            None => break,
        }
    }
    names
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_whitespace() || c.is_control() => format!("the character U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

/// Splits `source` on `sep` where it is literal text: outside `{{ }}`, `{% %}`, `{# #}`
/// tags, literal double quotes and literal `<…>`.
fn split_outside_tags(source: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let (mut in_quotes, mut in_angle) = (false, false);
    for (i, c) in literal_positions(source) {
        match c {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            c if c == sep && !in_quotes && !in_angle => {
                parts.push(&source[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&source[start..]);
    parts
}

/// The characters of `source` that are literal template text (not inside a tag), with their
/// byte offsets.
fn literal_positions(source: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut closing: Option<&str> = None;
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(end) = closing {
            if source[i..].starts_with(end) {
                chars.next();
                closing = None;
            }
            continue;
        }
        let next = chars.peek().map(|&(_, n)| n);
        match (c, next) {
            ('{', Some('{')) => closing = Some("}}"),
            ('{', Some('%')) => closing = Some("%}"),
            ('{', Some('#')) => closing = Some("#}"),
            _ => {
                out.push((i, c));
                continue;
            }
        }
        chars.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(name: Option<&str>, address: &str) -> Slot {
        Slot::Parts {
            name: name.map(str::to_string),
            address: address.to_string(),
        }
    }

    #[test]
    fn slots_follow_the_template_not_the_values() {
        assert_eq!(
            slots("{{ name }} <{{ email }}>"),
            [parts(Some("{{ name }}"), "{{ email }}")]
        );
        assert_eq!(
            slots("\"{{ last }}, {{ first }}\" <{{ email }}>, Boss <boss@x.com>,"),
            [
                parts(Some("{{ last }}, {{ first }}"), "{{ email }}"),
                parts(Some("Boss"), "boss@x.com"),
            ]
        );
        assert_eq!(
            slots("{{ a }}, {{ b }}"),
            [Slot::Whole("{{ a }}".into()), Slot::Whole("{{ b }}".into())]
        );
        // Commas, quotes and brackets inside tags are not the template's syntax.
        assert_eq!(
            slots("{{ [a, b] | join(\"<,>\") }}"),
            [Slot::Whole("{{ [a, b] | join(\"<,>\") }}".into())]
        );
        assert_eq!(
            slots("{% if vip %}VIP {% endif %}{{ n }} <{{ e }}>"),
            [parts(Some("{% if vip %}VIP {% endif %}{{ n }}"), "{{ e }}")]
        );
        assert_eq!(slots(""), []);
    }

    #[test]
    fn display_names_are_values() {
        assert_eq!(
            display_name(" Lee, Ann ").unwrap().as_deref(),
            Some("Lee, Ann")
        );
        assert_eq!(
            display_name("Bob \"The Boss\" Smith").unwrap().as_deref(),
            Some("Bob \"The Boss\" Smith")
        );
        assert_eq!(display_name("  ").unwrap(), None);
        for bad in ["Evil <evil@evil.example>, Ann", "a\r\nBcc: x@y.com", "x>"] {
            assert!(display_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_are_one_bare_address() {
        assert_eq!(
            bare_address(" ann@example.com ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "ok@example.com>, <evil@evil.example",
            "ann@example.com, evil@evil.example",
            "evil@evil.example> (x",
            "a@b.com b@c.com",
            "",
            "nobody",
            "a@b.com\r\n",
        ] {
            assert!(bare_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_whole_slot_is_exactly_one_mailbox() {
        let m = one_mailbox("Ann Lee <ann@example.com>").unwrap().unwrap();
        assert_eq!(
            (m.name.as_deref(), m.email.as_str()),
            (Some("Ann Lee"), "ann@example.com")
        );
        let m = one_mailbox("\"Lee, Ann\" <ann@example.com>")
            .unwrap()
            .unwrap();
        assert_eq!(m.name.as_deref(), Some("Lee, Ann"));
        assert_eq!(one_mailbox(" ").unwrap(), None);
        for bad in [
            "Lee, Ann <ann@example.com>",
            "a@x.com, b@x.com",
            "ok@example.com>, <evil@evil.example",
            "x <a@b.com> y",
        ] {
            assert!(one_mailbox(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn variables_of_a_source() {
        assert_eq!(
            variables("{{ name|upper }} {{- row.x }} {{name}} {% if a %}"),
            ["name", "row"]
        );
    }
}
