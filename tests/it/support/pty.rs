//! rmail at a terminal: runs the command a [`Rmail`] holds on a pseudo-terminal through
//! `terminal.py` (Python's standard `pty` module), typing what a person would type.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::{PYTHON, Rmail, Run};

/// The pseudo-terminal driver.
pub const PTY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/terminal.py");

/// One step of the dialogue.
pub enum Step<'a> {
    /// Wait until this regular expression appears on the screen.
    Expect(&'a str),
    /// Type this (Python escapes: `\n`, `\x04` Ctrl-D, `\x03` Ctrl-C).
    Send(&'a str),
}

/// Runs `rmail`'s command (program, arguments, environment) on a terminal, with stdin,
/// stdout and stderr all on it. The [`Run`]'s stdout is the screen; its stderr is the
/// driver's own complaint when a step timed out.
#[track_caller]
pub fn run_on_terminal(rmail: &Rmail, steps: &[Step<'_>]) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(PYTHON);
    cmd.arg(PTY).args(["--timeout", "40"]);
    for step in steps {
        match step {
            Step::Expect(re) => cmd.arg("--expect").arg(re),
            Step::Send(text) => cmd.arg("--send").arg(text),
        };
    }
    cmd.arg("--")
        .arg(rmail.get_program())
        .args(rmail.get_args());
    cmd.env_clear().env("TERM", "xterm");
    for (key, value) in rmail.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    if let Some(dir) = rmail.get_current_dir() {
        cmd.current_dir(dir);
    } else {
        cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    }
    let out = cmd.output().expect("run tests/it/support/terminal.py");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}
