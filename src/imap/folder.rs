//! Which mailbox gets the copy: `sent_folder` if the user named one, else the mailbox the
//! server marks `\Sent` (RFC 6154 SPECIAL-USE), else one with a well-known name. Guessing
//! "Sent" is how other clients end up writing to a folder nobody reads (iCloud calls it
//! "Sent Messages", QQ and 163 "已发送").

use crate::error::{Error, ErrorKind};

use super::utf7;

/// One mailbox from LIST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The name exactly as the server sent it (modified UTF-7): what APPEND must use.
    pub raw: String,
    /// The hierarchy delimiter, if the server has one.
    pub delimiter: Option<String>,
    /// Marked `\Sent`.
    pub sent: bool,
    /// Marked `\Noselect` / `\NonExistent`: cannot hold messages.
    pub no_select: bool,
}

impl Listed {
    /// The name as a person reads it.
    pub(crate) fn name(&self) -> String {
        utf7::decode(&self.raw).unwrap_or_else(|| self.raw.clone())
    }

    /// The last level of the name (`INBOX.Sent` → `Sent`), decoded.
    fn leaf(&self) -> String {
        let name = self.name();
        match self.delimiter.as_deref() {
            Some(d) if !d.is_empty() => name.rsplit(d).next().unwrap_or(&name).to_owned(),
            _ => name,
        }
    }
}

/// Names used for the sent mailbox by common servers and localized clients, in order of
/// preference; compared without regard to case, with the whole name and its last level.
const WELL_KNOWN: &[&str] = &[
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Sent Mail",
    "Sent-Mail",
    "已发送",
    "已發送",
    "已傳送",
    "送信済み",
    "送信済みアイテム",
    "보낸편지함",
    "Gesendet",
    "Gesendete Objekte",
    "Gesendete Elemente",
    "Envoyés",
    "Éléments envoyés",
    "Messages envoyés",
    "Enviados",
    "Elementos enviados",
    "Itens enviados",
    "Posta inviata",
    "Inviati",
    "Elementi inviati",
    "Verzonden",
    "Verzonden items",
    "Skickat",
    "Skickade objekt",
    "Sendt",
    "Sendte elementer",
    "Lähetetyt",
    "Wysłane",
    "Odeslané",
    "Elküldött",
    "Отправленные",
    "Gönderilmiş Öğeler",
];

/// How many names an error lists before "…".
const SHOWN: usize = 12;

/// The mailbox to APPEND to, as the server spells it, chosen from `listed`.
///
/// `configured` is the user's `sent_folder` (UTF-8): it must be one of the listed names,
/// since a typo would otherwise create a folder nobody looks at (rmail never CREATEs).
/// `server` names the account in errors.
pub(crate) fn choose(
    listed: &[Listed],
    configured: Option<&str>,
    server: &str,
) -> Result<String, Error> {
    let selectable: Vec<&Listed> = listed.iter().filter(|m| !m.no_select).collect();
    if let Some(wanted) = configured {
        let is_inbox = wanted.eq_ignore_ascii_case("INBOX");
        return selectable
            .iter()
            .find(|m| m.name() == wanted || (is_inbox && m.raw.eq_ignore_ascii_case("INBOX")))
            .map(|m| m.raw.clone())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "{server} has no mailbox named sent_folder = \"{wanted}\" (it has {}); \
                         fix sent_folder, or remove it to use the server's \\Sent mailbox",
                        seen(&selectable)
                    ),
                )
            });
    }
    if let Some(special) = selectable.iter().find(|m| m.sent) {
        return Ok(special.raw.clone());
    }
    for known in WELL_KNOWN {
        let matches = |name: String| name.to_lowercase() == known.to_lowercase();
        if let Some(m) = selectable.iter().find(|m| matches(m.name())) {
            return Ok(m.raw.clone());
        }
        if let Some(m) = selectable.iter().find(|m| matches(m.leaf())) {
            return Ok(m.raw.clone());
        }
    }
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "{server} has no Sent mailbox: none is marked \\Sent and none has a well-known \
             name (it has {}); set sent_folder = \"NAME\" in the profile's [imap] table",
            seen(&selectable)
        ),
    ))
}

