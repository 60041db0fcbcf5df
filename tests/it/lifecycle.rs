//! The outbox lifecycle, like Postfix's queue: temporary failures back off (exponential,
//! capped) and expire after `queue_lifetime`; a permanent refusal moves the message to
//! `failed/` with the server's reply, is reported once and never re-sent; `queue list` shows
//! both; `queue retry ID` and `queue drop ID|--failed|--all`; ids are validated.
//!
//! Time is moved by rewriting the entry's own timestamps (`queued_at`, `next_attempt`),
//! the way a message that has waited for days looks on disk.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::*;

const FROM: &str = "Nightly Job <job@example.com>";
const WAIT: Duration = Duration::from_secs(5);

fn config(profile: &str, extra: &str) -> String {
    format!("default_profile = \"t\"\n{extra}{profile}from = \"{FROM}\"\n")
}

fn refused_profile() -> String {
    format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout_secs = 2\n",
        closed_port()
    )
}

fn profile_for(server: &Server) -> String {
    server
        .profile_toml("t")
        .replace("timeout_secs = 10\n", "timeout_secs = 3\n")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A `sendmail` home with one message kept after a refused connection; returns its id.
fn one_kept(subject: &str, rcpt: &str) -> (Rmail, String) {
    let cmd = sendmail();
    cmd.write_config(&config(&refused_profile(), ""));
    let mut s = cmd.again();
    s.args(["-i", rcpt])
        .stdin_bytes(format!("Subject: {subject}\n\nbody of {subject}\n"));
    s.run().assert_code(75);
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 1);
    let id = ids[0].clone();
    (cmd, id)
}

fn queue(cmd: &Rmail, args: &[&str]) -> Run {
    let mut r = cmd.rmail_here();
    r.arg("queue").args(args);
    r.run()
}

fn meta_path(cmd: &Rmail, id: &str) -> PathBuf {
    cmd.outbox_dir().join(format!("{id}.json"))
}

fn meta(cmd: &Rmail, id: &str) -> serde_json::Value {
    let path = meta_path(cmd, id);
    serde_json::from_slice(&fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

fn set_meta(cmd: &Rmail, id: &str, key: &str, value: serde_json::Value) {
    let mut m = meta(cmd, id);
    m[key] = value;
    fs::write(meta_path(cmd, id), serde_json::to_vec(&m).unwrap()).unwrap();
}

fn failed_ids(cmd: &Rmail) -> Vec<String> {
    let Ok(dir) = fs::read_dir(cmd.outbox_dir().join("failed")) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.strip_suffix(".json")?;
            (!id.starts_with('.')).then(|| id.to_owned())
        })
        .collect();
    ids.sort();
    ids
}

fn rcpt_commands(server: &Server) -> usize {
    server
        .commands()
        .iter()
        .filter(|c| c.verb() == "RCPT")
        .count()
}

