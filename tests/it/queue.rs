//! The outbox as a user sees it: `rmail queue list | flush | drop`, the lock that keeps two
//! flushes from sending a message twice, and the delivery log (`log_file`, `-v`).
//! Messages get into the outbox the way they do in real life: a `sendmail` run that met a
//! temporary failure.

use std::fs;
use std::thread;
use std::time::Duration;

use crate::support::*;

const FROM: &str = "Nightly Job <job@example.com>";
const WAIT: Duration = Duration::from_secs(5);

/// A config with the default profile `t` (`profile` is its `[profiles.t]` table) and, when
/// given, a `log_file`.
fn config(profile: &str, log_file: Option<&std::path::Path>) -> String {
    let log = log_file
        .map(|p| format!("log_file = {}\n", toml_string(&p.display().to_string())))
        .unwrap_or_default();
    format!("{log}{}", default_config(profile, FROM))
}

fn plain_profile(port: u16) -> String {
    crate::support::plain_profile(port, 2)
}

fn profile_for(server: &Server) -> String {
    server
        .profile_toml("t")
        .replace("timeout_secs = 10\n", "timeout_secs = 3\n")
}

/// Runs `sendmail -i RECIPIENTS…` in `cmd`'s home with a message whose subject is `subject`.
fn sendmail_run(cmd: &Rmail, subject: &str, recipients: &[&str], extra: &[&str]) -> Run {
    let mut again = cmd.again();
    again
        .args(extra)
        .arg("-i")
        .args(recipients)
        .stdin_bytes(format!("Subject: {subject}\n\nbody of {subject}\n"));
    again.run()
}

/// Queues one message per subject (against a refused port) and returns their ids in order.
fn queue_messages(cmd: &Rmail, subjects: &[String], recipients: &[&str]) -> Vec<String> {
    cmd.write_config(&config(&plain_profile(closed_port()), None));
    for subject in subjects {
        sendmail_run(cmd, subject, recipients, &[]).assert_code(75);
    }
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), subjects.len(), "{ids:?}");
    ids
}

/// An entry's metadata as stored (`ID.json`).
fn entry_meta(cmd: &Rmail, id: &str) -> serde_json::Value {
    let path = cmd.outbox_dir().join(format!("{id}.json"));
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn queue(cmd: &Rmail, args: &[&str]) -> Run {
    let mut r = cmd.rmail_here();
    r.arg("queue").args(args);
    r.run()
}

#[test]
fn list_shows_id_recipients_and_last_error() {
    let cmd = sendmail();
    // One kept after a refused connection...
    cmd.write_config(&config(&plain_profile(closed_port()), None));
    sendmail_run(&cmd, "first", &["a@example.com", "b@example.com"], &[]).assert_code(75);
    // ...one after a 451 on RCPT.
    let server = Server::start(ServerOptions::plain().rcpt_reply("c@example.com", 451));
    cmd.write_config(&config(&profile_for(&server), None));
    sendmail_run(&cmd, "second", &["c@example.com"], &[]).assert_code(75);
    assert!(server.messages().is_empty());

    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let run = queue(&cmd, &["list"]);
    run.assert_success();
    let out = &run.stdout;
    for id in &ids {
        assert_eq!(
            out.matches(id.as_str()).count(),
            1,
            "{id} listed once\n{run}"
        );
    }
    // Each entry: a line with its id, then a line with its last error.
    let block = |id: &str| -> String {
        let lines: Vec<&str> = out.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} not listed\n{out}"));
        lines[at..(at + 2).min(lines.len())].join("\n")
    };
    let refused = ids
        .iter()
        .find(|id| entry_meta(&cmd, id)["recipients"].as_array().map(Vec::len) == Some(2))
        .expect("the refused entry");
    let deferred = ids.iter().find(|id| *id != refused).expect("the 451 entry");
    let first = block(refused);
    assert!(
        first.contains("a@example.com") && first.contains("b@example.com"),
        "{first}"
    );
    assert!(
        first.to_lowercase().contains("refused"),
        "last error shown\n{first}"
    );
    assert!(first.contains("age "), "{first}");
    let second = block(deferred);
    assert!(second.contains("c@example.com"), "{second}");
    assert!(second.contains("451"), "last error shown\n{second}");
    assert!(out.contains("2 message(s)"), "{run}");

    // The same facts are in the entry itself.
    let meta = entry_meta(&cmd, deferred);
    assert_eq!(meta["profile"], "t");
    assert_eq!(meta["from"], "job@example.com");
    assert_eq!(meta["attempts"], 1);
    assert!(
        meta["last_error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("451"),
        "{meta}"
    );
}

/// Kept messages are mail: nobody but the user may read them.
#[test]
fn outbox_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let cmd = sendmail();
    let ids = queue_messages(&cmd, &["private".to_owned()], &["ops@example.com"]);
    let mode = |p: &std::path::Path| {
        fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&cmd.outbox_dir()), 0o700);
    for ext in ["eml", "json"] {
        let path = cmd.outbox_dir().join(format!("{}.{ext}", ids[0]));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    // Still private after a failed flush rewrote the entry.
    queue(&cmd, &["flush"]).assert_code(75);
    assert_eq!(
        mode(&cmd.outbox_dir().join(format!("{}.json", ids[0]))),
        0o600
    );
}

