//! Diagnostics written while work is under way, from wherever it happens: the `-v` trace
//! (the SMTP dialogue, each delivery-log line) and warnings that must not fail the work they
//! are about (a `log_file` that cannot be written). The stages hand their lines here; this
//! is the only place outside `commands/` and `report/` that writes to stderr, one whole line
//! per call, so that lines from a merge's sessions never interleave mid-line.

use std::io::Write as _;

/// Writes one `-v` line. The caller has checked that `-v` was given.
pub(crate) fn verbose(line: &str) {
    write_line(line);
}

/// Writes one warning line, `rmail: warning: …`.
pub(crate) fn warning(what: &str) {
    write_line(&format!("rmail: warning: {what}"));
}

fn write_line(line: &str) {
    // One write of the whole line; stderr is unbuffered, and a closed stderr is no reason
    // to stop sending mail.
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("{line}\n").as_bytes());
}
