//! `rmail queue list | flush | drop` → [`QueueRequest`]. A flush resolves every profile the
//! kept messages may name; one broken profile only holds back its own messages.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::QueueCommand;
use crate::config::profile::{self, Profile};
use crate::error::Result;
use crate::settings::{Context, LogSettings};

/// A resolved `rmail queue …`.
#[derive(Debug)]
pub(crate) enum QueueRequest {
    List {
        outbox_dir: PathBuf,
    },
    Flush {
        outbox_dir: PathBuf,
        /// Every profile of the config by name, resolved (or why it cannot be).
        profiles: BTreeMap<String, Result<Profile>>,
        log: LogSettings,
    },
    Drop {
        outbox_dir: PathBuf,
        id: String,
    },
}

pub(crate) fn resolve(context: &Context<'_>, command: QueueCommand) -> Result<QueueRequest> {
    let outbox_dir = context.outbox_dir()?;
    Ok(match command {
        QueueCommand::List => QueueRequest::List { outbox_dir },
        QueueCommand::Flush => QueueRequest::Flush {
            outbox_dir,
            profiles: context
                .config
                .config
                .profiles
                .keys()
                .map(|name| {
                    let resolved = profile::select(context.config, Some(name)).and_then(|p| {
                        p.ok_or_else(|| {
                            crate::error::Error::config(format!("profile '{name}' is gone"))
                        })
                    });
                    (name.clone(), resolved)
                })
                .collect(),
            log: context.log(),
        },
        QueueCommand::Drop { id } => QueueRequest::Drop { outbox_dir, id },
    })
}