#[test]
fn a_permanent_refusal_in_a_flush_goes_to_failed_once_and_is_never_resent() {
    let (cmd, id) = one_kept("refused", "gone@example.com");
    let server = Server::start(ServerOptions::plain().rcpt_reply("gone@example.com", 554));
    cmd.write_config(&config(&profile_for(&server), ""));

    let first = queue(&cmd, &["flush"]);
    // A refused recipient: 65, as for any permanently refused address.
    first.assert_code(65);
    assert!(
        first.stderr.contains(&id) && first.stderr.contains("554"),
        "{first}"
    );
    assert!(first.stderr.contains("failed"), "{first}");
    assert!(cmd.outbox_ids().is_empty(), "no longer waiting");
    assert_eq!(failed_ids(&cmd), std::slice::from_ref(&id));
    let kept = cmd.outbox_dir().join("failed").join(format!("{id}.json"));
    let kept: serde_json::Value = serde_json::from_slice(&fs::read(kept).unwrap()).unwrap();
    assert!(
        kept["last_error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("554"),
        "the server's reply is kept: {kept}"
    );
    assert!(
        cmd.outbox_dir()
            .join("failed")
            .join(format!("{id}.eml"))
            .is_file()
    );

    // Reported once: later flushes (cron every ten minutes) are quiet and succeed.
    for _ in 0..2 {
        let run = queue(&cmd, &["flush"]);
        run.assert_success();
        assert!(!run.stderr.contains(&id), "{run}");
    }
    assert_eq!(rcpt_commands(&server), 1, "{}", server.session_log());
    assert!(server.messages().is_empty());

    // `queue list` shows it as failed, with the reply.
    let list = queue(&cmd, &["list"]);
    list.assert_success();
    let line = list
        .stdout
        .lines()
        .position(|l| l.contains(&id))
        .map(|i| {
            list.stdout
                .lines()
                .skip(i)
                .take(2)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|| panic!("{id} listed\n{list}"));
    assert!(line.contains("failed") && line.contains("554"), "{list}");
}

#[test]
fn sendmail_keeps_a_permanently_refused_message_in_failed() {
    let server = Server::start(ServerOptions::plain().rcpt_reply("gone@example.com", 550));
    let cmd = sendmail();
    cmd.write_config(&config(&profile_for(&server), ""));
    let mut s = cmd.again();
    s.args(["-i", "gone@example.com"])
        .stdin_bytes("Subject: x\n\nbody\n");
    let run = s.run();
    run.assert_code(65);
    assert!(cmd.outbox_ids().is_empty(), "never re-sent by a flush");
    let failed = failed_ids(&cmd);
    assert_eq!(failed.len(), 1, "{run}");
    assert!(
        run.stderr.contains(&failed[0]),
        "names the kept copy\n{run}"
    );
    queue(&cmd, &["flush"]).assert_success();
    assert_eq!(rcpt_commands(&server), 1);
}

#[test]
fn temporary_failures_back_off_exponentially_up_to_a_cap() {
    let (cmd, id) = one_kept("later", "ops@example.com");
    let server = Server::start(ServerOptions::plain().rcpt_reply("ops@example.com", 451));
    cmd.write_config(&config(&profile_for(&server), ""));

    // The first retry is due at once: the user may just have fixed the cause.
    let mut gaps = Vec::new();
    for attempt in 2..=5 {
        let run = queue(&cmd, &["flush"]);
        run.assert_code(75);
        let m = meta(&cmd, &id);
        assert_eq!(m["attempts"], attempt, "{m}");
        let last = m["last_attempt"].as_u64().expect("last_attempt");
        let next = m["next_attempt"].as_u64().expect("next_attempt");
        assert!(last.abs_diff(now()) < 60, "{m}");
        gaps.push(next - last);

        // Not due yet: the next flush leaves it alone, quietly.
        let run = queue(&cmd, &["flush"]);
        run.assert_success();
        assert_eq!(meta(&cmd, &id)["attempts"], attempt, "{run}");
        // Move time on: the wait is over.
        set_meta(&cmd, &id, "next_attempt", serde_json::json!(now() - 1));
    }
    assert_eq!(rcpt_commands(&server), 4, "{}", server.session_log());
    assert!(gaps[0] >= 60, "{gaps:?}");
    for pair in gaps.windows(2) {
        assert_eq!(pair[1], pair[0] * 2, "exponential: {gaps:?}");
    }
    // Capped: after many attempts the wait stops growing.
    set_meta(&cmd, &id, "attempts", serde_json::json!(40));
    queue(&cmd, &["flush"]).assert_code(75);
    let m = meta(&cmd, &id);
    let cap = m["next_attempt"].as_u64().unwrap() - m["last_attempt"].as_u64().unwrap();
    assert!(
        cap <= 4 * 3600 && cap >= *gaps.last().unwrap(),
        "{cap} {gaps:?}"
    );

    // Not due, but `queue flush --now` tries it anyway (the user fixed the cause).
    let before = rcpt_commands(&server);
    queue(&cmd, &["flush"]).assert_success();
    assert_eq!(rcpt_commands(&server), before, "not due: left alone");
    queue(&cmd, &["flush", "--now"]).assert_code(75);
    assert_eq!(rcpt_commands(&server), before + 1, "--now tries it");

    // `queue list` says when the next attempt is.
    let list = queue(&cmd, &["list"]);
    assert!(list.stdout.contains("next attempt"), "{list}");

    // `queue retry ID` sends it now, whatever the wait.
    let healthy = Server::plain();
    cmd.write_config(&config(&profile_for(&healthy), ""));
    let run = queue(&cmd, &["retry", &id]);
    run.assert_success();
    assert_eq!(healthy.wait_for(1, WAIT).len(), 1);
    assert!(cmd.outbox_ids().is_empty(), "{run}");
}

#[test]
fn a_message_older_than_queue_lifetime_expires_with_a_report() {
    let (cmd, id) = one_kept("too old", "ops@example.com");
    let server = Server::plain();
    cmd.write_config(&config(&profile_for(&server), ""));
    // Five days and a minute ago (the default lifetime is 5 days).
    set_meta(
        &cmd,
        &id,
        "queued_at",
        serde_json::json!(now() - 5 * 86_400 - 60),
    );
    let run = queue(&cmd, &["flush"]);
    run.assert_code(69);
    assert!(
        run.stderr.contains(&id) && run.stderr.contains("expired"),
        "{run}"
    );
    assert!(
        run.stderr.contains("queue_lifetime"),
        "says what to change\n{run}"
    );
    assert!(
        server.messages().is_empty(),
        "an expired message is not sent"
    );
    assert_eq!(failed_ids(&cmd), std::slice::from_ref(&id));
    let again = queue(&cmd, &["flush"]);
    again.assert_success();
    assert!(!again.stderr.contains(&id), "reported once\n{again}");

    // queue_lifetime in the config is honoured: "1h" expires a message two hours old.
    let (cmd, id) = one_kept("old", "ops@example.com");
    cmd.write_config(&config(&profile_for(&server), "queue_lifetime = \"1h\"\n"));
    set_meta(&cmd, &id, "queued_at", serde_json::json!(now() - 7200));
    queue(&cmd, &["flush"]).assert_code(69);
    assert_eq!(failed_ids(&cmd), [id]);
    // ...and a message younger than that is sent.
    let (cmd, id) = one_kept("young", "ops@example.com");
    cmd.write_config(&config(&profile_for(&server), "queue_lifetime = \"1h\"\n"));
    set_meta(&cmd, &id, "queued_at", serde_json::json!(now() - 600));
    queue(&cmd, &["flush"]).assert_success();
    assert_eq!(server.wait_for(1, WAIT).len(), 1);
}

#[test]
fn a_bad_queue_lifetime_is_a_config_error() {
    let (cmd, _id) = one_kept("x", "ops@example.com");
    cmd.write_config(&config(&refused_profile(), "queue_lifetime = \"soon\"\n"));
    let run = queue(&cmd, &["flush"]);
    run.assert_code(78);
    assert!(run.stderr.contains("queue_lifetime"), "{run}");
}

#[test]
fn retry_drop_failed_and_drop_all() {
    let (cmd, waiting) = one_kept("waiting", "ops@example.com");
    // A second message, refused for good by a flush.
    let mut s = cmd.again();
    s.args(["-i", "gone@example.com"])
        .stdin_bytes("Subject: gone\n\nbody\n");
    s.run().assert_code(75);
    let strict = Server::start(
        ServerOptions::plain()
            .rcpt_reply("gone@example.com", 550)
            .rcpt_reply("ops@example.com", 451),
    );
    cmd.write_config(&config(&profile_for(&strict), ""));
    queue(&cmd, &["flush"]).assert_code(65);
    let failed = failed_ids(&cmd);
    assert_eq!(failed.len(), 1);
    assert_eq!(cmd.outbox_ids(), std::slice::from_ref(&waiting));

    let list = queue(&cmd, &["list"]);
    list.assert_success();
    assert!(
        list.stdout.contains(&waiting) && list.stdout.contains(&failed[0]),
        "{list}"
    );
    assert!(list.stdout.contains("waiting"), "{list}");

    // retry of a failed message (after the address was fixed on the server side) sends it.
    let healthy = Server::plain();
    cmd.write_config(&config(&profile_for(&healthy), ""));
    let run = queue(&cmd, &["retry", &failed[0]]);
    run.assert_success();
    let got = healthy.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["gone@example.com"]);
    assert!(failed_ids(&cmd).is_empty());
    assert_eq!(
        cmd.outbox_ids(),
        std::slice::from_ref(&waiting),
        "retry sends only that one"
    );

    // drop --failed removes only failed entries; drop --all everything.
    let mut s = cmd.again();
    cmd.write_config(&config(&profile_for(&strict), ""));
    s.args(["-i", "gone@example.com"])
        .stdin_bytes("Subject: gone again\n\nbody\n");
    s.run().assert_code(65);
    assert_eq!(failed_ids(&cmd).len(), 1);
    queue(&cmd, &["drop", "--failed"]).assert_success();
    assert!(failed_ids(&cmd).is_empty());
    assert_eq!(cmd.outbox_ids(), std::slice::from_ref(&waiting));
    queue(&cmd, &["drop", "--all"]).assert_success();
    assert!(cmd.outbox_ids().is_empty());

    // drop with nothing to say what is a usage error.
    assert_eq!(queue(&cmd, &["drop"]).code(), 64);
    assert_eq!(queue(&cmd, &["retry", "no-such-id"]).code(), 64);
}

#[test]
fn queue_ids_are_validated() {
    let (cmd, id) = one_kept("x", "ops@example.com");
    // Files that path-shaped ids would reach from the outbox (STATE/rmail/outbox).
    let state = cmd.state_home();
    let victims = [
        state.join("rmail/victim.json"),
        state.join("rmail/victim.eml"),
        state.join("x.json"),
        state.join("x.eml"),
    ];
    for v in &victims {
        fs::write(v, "{}").unwrap();
    }
    for bad in [
        "../../x",
        "../victim",
        "/etc/passwd",
        "failed/../../victim",
        "",
        ".lock",
        "a\nb",
    ] {
        for verb in ["drop", "retry"] {
            let run = queue(&cmd, &[verb, bad]);
            assert_eq!(run.code(), 64, "{verb} {bad:?}\n{run}");
        }
    }
    for v in &victims {
        assert!(v.exists(), "{} was deleted", v.display());
    }
    assert_eq!(cmd.outbox_ids(), [id]);
}
