//! Opening a file *beneath* a folder, in one step the kernel checks: the path is resolved
//! relative to the folder's descriptor and may not leave it, through `..` or through a
//! symlink (Linux `openat2` with `RESOLVE_BENEATH`). Checking a path by name and opening it
//! again later would let a symlink swapped in between send a file from anywhere; the file
//! descriptor returned here is the one that was checked, and the one that is read.
//!
//! Where `openat2` is missing (Linux before 5.6, other Unix systems), each component is opened
//! with `openat(…, O_NOFOLLOW)`: no symlink is followed at all, which is stricter but never
//! leaves the folder.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

/// Why a file beneath a folder could not be opened.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Nothing at that path (try the next folder).
    NotFound,
    /// The path leaves the folder (a symlink out, `..`, an absolute path).
    Outside,
    /// It exists but is not a regular file (a FIFO, a device, a folder, a socket).
    NotRegular(&'static str),
    /// Any other I/O error.
    Io(std::io::Error),
}

/// Opens `relative` beneath `root` for reading and checks that it is a regular file. A FIFO
/// or device is opened non-blocking, so that checking it never hangs.
pub(crate) fn open(root: &Path, relative: &Path) -> Result<File, Refused> {
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Refused::Outside);
    }
    let dir = File::open(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Refused::NotFound,
        _ => Refused::Io(e),
    })?;
    let fd = match openat2_beneath(&dir, relative) {
        Err(Errno::ENOSYS) => open_nofollow(&dir, relative),
        other => other,
    }
    .map_err(classify)?;
    let file = File::from(fd);
    let kind = file.metadata().map_err(Refused::Io)?.file_type();
    if !kind.is_file() {
        return Err(Refused::NotRegular(if kind.is_dir() {
            "a folder"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_block_device() || kind.is_char_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }));
    }
    Ok(file)
}

fn flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY
}

#[cfg(target_os = "linux")]
fn openat2_beneath(dir: &File, relative: &Path) -> nix::Result<OwnedFd> {
    use nix::fcntl::{OpenHow, ResolveFlag};
    let how = OpenHow::new()
        .flags(flags())
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    nix::fcntl::openat2(dir.as_fd(), relative, how)
}

#[cfg(not(target_os = "linux"))]
fn openat2_beneath(_dir: &File, _relative: &Path) -> nix::Result<OwnedFd> {
    Err(Errno::ENOSYS)
}

/// One `openat(…, O_NOFOLLOW)` per component: folders with `O_DIRECTORY`, the last one as
/// the file.
fn open_nofollow(dir: &File, relative: &Path) -> nix::Result<OwnedFd> {
    let parts: Vec<&std::ffi::OsStr> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    let Some((last, folders)) = parts.split_last() else {
        return Err(Errno::EISDIR);
    };
    let mut current: Option<OwnedFd> = None;
    for part in folders {
        let next = match &current {
            Some(fd) => openat(fd.as_fd(), part, true),
            None => openat(dir.as_fd(), part, true),
        }?;
        current = Some(next);
    }
    match &current {
        Some(fd) => openat(fd.as_fd(), last, false),
        None => openat(dir.as_fd(), last, false),
    }
}

fn openat(
    at: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    folder: bool,
) -> nix::Result<OwnedFd> {
    let flags = if folder {
        OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW
    } else {
        flags() | OFlag::O_NOFOLLOW
    };
    nix::fcntl::openat(at, Path::new(name), flags, Mode::empty())
}

fn classify(e: Errno) -> Refused {
    match e {
        Errno::ENOENT => Refused::NotFound,
        // EXDEV: RESOLVE_BENEATH saw the path leave; ELOOP: O_NOFOLLOW met a symlink.
        Errno::EXDEV | Errno::ELOOP => Refused::Outside,
        Errno::ENOTDIR => Refused::NotRegular("not a regular file"),
        e => Refused::Io(std::io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn stays_beneath_the_folder() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(outer.path().join("secret"), "s").unwrap();
        std::fs::write(root.join("sub/ok.txt"), "ok").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret"), root.join("out")).unwrap();
        std::os::unix::fs::symlink("../secret", root.join("up")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        std::os::unix::fs::symlink("sub/ok.txt", root.join("in")).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(root.join("fifo"))
                .status()
                .unwrap()
                .success()
        );

        let mut text = String::new();
        open(&root, Path::new("sub/ok.txt"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "ok");
        assert!(
            open(&root, Path::new("in")).is_ok(),
            "a symlink that stays inside"
        );
        for out in [
            "out",
            "up",
            "zero",
            "../secret",
            "/etc/passwd",
            "sub/../../secret",
        ] {
            assert!(
                matches!(open(&root, Path::new(out)), Err(Refused::Outside)),
                "{out}"
            );
        }
        assert!(matches!(
            open(&root, Path::new("fifo")),
            Err(Refused::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            open(&root, Path::new("sub")),
            Err(Refused::NotRegular("a folder"))
        ));
        assert!(matches!(
            open(&root, Path::new("missing")),
            Err(Refused::NotFound)
        ));
    }

    #[test]
    fn the_fallback_follows_no_symlink() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/ok.txt"), "ok").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("sub/out")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("linkdir")).unwrap();
        let dir = File::open(root).unwrap();
        assert!(open_nofollow(&dir, Path::new("sub/ok.txt")).is_ok());
        for bad in ["sub/out", "linkdir/ok.txt"] {
            let e = open_nofollow(&dir, Path::new(bad)).unwrap_err();
            assert!(matches!(e, Errno::ELOOP | Errno::ENOTDIR), "{bad}: {e}");
        }
    }
}
