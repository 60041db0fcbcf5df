//! `rmail queue list | flush | retry | drop` → [`QueueRequest`]. A flush resolves every
//! profile the kept messages may name; one broken profile only holds back its own messages.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::QueueCommand;
use crate::config::profile::{self, Profile};
use crate::error::{Error, Result};
use crate::settings::sendmail::SendmailRequest;
use crate::settings::{Context, LogSettings};

/// How long a message may wait in the outbox when the config does not say: 5 days, as
/// Postfix's `maximal_queue_lifetime`.
pub(crate) const DEFAULT_LIFETIME: u64 = 5 * 86_400;

/// A resolved `rmail queue …`.
#[derive(Debug)]
pub(crate) enum QueueRequest {
    List {
        outbox_dir: PathBuf,
    },
    /// `flush` (every due message; with `--now` every waiting one) or `retry ID` (that
    /// one, now).
    Flush {
        outbox_dir: PathBuf,
        /// Every profile of the config by name, resolved (or why it cannot be).
        profiles: BTreeMap<String, Result<Profile>>,
        log: LogSettings,
        /// `queue_lifetime` in seconds.
        lifetime: u64,
        retry: Option<String>,
        /// `--now`: ignore the retry times.
        now: bool,
        /// How a sendmail message kept before the config could be used is sent now (or why
        /// it still cannot be).
        sendmail: Result<Box<SendmailRequest>>,
    },
    Drop {
        outbox_dir: PathBuf,
        target: DropTarget,
    },
}

/// What `queue drop` deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DropTarget {
    Id(String),
    Failed,
    All,
}

pub(crate) fn resolve(context: &Context<'_>, command: QueueCommand) -> Result<QueueRequest> {
    let outbox_dir = context.outbox_dir()?;
    let flush = |retry: Option<String>, now: bool| -> Result<QueueRequest> {
        Ok(QueueRequest::Flush {
            outbox_dir: outbox_dir.clone(),
            profiles: context
                .config
                .config
                .profiles
                .keys()
                .map(|name| {
                    let resolved = profile::select(context.config, Some(name)).and_then(|p| {
                        p.ok_or_else(|| Error::config(format!("profile '{name}' is gone")))
                    });
                    (name.clone(), resolved)
                })
                .collect(),
            log: context.log(),
            lifetime: lifetime(context)?,
            retry,
            now,
            sendmail: crate::settings::sendmail::base(context).map(Box::new),
        })
    };
    Ok(match command {
        QueueCommand::List => QueueRequest::List { outbox_dir },
        QueueCommand::Flush { now } => flush(None, now)?,
        QueueCommand::Retry { id } => flush(Some(id), true)?,
        QueueCommand::Drop(args) => QueueRequest::Drop {
            outbox_dir,
            target: match (args.id, args.failed, args.all) {
                (Some(id), false, false) => DropTarget::Id(id),
                (None, true, false) => DropTarget::Failed,
                (None, false, true) => DropTarget::All,
                _ => {
                    return Err(Error::usage(
                        "queue drop takes one of: an ID, --failed, --all",
                    ));
                }
            },
        },
    })
}

/// The config's `queue_lifetime` (`5d`, `12h`, `90m`), in seconds.
fn lifetime(context: &Context<'_>) -> Result<u64> {
    let Some(value) = &context.config.config.queue_lifetime else {
        return Ok(DEFAULT_LIFETIME);
    };
    parse_duration(value.get_ref()).ok_or_else(|| {
        Error::config(format!(
            "{}: queue_lifetime '{}' must be a duration such as \"5d\", \"12h\" or \"90m\"",
            context.config.locate_span(value),
            value.get_ref()
        ))
    })
}

/// `5d`, `12h`, `90m`, `3600s` (or a bare number of seconds) → seconds; at least a minute.
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    number.checked_mul(unit).filter(|&secs| secs >= 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5d"), Some(432_000));
        assert_eq!(parse_duration(" 12h"), Some(43_200));
        assert_eq!(parse_duration("90m"), Some(5400));
        assert_eq!(parse_duration("3600"), Some(3600));
        for bad in [
            "soon",
            "",
            "5 days",
            "-1d",
            "10s",
            "99999999999999999999d",
            "1.5h",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