/// `"INBOX", "Drafts", … (and 3 more)` for an error message.
fn seen(listed: &[&Listed]) -> String {
    if listed.is_empty() {
        return "no mailboxes".to_owned();
    }
    let mut names: Vec<String> = listed
        .iter()
        .take(SHOWN)
        .map(|m| format!("\"{}\"", super::printable(&m.name())))
        .collect();
    if listed.len() > SHOWN {
        names.push(format!("and {} more", listed.len() - SHOWN));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(raw: &str, sent: bool) -> Listed {
        Listed {
            raw: raw.to_owned(),
            delimiter: Some("/".to_owned()),
            sent,
            no_select: false,
        }
    }

    const SERVER: &str = "imap.example.com:993";

    #[test]
    fn the_special_use_mailbox_wins_over_a_plain_sent() {
        let listed = [
            mailbox("INBOX", false),
            mailbox("Sent", false),
            mailbox("Sent Messages", true),
        ];
        assert_eq!(choose(&listed, None, SERVER).unwrap(), "Sent Messages");
    }

    #[test]
    fn sent_folder_wins_over_special_use_and_matches_the_decoded_name() {
        let listed = [
            mailbox("INBOX", false),
            mailbox("Sent Messages", true),
            mailbox("&XfJT0ZAB-", false),
        ];
        assert_eq!(
            choose(&listed, Some("已发送"), SERVER).unwrap(),
            "&XfJT0ZAB-"
        );
    }

    #[test]
    fn a_sent_folder_that_does_not_exist_is_a_config_error_naming_what_exists() {
        let listed = [mailbox("INBOX", false), mailbox("Sent Messages", true)];
        let err = choose(&listed, Some("Snet"), SERVER).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("\"Snet\""), "{err}");
        assert!(
            err.message().contains("\"INBOX\", \"Sent Messages\""),
            "{err}"
        );
    }

    #[test]
    fn without_special_use_a_well_known_name_is_used_localized_or_nested() {
        let listed = [mailbox("INBOX", false), mailbox("&XfJT0ZAB-", false)];
        assert_eq!(choose(&listed, None, SERVER).unwrap(), "&XfJT0ZAB-");
        let nested = [
            mailbox("INBOX", false),
            Listed {
                delimiter: Some(".".into()),
                ..mailbox("INBOX.sent items", false)
            },
        ];
        assert_eq!(choose(&nested, None, SERVER).unwrap(), "INBOX.sent items");
    }

    #[test]
    fn no_candidate_is_a_config_error_listing_the_mailboxes_seen() {
        let listed = [
            mailbox("INBOX", false),
            mailbox("Archive", false),
            mailbox("Envoy&AOk-s-old", false),
        ];
        let err = choose(&listed, None, SERVER).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains(SERVER), "{err}");
        assert!(err.message().contains("\"Envoyés-old\""), "{err}");
        assert!(err.message().contains("sent_folder"), "{err}");
    }

    #[test]
    fn a_noselect_mailbox_is_never_chosen() {
        let listed = [
            Listed {
                no_select: true,
                ..mailbox("Sent", true)
            },
            mailbox("Sent Items", false),
        ];
        assert_eq!(choose(&listed, None, SERVER).unwrap(), "Sent Items");
    }

    #[test]
    fn the_error_lists_a_bounded_number_of_names() {
        let listed: Vec<Listed> = (0..40)
            .map(|i| mailbox(&format!("box{i}"), false))
            .collect();
        let err = choose(&listed, None, SERVER).unwrap_err();
        assert!(err.message().contains("and 28 more"), "{err}");
    }
}
