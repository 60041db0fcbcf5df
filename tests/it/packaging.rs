//! What packagers and shell users get: completion scripts, the man page, and `--help` with an
//! example for every command.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::rmail;

const SUBCOMMANDS: [&str; 8] = [
    "send",
    "merge",
    "sendmail",
    "queue",
    "profiles",
    "check",
    "completions",
    "man",
];

fn run_ok(args: &[&str]) -> String {
    let mut cmd = rmail();
    cmd.args(args);
    let run = cmd.run();
    run.assert_success();
    run.stdout
}

#[test]
fn completions_cover_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run_ok(&["completions", shell]);
        assert!(script.len() > 500, "{shell}: suspiciously short:\n{script}");
        for word in ["send", "merge", "sendmail", "dry-run"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
}

#[test]
fn bash_completions_are_valid_bash() {
    let script = run_ok(&["completions", "bash"]);
    let mut bash = Command::new("bash")
        .args(["-n"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bash -n");
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = bash.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Completions and the man page come from the clap definitions alone: a broken config
/// file does not stop a packager from generating them.
#[test]
fn generation_ignores_a_broken_config() {
    let mut cmd = rmail();
    cmd.write_config("this is = = not toml\n");
    cmd.args(["completions", "zsh"]);
    cmd.run().assert_success();
    let mut cmd = cmd.again();
    cmd.args(["man"]);
    cmd.run().assert_success();
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let mut cmd = rmail();
    cmd.args(["completions", "tcsh"]);
    let run = cmd.run();
    run.assert_code(64);
    assert!(run.stderr.contains("bash"), "lists the shells: {run}");
}

#[test]
fn man_page_is_roff_documenting_every_subcommand() {
    let page = run_ok(&["man"]);
    let first = page.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(".TH") || first.starts_with(".ie"),
        "not roff: {first}"
    );
    assert!(page.lines().any(|l| l.starts_with(".TH rmail 1")), "{page}");
    for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES"] {
        assert!(page.contains(&format!(".SH {section}")), "no {section}");
    }
    for name in SUBCOMMANDS {
        assert!(
            page.contains(&format!(".SH \"RMAIL {}\"", name.to_uppercase())),
            "no section for {name}"
        );
    }
    // Options of subcommands are there too, not only their names.
    for option in ["\\-\\-dry\\-run", "\\-\\-redirect\\-to", "\\-\\-attach"] {
        assert!(page.contains(option), "no {option}");
    }
}

/// `man` itself renders the page without warnings, when man is installed.
#[test]
fn man_renders_the_page() {
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("man is not installed; the roff structure is checked by the test above");
        return;
    }
    let page = run_ok(&["man"]);
    let mut man = Command::new("man")
        .args(["--warnings", "-l", "-"])
        .env("MANWIDTH", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run man -l -");
    man.stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = man.wait_with_output().unwrap();
    // Without a terminal, man still emboldens by overstriking (`N\bN`): undo it.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man failed: {warnings}");
    assert!(warnings.trim().is_empty(), "man warns: {warnings}");
    for heading in ["RMAIL SEND", "RMAIL MERGE", "RMAIL SENDMAIL", "RMAIL QUEUE"] {
        assert!(
            text.contains(heading),
            "rendered page lacks {heading}:\n{text}"
        );
    }
    // Examples keep their lines (an unfilled block), so they can be copied.
    assert!(
        text.lines()
            .any(|l| l.trim() == "rmail send --to a@example.com -s \"Backup done\" < log.txt"),
        "{text}"
    );
}

/// Every command's --help ends with an example (an `Examples:` block), nested ones too.
#[test]
fn every_help_has_an_example() {
    let mut commands: Vec<Vec<&str>> = vec![vec![]];
    commands.extend(SUBCOMMANDS.iter().map(|s| vec![*s]));
    commands.extend(["list", "flush", "drop"].iter().map(|s| vec!["queue", *s]));
    for args in commands {
        let mut full = args.clone();
        full.push("--help");
        let help = run_ok(&full);
        assert!(
            help.contains("Example"),
            "rmail {} --help has no example:\n{help}",
            args.join(" ")
        );
    }
}

/// Invoked as `sendmail` (cron's MAILTO), --help has an example too.
#[test]
fn sendmail_personality_help_has_an_example() {
    let mut cmd = crate::support::sendmail();
    cmd.arg("--help");
    let run = cmd.run();
    run.assert_success();
    assert!(run.stdout.contains("Example"), "{run}");
}
