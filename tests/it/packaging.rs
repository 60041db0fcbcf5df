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

/// The man page as `man -l -` renders it (MANWIDTH=100), overstriking undone. Fails when
/// man-db is missing: `.ci/run` installs it.
fn rendered_man() -> String {
    let page = run_ok(&["man"]);
    let mut man = Command::new("man")
        .args(["--warnings", "-l", "-"])
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run man -l - (install man-db; bash .ci/run does)");
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
    text
}

/// The lines of one top-level section of the rendered page, without man's indentation.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| *l != heading);
    assert!(lines.next().is_some(), "no {heading} section:\n{text}");
    lines
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .map(|l| l.strip_prefix("       ").unwrap_or(l))
        .collect()
}

/// `man` itself renders the page without warnings.
#[test]
fn man_renders_the_page() {
    let text = rendered_man();
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

/// CONFIGURATION is config.example.toml, line for line, as a reader of the page sees it
/// (and can copy it: no typographic dashes or quotes).
#[test]
fn man_configuration_section_is_config_example_toml() {
    let text = rendered_man();
    let shown = section(&text, "CONFIGURATION");
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .unwrap();
    // The section opens with one sentence and a blank line, then the file.
    assert!(shown[0].contains("config.example.toml"), "{shown:?}");
    let mut body: Vec<&str> = shown[2..].to_vec();
    while body.last() == Some(&"") {
        body.pop();
    }
    assert_eq!(body, file.lines().collect::<Vec<_>>());
    // And the file is a configuration rmail loads.
    rmail()
        .args([
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"),
        ])
        .arg("profiles")
        .run()
        .assert_success();
}

/// EXIT STATUS, ENVIRONMENT and FILES are there, and the exit codes are the ones README's
/// table documents.
#[test]
fn man_documents_exit_status_environment_and_files() {
    let text = rendered_man();
    let exit = section(&text, "EXIT STATUS");
    let man_codes: Vec<u8> = exit
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let readme_codes: Vec<u8> = readme
        .split_once("## Exit codes")
        .unwrap()
        .1
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(man_codes, readme_codes, "{exit:?}");
    assert_eq!(man_codes.first(), Some(&0));
    let env = section(&text, "ENVIRONMENT").join("\n");
    for var in [
        "RMAIL_CONFIG",
        "RMAIL_PROFILE",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "HOME",
    ] {
        assert!(env.contains(var), "{var}: {env}");
    }
    let files = section(&text, "FILES").join("\n");
    for file in [
        "~/.config/rmail/config.toml",
        "outbox",
        "DATA.journal",
        "index.html",
    ] {
        assert!(files.contains(file), "{file}: {files}");
    }
}

/// Global options are listed apart from a command's own; the environment variable behind
/// -p is said once; `man` and `completions`, which read no config, offer none of them.
#[test]
fn help_groups_global_options_and_hides_them_where_ignored() {
    let help = run_ok(&["send", "--help"]);
    let (own, global) = help
        .split_once("Global options:")
        .expect("a Global options heading");
    for flag in ["--config", "--profile", "--verbose"] {
        assert!(
            !own.contains(flag),
            "{flag} among send's own options:\n{help}"
        );
        assert!(global.contains(flag), "{flag}:\n{help}");
    }
    assert!(own.contains("--to"), "{help}");
    let profile_line = global.lines().find(|l| l.contains("--profile")).unwrap();
    assert_eq!(
        profile_line.matches("RMAIL_PROFILE").count(),
        1,
        "{profile_line}"
    );
    let top = run_ok(&["--help"]);
    assert_eq!(top.matches("RMAIL_CONFIG").count(), 1, "{top}");
    for command in ["man", "completions"] {
        let help = run_ok(&[command, "--help"]);
        for flag in ["--config", "--profile", "--verbose", "Global options"] {
            assert!(
                !help.contains(flag),
                "rmail {command} --help offers {flag}:\n{help}"
            );
        }
    }
    // The bash completion for `rmail man` offers only its own options.
    let bash = run_ok(&["completions", "bash"]);
    let man_case = bash
        .split("rmail__subcmd__man)")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.contains("opts=")))
        .expect("a case for rmail man");
    assert!(!man_case.contains("--config"), "{man_case}");
    let send_case = bash
        .split("rmail__subcmd__send)")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.contains("opts=")))
        .unwrap();
    assert!(send_case.contains("--config"), "{send_case}");
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
