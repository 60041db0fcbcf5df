//! `rmail sendmail` (and rmail called as `sendmail`) → [`SendmailRequest`], or the queue
//! listing for `-bp`. Decided before stdin is read: `-bp` must not wait for a message.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cli::SendmailArgs;
use crate::config::profile::Profile;
use crate::error::{Error, ErrorKind, Result};
use crate::message::address::Mailbox;
use crate::settings::queue::QueueRequest;
use crate::settings::send::default_sender;
use crate::settings::{self, Context, Delivery, Request};

/// A resolved `sendmail` delivery: the message itself comes on stdin.
#[derive(Debug, Clone)]
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
    /// Outbox, log, and the copy in Sent (with `--save-sent`).
    pub(crate) delivery: Delivery,
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

/// A `sendmail` whose config cannot be used (none at all, no profile, an error in it):
/// the message is read all the same and kept, unprepared, with the options it came with;
/// `queue flush` prepares and sends it once the config is fixed.
#[derive(Debug)]
pub(crate) struct UnresolvedSendmail {
    pub(crate) error: Error,
    pub(crate) options: Unprepared,
    pub(crate) outbox_dir: PathBuf,
}

/// The sendmail options a message kept unprepared needs to be prepared later.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Unprepared {
    pub(crate) recipients: Vec<String>,
    pub(crate) extract_recipients: bool,
    pub(crate) ignore_dots: bool,
    pub(crate) from: Option<String>,
    pub(crate) full_name: Option<String>,
}

impl SendmailRequest {
    /// This request (the config's default profile, sender and aliases) for a message kept
    /// with `options` before the config could be used.
    pub(crate) fn for_unprepared(&self, options: &Unprepared) -> Result<SendmailRequest> {
        let mut request = self.clone();
        request.recipients = options.recipients.clone();
        request.extract_recipients = options.extract_recipients;
        request.ignore_dots = options.ignore_dots;
        request.full_name = options.full_name.clone();
        if let Some(from) = &options.from {
            request.sender = Mailbox::parse(from)?;
        }
        Ok(request)
    }
}

/// Resolves `sendmail`. When the message could be sent but the config cannot be used
/// (`config_error`, no profile, a bad alias), the result is [`Request::SendmailUnresolved`]:
/// a message that was handed over must be kept even then.
pub(crate) fn resolve_or_keep(
    context: &Context<'_>,
    args: SendmailArgs,
    config_error: Option<Error>,
) -> Result<Request> {
    let delivers = matches!(args.mode.as_deref(), None | Some("m"));
    let options = Unprepared {
        recipients: args.recipients.clone(),
        extract_recipients: args.extract_recipients,
        ignore_dots: args.ignore_dots || args.options.iter().any(|o| o == "i"),
        from: args.from.clone(),
        full_name: args.full_name.clone(),
    };
    let result = match config_error {
        Some(error) if delivers => Err(error),
        Some(error) => return Err(error),
        None => resolve(context, args),
    };
    match result {
        Err(error) if delivers && error.kind() == ErrorKind::Config => {
            Ok(Request::SendmailUnresolved(UnresolvedSendmail {
                error,
                options,
                outbox_dir: context.outbox_dir()?,
            }))
        }
        other => other,
    }
}

/// The request a message kept unprepared is sent with: the config's default profile, its
/// sender and the aliases, as for `sendmail` with no options.
pub(crate) fn base(context: &Context<'_>) -> Result<SendmailRequest> {
    let args = SendmailArgs {
        extract_recipients: false,
        ignore_dots: false,
        from: None,
        full_name: None,
        options: Vec::new(),
        body_type: None,
        dsn: None,
        dsn_return: None,
        envelope_id: None,
        mode: None,
        recipients: Vec::new(),
        save_sent: false,
    };
    match resolve(context, args)? {
        Request::Sendmail(request) => Ok(request),
        _ => Err(Error::new(
            ErrorKind::Internal,
            "sendmail resolved to something else",
        )),
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
        delivery: Delivery {
            outbox_dir: context.outbox_dir()?,
            log: context.log(),
            sent_copy,
        },
        ignore_dots: args.ignore_dots || args.options.iter().any(|o| o == "i"),
        extract_recipients: args.extract_recipients,
        sender,
        full_name: args.full_name,
        recipients: args.recipients,
        aliases: Aliases(aliases),
        profile,
    }))
}
