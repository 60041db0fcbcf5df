//! `rmail sendmail` (and rmail called as `sendmail`) → [`SendmailRequest`], or the queue
//! listing for `-bp`. Decided before stdin is read: `-bp` must not wait for a message.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::SendmailArgs;
use crate::config::profile::Profile;
use crate::error::{Error, Result};
use crate::imap;
use crate::message::address::Mailbox;
use crate::settings::queue::QueueRequest;
use crate::settings::send::default_sender;
use crate::settings::{self, Context, LogSettings, Request};

/// A resolved `sendmail` delivery: the message itself comes on stdin.
#[derive(Debug)]
pub(crate) struct SendmailRequest {
    pub(crate) profile: Profile,
    /// `-t`: recipients from To, Cc and Bcc.
    pub(crate) extract_recipients: bool,
    /// `-i` / `-oi`: a line holding a single '.' does not end the message.
    pub(crate) ignore_dots: bool,
    /// Envelope sender: `-f`, else the profile's.
    pub(crate) sender: Mailbox,
    /// `-F`: the sender's full name, for a From header rmail writes.
    pub(crate) full_name: Option<String>,
    /// Recipient arguments, as given (local names are looked up in `aliases`).
    pub(crate) recipients: Vec<String>,
    pub(crate) aliases: Aliases,
    pub(crate) outbox_dir: PathBuf,
    pub(crate) log: LogSettings,
    /// Where the copy in Sent goes, with `--save-sent`.
    pub(crate) sent_copy: Option<imap::Account>,
}

/// The config's `aliases`: a bare local name (`root`) → full addresses; `default` catches
/// every other local name. Checked here, so a bad alias is a configuration error.
#[derive(Debug, Clone, Default)]
pub(crate) struct Aliases(BTreeMap<String, Vec<Mailbox>>);

impl Aliases {
    #[cfg(test)]
    pub(crate) fn new(map: BTreeMap<String, Vec<Mailbox>>) -> Aliases {
        Aliases(map)
    }

    /// The addresses a local name stands for.
    pub(crate) fn get(&self, name: &str) -> Option<&[Mailbox]> {
        self.0
            .get(name)
            .or_else(|| self.0.get("default"))
            .map(Vec::as_slice)
    }
}

pub(crate) fn resolve(context: &Context<'_>, args: SendmailArgs) -> Result<Request> {
    match args.mode.as_deref() {
        None | Some("m") => {}
        // `sendmail -bp` is `mailq`: list the queue.
        Some("p") => {
            return Ok(Request::Queue(QueueRequest::List {
                outbox_dir: context.outbox_dir()?,
            }));
        }
        Some(mode) => {
            return Err(Error::usage(format!(
                "sendmail mode -b{mode} is not supported; rmail delivers messages (-bm) and \
                 lists its queue (-bp)"
            )));
        }
    }
    let profile = context.require_profile("")?;
    let sender = match args.from.as_deref() {
        Some(from) => Mailbox::parse(from)?,
        None => default_sender(Some(&profile))?,
    };
    let mut aliases = BTreeMap::new();
    for (name, target) in &context.config.config.aliases {
        let list = Mailbox::parse_list(target).map_err(|e| {
            Error::config(format!(
                "config file {}: aliases.{name}: {}",
                context.config.describe_path(),
                e.message()
            ))
        })?;
        aliases.insert(name.clone(), list);
    }
    let sent_copy = settings::sent_copy(&profile, args.save_sent)?;
    Ok(Request::Sendmail(SendmailRequest {
        sent_copy,
        ignore_dots: args.ignore_dots || args.options.iter().any(|o| o == "i"),
        extract_recipients: args.extract_recipients,
        sender,
        full_name: args.full_name,
        recipients: args.recipients,
        aliases: Aliases(aliases),
        outbox_dir: context.outbox_dir()?,
        log: context.log(),
        profile,
    }))
}
