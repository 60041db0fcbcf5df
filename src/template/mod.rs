//! Message templates: TOML front matter between `+++` lines, then a body whose type comes
//! from the file extension (`.txt` plain, `.html` HTML, `.md` Markdown rendered to HTML with
//! its source as the text part). Every front-matter string and the body are minijinja
//! templates, rendered per data row with undefined variables as errors.
//!
//! A template is loaded and compiled once; [`Template::render`] turns one row of variables
//! into a [`Rendered`] message whose file paths are resolved and confined to the template's
//! (or the data file's) folder, so a data row can never attach a file from elsewhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};
use crate::template::confine::{Confined, confine};

pub(crate) mod address;
mod beneath;
pub(crate) mod confine;
pub(crate) mod find;
pub(crate) mod values;

use crate::message::address::Mailbox;
use crate::message::spec::{Header, InlineImage, MessageSpec, Part, read_utf8};
pub(crate) use values::context;

/// The body type, from the template's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Text,
    Html,
    Markdown,
}

impl BodyKind {
    fn from_path(path: &Path) -> Option<BodyKind> {
        let ext = path.extension()?.to_string_lossy().to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" => Some(BodyKind::Text),
            "html" | "htm" => Some(BodyKind::Html),
            "md" | "markdown" => Some(BodyKind::Markdown),
            _ => None,
        }
    }
}

/// Extensions tried, in order, for a template name given without one. HTML comes before
/// text so that `welcome` means `welcome.html`, not its sibling text part `welcome.txt`.
pub(crate) const EXTENSIONS: &[&str] = &["html", "md", "txt"];

/// The front matter as written. Keys are fixed so that a typo is an error, not a silently
/// ignored setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(default)]
    to: Addresses,
    #[serde(default)]
    cc: Addresses,
    #[serde(default)]
    bcc: Addresses,
    from: Option<String>,
    reply_to: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    attach: Vec<String>,
    #[serde(default)]
    inline: BTreeMap<String, String>,
    /// List-Unsubscribe targets: `https://…` (one-click, RFC 8058) and/or `mailto:…`.
    #[serde(default)]
    unsubscribe: Addresses,
}

/// `to = "a@x"` or `to = ["a@x", "b@x"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Addresses {
    One(String),
    Many(Vec<String>),
}

impl Default for Addresses {
    fn default() -> Self {
        Addresses::Many(Vec::new())
    }
}

impl Addresses {
    fn into_vec(self) -> Vec<String> {
        match self {
            Addresses::One(s) => vec![s],
            Addresses::Many(v) => v,
        }
    }
}

/// A loaded, compiled template.
pub(crate) struct Template {
    path: PathBuf,
    dir: PathBuf,
    kind: BodyKind,
    env: Environment<'static>,
    /// Address fields, one compiled slot per mailbox the template spells.
    to: Vec<AddressSlot>,
    cc: Vec<AddressSlot>,
    bcc: Vec<AddressSlot>,
    from: Vec<AddressSlot>,
    reply_to: Vec<AddressSlot>,
    /// Names of the compiled front-matter templates (also how errors refer to them).
    subject: Option<String>,
    headers: Vec<(String, String)>,
    attach: Vec<String>,
    inline: Vec<(String, String)>,
    unsubscribe: Vec<String>,
    /// The body's template name (the file name) and the file line it starts on.
    body: String,
    body_line: usize,
    /// The sibling text part of an HTML template (`NAME.txt`), by template name.
    text: Option<String>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One mailbox of an address field, compiled: its parts are templates of their own, so a
/// value can fill a part but never change how many mailboxes there are (see [`address`]).
#[derive(Debug)]
struct AddressSlot {
    /// How errors name the field: `to`, `cc[2]`.
    field: String,
    /// Template names of the display name and the address, or of the whole mailbox.
    name: Option<String>,
    address: String,
    whole: bool,
    /// The variables each part reads, to name the culprit when a value is refused.
    name_vars: Vec<String>,
    address_vars: Vec<String>,
}

/// One row's message: the spec without its files, and the confined paths of those files.
/// Files are read later ([`Rendered::into_spec`]) so that a merge can read a file shared by
/// every row once, and need not hold every row's attachments in memory at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Everything but attachments and inline images; `from` is `None` when the template
    /// does not set it (the caller supplies the profile's).
    pub(crate) spec: MessageSpec,
    /// Files inside the allowed folders, checked; read (and checked again) when sent.
    pub(crate) attach: Vec<Confined>,
    /// Content-ID and file.
    pub(crate) inline: Vec<(String, Confined)>,
}

impl Rendered {
    /// Reads the files with `load` (which may share cached parts) and completes the spec.
    pub(crate) fn into_spec(
        self,
        mut load: impl FnMut(&Confined) -> Result<Part>,
    ) -> Result<MessageSpec> {
        let mut spec = self.spec;
        for file in &self.attach {
            spec.attachments.push(load(file)?);
        }
        for (cid, file) in &self.inline {
            spec.inline
                .push(InlineImage::new(cid.clone(), load(file)?)?);
        }
        Ok(spec)
    }
}

