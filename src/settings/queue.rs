//! `rmail queue list | flush | drop` → [`QueueRequest`]. A flush resolves every profile the
//! kept messages may name, in the config given now and in the config files they were
//! queued with; one broken profile only holds back its own messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::QueueCommand;
use crate::config::file::{self, LoadedConfig};
use crate::config::profile::{self, Profile};
use crate::delivery::outbox::{EntryMeta, Outbox};
use crate::error::{Error, Result};
use crate::settings::{Context, LogSettings};

/// A resolved `rmail queue …`. Built once per run, so its size does not matter.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum QueueRequest {
    List {
        outbox_dir: PathBuf,
    },
    Flush {
        outbox_dir: PathBuf,
        profiles: FlushProfiles,
        log: LogSettings,
    },
    Drop {
        outbox_dir: PathBuf,
        id: String,
    },
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
    Ok(match command {
        QueueCommand::List => QueueRequest::List { outbox_dir },
        QueueCommand::Flush => QueueRequest::Flush {
            profiles: flush_profiles(context, &outbox_dir)?,
            outbox_dir,
            log: context.log(),
        },
        QueueCommand::Drop { id } => QueueRequest::Drop { outbox_dir, id },
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
