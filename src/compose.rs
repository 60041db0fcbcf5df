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
    if let Some(name) = &args.template {
        return from_template(name, args, profile, stdin);
    }
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

/// `rmail send --template NAME --var KEY=VALUE…`: the template rendered with the variables
/// (and `stdin`, the standard input when it is not a terminal, e.g. a cron job's log), then
/// every flag given on the command line overrides the front matter.
fn from_template(
    name: &str,
    args: &SendArgs,
    profile: Option<&Profile>,
    stdin: impl Read + IsTerminal,
) -> Result<MessageSpec> {
    let template = crate::template::Template::load(&crate::template::find(name)?)?;
    let has_body_flag = args.text.is_some() || args.text_file.is_some() || args.html_file.is_some();
    let mut vars = serde_json::Map::new();
    let piped = if !has_body_flag && !stdin.is_terminal() {
        read_stdin(stdin)?
    } else {
        String::new()
    };
    vars.insert("stdin".into(), serde_json::Value::String(piped));
    for var in &args.var {
        let (key, value) = var
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| {
                Error::usage(format!(
                    "--var '{var}' must be KEY=VALUE, e.g. --var host=web1"
                ))
            })?;
        vars.insert(
            key.trim().to_string(),
            serde_json::Value::String(value.to_string()),
        );
    }
    let mut skip = Vec::new();
    for (key, given) in [
        ("to", !args.to.is_empty()),
        ("cc", !args.cc.is_empty()),
        ("bcc", !args.bcc.is_empty()),
        ("from", args.from.is_some()),
        ("reply_to", args.reply_to.is_some()),
        ("subject", args.subject.is_some()),
    ] {
        if given {
            skip.push(key);
        }
    }
    let rendered = template.render_except(&crate::template::context(&vars), &[], &skip)?;
    let mut spec = rendered.into_spec(|path| Part::read(path, "attachment"))?;

    if let Some(from) = &args.from {
        spec.from = Some(Mailbox::parse(from)?);
    } else if spec.from.is_none() {
        spec.from = Some(sender(None, profile)?);
    }
    let flagged = |values: &[String], current: &mut Vec<Mailbox>| -> Result<()> {
        if !values.is_empty() {
            *current = Mailbox::parse_all(values)?;
        }
        Ok(())
    };
    flagged(&args.to, &mut spec.to)?;
    flagged(&args.cc, &mut spec.cc)?;
    flagged(&args.bcc, &mut spec.bcc)?;
    // The flag wins; the profile's reply_to only fills in when the template has none.
    let profile_reply_to = profile
        .and_then(|p| p.reply_to.as_deref())
        .filter(|_| spec.reply_to.is_empty());
    if let Some(list) = args.reply_to.as_deref().or(profile_reply_to) {
        spec.reply_to = Mailbox::parse_list(list)?;
    }
    if let Some(subject) = &args.subject {
        spec.subject = subject.clone();
    }
    if has_body_flag {
        // A body on the command line replaces the template's body as a whole.
        spec.text = match (&args.text, &args.text_file) {
            (Some(text), _) => Some(text.clone()),
            (None, Some(path)) => Some(read_text(path, "text file")?),
            (None, None) => None,
        };
        spec.html = args
            .html_file
            .as_deref()
            .map(|path| read_text(path, "HTML file"))
            .transpose()?;
    }
    for arg in &args.inline {
        spec.inline.push(InlineImage::from_arg(arg)?);
    }
    for path in &args.attach {
        spec.attachments.push(Part::read(path, "attachment")?);
    }
    for header in &args.headers {
        spec.headers.push(Header::parse(header)?);
    }
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
