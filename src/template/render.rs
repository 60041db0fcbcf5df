//! [`Template::render`]: one row of variables → a [`Rendered`] message. Address fields are
//! rendered slot by slot so that a value fills a name or an address but cannot add a
//! recipient; file paths are confined to the allowed folders.

use std::path::{Path, PathBuf};

use minijinja::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::message::address::Mailbox;
use crate::message::spec::{Header, MessageSpec};
use crate::template::confine::confine;
use crate::template::{AddressSlot, BodyKind, Rendered, Template, address};

impl Template {
    fn render_one(&self, name: &str, vars: &Value) -> Result<String> {
        let template = self.env.get_template(name).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("template '{name}' vanished: {e}"),
            )
        })?;
        template.render(vars).map_err(|e| {
            let line_offset = if name == self.body {
                Some(self.body_line)
            } else if Some(name) == self.text.as_deref() {
                Some(1)
            } else {
                None
            };
            let at = match line_offset {
                Some(first) => format!("{name} line {}", first + e.line().unwrap_or(1) - 1),
                None => format!("front matter `{name}`"),
            };
            let detail = e.detail().unwrap_or("");
            match undefined_name(detail) {
                Some(var) if e.kind() == minijinja::ErrorKind::UndefinedError => {
                    Error::data(format!("undefined variable `{var}` in {at}"))
                        .with_source(Undefined(var.to_string()))
                }
                _ if detail.is_empty() => Error::data(format!("{} in {at}", e.kind())),
                _ => Error::data(format!("{}: {detail} in {at}", e.kind())),
            }
        })
    }

    /// Renders one mailbox slot. Each part must stay what the template made it: a value that
    /// would add, split or change a mailbox is refused, naming the field and the variables.
    fn render_mailbox(&self, slot: &AddressSlot, vars: &Value) -> Result<Option<Mailbox>> {
        let refuse = |why: String, culprits: &[String]| {
            let from = match culprits {
                [] => String::new(),
                [one] => format!(" (the value of `{one}`)"),
                many => format!(
                    " (the values of {})",
                    many.iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Error::data(format!(
                "`{}`: {why}{from}; a value from data fills in a name or an address, it \
                 cannot add or change a recipient",
                slot.field
            ))
        };
        let address = self.render_one(&slot.address, vars)?;
        if slot.whole {
            return address::one_mailbox(&address).map_err(|why| refuse(why, &slot.address_vars));
        }
        let email =
            address::bare_address(&address).map_err(|why| refuse(why, &slot.address_vars))?;
        let name = match &slot.name {
            Some(name) => address::display_name(&self.render_one(name, vars)?)
                .map_err(|why| refuse(why, &slot.name_vars))?,
            None => None,
        };
        Ok(Some(Mailbox { name, email }))
    }

    /// Renders the message for one row. `roots` are the folders attachments may come from
    /// (canonical); the template's own folder is always one of them.
    pub(crate) fn render(&self, vars: &Value, roots: &[PathBuf]) -> Result<Rendered> {
        self.render_except(vars, roots, &[])
    }

    /// Like [`Template::render`], but leaves out the front-matter keys in `skip` (`to`,
    /// `cc`, `bcc`, `from`, `reply_to`, `subject`): `rmail send` flags that replace them
    /// must not fail on variables only those keys use.
    pub(crate) fn render_except(
        &self,
        vars: &Value,
        roots: &[PathBuf],
        skip: &[&str],
    ) -> Result<Rendered> {
        let skipped = |key: &str| skip.contains(&key);
        let mut roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
        if !roots.contains(&self.dir.as_path()) {
            roots.insert(0, &self.dir);
        }
        let addresses = |key: &str, slots: &[AddressSlot]| -> Result<Vec<Mailbox>> {
            if skipped(key) {
                return Ok(Vec::new());
            }
            let mut all = Vec::new();
            for slot in slots {
                all.extend(self.render_mailbox(slot, vars)?);
            }
            Ok(all)
        };
        let subject = match &self.subject {
            Some(name) if !skipped("subject") => self.render_one(name, vars)?,
            _ => String::new(),
        };
        let body = self.render_one(&self.body, vars)?;
        let (text, html) = match self.kind {
            BodyKind::Text => (Some(body), None),
            BodyKind::Html => {
                let text = self
                    .text
                    .as_deref()
                    .map(|name| self.render_one(name, vars))
                    .transpose()?;
                (text, Some(body))
            }
            BodyKind::Markdown => {
                let mut html = String::new();
                let options = pulldown_cmark::Options::ENABLE_TABLES
                    | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
                pulldown_cmark::html::push_html(
                    &mut html,
                    pulldown_cmark::Parser::new_ext(&body, options),
                );
                (Some(body), Some(html))
            }
        };
        let spec = MessageSpec {
            from: addresses("from", &self.from)?.into_iter().next(),
            to: addresses("to", &self.to)?,
            cc: addresses("cc", &self.cc)?,
            bcc: addresses("bcc", &self.bcc)?,
            reply_to: addresses("reply_to", &self.reply_to)?,
            subject,
            text,
            html,
            inline: Vec::new(),
            attachments: Vec::new(),
            headers: self
                .headers
                .iter()
                .map(|(header, name)| {
                    Header::parse(&format!("{header}: {}", self.render_one(name, vars)?))
                })
                .collect::<Result<_>>()?,
        };
        let mut spec = spec;
        if !self.unsubscribe.is_empty() {
            let targets = self
                .unsubscribe
                .iter()
                .map(|name| self.render_one(name, vars))
                .collect::<Result<Vec<_>>>()?;
            spec.headers
                .extend(crate::message::spec::list_unsubscribe(&targets)?);
        }
        crate::message::spec::refuse_line_breaks("subject", &spec.subject)?;
        let attach = self
            .attach
            .iter()
            .map(|name| confine(&self.render_one(name, vars)?, &roots, "attachment"))
            .collect::<Result<_>>()?;
        let inline = self
            .inline
            .iter()
            .map(|(cid, name)| {
                Ok((
                    cid.clone(),
                    confine(&self.render_one(name, vars)?, &roots, "inline image")?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Rendered {
            spec,
            attach,
            inline,
        })
    }
}

/// The variable an "undefined variable" error of [`Template::render`] is about, so that the
/// caller can say how to define it (a `--var` for `rmail send`, a data column for a merge).
pub(crate) fn undefined_variable(err: &Error) -> Option<&str> {
    let source = std::error::Error::source(err)?;
    source.downcast_ref::<Undefined>().map(|u| u.0.as_str())
}

/// The cause of an "undefined variable" error: the variable's name.
#[derive(Debug)]
struct Undefined(String);

impl std::fmt::Display for Undefined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is undefined", self.0)
    }
}

impl std::error::Error for Undefined {}

/// `` `name` is undefined `` → `name`.
fn undefined_name(detail: &str) -> Option<&str> {
    detail.strip_prefix('`')?.strip_suffix("` is undefined")
}
