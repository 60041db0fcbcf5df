//! The path boundary: a path a template or a data row names may only reach files inside the
//! template's folder or the data file's folder — never `/etc/passwd` or `../../secret`.
//!
//! The check is not done on names: every open goes through [`beneath::open`], which resolves
//! the path relative to the folder's descriptor in one kernel-checked step and then checks the
//! opened file is a regular one. A merge checks each file when it validates the rows and reads
//! it, opened the same way again, when the row is sent; a symlink or a FIFO swapped in
//! between is refused at that moment, and what is read is the file that passed the check.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Part;
use crate::template::beneath::{self, Refused};

/// A file named by a template or a data row, found inside one of the allowed folders.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Confined {
    root: PathBuf,
    relative: PathBuf,
    /// "attachment", "inline image": for error messages.
    what: &'static str,
}

impl Confined {
    /// The file's path (folder + relative path): its name, content type and cache key.
    pub(crate) fn path(&self) -> PathBuf {
        self.root.join(&self.relative)
    }

    /// Opens the file inside its folder again, checks it, and reads that open file.
    pub(crate) fn read(&self) -> Result<Part> {
        let file = beneath::open(&self.root, &self.relative).map_err(|why| {
            refusal(
                why,
                &self.relative.display().to_string(),
                &[&self.root],
                self.what,
            )
        })?;
        Part::from_open_file(file, &self.path(), self.what)
    }
}

/// Resolves `relative` (a rendered attach/inline path) inside one of `roots` (canonical
/// folders) and refuses anything that would leave them: absolute paths, `..`, symlinks that
/// point outside, and anything that is not a regular file (a FIFO, a device).
pub(crate) fn confine(relative: &str, roots: &[&Path], what: &'static str) -> Result<Confined> {
    let path = Path::new(relative);
    if relative.trim().is_empty() {
        return Err(Error::data(format!("{what} path is empty")));
    }
    if path.is_absolute() || path.has_root() {
        return Err(refuse(what, relative, "absolute paths are not allowed"));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refuse(what, relative, "'..' is not allowed"));
    }
    for root in roots {
        match beneath::open(root, path) {
            Ok(_checked) => {
                return Ok(Confined {
                    root: root.to_path_buf(),
                    relative: path.to_path_buf(),
                    what,
                });
            }
            Err(Refused::NotFound) => continue,
            Err(why) => return Err(refusal(why, relative, roots, what)),
        }
    }
    Err(refusal(Refused::NotFound, relative, roots, what))
}

fn refuse(what: &str, relative: &str, why: &str) -> Error {
    Error::data(format!(
        "{what} '{relative}' refused: {why}; attachments must be files inside the \
         template's folder or the data file's folder"
    ))
}

fn refusal(why: Refused, relative: &str, roots: &[&Path], what: &str) -> Error {
    match why {
        Refused::Outside => refuse(
            what,
            relative,
            "it is (or passes through) a symlink to something outside those folders",
        ),
        Refused::NotRegular(kind) => {
            refuse(what, relative, &format!("it is {kind}, not a regular file"))
        }
        Refused::NotFound => Error::new(
            ErrorKind::NoInput,
            format!(
                "{what} '{relative}' not found in {}",
                roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ),
        Refused::Io(e) => Error::new(
            ErrorKind::NoInput,
            format!("cannot open {what} '{relative}': {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::part_data::PartData;
    use crate::template::tests::write;

    #[test]
    fn confinement() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("t").canonicalize().ok();
        assert!(root.is_none());
        std::fs::create_dir(outer.path().join("t")).unwrap();
        let root = outer.path().join("t").canonicalize().unwrap();
        write(outer.path(), "secret", "s");
        write(&root, "ok/file.pdf", "x");
        std::os::unix::fs::symlink(outer.path().join("secret"), root.join("link")).unwrap();
        std::os::unix::fs::symlink("ok/file.pdf", root.join("inner-link")).unwrap();
        let roots = [root.as_path()];

        assert!(confine("ok/file.pdf", &roots, "attachment").is_ok());
        assert!(confine("inner-link", &roots, "attachment").is_ok());
        for bad in ["../secret", "ok/../../secret", "/etc/passwd", "link"] {
            let err = confine(bad, &roots, "attachment").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Data, "{bad}");
            assert!(err.message().contains("refused"), "{bad}: {err}");
        }
        let err = confine("missing.pdf", &roots, "attachment").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoInput);
        assert!(confine("ok", &roots, "attachment").is_err());

        // Swapped after the check: the read opens it again and refuses.
        let checked = confine("ok/file.pdf", &roots, "attachment").unwrap();
        assert_eq!(checked.read().unwrap().data, PartData::from(&b"x"[..]));
        std::fs::remove_file(root.join("ok/file.pdf")).unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret"), root.join("ok/file.pdf")).unwrap();
        let err = checked.read().unwrap_err();
        assert!(err.message().contains("refused"), "{err}");
    }
}
