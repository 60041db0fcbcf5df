//! A merge at a terminal (issue 15): it asks before the first message (count, profile,
//! first recipient) unless `--yes` or stdin is not a terminal, and Ctrl-C stops it with a
//! summary of what was sent and how to resume. Run on a pseudo-terminal (`support::pty`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::support::pty::{Step, run_on_terminal};
use crate::support::{Received, Rmail, Server, rmail_for};

const WAIT: Duration = Duration::from_secs(10);

/// A template and `n` rows: Person N <pN@example.com>.
fn merge_dir(n: usize) -> (TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("note.txt");
    fs::write(
        &template,
        "+++\nto = \"{{ name }} <{{ email }}>\"\nsubject = \"Hello {{ name }}\"\n+++\nHi {{ name }}\n",
    )
    .unwrap();
    let mut csv = String::from("name,email\n");
    for i in 1..=n {
        csv += &format!("Person {i},p{i}@example.com\n");
    }
    let data = dir.path().join("people.csv");
    fs::write(&data, csv).unwrap();
    (dir, template, data)
}

fn merge(server: &Server, template: &Path, data: &Path, extra: &[&str]) -> Rmail {
    let mut cmd = rmail_for(server, "office", "me@example.com", "");
    cmd.arg("merge")
        .arg(template)
        .arg("--data")
        .arg(data)
        .args(extra);
    cmd
}

fn recipients(messages: &[Received]) -> Vec<String> {
    let mut all: Vec<String> = messages.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    all.sort();
    all
}

/// On a terminal the merge says what it is about to do and waits for a yes.
#[test]
fn merge_on_a_terminal_asks_first() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(3);
    let cmd = merge(&server, &template, &data, &[]);
    let run = run_on_terminal(
        &cmd,
        &[
            Step::Expect(
                r"send 3 messages with profile 'office' \(127\.0\.0\.1:\d+\), the first to p1@example\.com\? \[y/N\]",
            ),
            Step::Send("y\\n"),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("merge: 3 sent"), "{run}");
    assert_eq!(server.wait_for(3, WAIT).len(), 3);
}

/// Anything but yes sends nothing, and says how to go on.
#[test]
fn merge_on_a_terminal_sends_nothing_without_a_yes() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(3);
    let cmd = merge(&server, &template, &data, &[]);
    let run = run_on_terminal(&cmd, &[Step::Expect(r"\[y/N\]"), Step::Send("n\\n")]);
    assert_eq!(run.status.code(), Some(130), "{run}");
    assert!(
        run.stdout.contains("nothing sent (not confirmed)") && run.stdout.contains("--yes"),
        "{run}"
    );
    server.assert_nothing_sent();
}

/// `--yes` on a terminal, and a merge whose stdin is not a terminal (cron), do not ask.
#[test]
fn yes_or_no_terminal_does_not_ask() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(2);
    let run = run_on_terminal(&merge(&server, &template, &data, &["--yes"]), &[]);
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(!run.stdout.contains("[y/N]"), "{run}");
    assert_eq!(server.wait_for(2, WAIT).len(), 2);

    let server = Server::plain();
    let (_dir, template, data) = merge_dir(2);
    let run = merge(&server, &template, &data, &[]).run();
    run.assert_success();
    assert!(!run.stderr.contains("[y/N]"), "{run}");
    assert_eq!(server.wait_for(2, WAIT).len(), 2);
}

/// Ctrl-C in the middle: the messages in flight finish, then a summary of what was sent and
/// how to resume; running the same command again sends exactly the rest.
#[test]
fn ctrl_c_stops_with_a_summary_and_resumes() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(20);
    let cmd = merge(&server, &template, &data, &["--yes", "--rate", "5/s", "-v"]);
    let run = run_on_terminal(
        &cmd,
        &[Step::Expect("row 3 .*sent to"), Step::Send("\\x03")],
    );
    assert_eq!(run.status.code(), Some(130), "{run}");
    let summary = run
        .stdout
        .lines()
        .find(|l| l.contains("merge interrupted"))
        .unwrap_or_else(|| panic!("no summary: {run}"));
    assert!(
        summary.contains("run the same command again to send the rest"),
        "{run}"
    );
    let sent: usize = summary
        .split("interrupted: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in: {summary}"));
    assert!(
        summary.contains(&format!("{} not sent yet", 20 - sent)),
        "{summary}"
    );
    assert!((3..20).contains(&sent), "{summary}");
    server.wait_idle();
    assert_eq!(server.messages().len(), sent, "the summary tells the truth");

    // Resume: the rest, each exactly once.
    let run = cmd
        .again()
        .arg("merge")
        .arg(&template)
        .arg("--data")
        .arg(&data)
        .run();
    run.assert_success();
    let all = server.wait_for(20, WAIT);
    let mut expected: Vec<String> = (1..=20).map(|i| format!("p{i}@example.com")).collect();
    expected.sort();
    assert_eq!(recipients(&all), expected);
}