/// Splits `+++` front matter from the body. Returns (front matter, body, the body's first
/// line number). A file without front matter is all body.
fn split_front_matter(source: &str) -> std::result::Result<(&str, &str, usize), String> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = source.split_inclusive('\n');
    match lines.next() {
        Some(first) if first.trim_end() == "+++" => {
            let start = first.len();
            let mut offset = start;
            let mut line_no = 1;
            for line in lines {
                line_no += 1;
                if line.trim_end() == "+++" {
                    let body = source.get(offset + line.len()..).unwrap_or("");
                    return Ok((&source[start..offset], body, line_no + 1));
                }
                offset += line.len();
            }
            Err("front matter starts with '+++' on line 1 but has no closing '+++' line".into())
        }
        _ => Ok(("", source, 1)),
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map(|t| t.matches('\n').count())
        .unwrap_or(0)
        + 1
}

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

    /// The template file (canonical path).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The folder the template is in: attachments are resolved (and confined) here.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

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
            let what = match undefined_name(detail) {
                Some(var) if e.kind() == minijinja::ErrorKind::UndefinedError => {
                    format!("{UNDEFINED}{var}`")
                }
                _ if detail.is_empty() => e.kind().to_string(),
                _ => format!("{}: {detail}", e.kind()),
            };
            Error::data(format!("{what} in {at}"))
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
    let rest = err.message().strip_prefix(UNDEFINED)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// How [`Template::render`] starts the message of an undefined variable.
const UNDEFINED: &str = "undefined variable `";

/// `` `name` is undefined `` → `name`.
fn undefined_name(detail: &str) -> Option<&str> {
    detail.strip_prefix('`')?.strip_suffix("` is undefined")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    fn vars(pairs: &[(&str, &str)]) -> Value {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        context(&map)
    }

    #[test]
    fn front_matter_split() {
        assert_eq!(
            split_front_matter("+++\na = 1\n+++\nbody\n").unwrap(),
            ("a = 1\n", "body\n", 4)
        );
        assert_eq!(
            split_front_matter("\u{feff}+++\r\n+++\r\nx").unwrap(),
            ("", "x", 3)
        );
        assert_eq!(
            split_front_matter("no front\n").unwrap(),
            ("", "no front\n", 1)
        );
        assert!(split_front_matter("+++\na = 1\n").is_err());
    }

    #[test]
    fn renders_every_field_with_strict_undefined() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "files/inv-7.pdf", "%PDF");
        let path = write(
            dir.path(),
            "t.html",
            "+++\nto = \"{{ name }} <{{ email }}>\"\ncc = [\"a@x.com\", \"b@x.com\"]\n\
             subject = \"Invoice {{ n }} & more\"\nheaders = { X-Row = \"{{ n }}\" }\n\
             attach = [\"files/inv-{{ n }}.pdf\"]\n+++\n<p>Hi {{ name }}</p>\n",
        );
        let t = Template::load(&path).unwrap();
        let r = t
            .render(
                &vars(&[("name", "A & B"), ("email", "ab@x.com"), ("n", "7")]),
                &[],
            )
            .unwrap();
        assert_eq!(r.spec.to[0].to_string(), "A & B <ab@x.com>");
        assert_eq!(r.spec.cc.len(), 2);
        assert_eq!(r.spec.subject, "Invoice 7 & more");
        assert_eq!(r.spec.html.as_deref(), Some("<p>Hi A &amp; B</p>\n"));
        assert_eq!(r.spec.headers[0].value, "7");
        assert!(r.attach[0].path().ends_with("files/inv-7.pdf"));

        let err = t
            .render(&vars(&[("name", "A"), ("email", "a@x.com")]), &[])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Data);
        assert_eq!(
            err.message(),
            "undefined variable `n` in front matter `subject`"
        );
    }

    #[test]
    fn body_errors_give_the_file_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "t.txt",
            "+++\nsubject = \"s\"\n+++\nline 4\n{{ who }}\n",
        );
        let t = Template::load(&path).unwrap();
        let err = t.render(&vars(&[]), &[]).unwrap_err();
        assert_eq!(err.message(), "undefined variable `who` in t.txt line 5");

        let path = write(dir.path(), "bad.txt", "+++\nsubjet = \"s\"\n+++\n");
        let err = Template::load(&path).unwrap_err();
        assert!(err.message().contains("line 2"), "{err}");
        assert!(err.message().contains("subjet"), "{err}");

        let path = write(dir.path(), "syntax.txt", "+++\n+++\nok\n{{ oops\n");
        let err = Template::load(&path).unwrap_err();
        assert!(err.message().contains("line 4"), "{err}");
    }

    #[test]
    fn markdown_and_sibling_text() {
        let dir = tempfile::tempdir().unwrap();
        let md = write(
            dir.path(),
            "m.md",
            "+++\n+++\n# Hi {{ name }}\n\n**bold**\n",
        );
        let r = Template::load(&md)
            .unwrap()
            .render(&vars(&[("name", "Ann")]), &[])
            .unwrap();
        assert_eq!(r.spec.text.as_deref(), Some("# Hi Ann\n\n**bold**\n"));
        let html = r.spec.html.unwrap();
        assert!(html.contains("<h1>Hi Ann</h1>") && html.contains("<strong>bold</strong>"));

        let html = write(dir.path(), "w.html", "<p>{{ name }}</p>");
        write(dir.path(), "w.txt", "Hello {{ name }}\n");
        let r = Template::load(&html)
            .unwrap()
            .render(&vars(&[("name", "Ann")]), &[])
            .unwrap();
        assert_eq!(r.spec.text.as_deref(), Some("Hello Ann\n"));
    }

    #[test]
    fn text_templates_refuse_inline_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "t.txt",
            "+++\ninline = { logo = \"l.png\" }\n+++\n",
        );
        assert!(Template::load(&path).is_err());
        let path = write(
            dir.path(),
            "t.html",
            "+++\ninline = { \"a b\" = \"l.png\" }\n+++\n",
        );
        assert!(Template::load(&path).is_err());
    }
}
