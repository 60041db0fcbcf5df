//! Standard input as the body of `rmail send`: when it is read, and whether a pipe holds
//! anything. What the user pipes in is never dropped in silence: it is the body, or the
//! text part beside `--html-file`, or (beside `--text`) a reason to refuse.

use std::io::Read;
use std::os::fd::AsFd;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::settings::send::ComposeRequest;

/// How long a pipe may stay silent before rmail takes it for one nobody writes to (a
/// script's inherited stdin): only asked when a body flag was given as well.
const QUIET_PIPE: Duration = Duration::from_millis(500);

/// What standard input is for, given the flags and whether it is a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not read: a template on a terminal brings its own body.
    Ignore,
    /// Piped, no body flag: the body (or a template's `stdin` variable).
    Body,
    /// A terminal and no body anywhere: the user types it, as with mail(1).
    Typed,
    /// Piped beside `--html-file`: the text part, when anything arrives.
    TextPart,
    /// Piped beside `--text`/`--text-file`: must be empty, or rmail refuses.
    MustBeEmpty,
}

/// Decides what stdin is for.
pub(crate) fn role(request: &ComposeRequest, terminal: bool) -> Role {
    let has_text = request.text.is_some();
    let has_html = request.html_file.is_some();
    match (terminal, has_text, has_html) {
        (true, false, false) if request.template.is_none() => Role::Typed,
        (true, _, _) => Role::Ignore,
        (false, true, _) => Role::MustBeEmpty,
        (false, false, true) => Role::TextPart,
        (false, false, false) => Role::Body,
    }
}

/// True when `input` has bytes to read (or has reached its end) within [`QUIET_PIPE`]:
/// a regular file or /dev/null at once, a pipe once its writer wrote or closed it.
pub(crate) fn ready(input: &impl AsFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(input, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: 0,
        tv_nsec: QUIET_PIPE.as_nanos() as _,
    };
    matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
}

/// Whether `input`, which [`ready`] said can be read, holds at least one byte. Reads one
/// byte at most, which cannot block once it is ready.
pub(crate) fn has_bytes(mut input: impl Read) -> bool {
    let mut byte = [0u8; 1];
    matches!(input.read(&mut byte), Ok(1))
}

/// The refusal when a body was given twice.
pub(crate) fn given_twice() -> Error {
    Error::usage(
        "the body is given twice: by --text/--text-file and on standard input; drop one \
         (rmail does not drop what you piped in)",
    )
}

/// Reads all of stdin. Invalid UTF-8 (a cron job's stray byte) is replaced rather than
/// refused: losing the whole notification would be worse.
pub(crate) fn read_all(mut input: impl Read) -> Result<String> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|e| {
        Error::new(
            ErrorKind::NoInput,
            format!("cannot read the body from stdin: {e}"),
        )
        .with_source(e)
    })?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
