//! The path boundary: a path a template or a data row names may only reach files inside the
//! template's folder or the data file's folder — never `/etc/passwd` or `../../secret`.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Resolves `relative` (a rendered attach/inline path) inside one of `roots` (canonical
/// folders) and refuses anything that would leave them: absolute paths, `..`, and symlinks
/// that point outside. Returns the canonical path of an existing regular file.
pub(crate) fn confine(relative: &str, roots: &[&Path], what: &str) -> Result<PathBuf> {
    let refuse = |why: &str| {
        Error::data(format!(
            "{what} '{relative}' refused: {why}; attachments must be files inside the \
             template's folder or the data file's folder"
        ))
    };
    let path = Path::new(relative);
    if relative.trim().is_empty() {
        return Err(Error::data(format!("{what} path is empty")));
    }
    if path.is_absolute() || path.has_root() {
        return Err(refuse("absolute paths are not allowed"));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refuse("'..' is not allowed"));
    }
    for root in roots {
        let candidate = root.join(path);
        // symlink_metadata: a dangling symlink still "exists" here and is then refused
        // below rather than reported as missing.
        if candidate.symlink_metadata().is_err() {
            continue;
        }
        let Ok(real) = candidate.canonicalize() else {
            return Err(refuse("it is a broken symlink"));
        };
        if !roots.iter().any(|r| real.starts_with(r)) {
            return Err(refuse("it is a symlink to a file outside those folders"));
        }
        if !real.is_file() {
            return Err(Error::data(format!("{what} '{relative}' is not a file")));
        }
        return Ok(real);
    }
    Err(Error::new(
        ErrorKind::NoInput,
        format!(
            "{what} '{relative}' not found in {}",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    ))
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
    }
}
