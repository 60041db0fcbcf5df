//! Private files: what rmail writes about the user's mail (outbox, merge journal, failed
//! rows, delivery log) is created readable by the user only, 0600 in 0700 folders, and a
//! file found readable by others is narrowed to 0600 when rmail opens it again.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and its missing parents, each one rmail creates 0700.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Opens (creating 0600 if needed) `path` with `options`, creating its missing parent
/// folders 0700; an existing file that others can read is made 0600.
pub(crate) fn open(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    let file = options.mode(0o600).open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_file() && metadata.permissions().mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Replaces `path` atomically with what `fill` writes: into a hidden temporary file beside
/// it (0600), fsynced, renamed into place, and the folder fsynced so that the rename
/// survives a power cut too. A crash leaves the old file or the new one, never half of one.
pub(crate) fn replace(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&File>) -> io::Result<()>,
) -> io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let result = (|| {
        let file = open(
            &tmp,
            OpenOptions::new().write(true).create(true).truncate(true),
        )?;
        let mut writer = io::BufWriter::new(&file);
        fill(&mut writer)?;
        writer.flush()?;
        drop(writer);
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    sync_dir(folder.unwrap_or(Path::new(".")));
    Ok(())
}

/// fsyncs the folder `dir`, so that a rename in it survives a power cut. Best effort: a
/// folder that cannot be opened was not written to either.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// Takes the exclusive lock of `path` (a private file, created if needed), waiting while
/// another process holds it; it is released when the file is dropped or the process dies.
pub(crate) fn lock(path: &Path) -> io::Result<File> {
    let file = open(
        path,
        OpenOptions::new().create(true).truncate(false).write(true),
    )?;
    file.lock()?;
    Ok(file)
}

/// Writes `bytes` to `path` (replacing it), as a private file.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = open(
        path,
        OpenOptions::new().write(true).create(true).truncate(true),
    )?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/log");
        write(&path, b"x").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        open(&path, OpenOptions::new().append(true)).unwrap();
        assert_eq!(mode(&path), 0o600, "narrowed");
    }
}
