//! `rmail queue list | flush | retry | drop` → [`QueueRequest`]. A flush resolves every
//! profile the kept messages may name, in the config given now and in the config files they
//! were queued with; one broken profile only holds back its own messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::QueueCommand;
use crate::config::file::{self, LoadedConfig};
use crate::config::profile::{self, Profile};
use crate::delivery::outbox::{EntryMeta, Outbox};
use crate::error::{Error, Result};
use crate::settings::sendmail::SendmailRequest;
use crate::settings::{Context, LogSettings};

/// How long a message may wait in the outbox when the config does not say: 5 days, as
/// Postfix's `maximal_queue_lifetime`.
pub(crate) const DEFAULT_LIFETIME: u64 = 5 * 86_400;

/// A resolved `rmail queue …`. Built once per run, so its size does not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum QueueRequest {
    List {
        outbox_dir: PathBuf,
    },
    /// `flush` (every due message; with `--now` every waiting one) or `retry ID` (that
    /// one, now).
    Flush {
        outbox_dir: PathBuf,
        profiles: FlushProfiles,
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

/// Profiles by name, each resolved (or why it cannot be).
pub(crate) type Profiles = BTreeMap<String, Result<Profile>>;

/// The profiles a flush may send with.
#[derive(Debug, Default)]
pub(crate) struct FlushProfiles {
    /// `-p NAME` (or `$RMAIL_PROFILE`): every kept message goes through this profile, e.g.
    /// around a relay that is down for the day.
    pub(crate) reroute: Option<Profile>,
    /// The config file named now (`--config`, `$RMAIL_CONFIG` or the default one).
    pub(crate) current: Profiles,
    /// Other config files that kept messages were queued with, by path.
    pub(crate) recorded: BTreeMap<PathBuf, Result<Profiles>>,
}

impl FlushProfiles {
    /// The profile a kept message goes out with: the `-p` profile; else [`Self::own`]: the
    /// profile it was queued with, read from the config file it was queued with; else, when
    /// that file is gone or lacks it, the profile of that name in the current config.
    pub(crate) fn for_entry(&self, id: &str, meta: &EntryMeta) -> Result<&Profile> {
        match &self.reroute {
            Some(profile) => Ok(profile),
            None => self.own(id, meta),
        }
    }

    /// The profile a kept entry was queued with (never re-routed: a copy for Sent belongs
    /// to its own account).
    pub(crate) fn own(&self, id: &str, meta: &EntryMeta) -> Result<&Profile> {
        let name = &meta.profile;
        let recorded = meta
            .config
            .as_ref()
            .and_then(|path| self.recorded.get(path));
        if let Some(Ok(profiles)) = recorded
            && let Some(found) = profiles.get(name)
        {
            return found.as_ref().map_err(Clone::clone);
        }
        match self.current.get(name) {
            Some(found) => found.as_ref().map_err(Clone::clone),
            None => {
                let queued_with = match (&meta.config, recorded) {
                    (Some(path), Some(Err(err))) => {
                        format!(
                            " (it was queued with {}: {})",
                            path.display(),
                            err.message()
                        )
                    }
                    (Some(path), _) => format!(" (it was queued with {})", path.display()),
                    (None, _) => String::new(),
                };
                Err(Error::config(format!(
                    "profile '{name}' is not in the config{queued_with}; pass that --config, \
                     re-route with `rmail queue flush -p PROFILE`, or `rmail queue drop {id}`"
                )))
            }
        }
    }
}

pub(crate) fn resolve(context: &Context<'_>, command: QueueCommand) -> Result<QueueRequest> {
    let outbox_dir = context.outbox_dir()?;
    let flush = |retry: Option<String>, now: bool| -> Result<QueueRequest> {
        Ok(QueueRequest::Flush {
            outbox_dir: outbox_dir.clone(),
            profiles: flush_profiles(context, &outbox_dir)?,
            log: context.log(),
            lifetime: lifetime(context)?,
            retry,
            now,
            sendmail: crate::settings::sendmail::base(context).map(Box::new),
        })
    };
    Ok(match command {
        QueueCommand::List => QueueRequest::List { outbox_dir },
        // Re-routing with -p is the user's way out of a dead relay: it tries now, whatever
        // the retry times the failures through that relay set.
        QueueCommand::Flush { now } => {
            let reroute = context
                .global
                .profile
                .as_deref()
                .is_some_and(|p| !p.is_empty());
            flush(None, now || reroute)?
        }
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

/// Resolves `-p`, the current config's profiles and those of every other config file the
/// kept messages name. Reading the outbox's metadata here is not a side effect.
fn flush_profiles(context: &Context<'_>, outbox_dir: &Path) -> Result<FlushProfiles> {
    let reroute = match context.global.profile.as_deref().filter(|p| !p.is_empty()) {
        Some(_) => Some(context.require_profile("")?),
        None => None,
    };
    let current_path = context.config.path.as_ref().map(|p| absolute(p));
    let mut recorded = BTreeMap::new();
    if reroute.is_none() {
        // An unreadable outbox is reported by the flush itself.
        for entry in Outbox::at(outbox_dir.to_path_buf())
            .list()
            .unwrap_or_default()
        {
            let Some(path) = entry.meta.config else {
                continue;
            };
            if current_path.as_ref() == Some(&path) || recorded.contains_key(&path) {
                continue;
            }
            let profiles = file::load(Some(&path)).map(|loaded| all_profiles(&loaded));
            recorded.insert(path, profiles);
        }
    }
    Ok(FlushProfiles {
        reroute,
        current: all_profiles(context.config),
        recorded,
    })
}

/// Every profile of a config, by name.
fn all_profiles(config: &LoadedConfig) -> Profiles {
    config
        .config
        .profiles
        .keys()
        .map(|name| {
            let resolved = profile::select(config, Some(name))
                .and_then(|p| p.ok_or_else(|| Error::config(format!("profile '{name}' is gone"))));
            (name.clone(), resolved)
        })
        .collect()
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
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
