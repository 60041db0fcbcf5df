//! The queue and the log as a new user meets them (issue 15): a flush finds the profile a
//! message was queued with (even from another config file), `-p` re-routes a flush, a
//! flush says what it did, `mailq` lists the queue, and `log_file` gets a line per merge
//! delivery in a folder rmail creates. Messages are queued the real way: a `sendmail` run
//! against a refused port.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

const FROM: &str = "Nightly Job <job@example.com>";
const WAIT: Duration = Duration::from_secs(5);

fn profile(name: &str, port: u16) -> String {
    format!(
        "[profiles.{name}]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
         timeout_secs = 3\nfrom = {}\n",
        toml_string(FROM)
    )
}

/// Queues one message with `sendmail ARGS… -i ops@example.com`; returns its id.
fn queue_one(cmd: &Rmail, args: &[&str], subject: &str) -> String {
    let mut s = cmd.again();
    s.args(args)
        .args(["-i", "ops@example.com"])
        .stdin_bytes(format!("Subject: {subject}\n\nbody\n"));
    s.run().assert_code(75);
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

fn flush(cmd: &Rmail, args: &[&str]) -> Run {
    let mut r = cmd.rmail_here();
    r.args(args).args(["queue", "flush"]);
    r.run()
}

/// Queued with `--config ./elsewhere.toml`, flushed with no `--config` at all (as an hourly
/// cron job does): the entry records which config file it came from (the path only, no
/// secret), and the flush sends it with that profile, saying so in one line.
#[test]
fn flush_finds_the_config_file_the_message_was_queued_with() {
    let server = Server::plain();
    let cmd = sendmail();
    let elsewhere = cmd.home().join("projects/backup/rmail.toml");
    fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    let password = "s3cret-never-in-the-outbox";
    let write = |port: u16| {
        fs::write(
            &elsewhere,
            format!(
                "default_profile = \"backup\"\n{}username = \"u\"\npassword = \"{password}\"\n",
                profile("backup", port)
            ),
        )
        .unwrap();
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
    };
    write(closed_port());
    let config = elsewhere.to_str().unwrap();
    let id = queue_one(&cmd, &["--config", config], "nightly");
    let meta = fs::read_to_string(cmd.outbox_dir().join(format!("{id}.json"))).unwrap();
    assert!(meta.contains("rmail.toml"), "{meta}");
    assert!(!meta.contains(password), "{meta}");

    // The relay is back (the profile has no AUTH on this server: drop the login).
    fs::write(
        &elsewhere,
        format!(
            "default_profile = \"backup\"\n{}",
            profile("backup", server.port())
        ),
    )
    .unwrap();
    assert!(!cmd.config_path().exists(), "no default config");
    let run = flush(&cmd, &[]);
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@example.com"]);
    assert!(cmd.outbox_ids().is_empty());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(lines[0].contains("1 sent, 0 kept"), "{run}");

    // An empty outbox flushes silently: an hourly cron job must not mail every hour.
    let run = flush(&cmd, &[]);
    run.assert_success();
    assert_eq!(run.stderr, "", "{run}");
    assert_eq!(run.stdout, "", "{run}");
}

/// The relay a message was queued for is down for the day: `queue flush -p other` sends
/// every kept message through `other` (the log line names it), instead of ignoring `-p`.
#[test]
fn p_reroutes_a_flush() {
    let server = Server::plain();
    let cmd = sendmail();
    let log = cmd.home().join("rmail.log");
    cmd.write_config(&format!(
        "default_profile = \"main\"\nlog_file = {}\n{}{}",
        toml_string(log.to_str().unwrap()),
        profile("main", closed_port()),
        profile("backup", server.port())
    ));
    queue_one(&cmd, &[], "via backup");
    let run = flush(&cmd, &[]);
    run.assert_code(75);
    server.assert_nothing_sent();
    assert_eq!(cmd.outbox_ids().len(), 1);

    let run = flush(&cmd, &["-p", "backup"]);
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(
        got[0].parsed().subject(),
        Some("via backup"),
        "{:?}",
        got[0]
    );
    assert!(cmd.outbox_ids().is_empty());
    assert!(run.stderr.contains("1 sent, 0 kept"), "{run}");
    let text = fs::read_to_string(&log).unwrap();
    let last = text.lines().last().unwrap();
    assert!(
        last.contains("profile=backup") && last.contains("result=sent"),
        "{text}"
    );

    // A -p naming no profile is refused before anything is tried.
    let mut again = cmd.again();
    again
        .args(["-i", "ops@example.com"])
        .stdin_bytes("Subject: x\n\nbody\n");
    again.run().assert_code(75);
    let run = flush(&cmd, &["-p", "nosuch"]);
    run.assert_code(78);
    assert!(run.stderr.contains("nosuch"), "{run}");
    assert_eq!(cmd.outbox_ids().len(), 1);
}

/// rmail linked as `mailq` lists the queue, like `sendmail -bp` and `rmail queue list`.
#[test]
fn mailq_lists_the_queue() {
    let cmd = sendmail();
    cmd.write_config(&format!(
        "default_profile = \"t\"\n{}",
        profile("t", closed_port())
    ));
    let id = queue_one(&cmd, &[], "kept");
    let link = cmd.home().join("bin/mailq");
    std::os::unix::fs::symlink(rmail_bin(), &link).unwrap();
    let mut mailq = Rmail::new(&link);
    mailq.env("XDG_STATE_HOME", cmd.state_home());
    let run = mailq.run();
    run.assert_success();
    assert!(
        run.stdout.contains(&id) && run.stdout.contains("ops@example.com"),
        "{run}"
    );
    let mut bp = cmd.again();
    bp.arg("-bp");
    let listed = bp.run();
    listed.assert_success();
    assert_eq!(listed.stdout, run.stdout);
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `merge` writes one log_file line per delivery (accepted and refused alike), and a
/// log_file in a folder that does not exist yet gets that folder, 0700, instead of only a
/// warning.
#[test]
fn merge_logs_each_delivery_into_a_folder_it_creates() {
    let server = Server::start(ServerOptions::plain().rcpt_reply("gone@example.com", 550));
    let cmd = rmail();
    let log = cmd.home().join("logs/rmail/deliveries.log");
    cmd.write_config(&format!(
        "default_profile = \"t\"\nlog_file = {}\n{}",
        toml_string(log.to_str().unwrap()),
        profile("t", server.port())
    ));
    let dir = cmd.home().join("mail");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("note.txt"),
        "+++\nto = \"{{ email }}\"\nsubject = \"Hello {{ name }}\"\n+++\nHi {{ name }}.\n",
    )
    .unwrap();
    fs::write(
        dir.join("rows.csv"),
        "name,email\nAda,ada@example.com\nGone,gone@example.com\nBob,bob@example.com\n",
    )
    .unwrap();
    let mut merge = cmd.again();
    merge
        .arg("merge")
        .arg(dir.join("note.txt"))
        .arg("--data")
        .arg(dir.join("rows.csv"));
    let run = merge.run();
    run.assert_code(65);
    assert!(!run.stderr.contains("log_file"), "{run}");
    server.wait_for(2, WAIT);
    let text = fs::read_to_string(&log).unwrap_or_else(|e| panic!("{e}\n{run}"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (rcpt, result) in [
        ("ada@example.com", "result=sent"),
        ("gone@example.com", "result=failed"),
        ("bob@example.com", "result=sent"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("to={rcpt} ")) && l.contains(result)),
            "{rcpt} {result}: {text}"
        );
    }
    assert!(lines.iter().all(|l| l.contains("profile=t ")), "{text}");
    assert_eq!(mode(&cmd.home().join("logs")), 0o700);
    assert_eq!(mode(&cmd.home().join("logs/rmail")), 0o700);
}

/// The same for a one-off `send`: no warning, the folder is made, the line is there.
#[test]
fn send_creates_the_log_folder() {
    let server = Server::plain();
    let cmd = rmail();
    let log = cmd.home().join("state/rmail/log.txt");
    cmd.write_config(&format!(
        "default_profile = \"t\"\nlog_file = {}\n{}",
        toml_string(log.to_str().unwrap()),
        profile("t", server.port())
    ));
    let mut send = cmd.again();
    send.args(["send", "--to", "a@example.com", "-s", "x", "--text", "y"]);
    let run = send.run();
    run.assert_success();
    assert_eq!(run.stderr, "", "{run}");
    server.wait_for(1, WAIT);
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(mode(&cmd.home().join("state")), 0o700);
}
