//! The `+++` TOML front matter of a template: split from the body and parsed into its
//! fixed keys (a typo is an error, not a silently ignored setting).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The front matter as written. Keys are fixed so that a typo is an error, not a silently
/// ignored setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontMatter {
    #[serde(default)]
    pub(super) to: Addresses,
    #[serde(default)]
    pub(super) cc: Addresses,
    #[serde(default)]
    pub(super) bcc: Addresses,
    pub(super) from: Option<String>,
    pub(super) reply_to: Option<String>,
    pub(super) subject: Option<String>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) attach: Vec<String>,
    #[serde(default)]
    pub(super) inline: BTreeMap<String, String>,
    /// List-Unsubscribe targets: `https://…` (one-click, RFC 8058) and/or `mailto:…`.
    #[serde(default)]
    pub(super) unsubscribe: Addresses,
}

/// `to = "a@x"` or `to = ["a@x", "b@x"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Addresses {
    One(String),
    Many(Vec<String>),
}

impl Default for Addresses {
    fn default() -> Self {
        Addresses::Many(Vec::new())
    }
}

impl Addresses {
    pub(super) fn into_vec(self) -> Vec<String> {
        match self {
            Addresses::One(s) => vec![s],
            Addresses::Many(v) => v,
        }
    }
}

/// Splits `+++` front matter from the body. Returns (front matter, body, the body's first
/// line number). A file without front matter is all body.
pub(super) fn split_front_matter(source: &str) -> std::result::Result<(&str, &str, usize), String> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = source.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "+++" => {
            let start = first.len();
            let mut offset = start;
            let mut line_no = 1;
            for line in lines {
                line_no += 1;
                if line.trim_end() == "+++" {
                    let body = source.get(offset + line.len()..).unwrap_or("");
                    return Ok((&source[start..offset], body, line_no + 1));
                }
                offset += line.len();
            }
            Err("front matter starts with '+++' on line 1 but has no closing '+++' line".into())
        }
        _ => Ok(("", source, 1)),
    }
}

pub(super) fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map(|t| t.matches('\n').count())
        .unwrap_or(0)
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_split() {
        assert_eq!(
            split_front_matter("+++\na = 1\n+++\nbody\n").unwrap(),
            ("a = 1\n", "body\n", 4)
        );
        assert_eq!(
            split_front_matter("\u{feff}+++\r\n+++\r\nx").unwrap(),
            ("", "x", 3)
        );
        assert_eq!(
            split_front_matter("no front\n").unwrap(),
            ("", "no front\n", 1)
        );
        assert!(split_front_matter("+++\na = 1\n").is_err());
    }
}
