//! The resolve step: every default a profile supplies reaches the command, and everything
//! about a command line is decided before stdin is read or anything is sent.

use std::time::{Duration, Instant};

use crate::support::write_file as write;
use crate::support::{Server, rmail, rmail_for, sendmail};

/// `max_per_second` in the profile paces a merge given no `--rate`: 4 rows at 2/s take the
/// slots 0, 0.5, 1.0 and 1.5 s, so the merge cannot finish in under 1.5 s.
#[test]
fn merge_honours_the_profiles_max_per_second() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "note.txt",
        "+++\nto = \"{{ email }}\"\nsubject = \"Hi\"\n+++\nHello\n",
    );
    let data = write(
        dir.path(),
        "rows.csv",
        "email\na@example.com\nb@example.com\nc@example.com\nd@example.com\n",
    );
    let mut rmail = rmail_for(&server, "test", "me@example.com", "max_per_second = 2\n");
    let started = Instant::now();
    rmail
        .args(["merge", template.to_str().unwrap(), "--data"])
        .arg(&data)
        .run()
        .assert_success();
    let elapsed = started.elapsed();
    assert_eq!(server.wait_for(4, Duration::from_secs(5)).len(), 4);
    assert!(
        elapsed >= Duration::from_millis(1400),
        "4 rows at max_per_second = 2 finished in {elapsed:?}"
    );
}

/// `sendmail -bp` is `mailq`: it lists the queue and never waits for a message on stdin
/// (a stdin that stays open used to hang it until the timeout).
#[test]
fn sendmail_bp_lists_the_queue_without_reading_stdin() {
    let server = Server::plain();
    let mut cmd = sendmail();
    cmd.write_config(&format!(
        "{}from = \"me@example.com\"\n",
        server.profile_toml("t")
    ));
    let run = cmd
        .arg("-bp")
        .stdin_open()
        .timeout(Duration::from_secs(10))
        .run();
    run.assert_success();
    assert!(run.stdout.contains("outbox is empty"), "{run}");
    server.assert_nothing_sent();
}

/// A sendmail mode rmail does not have is a usage error, also decided before stdin is read.
#[test]
fn unsupported_sendmail_mode_is_a_usage_error_at_once() {
    let mut cmd = sendmail();
    let run = cmd
        .arg("-bd")
        .stdin_open()
        .timeout(Duration::from_secs(10))
        .run();
    run.assert_code(64);
    assert!(run.stderr.contains("-bd"), "{run}");
}

/// A broken alias is a mistake in the config (78, naming the alias), not in the message,
/// whether the local name comes as an argument or from a `-t` header.
#[test]
fn a_bad_alias_is_a_configuration_error() {
    let server = Server::plain();
    for (args, input) in [
        (&["root"][..], "Subject: nightly\n\nok\n"),
        (&["-t"][..], "To: root\nSubject: nightly\n\nok\n"),
    ] {
        let mut cmd = sendmail();
        cmd.write_config(&format!(
            "aliases = {{ root = \"not an address\" }}\n{}from = \"me@example.com\"\n",
            server.profile_toml("t")
        ));
        let run = cmd.args(args).stdin_bytes(input).run();
        run.assert_code(78);
        assert!(run.stderr.contains("aliases.root"), "{run}");
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
    }
    server.assert_nothing_sent();
}

/// `rmail profiles` with a `default_profile` that names no profile says so (78) instead of
/// listing the others as if all were well.
#[test]
fn profiles_refuses_a_default_that_does_not_exist() {
    let rmail = rmail();
    rmail
        .write_config("default_profile = \"wrok\"\n[profiles.work]\nhost = \"smtp.example.com\"\n");
    let run = rmail.again().arg("profiles").run();
    run.assert_code(78);
    assert!(
        run.stderr.contains("default_profile 'wrok' is not defined"),
        "{run}"
    );
}
