//! Where a template named on the command line is: a path, or a name in `./templates` or the
//! user's templates folder, with or without its extension.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::template::EXTENSIONS;

/// Finds a template by path, or by name in `./templates` and then the user's templates
/// folder (`$XDG_CONFIG_HOME/rmail/templates`, else `~/.config/rmail/templates`). The
/// extension may be left out.
pub(crate) fn find(name: &str) -> Result<PathBuf> {
    let given = Path::new(name);
    let mut dirs: Vec<PathBuf> = vec![PathBuf::new()];
    let is_path = given.components().count() > 1 || given.is_absolute();
    if !is_path {
        dirs.push(PathBuf::from("templates"));
        if let Some(config) = crate::config::dirs::config_dir() {
            dirs.push(config.join("templates"));
        }
    }
    for dir in &dirs {
        let base = dir.join(given);
        if base.is_file() {
            return Ok(base);
        }
        for ext in EXTENSIONS {
            let mut candidate = base.clone().into_os_string();
            candidate.push(".");
            candidate.push(ext);
            let candidate = PathBuf::from(candidate);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let looked = if is_path {
        format!("{name} (also with .html, .md, .txt)")
    } else {
        let mut places: Vec<String> = dirs
            .iter()
            .skip(1)
            .map(|d| d.display().to_string())
            .collect();
        places.insert(0, "the current folder".into());
        format!(
            "{} (names may leave out .html, .md, .txt)",
            places.join(", ")
        )
    };
    Err(Error::new(
        ErrorKind::NoInput,
        format!("template '{name}' not found; looked in {looked}"),
    ))
}