#[test]
fn list_of_an_empty_outbox_says_so() {
    let cmd = rmail();
    let run = queue(&cmd, &["list"]);
    run.assert_success();
    assert!(run.stdout.contains("empty"), "{run}");
}

#[test]
fn drop_removes_one_message_and_flush_sends_the_rest() {
    let cmd = sendmail();
    let subjects: Vec<String> = ["keep me", "drop me"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    queue_messages(&cmd, &subjects[..1], &["keep@example.com"]);
    let before = cmd.outbox_ids();
    sendmail_run(&cmd, &subjects[1], &["drop@example.com"], &[]).assert_code(75);
    let dropped = cmd
        .outbox_ids()
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the second entry");

    let run = queue(&cmd, &["drop", &dropped]);
    run.assert_success();
    assert!(run.stdout.contains(&dropped), "{run}");
    assert!(!cmd.outbox_dir().join(format!("{dropped}.json")).exists());
    assert!(!cmd.outbox_dir().join(format!("{dropped}.eml")).exists());
    assert_eq!(cmd.outbox_ids(), before);
    let list = queue(&cmd, &["list"]);
    assert!(!list.stdout.contains(&dropped), "{list}");
    assert!(list.stdout.contains(&before[0]), "{list}");

    // Dropping it again, or a made-up id, is an error that names the id; nothing changes.
    for id in [dropped.as_str(), "no-such-id"] {
        let run = queue(&cmd, &["drop", id]);
        assert!(!run.success(), "{run}");
        assert_eq!(run.code(), 64, "{run}");
        assert!(
            run.stderr.contains(id) && run.stderr.contains("queue list"),
            "{run}"
        );
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run}");
    }
    assert_eq!(cmd.outbox_ids(), before);

    let server = Server::plain();
    cmd.write_config(&config(&profile_for(&server), None));
    queue(&cmd, &["flush"]).assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "only the kept message is sent");
    assert_eq!(got[0].rcpt_tos, ["keep@example.com"]);
    assert_eq!(got[0].parsed().subject(), Some("keep me"));
    assert!(cmd.outbox_ids().is_empty());
}

