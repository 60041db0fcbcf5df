//! The glue: one resolved request → the stages that carry it out → a [`Report`]. Only this
//! layer and `report/` print; everything they call returns values and typed errors.

pub(crate) mod check;
pub(crate) mod login;
pub(crate) mod manual;
pub(crate) mod merge;
pub(crate) mod packaging;
pub(crate) mod profiles;
pub(crate) mod queue;
pub(crate) mod send;
pub(crate) mod sendmail;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::message::part_data;
use crate::report::Report;
use crate::settings::{Request, Resolved};

/// Carries out a resolved request.
pub(crate) fn run(resolved: Resolved) -> Result<Report> {
    for warning in &resolved.warnings {
        eprintln!("rmail: {warning}");
    }
    match resolved.request {
        Request::Send(request) => send::run(request),
        Request::Merge(request) => merge::run(request),
        Request::Sendmail(request) => sendmail::run(request),
        Request::SendmailUnresolved(request) => sendmail::keep_unresolved(request),
        Request::Queue(request) => queue::run(request),
        Request::Profiles(request) => profiles::run(request),
        Request::Check(request) => check::run(request),
        Request::Login(request) => login::run(request),
        Request::Completions(shell) => packaging::completions(shell),
        Request::Man => packaging::man(),
    }
}

/// Writes `fill`'s output to stdout; a closed pipe is an error, not a panic.
pub(crate) fn write_stdout(fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    fill(&mut out).and_then(|()| out.flush()).map_err(|e| {
        // An attachment that changed while it was read is the input's fault, not stdout's.
        part_data::input_error(&e).unwrap_or_else(|| {
            Error::new(
                ErrorKind::CantCreate,
                format!("cannot write to stdout: {e}"),
            )
            .with_source(e)
        })
    })
}

/// Writes a file rmail was asked to create (`--eml`, a dry run's `.eml`). A file that could
/// not be written whole is removed (when it is a regular file, not `/dev/stdout`): half a
/// message is no copy of it.
pub(crate) fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let mut created = false;
    std::fs::File::create(path)
        .and_then(|file| {
            created = true;
            let mut writer = std::io::BufWriter::new(file);
            fill(&mut writer)?;
            writer.flush()
        })
        .map_err(|e| {
            if created && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::remove_file(path);
            }
            // An attachment that changed while it was read is the input's fault.
            part_data::input_error(&e).unwrap_or_else(|| {
                Error::new(
                    ErrorKind::CantCreate,
                    format!("cannot write {}: {e}", path.display()),
                )
                .with_source(e)
            })
        })
}
