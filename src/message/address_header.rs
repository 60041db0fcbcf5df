//! Address headers as they come in sendmail mode (`To`, `Cc`, `Bcc`, `From`), read by a
//! real RFC 5322 parser: mail-parser (already in the tree, under mail-auth). Comments
//! (`ops@example.com (Ops Team)`, cron's `root (Cron Daemon)`), groups
//! (`Team: a@x, b@x;`, `undisclosed-recipients:;`), quoted names with commas and encoded
//! words are what other mail programs write; a hand-written splitter gets them wrong.

use mail_parser::{Addr, Address, MessageParser};

use crate::error::{Error, Result};
use crate::message::address::Mailbox;

/// One address of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Mailbox(Mailbox),
    /// A bare local name (`root`), as cron addresses the crontab's owner: it means
    /// something only through the config's `aliases`.
    Local(String),
}

/// The addresses in the value of an address header. Group members count as addresses of
/// the header; an empty group contributes none. `header` is only for the error message.
pub(crate) fn parse(header: &str, value: &[u8]) -> Result<Vec<Item>> {
    // mail-parser reads whole header blocks: give it this one value as a To header.
    let mut block = b"To:".to_vec();
    block.extend_from_slice(value);
    block.extend_from_slice(b"\r\n\r\n");
    let parsed = MessageParser::new().parse_headers(&block[..]);
    let addresses: Vec<&Addr<'_>> = match parsed.as_ref().and_then(|m| m.to()) {
        Some(Address::List(list)) => list.iter().collect(),
        Some(Address::Group(groups)) => groups.iter().flat_map(|g| &g.addresses).collect(),
        None => Vec::new(),
    };
    let mut items = Vec::with_capacity(addresses.len());
    for addr in addresses {
        let name = addr
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let email = addr
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        let Some(email) = email else {
            // mail-parser reads a lone word as a display name: `To: root`.
            match name {
                Some(word) if is_local_name(word) => {
                    items.push(Item::Local(word.to_string()));
                    continue;
                }
                // A name without an address: nothing can be sent to it.
                _ => return Err(bad(header, value, name.unwrap_or(""))),
            }
        };
        if is_local_name(email) {
            items.push(Item::Local(email.to_string()));
            continue;
        }
        let mut mailbox =
            Mailbox::parse(email).map_err(|e| e.context(&format!("{header} header")))?;
        mailbox.name = name.map(str::to_string);
        items.push(Item::Mailbox(mailbox));
    }
    if items.is_empty() && !is_empty_group(value) && !value.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(header, value, ""));
    }
    Ok(items)
}

/// `root`, `backup-ops`: what sendmail delivers locally, rmail through `aliases`.
fn is_local_name(address: &str) -> bool {
    !address.is_empty()
        && address
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
}

/// `undisclosed-recipients:;` and the like: a group that names nobody on purpose.
fn is_empty_group(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    text.trim_end().ends_with(';')
        && text
            .split_once(':')
            .is_some_and(|(_, members)| members.trim().trim_end_matches(';').trim().is_empty())
}

fn bad(header: &str, value: &[u8], part: &str) -> Error {
    let value = String::from_utf8_lossy(value);
    let what = if part.is_empty() {
        String::new()
    } else {
        format!(" ('{part}' has no address)")
    };
    Error::data(format!(
        "{header} header: cannot read an address in '{}'{what}",
        value.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(value: &str) -> Vec<String> {
        parse("To", value.as_bytes())
            .unwrap()
            .into_iter()
            .map(|item| match item {
                Item::Mailbox(m) => format!("{}|{}", m.name.unwrap_or_default(), m.email),
                Item::Local(name) => format!("local:{name}"),
            })
            .collect()
    }

    #[test]
    fn comments_groups_and_quotes() {
        assert_eq!(
            emails(" ops@example.com (Ops Team)"),
            ["Ops Team|ops@example.com"]
        );
        assert_eq!(
            emails(" \"Doe, Jane\" <jane@example.com>, b@example.com"),
            ["Doe, Jane|jane@example.com", "|b@example.com"]
        );
        assert_eq!(
            emails(" Team: a@example.com, B <b@example.com>;, c@example.com"),
            ["|a@example.com", "B|b@example.com", "|c@example.com"]
        );
        assert_eq!(emails(" undisclosed-recipients:;"), Vec::<String>::new());
        assert_eq!(emails(" root (Cron Daemon)"), ["local:root"]);
        assert_eq!(emails(" root"), ["local:root"]);
        assert_eq!(
            emails(" =?utf-8?q?Zo=C3=AB?= <zoe@example.com>,\r\n\tx@example.com"),
            ["Zoë|zoe@example.com", "|x@example.com"]
        );
    }

    #[test]
    fn garbage_is_a_data_error() {
        for value in [" <", " @@@", " a@b@c"] {
            let err = parse("To", value.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Data, "{value}: {err}");
        }
    }
}