#[test]
fn flush_against_a_still_failing_server_keeps_and_counts_attempts() {
    let cmd = sendmail();
    let server = Server::start(ServerOptions::plain().rcpt_reply("ops@example.com", 451));
    let log = cmd.home().join("rmail.log");
    cmd.write_config(&config(&profile_for(&server), Some(&log)));
    sendmail_run(&cmd, "stubborn", &["ops@example.com"], &[]).assert_code(75);
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 1);
    let id = &ids[0];
    let queued_at = entry_meta(&cmd, id)["queued_at"].clone();

    for attempt in 2..=3 {
        // The first retry is due at once; later ones back off (tests/it/lifecycle.rs):
        // move the entry's clock on so that this flush tries again.
        if attempt > 2 {
            let path = cmd.outbox_dir().join(format!("{id}.json"));
            let mut meta = entry_meta(&cmd, id);
            meta["next_attempt"] = serde_json::json!(0);
            fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
        }
        let run = queue(&cmd, &["flush"]);
        run.assert_code(75);
        assert!(
            run.stderr.contains(id.as_str()) && run.stderr.contains("451"),
            "{run}"
        );
        assert!(run.stderr.contains("kept"), "{run}");
        assert_eq!(cmd.outbox_ids(), ids, "still kept, same id");
        let meta = entry_meta(&cmd, id);
        assert_eq!(meta["attempts"], attempt, "{meta}");
        assert_eq!(meta["queued_at"], queued_at, "{meta}");
        assert!(
            meta["last_error"]
                .as_str()
                .unwrap_or_default()
                .starts_with("451"),
            "{meta}"
        );
    }
    let list = queue(&cmd, &["list"]);
    assert!(list.stdout.contains("attempts 3"), "{list}");
    assert!(server.messages().is_empty(), "nothing delivered");
    let results: Vec<String> = fs::read_to_string(&log)
        .expect("log_file written")
        .lines()
        .map(|l| {
            assert!(l.contains("reply=\"451"), "{l}");
            l.split(" result=")
                .nth(1)
                .unwrap_or_default()
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(results, ["queued", "deferred", "deferred"]);
    // Three transactions reached RCPT: the original attempt and two flushes.
    let rcpts = server
        .commands()
        .iter()
        .filter(|c| c.verb() == "RCPT")
        .count();
    assert_eq!(rcpts, 3, "{}", server.session_log());
}

#[test]
fn two_flushes_at_once_send_each_message_exactly_once() {
    const N: usize = 12;
    let cmd = sendmail();
    let subjects: Vec<String> = (1..=N).map(|i| format!("queued message {i:02}")).collect();
    queue_messages(&cmd, &subjects, &["ops@example.com"]);

    let server = Server::plain();
    cmd.write_config(&config(&profile_for(&server), None));
    let flushes: Vec<_> = (0..2)
        .map(|_| {
            let mut flush = cmd.rmail_here();
            flush.args(["queue", "flush"]);
            thread::spawn(move || flush.run())
        })
        .collect();
    for flush in flushes {
        flush.join().expect("flush thread").assert_success();
    }

    let got = server.wait_for(N, WAIT);
    server.wait_idle();
    let got_now = server.messages();
    assert_eq!(
        got_now.len(),
        N,
        "each message exactly once; got {:#?}",
        got.len()
    );
    let mut seen: Vec<String> = got_now
        .iter()
        .map(|m| m.parsed().subject().unwrap_or_default().to_owned())
        .collect();
    seen.sort();
    assert_eq!(seen, subjects);
    assert!(cmd.outbox_ids().is_empty());
}

#[test]
fn log_file_gets_one_line_per_attempt() {
    let cmd = sendmail();
    let log = cmd.home().join("rmail.log");
    let flaky = Server::start(
        ServerOptions::plain()
            .rcpt_reply("b@example.com", 451)
            .fail_first(1),
    );
    let strict = Server::start(ServerOptions::plain().rcpt_reply("gone@example.com", 550));

    // 1: queued (451), 2: its flush, sent, 3: refused for good (550), 4: sent right away.
    cmd.write_config(&config(&profile_for(&flaky), Some(&log)));
    sendmail_run(&cmd, "one", &["a@example.com", "b@example.com"], &[]).assert_code(75);
    queue(&cmd, &["flush"]).assert_success();
    cmd.write_config(&config(&profile_for(&strict), Some(&log)));
    sendmail_run(&cmd, "two", &["gone@example.com"], &[]).assert_code(65);
    sendmail_run(&cmd, "three", &["a@example.com"], &[]).assert_success();

    let flushed = flaky.wait_for(1, WAIT);
    assert_eq!(flushed.len(), 1);
    let direct = strict.wait_for(1, WAIT);
    assert_eq!(direct.len(), 1);
    let text = fs::read_to_string(&log).expect("log_file written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "one line per attempt:\n{text}");

    let field = |line: &str, key: &str| -> String {
        let start = line
            .find(&format!(" {key}="))
            .unwrap_or_else(|| panic!("no {key}= in {line}"))
            + key.len()
            + 2;
        let rest = &line[start..];
        if let Some(quoted) = rest.strip_prefix('"') {
            quoted[..quoted.rfind('"').expect("closing quote")].to_owned()
        } else {
            rest.split(' ').next().unwrap_or_default().to_owned()
        }
    };
    for line in &lines {
        assert!(
            line.len() > 20 && line.as_bytes()[4] == b'-' && line[..20].ends_with('Z'),
            "starts with a UTC time: {line}"
        );
        assert_eq!(field(line, "profile"), "t", "{line}");
        assert_eq!(field(line, "from"), "job@example.com", "{line}");
    }
    let results: Vec<String> = lines.iter().map(|l| field(l, "result")).collect();
    assert_eq!(results, ["queued", "sent", "failed", "sent"], "{text}");
    assert_eq!(field(lines[0], "to"), "a@example.com,b@example.com");
    assert!(field(lines[0], "reply").starts_with("451"), "{text}");
    assert_eq!(field(lines[1], "to"), "a@example.com,b@example.com");
    assert!(field(lines[1], "reply").starts_with("250"), "{text}");
    assert_eq!(field(lines[2], "to"), "gone@example.com");
    assert!(field(lines[2], "reply").starts_with("550"), "{text}");
    assert!(field(lines[3], "reply").starts_with("250"), "{text}");
    // size is the message's size: what the server received.
    assert_eq!(
        field(lines[1], "size"),
        flushed[0].raw.len().to_string(),
        "{text}"
    );
    assert_eq!(field(lines[0], "size"), field(lines[1], "size"));
    assert_eq!(
        field(lines[3], "size"),
        direct[0].raw.len().to_string(),
        "{text}"
    );
}

/// `rmail send` records its attempt in the delivery log too (issue 4: "one line per
/// message").
#[test]
fn send_writes_the_delivery_log() {
    let cmd = rmail();
    let log = cmd.home().join("rmail.log");
    let server = Server::plain();
    cmd.write_config(&config(&profile_for(&server), Some(&log)));
    let mut send = cmd.again();
    send.args([
        "send",
        "--to",
        "ops@example.com",
        "-s",
        "logged",
        "--text",
        "hi",
    ]);
    send.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("result=sent"), "{text}");
    assert!(
        text.contains(&format!("size={}", got[0].raw.len())),
        "{text}"
    );
}

#[test]
fn verbose_prints_the_log_line_and_the_conversation() {
    let cmd = sendmail();
    let server = Server::plain();
    cmd.write_config(&config(&profile_for(&server), None));
    let run = sendmail_run(&cmd, "verbose", &["ops@example.com"], &["-v"]);
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    let err = &run.stderr;
    assert!(err.contains("MAIL FROM:<job@example.com>"), "{run}");
    assert!(err.contains("RCPT TO:<ops@example.com>"), "{run}");
    assert!(
        err.lines().any(|l| l.contains("<-") && l.contains("250")),
        "{run}"
    );
    let log_line = err
        .lines()
        .find(|l| l.contains("result=sent"))
        .unwrap_or_else(|| panic!("no log line\n{run}"));
    assert!(log_line.contains("profile=t"), "{log_line}");
    assert!(log_line.contains("to=ops@example.com"), "{log_line}");
    assert!(
        log_line.contains(&format!("size={}", got[0].raw.len())),
        "{log_line}"
    );
    assert!(log_line.contains("reply=\"250"), "{log_line}");
    assert!(run.stdout.is_empty(), "{run}");

    // Without -v and without log_file: silent on success.
    let quiet = sendmail_run(&cmd, "quiet", &["ops@example.com"], &[]);
    quiet.assert_success();
    assert!(quiet.stderr.is_empty(), "{quiet}");

    // queue flush -v logs each message it sends.
    cmd.write_config(&config(&plain_profile(closed_port()), None));
    sendmail_run(&cmd, "later", &["ops@example.com"], &[]).assert_code(75);
    cmd.write_config(&config(&profile_for(&server), None));
    let mut flush = cmd.rmail_here();
    flush.args(["queue", "flush", "-v"]);
    let run = flush.run();
    run.assert_success();
    assert!(run.stderr.contains("result=sent"), "{run}");
    assert!(run.stderr.contains("DATA"), "{run}");
    assert_eq!(server.wait_for(3, WAIT).len(), 3);
}

/// One connection carries every kept message of a profile.
#[test]
fn flush_sends_a_profiles_messages_over_one_connection() {
    let cmd = sendmail();
    let subjects: Vec<String> = (1..=4).map(|i| format!("kept {i}")).collect();
    queue_messages(&cmd, &subjects, &["ops@example.com"]);
    let server = Server::plain();
    cmd.write_config(&config(&profile_for(&server), None));
    queue(&cmd, &["flush"]).assert_success();
    let got = server.wait_for(4, WAIT);
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|m| m.conn == got[0].conn), "{got:#?}");
    assert_eq!(server.connections(), 1);
    assert!(cmd.outbox_ids().is_empty());
}

/// A server that cannot be reached is tried once per flush, not once per kept message:
/// three messages behind a stalled relay cost one timeout.
#[test]
fn flush_tries_a_dead_server_once() {
    let cmd = sendmail();
    let subjects: Vec<String> = (1..=3).map(|i| format!("stuck {i}")).collect();
    let ids = queue_messages(&cmd, &subjects, &["ops@example.com"]);
    let stalled = Server::start(ServerOptions::plain().stall());
    cmd.write_config(&config(
        &plain_profile(stalled.port()).replace("timeout_secs = 2", "timeout_secs = 1"),
        None,
    ));
    let run = queue(&cmd, &["flush"]);
    run.assert_code(75);
    assert!(
        run.elapsed < Duration::from_millis(2500),
        "one timeout, not three: {:?}\n{run}",
        run.elapsed
    );
    assert_eq!(stalled.connections(), 1, "{}", stalled.session_log());
    for id in &ids {
        assert_eq!(entry_meta(&cmd, id)["attempts"], 2, "{id}");
    }
}
