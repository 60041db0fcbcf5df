//! `rmail send` → [`SendRequest`]: addresses parsed, the sender and Reply-To defaults of the
//! profile filled in, the body's sources named (but not read).

use std::path::PathBuf;

use crate::cli::SendArgs;
use crate::config::profile::Profile;
use crate::config::profile::SaveSent;
use crate::error::{Error, Result};
use crate::message::address::Mailbox;
use crate::message::spec::Header;
use crate::settings::{self, Context, Delivery};

/// A resolved `rmail send`.
#[derive(Debug)]
pub(crate) struct SendRequest {
    /// `None` only for a dry run without any profile configured.
    pub(crate) profile: Option<Profile>,
    pub(crate) eml: Option<PathBuf>,
    pub(crate) message: ComposeRequest,
    /// Outbox, log and Sent copy; `None` for a dry run, which needs none of them.
    pub(crate) delivery: Option<Delivery>,
}

/// What the message is made of, as the flags and the profile say.
#[derive(Debug)]
pub(crate) struct ComposeRequest {
    /// `--from`, which beats a template's `from`.
    pub(crate) from: Option<Mailbox>,
    /// The profile's sender (`from`, else its username, else `user@host`), used when neither
    /// the flag nor a template names one; an error only matters then.
    pub(crate) default_from: Result<Mailbox>,
    pub(crate) to: Vec<Mailbox>,
    pub(crate) cc: Vec<Mailbox>,
    pub(crate) bcc: Vec<Mailbox>,
    /// `--reply-to`, which beats a template's `reply_to`.
    pub(crate) reply_to: Option<Vec<Mailbox>>,
    /// The profile's `reply_to`, used when neither the flag nor a template sets one.
    pub(crate) default_reply_to: Vec<Mailbox>,
    pub(crate) subject: Option<String>,
    pub(crate) text: Option<TextSource>,
    pub(crate) html_file: Option<PathBuf>,
    pub(crate) inline: Vec<InlineArg>,
    pub(crate) attach: Vec<PathBuf>,
    pub(crate) headers: Vec<Header>,
    pub(crate) template: Option<TemplateRequest>,
}

/// The text body: given on the command line, or a file to read.
#[derive(Debug, Clone)]
pub(crate) enum TextSource {
    Inline(String),
    File(PathBuf),
}

/// `--inline PATH[=CID]`.
#[derive(Debug, Clone)]
pub(crate) struct InlineArg {
    pub(crate) path: PathBuf,
    /// The Content-ID; `None` means the file name.
    pub(crate) cid: Option<String>,
}

/// `--template NAME --var KEY=VALUE…`.
#[derive(Debug)]
pub(crate) struct TemplateRequest {
    pub(crate) path: PathBuf,
    pub(crate) vars: Vec<(String, String)>,
}

pub(crate) fn resolve(context: &Context<'_>, args: SendArgs) -> Result<SendRequest> {
    let profile = if let Some(one_off) = crate::settings::server::one_off(&args.server)? {
        Some(one_off)
    } else if args.dry_run {
        context.profile()?
    } else {
        Some(context.require_profile(", or try --dry-run, or a server with --server HOST[:PORT]")?)
    };
    let message = compose_request(&args, profile.as_ref())?;
    let sent_copy = match &profile {
        Some(profile) if !args.dry_run => {
            settings::sent_copy(profile, profile.save_sent != SaveSent::No)?
        }
        _ => None,
    };
    let delivery = match args.dry_run {
        true => None,
        false => Some(Delivery {
            outbox_dir: context.outbox_dir()?,
            log: context.log(),
            sent_copy,
        }),
    };
    Ok(SendRequest {
        delivery,
        eml: args.eml,
        profile,
        message,
    })
}

fn compose_request(args: &SendArgs, profile: Option<&Profile>) -> Result<ComposeRequest> {
    let text = match (&args.text, &args.text_file) {
        (Some(text), _) => Some(TextSource::Inline(text.clone())),
        (None, Some(path)) => Some(TextSource::File(path.clone())),
        (None, None) => None,
    };
    let template = args
        .template
        .as_deref()
        .map(|name| {
            Ok::<_, Error>(TemplateRequest {
                path: crate::template::find::find(name)?,
                vars: args
                    .var
                    .iter()
                    .map(|v| parse_var(v))
                    .collect::<Result<_>>()?,
            })
        })
        .transpose()?;
    Ok(ComposeRequest {
        from: args.from.as_deref().map(Mailbox::parse).transpose()?,
        default_from: default_sender(profile),
        to: Mailbox::parse_all(&args.to)?,
        cc: Mailbox::parse_all(&args.cc)?,
        bcc: Mailbox::parse_all(&args.bcc)?,
        reply_to: args
            .reply_to
            .as_deref()
            .map(Mailbox::parse_list)
            .transpose()?,
        default_reply_to: match profile.and_then(|p| p.reply_to.as_deref()) {
            Some(list) => Mailbox::parse_list(list)?,
            None => Vec::new(),
        },
        subject: args.subject.clone(),
        text,
        html_file: args.html_file.clone(),
        inline: args.inline.iter().map(|a| inline_arg(a)).collect(),
        attach: args.attach.clone(),
        headers: args
            .headers
            .iter()
            .map(|h| Header::parse(h))
            .collect::<Result<_>>()?,
        template,
    })
}

/// `KEY=VALUE` of `--var`.
fn parse_var(var: &str) -> Result<(String, String)> {
    var.split_once('=')
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| {
            Error::usage(format!(
                "--var '{var}' must be KEY=VALUE, e.g. --var host=web1"
            ))
        })
}

/// `PATH[=CID]`. A file name can contain '=', so only a suffix without '/' counts as the CID.
fn inline_arg(arg: &str) -> InlineArg {
    match arg.rsplit_once('=') {
        Some((path, cid)) if !cid.contains('/') && !path.is_empty() => InlineArg {
            path: PathBuf::from(path),
            cid: Some(cid.to_string()),
        },
        _ => InlineArg {
            path: PathBuf::from(arg),
            cid: None,
        },
    }
}

/// The From address when no flag gives one: the profile's `from`, else its username when
/// that is an address, else `user@hostname` as mail(1) and sendmail do.
pub(crate) fn default_sender(profile: Option<&Profile>) -> Result<Mailbox> {
    if let Some(from) = profile.and_then(|p| p.from.as_deref()) {
        return Mailbox::parse(from);
    }
    if let Some(user) = profile
        .and_then(|p| p.username.as_deref())
        .filter(|u| u.contains('@'))
        && let Ok(mailbox) = Mailbox::parse(user)
    {
        return Ok(mailbox);
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string());
    let host = match lettre::transport::smtp::extension::ClientId::default() {
        lettre::transport::smtp::extension::ClientId::Domain(host) if !host.is_empty() => host,
        _ => "localhost".to_string(),
    };
    Mailbox::parse(&format!("{user}@{host}")).map_err(|_| {
        Error::usage("no sender address: pass --from ADDR or set from = \"…\" in the profile")
    })
}
