//! `rmail send` arguments + the profile → a [`MessageSpec`]. Reads the files the flags name
//! and the body from stdin; everything is read and checked before anything is sent.

use std::io::{IsTerminal, Read};

use crate::cli::SendArgs;
use crate::error::{Error, Result};
use crate::message::{Header, InlineImage, Mailbox, MessageSpec, Part};
use crate::profile::Profile;

/// Builds the message `rmail send` was asked for. `stdin` is read for the body only when
/// no body was given on the command line and it is not a terminal.
pub fn from_args(
    args: &SendArgs,
    profile: Option<&Profile>,
    stdin: impl Read + IsTerminal,
) -> Result<MessageSpec> {
    let text = match (&args.text, &args.text_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(path)) => Some(read_text(path, "text file")?),
        (None, None) if args.html_file.is_none() && !stdin.is_terminal() => {
            Some(read_stdin(stdin)?)
        }
        (None, None) => None,
    };
    let html = args
        .html_file
        .as_deref()
        .map(|path| read_text(path, "HTML file"))
        .transpose()?;

    let spec = MessageSpec {
        from: Some(sender(args.from.as_deref(), profile)?),
        to: Mailbox::parse_all(&args.to)?,
        cc: Mailbox::parse_all(&args.cc)?,
        bcc: Mailbox::parse_all(&args.bcc)?,
        reply_to: match args
            .reply_to
            .as_deref()
            .or(profile.and_then(|p| p.reply_to.as_deref()))
        {
            Some(list) => Mailbox::parse_list(list)?,
            None => Vec::new(),
        },
        subject: args.subject.clone().unwrap_or_default(),
        text,
        html,
        inline: args
            .inline
            .iter()
            .map(|arg| InlineImage::from_arg(arg))
            .collect::<Result<_>>()?,
        attachments: args
            .attach
            .iter()
            .map(|path| Part::read(path, "attachment"))
            .collect::<Result<_>>()?,
        headers: args
            .headers
            .iter()
            .map(|h| Header::parse(h))
            .collect::<Result<_>>()?,
    };
    spec.validate()?;
    Ok(spec)
}

/// The From address: the flag, else the profile's `from`, else its username when that is an
/// address, else `user@hostname` as mail(1) and sendmail do.
pub fn sender(flag: Option<&str>, profile: Option<&Profile>) -> Result<Mailbox> {
    if let Some(from) = flag.or(profile.and_then(|p| p.from.as_deref())) {
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

fn read_text(path: &std::path::Path, what: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::read_file(what, path, &e))?;
    String::from_utf8(bytes).map_err(|_| {
        Error::data(format!(
            "{what} {} is not UTF-8; convert it first (e.g. iconv -t UTF-8)",
            path.display()
        ))
    })
}

/// The body from stdin. Invalid UTF-8 (a cron job's stray byte) is replaced rather than
/// refused: losing the whole notification would be worse.
fn read_stdin(mut stdin: impl Read) -> Result<String> {
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes).map_err(|e| {
        Error::new(
            crate::ErrorKind::NoInput,
            format!("cannot read the body from stdin: {e}"),
        )
    })?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
