//! [`Template::load`]: reads a template file, parses its front matter and compiles every
//! template string in it (and the sibling text part of an HTML body) once, so that syntax
//! errors are reported before any row is rendered, naming the file and line.

use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::{InlineImage, Part, read_utf8};
use crate::template::front_matter::{FrontMatter, line_of, split_front_matter};
use crate::template::{AddressSlot, BodyKind, Template, address};

impl Template {
    /// Reads, parses and compiles a template file (and its sibling `NAME.txt` for HTML).
    /// Syntax errors in the front matter or in any template string are reported here,
    /// naming the file and line.
    pub(crate) fn load(path: &Path) -> Result<Template> {
        let kind = BodyKind::from_path(path).ok_or_else(|| {
            Error::usage(format!(
                "template {} must end in .txt, .html or .md (the extension chooses the body type)",
                path.display()
            ))
        })?;
        let source = read_utf8(path, "template")?;
        let canonical = path
            .canonicalize()
            .map_err(|e| Error::read_file("template", path, &e))?;
        let dir = canonical
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let file_name = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "template".into());
        let bad = |what: String| Error::data(format!("template {}: {what}", path.display()));

        let (front, body, body_line) = split_front_matter(&source).map_err(bad)?;
        let front: FrontMatter = toml::from_str(front).map_err(|e| {
            // The front matter starts on line 2 of the file.
            let line = e.span().map(|s| line_of(front, s.start) + 1).unwrap_or(2);
            bad(format!(
                "line {line}: {}; front matter keys are to, cc, bcc, from, reply_to, subject, \
                 headers, attach, inline, unsubscribe",
                e.message().trim()
            ))
        })?;
        if !front.inline.is_empty() && kind == BodyKind::Text {
            return Err(bad(
                "inline images need an HTML body; rename the template to .html or .md".into(),
            ));
        }
        for cid in front.inline.keys() {
            let probe = Part {
                file_name: String::new(),
                content_type: String::new(),
                data: Vec::new().into(),
                encoded: None,
            };
            InlineImage::new(cid.clone(), probe).map_err(|e| bad(e.message().to_string()))?;
        }

        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax.keep_trailing_newline(true);
        let syntax = syntax
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("template syntax: {e}")))?;
        env.set_syntax(syntax);
        // Only an HTML body escapes values (a name like "A & B" must stay "A & B" in a
        // subject or a text part); Markdown is rendered as written.
        let escaped_body = (kind == BodyKind::Html).then(|| file_name.clone());
        env.set_auto_escape_callback(move |name| {
            if Some(name) == escaped_body.as_deref() {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });

        let mut add = |name: String, source: String, first_line: usize| -> Result<String> {
            env.add_template_owned(name.clone(), source).map_err(|e| {
                let at = if first_line > 0 {
                    format!("line {}", first_line + e.line().unwrap_or(1) - 1)
                } else {
                    format!("front matter `{name}`")
                };
                bad(format!(
                    "{at}: {}; fix the template",
                    e.detail().unwrap_or("syntax error")
                ))
            })?;
            Ok(name)
        };
        let list = |add: &mut dyn FnMut(String, String, usize) -> Result<String>,
                    key: &str,
                    values: Vec<String>|
         -> Result<Vec<String>> {
            let many = values.len() > 1;
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let name = if many {
                        format!("{key}[{}]", i + 1)
                    } else {
                        key.to_string()
                    };
                    add(name, v, 0)
                })
                .collect()
        };
        let mut addresses = |key: &str, values: Vec<String>| -> Result<Vec<AddressSlot>> {
            let many = values.len() > 1;
            let mut slots = Vec::new();
            for (i, value) in values.into_iter().enumerate() {
                let field = if many {
                    format!("{key}[{}]", i + 1)
                } else {
                    key.to_string()
                };
                let spelled = address::slots(&value);
                let numbered = spelled.len() > 1;
                for (j, slot) in spelled.into_iter().enumerate() {
                    let label = if numbered {
                        format!("{field} mailbox {}", j + 1)
                    } else {
                        field.clone()
                    };
                    slots.push(match slot {
                        address::Slot::Parts { name, address } => AddressSlot {
                            name_vars: name.as_deref().map(address::variables).unwrap_or_default(),
                            address_vars: address::variables(&address),
                            name: name
                                .map(|n| add(format!("{label} (name)"), n, 0))
                                .transpose()?,
                            address: add(format!("{label} (address)"), address, 0)?,
                            whole: false,
                            field: field.clone(),
                        },
                        address::Slot::Whole(source) => AddressSlot {
                            name_vars: Vec::new(),
                            address_vars: address::variables(&source),
                            name: None,
                            address: add(label, source, 0)?,
                            whole: true,
                            field: field.clone(),
                        },
                    });
                }
            }
            Ok(slots)
        };
        let to = addresses("to", front.to.into_vec())?;
        let cc = addresses("cc", front.cc.into_vec())?;
        let bcc = addresses("bcc", front.bcc.into_vec())?;
        let from = addresses("from", front.from.into_iter().collect())?;
        let reply_to = addresses("reply_to", front.reply_to.into_iter().collect())?;
        let attach = list(&mut add, "attach", front.attach)?;
        let unsubscribe = list(&mut add, "unsubscribe", front.unsubscribe.into_vec())?;
        let subject = front
            .subject
            .map(|v| add("subject".into(), v, 0))
            .transpose()?;
        let headers = front
            .headers
            .into_iter()
            .map(|(name, v)| Ok((name.clone(), add(format!("headers.{name}"), v, 0)?)))
            .collect::<Result<Vec<_>>>()?;
        let inline = front
            .inline
            .into_iter()
            .map(|(cid, v)| Ok((cid.clone(), add(format!("inline.{cid}"), v, 0)?)))
            .collect::<Result<Vec<_>>>()?;
        let body_name = add(file_name.clone(), body.to_string(), body_line)?;

        let text = if kind == BodyKind::Html {
            let sibling = canonical.with_extension("txt");
            if sibling.is_file() {
                let text_source = read_utf8(&sibling, "text part")?;
                let name = sibling
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "text".into());
                Some(add(name, text_source, 1).map_err(|e| {
                    Error::data(
                        e.message()
                            .replace(&path.display().to_string(), &sibling.display().to_string()),
                    )
                })?)
            } else {
                None
            }
        } else {
            None
        };

        Ok(Template {
            path: canonical,
            dir,
            kind,
            env,
            to,
            cc,
            bcc,
            from,
            reply_to,
            subject,
            headers,
            attach,
            inline,
            unsubscribe,
            body: body_name,
            body_line,
            text,
        })
    }
}
