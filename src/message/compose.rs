//! A resolved `rmail send` ([`ComposeRequest`]) → a [`MessageSpec`]. Reads the files the
//! flags name and the body from stdin; everything is read and checked before anything is sent.

use crate::error::{Error, Result};
use crate::message::spec::{InlineImage, MessageSpec, Part, read_utf8};
use crate::settings::send::{ComposeRequest, InlineArg, TemplateRequest, TextSource};

/// Builds the message `rmail send` was asked for. `piped` is what standard input held, when
/// it was read (see `message::stdin` for when): the body, a template's `stdin` variable, or
/// the text part beside `--html-file`.
pub(crate) fn compose(request: &ComposeRequest, piped: Option<String>) -> Result<MessageSpec> {
    let mut spec = match &request.template {
        Some(template) => from_template(template, request, piped)?,
        None => MessageSpec {
            from: Some(match &request.from {
                Some(from) => from.clone(),
                None => request.default_from.clone()?,
            }),
            to: request.to.clone(),
            cc: request.cc.clone(),
            bcc: request.bcc.clone(),
            reply_to: request
                .reply_to
                .clone()
                .unwrap_or_else(|| request.default_reply_to.clone()),
            subject: request.subject.clone().unwrap_or_default(),
            // Beside --html-file, what was piped in is the text part (else it is generated).
            text: match &request.text {
                Some(source) => Some(read_text_source(source)?),
                None => piped,
            },
            html: read_html(request)?,
            ..MessageSpec::default()
        },
    };
    for arg in &request.inline {
        spec.inline.push(inline_image(arg)?);
    }
    for path in &request.attach {
        spec.attachments.push(Part::read(path, "attachment")?);
    }
    spec.headers.extend(request.headers.iter().cloned());
    spec.validate()?;
    Ok(spec)
}

/// `rmail send --template NAME --var KEY=VALUE…`: the template rendered with the variables
/// (and `stdin`, the piped standard input, e.g. a cron job's log), then every flag given on
/// the command line overrides the front matter.
fn from_template(
    template: &TemplateRequest,
    request: &ComposeRequest,
    piped: Option<String>,
) -> Result<MessageSpec> {
    let loaded = crate::template::Template::load(&template.path)?;
    let mut vars = serde_json::Map::new();
    vars.insert(
        "stdin".into(),
        serde_json::Value::String(piped.clone().unwrap_or_default()),
    );
    for (key, value) in &template.vars {
        vars.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    let mut skip = Vec::new();
    for (key, given) in [
        ("to", !request.to.is_empty()),
        ("cc", !request.cc.is_empty()),
        ("bcc", !request.bcc.is_empty()),
        ("from", request.from.is_some()),
        ("reply_to", request.reply_to.is_some()),
        ("subject", request.subject.is_some()),
    ] {
        if given {
            skip.push(key);
        }
    }
    let rendered = loaded
        .render_except(&crate::template::context(&vars), &[], &skip)
        .map_err(|e| match crate::template::undefined_variable(&e) {
            Some(var) => Error::data(format!("{}; pass --var {var}=…", e.message())),
            None => e,
        })?;
    let mut spec = rendered.into_spec(|file| file.read())?;

    if let Some(from) = &request.from {
        spec.from = Some(from.clone());
    } else if spec.from.is_none() {
        spec.from = Some(request.default_from.clone()?);
    }
    for (flag, current) in [
        (&request.to, &mut spec.to),
        (&request.cc, &mut spec.cc),
        (&request.bcc, &mut spec.bcc),
    ] {
        if !flag.is_empty() {
            current.clone_from(flag);
        }
    }
    // The flag wins; the profile's reply_to only fills in when the template has none.
    if let Some(reply_to) = &request.reply_to {
        spec.reply_to.clone_from(reply_to);
    } else if spec.reply_to.is_empty() {
        spec.reply_to.clone_from(&request.default_reply_to);
    }
    if let Some(subject) = &request.subject {
        spec.subject.clone_from(subject);
    }
    if request.text.is_some() || request.html_file.is_some() {
        // A body on the command line replaces the template's body as a whole.
        spec.text = match &request.text {
            Some(source) => Some(read_text_source(source)?),
            None => piped,
        };
        spec.html = read_html(request)?;
    }
    Ok(spec)
}

fn inline_image(arg: &InlineArg) -> Result<InlineImage> {
    let part = Part::read(&arg.path, "inline image")?;
    let cid = arg.cid.clone().unwrap_or_else(|| part.file_name.clone());
    InlineImage::new(cid, part)
}

fn read_text_source(source: &TextSource) -> Result<String> {
    match source {
        TextSource::Inline(text) => Ok(text.clone()),
        TextSource::File(path) => read_utf8(path, "text file"),
    }
}

fn read_html(request: &ComposeRequest) -> Result<Option<String>> {
    request
        .html_file
        .as_deref()
        .map(|path| read_utf8(path, "HTML file"))
        .transpose()
}

/// The Content-IDs of inline images the HTML never refers to (`cid:ID`): a mail client
/// shows such an image as an attachment, or not at all, so it is most likely a typo.
pub(crate) fn unreferenced_inline(spec: &MessageSpec) -> Vec<&str> {
    let html = spec.html.as_deref().unwrap_or("").to_ascii_lowercase();
    spec.inline
        .iter()
        .map(|image| image.cid.as_str())
        .filter(|cid| !html.contains(&format!("cid:{}", cid.to_ascii_lowercase())))
        .collect()
}
