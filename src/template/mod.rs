//! Message templates: TOML front matter between `+++` lines, then a body whose type comes
//! from the file extension (`.txt` plain, `.html` HTML, `.md` Markdown rendered to HTML with
//! its source as the text part). Every front-matter string and the body are minijinja
//! templates, rendered per data row with undefined variables as errors.
//!
//! A template is loaded and compiled once; [`Template::render`] turns one row of variables
//! into a [`Rendered`] message whose file paths are resolved and confined to the template's
//! (or the data file's) folder, so a data row can never attach a file from elsewhere.

use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::error::Result;
use crate::message::spec::{InlineImage, MessageSpec, Part};
use crate::template::confine::Confined;

pub(crate) mod address;
mod beneath;
pub(crate) mod confine;
pub(crate) mod find;
mod front_matter;
mod load;
mod render;
pub(crate) mod values;

pub(crate) use render::undefined_variable;
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

impl Template {
    /// The template file (canonical path).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The folder the template is in: attachments are resolved (and confined) here.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use minijinja::Value;

    /// Writes `text` to `dir/name`, creating folders: a template or a file it names.
    pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
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
