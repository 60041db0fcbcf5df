//! Mailboxes: `Ann Lee <ann@example.com>`, parsed and checked, and address lists split
//! where a comma really separates two addresses.

use std::str::FromStr;

use crate::error::{Error, Result};
use crate::message::spec::refuse_line_breaks;

/// A display name and an address: `Ann Lee <ann@example.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mailbox {
    pub(crate) name: Option<String>,
    pub(crate) email: String,
}

impl Mailbox {
    /// Parses `addr@host`, `Name <addr@host>` or `"Last, First" <addr@host>`; a line break
    /// anywhere is refused (it could smuggle a header).
    pub(crate) fn parse(text: &str) -> Result<Mailbox> {
        refuse_line_breaks("address", text)?;
        let text = text.trim();
        let (name, email) = match text.rfind('<') {
            Some(open) => {
                let rest = &text[open + 1..];
                let close = rest
                    .find('>')
                    .ok_or_else(|| bad_address(text, "missing '>'"))?;
                if !rest[close + 1..].trim().is_empty() {
                    return Err(bad_address(text, "text after '>'"));
                }
                let name = unquote(text[..open].trim());
                (
                    (!name.is_empty()).then_some(name),
                    rest[..close].trim().to_string(),
                )
            }
            None => (None, text.to_string()),
        };
        if email.is_empty() {
            return Err(bad_address(text, "empty address"));
        }
        // An IDN domain goes as punycode, in the envelope and in the headers alike: every
        // server takes it, SMTPUTF8 or not (RFC 5890). A non-ASCII local part stays: it
        // needs SMTPUTF8, which the session checks.
        let email = match email.rsplit_once('@') {
            Some((local, domain)) if !domain.is_ascii() => {
                let domain = ascii_domain(domain)
                    .map_err(|why| bad_address(text, &format!("invalid domain: {why}")))?;
                format!("{local}@{domain}")
            }
            _ => email,
        };
        lettre::Address::from_str(&email).map_err(|e| bad_address(text, &e.to_string()))?;
        Ok(Mailbox { name, email })
    }

    /// Parses a comma-separated list; commas inside quotes or `<…>` do not split.
    pub(crate) fn parse_list(text: &str) -> Result<Vec<Mailbox>> {
        split_list(text)
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .map(Mailbox::parse)
            .collect()
    }

    /// Parses every value of a repeatable flag, each of which may hold a list.
    pub(crate) fn parse_all<S: AsRef<str>>(values: &[S]) -> Result<Vec<Mailbox>> {
        let mut all = Vec::new();
        for value in values {
            all.extend(Mailbox::parse_list(value.as_ref())?);
        }
        Ok(all)
    }
}

impl Mailbox {
    /// The domain of the address (`example.com` of `ann@example.com`).
    pub(crate) fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("localhost", |(_, d)| d)
    }
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => f.write_str(&self.email),
        }
    }
}

fn bad_address(text: &str, why: &str) -> Error {
    Error::data(format!(
        "invalid address '{text}': {why}; expected user@example.com or \"Name <user@example.com>\""
    ))
}

fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => name.to_string(),
    }
}

/// Splits an address list on commas that are not inside quotes or `<…>`.
pub(crate) fn split_list(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_quotes, mut in_angle, mut start) = (false, false, 0);
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Headers whose value is a list of addresses.
pub(crate) const ADDRESS_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "disposition-notification-to",
];

/// `value` (an address header's value) with every IDN domain of an address as punycode,
/// when there is one: `Zoë <zoe@bücher.example>` → `Zoë <zoe@xn--bcher-kva.example>`.
/// Only domains after an `@` change; names, comments and local parts stay as they are.
pub(crate) fn punycode_domains(value: &str) -> Option<String> {
    if value.is_ascii() || !value.contains('@') {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 16);
    let mut rest = value;
    let mut changed = false;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| c.is_whitespace() || "<>,;:()\"[]".contains(c))
            .unwrap_or(after.len());
        let domain = &after[..end];
        match ascii_domain(domain) {
            Ok(ascii) if ascii != domain => {
                out.push_str(&ascii);
                changed = true;
            }
            _ => out.push_str(domain),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// `domain` in its ASCII form: an IDN as punycode (`bücher.example` → `xn--bcher-kva.example`).
pub(crate) fn ascii_domain(domain: &str) -> std::result::Result<String, String> {
    if domain.is_ascii() {
        return Ok(domain.to_owned());
    }
    idna::domain_to_ascii(domain).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {

    #[test]
    fn idn_domains_in_header_values() {
        assert_eq!(
            punycode_domains("Zoë <zoe@bücher.example>, b@example.com").as_deref(),
            Some("Zoë <zoe@xn--bcher-kva.example>, b@example.com")
        );
        assert_eq!(
            punycode_domains(" zoë@bücher.example (Zoë)").as_deref(),
            Some(" zoë@xn--bcher-kva.example (Zoë)")
        );
        assert_eq!(punycode_domains("Zoë <zoe@example.com>"), None);
        assert_eq!(punycode_domains("a@example.com"), None);
    }

    use super::*;

    #[test]
    fn mailbox_forms() {
        assert_eq!(
            Mailbox::parse("a@b.com").unwrap(),
            Mailbox {
                name: None,
                email: "a@b.com".into()
            }
        );
        let m = Mailbox::parse("\"Lee, Ann\" <ann@b.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Lee, Ann"));
        assert_eq!(m.email, "ann@b.com");
        let m = Mailbox::parse("Zoë Ωmega <z@b.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Zoë Ωmega"));
    }

    #[test]
    fn line_breaks_never_parse() {
        assert!(Mailbox::parse("ann@example.com\r\nBcc: x@example.com").is_err());
    }

    #[test]
    fn mailbox_rejects() {
        for bad in [
            "",
            "nobody",
            "a@",
            "x <a@b.com",
            "x <a@b.com> y",
            "a@b.com\r\nBcc: e@f.com",
        ] {
            let err = Mailbox::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Data, "{bad:?}");
        }
    }

    #[test]
    fn lists_split_outside_quotes() {
        let list = Mailbox::parse_list("\"Lee, Ann\" <a@b.com>, c@d.com,").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].email, "c@d.com");
    }
}
