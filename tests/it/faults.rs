//! The fault matrix (issue 4): each failure a real SMTP session can have, against a scripted
//! server on 127.0.0.1, for `rmail send` and (for most) `sendmail`. Every test counts what the
//! server received: a message is either delivered exactly once, or kept in the outbox
//! (temporary failure, exit 75) and then delivered exactly once by `rmail queue flush`, or
//! reported and dropped (permanent failure: 65, 69, 77).

use std::fs;
use std::time::Duration;

use crate::support::*;

const FROM: &str = "Nightly Job <job@example.com>";
const SUBJECT: &str = "Fault matrix";
const BODY: &str = "The nightly job ran.\n";
const WAIT: Duration = Duration::from_secs(5);

/// How the message is handed to rmail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `rmail send --to … -s … --text …`
    Send,
    /// rmail invoked as `sendmail` (argv[0]) with the message on stdin.
    Sendmail,
}

impl Mode {
    /// A sealed command for this mode (its own home).
    fn command(self) -> Rmail {
        match self {
            Mode::Send => rmail(),
            Mode::Sendmail => sendmail(),
        }
    }

    /// Adds the arguments (and stdin) that send the test message to `recipients`.
    fn message_to(self, cmd: &mut Rmail, recipients: &[&str]) {
        match self {
            Mode::Send => {
                cmd.arg("send");
                for r in recipients {
                    cmd.args(["--to", r]);
                }
                cmd.args(["-s", SUBJECT, "--text", BODY]);
            }
            Mode::Sendmail => {
                cmd.args(["-i"]).args(recipients).stdin_bytes(format!(
                    "To: {}\nSubject: {SUBJECT}\n\n{BODY}",
                    recipients.join(", ")
                ));
            }
        }
    }
}

/// A config with one default profile `t`: `profile_toml` is a `[profiles.t]` table.
fn config(profile_toml: &str) -> String {
    default_config(profile_toml, FROM)
}

/// `server.profile_toml("t")` with a shorter timeout than the harness's 10 s.
fn profile_for(server: &Server) -> String {
    server
        .profile_toml("t")
        .replace("timeout_secs = 10\n", "timeout_secs = 3\n")
}

/// Nothing but the lock file (if any) is left in the outbox: no entries, no temp files.
#[track_caller]
fn assert_outbox_empty(cmd: &Rmail) {
    let Ok(dir) = fs::read_dir(cmd.outbox_dir()) else {
        return;
    };
    let left: Vec<String> = dir
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    assert!(left.is_empty(), "outbox should be empty, has {left:?}");
}

/// Asserts stderr is a single line containing every key word (case-insensitive).
#[track_caller]
fn assert_one_line(run: &Run, words: &[&str]) {
    let stderr = run.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "stderr must be one line\n{run}");
    let lower = stderr.to_lowercase();
    for word in words {
        assert!(
            lower.contains(&word.to_lowercase()),
            "stderr should mention {word:?}\n{run}"
        );
    }
}

/// The message of the test, as delivered: right envelope, subject and body.
#[track_caller]
fn assert_is_test_message(got: &Received, recipients: &[&str]) {
    assert_eq!(got.mail_from, "job@example.com", "{got:?}");
    let mut want: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
    want.sort();
    let mut rcpts = got.rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(rcpts, want, "{got:?}");
    let parsed = got.parsed();
    assert_eq!(parsed.subject(), Some(SUBJECT), "{got:?}");
    assert_eq!(
        parsed
            .body_text(0)
            .as_deref()
            .map(|b| b.replace("\r\n", "\n")),
        Some(BODY.to_owned()),
        "{got:?}"
    );
}

/// After a temporary failure left exactly one message in `cmd`'s outbox: `queue flush`
/// against `healthy` (the config is rewritten to point at it when `rewrite`) delivers it
/// exactly once and empties the outbox; a second flush sends nothing.
#[track_caller]
fn flush_delivers_exactly_once(cmd: &Rmail, healthy: &Server, rewrite: bool, recipients: &[&str]) {
    if rewrite {
        cmd.write_config(&config(&profile_for(healthy)));
    }
    let before = healthy.messages().len();
    let mut flush = cmd.rmail_here();
    flush.args(["queue", "flush"]);
    let run = flush.run();
    run.assert_success();
    let got = healthy.wait_for(before + 1, WAIT);
    assert_eq!(got.len(), before + 1, "exactly one delivery by the flush");
    assert_is_test_message(&got[before], recipients);
    assert_outbox_empty(cmd);

    let mut second = cmd.rmail_here();
    second.args(["queue", "flush"]);
    second.run().assert_success();
    healthy.wait_idle();
    assert_eq!(
        healthy.messages().len(),
        before + 1,
        "a second flush sends nothing"
    );
}

/// Runs `mode` against `profile_toml`, expects exit 75 with one message kept, and returns
/// the command (whose home holds the outbox) and the run.
#[track_caller]
fn expect_kept(
    mode: Mode,
    profile_toml: &str,
    recipients: &[&str],
    words: &[&str],
) -> (Rmail, Run) {
    expect_kept_with(mode, profile_toml, recipients, 75, words)
}

/// Sends a message to `recipients` in `mode` with `profile_toml`; it must exit `code`.
#[track_caller]
fn run_mode(mode: Mode, profile_toml: &str, recipients: &[&str], code: i32) -> (Rmail, Run) {
    let mut cmd = mode.command();
    cmd.write_config(&config(profile_toml));
    mode.message_to(&mut cmd, recipients);
    let run = cmd.run();
    run.assert_code(code);
    (cmd, run)
}

/// Like [`expect_kept`], for a failure that exits `code` (77 for a wrong password in
/// sendmail mode) and still keeps the message.
#[track_caller]
fn expect_kept_with(
    mode: Mode,
    profile_toml: &str,
    recipients: &[&str],
    code: i32,
    words: &[&str],
) -> (Rmail, Run) {
    let (cmd, run) = run_mode(mode, profile_toml, recipients, code);
    let mut all_words = vec!["outbox"];
    all_words.extend_from_slice(words);
    assert_one_line(&run, &all_words);
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 1, "one message kept\n{run}");
    assert!(
        run.stderr.contains(&ids[0]),
        "stderr names the kept id\n{run}"
    );
    (cmd, run)
}

/// A permanent refusal: `send` keeps nothing; `sendmail` (which never drops a message it
/// read) keeps it in `outbox/failed/`, never to be flushed. Either way nothing waits to be
/// sent again.
#[track_caller]
fn expect_refused(
    mode: Mode,
    profile_toml: &str,
    recipients: &[&str],
    code: i32,
    words: &[&str],
) -> (Rmail, Run) {
    if mode == Mode::Send {
        return expect_not_kept(mode, profile_toml, recipients, code, words);
    }
    let (cmd, run) = run_mode(mode, profile_toml, recipients, code);
    assert_one_line(&run, words);
    assert!(
        cmd.outbox_ids().is_empty(),
        "nothing waits to be sent again\n{run}"
    );
    let failed: Vec<String> = fs::read_dir(cmd.outbox_dir().join("failed"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(failed.len(), 1, "kept in failed/\n{run}");
    assert!(
        run.stderr.contains(&failed[0]),
        "names the kept copy\n{run}"
    );
    (cmd, run)
}

/// Runs `mode` against `profile_toml`, expects `code` and nothing kept.
#[track_caller]
fn expect_not_kept(
    mode: Mode,
    profile_toml: &str,
    recipients: &[&str],
    code: i32,
    words: &[&str],
) -> (Rmail, Run) {
    let (cmd, run) = run_mode(mode, profile_toml, recipients, code);
    assert_one_line(&run, words);
    assert_outbox_empty(&cmd);
    (cmd, run)
}

// --- temporary failures: exit 75, kept, flushed later exactly once -----------------------

fn connection_refused(mode: Mode) {
    let rcpts = ["ops@example.com"];
    let (cmd, _) = expect_kept(mode, &plain_profile(closed_port(), 2), &rcpts, &["refused"]);
    let healthy = Server::plain();
    flush_delivers_exactly_once(&cmd, &healthy, true, &rcpts);
}

#[test]
fn send_connection_refused_is_kept_and_flushed() {
    connection_refused(Mode::Send);
}

#[test]
fn sendmail_connection_refused_is_kept_and_flushed() {
    connection_refused(Mode::Sendmail);
}

fn greeting_421(mode: Mode) {
    let rcpts = ["ops@example.com"];
    let server = Server::start(ServerOptions::plain().greeting_code(421).fail_first(1));
    let (cmd, _) = expect_kept(mode, &profile_for(&server), &rcpts, &["421"]);
    assert!(server.messages().is_empty());
    // The second connection is greeted normally.
    flush_delivers_exactly_once(&cmd, &server, false, &rcpts);
}

#[test]
fn send_421_at_greeting_is_kept_and_flushed() {
    greeting_421(Mode::Send);
}

#[test]
fn sendmail_421_at_greeting_is_kept_and_flushed() {
    greeting_421(Mode::Sendmail);
}

fn rcpt_451(mode: Mode) {
    let rcpts = ["ops@example.com", "later@example.com"];
    let server = Server::start(
        ServerOptions::plain()
            .rcpt_reply("later@example.com", 451)
            .fail_first(1),
    );
    let (cmd, _) = expect_kept(mode, &profile_for(&server), &rcpts, &["451", "rcpt"]);
    assert!(server.messages().is_empty(), "nothing delivered");
    flush_delivers_exactly_once(&cmd, &server, false, &rcpts);
}

#[test]
fn send_451_on_rcpt_is_kept_and_flushed() {
    rcpt_451(Mode::Send);
}

#[test]
fn sendmail_451_on_rcpt_is_kept_and_flushed() {
    rcpt_451(Mode::Sendmail);
}

fn dropped_in_data(mode: Mode) {
    let rcpts = ["ops@example.com"];
    let server = Server::start(ServerOptions::plain().drop_in_data().fail_first(1));
    let (cmd, _) = expect_kept(mode, &profile_for(&server), &rcpts, &["connection", "data"]);
    assert!(server.messages().is_empty(), "nothing delivered");
    assert!(
        server.session_log().contains("drop-in-data"),
        "{}",
        server.session_log()
    );
    flush_delivers_exactly_once(&cmd, &server, false, &rcpts);
}

#[test]
fn send_connection_dropped_in_data_is_kept_and_flushed() {
    dropped_in_data(Mode::Send);
}

#[test]
fn sendmail_connection_dropped_in_data_is_kept_and_flushed() {
    dropped_in_data(Mode::Sendmail);
}

fn stalled(mode: Mode) {
    let rcpts = ["ops@example.com"];
    let server = Server::start(ServerOptions::plain().stall());
    let profile = profile_for(&server).replace("timeout_secs = 3\n", "timeout_secs = 1\n");
    let (cmd, run) = expect_kept(mode, &profile, &rcpts, &["time"]);
    assert!(
        run.elapsed < Duration::from_secs(8),
        "a stalled server must not hold rmail past its timeout\n{run}"
    );
    assert_eq!(server.connections(), 1, "{}", server.session_log());
    let healthy = Server::plain();
    flush_delivers_exactly_once(&cmd, &healthy, true, &rcpts);
}

#[test]
fn send_stalled_server_times_out_and_is_kept() {
    stalled(Mode::Send);
}

#[test]
fn sendmail_stalled_server_times_out_and_is_kept() {
    stalled(Mode::Sendmail);
}

/// The same faults inside TLS: a broken or silent TLS session is a network failure
/// (temporary), not a certificate problem.
#[test]
fn sendmail_tls_connection_dropped_in_data_is_kept_and_flushed() {
    for options in [ServerOptions::tls(), ServerOptions::starttls()] {
        let rcpts = ["ops@example.com"];
        let server = Server::start(options.drop_in_data().fail_first(1));
        let (cmd, _) = expect_kept(
            Mode::Sendmail,
            &profile_for(&server),
            &rcpts,
            &["connection", "data"],
        );
        assert!(server.messages().is_empty());
        flush_delivers_exactly_once(&cmd, &server, false, &rcpts);
        assert!(server.messages().iter().all(|m| m.tls));
    }
}

#[test]
fn sendmail_tls_server_that_stalls_times_out_and_is_kept() {
    let server = Server::start(ServerOptions::tls().stall());
    let profile = profile_for(&server).replace("timeout_secs = 3\n", "timeout_secs = 1\n");
    assert!(profile.contains("security = \"tls\""), "{profile}");
    let (_cmd, run) = expect_kept(Mode::Sendmail, &profile, &["ops@example.com"], &["time"]);
    assert!(run.elapsed < Duration::from_secs(8), "{run}");
}

/// Not in the list, but the same rule: a 4xx at the end of DATA is temporary.
#[test]
fn sendmail_451_at_data_is_kept_and_flushed() {
    let rcpts = ["ops@example.com"];
    let server = Server::start(ServerOptions::plain().data_reply(451).fail_first(1));
    let (cmd, _) = expect_kept(
        Mode::Sendmail,
        &profile_for(&server),
        &rcpts,
        &["451", "data"],
    );
    assert!(server.messages().is_empty());
    flush_delivers_exactly_once(&cmd, &server, false, &rcpts);
}

/// ... and a 5xx greeting is permanent: reported, kept only in failed/.
#[test]
fn sendmail_554_at_greeting_is_permanent() {
    let server = Server::start(ServerOptions::plain().greeting_code(554));
    expect_refused(
        Mode::Sendmail,
        &profile_for(&server),
        &["ops@example.com"],
        69,
        &["554"],
    );
    assert!(server.messages().is_empty());
}

// --- what `rmail send` does today on a temporary failure ----------------------------------

/// Until `send` keeps messages, it must at least exit 75 and say what failed. (When the
/// ignored `send_*_is_kept_and_flushed` tests pass, this one still holds.)
#[test]
fn send_temporary_failure_exits_75() {
    let mut cmd = rmail();
    cmd.write_config(&config(&plain_profile(closed_port(), 2)));
    Mode::Send.message_to(&mut cmd, &["ops@example.com"]);
    let run = cmd.run();
    run.assert_code(75);
    assert!(run.stderr.to_lowercase().contains("refused"), "{run}");
}

// --- permanent failures: reported, nothing delivered, nothing kept ------------------------

fn one_rcpt_550(mode: Mode) {
    let rcpts = ["a@example.com", "nobody@example.com", "c@example.com"];
    let server = Server::start(ServerOptions::plain().rcpt_reply("nobody@example.com", 550));
    let (_cmd, _run) = expect_refused(
        mode,
        &profile_for(&server),
        &rcpts,
        65,
        &["550", "nobody@example.com"],
    );
    // The transaction was reset: no DATA, so no recipient got the message.
    assert!(server.messages().is_empty(), "nothing delivered");
    let verbs: Vec<String> = server.commands().iter().map(|c| c.verb()).collect();
    assert!(
        !verbs.iter().any(|v| v == "DATA"),
        "no DATA after a refused RCPT: {verbs:?}"
    );
}

#[test]
fn send_550_on_one_rcpt_delivers_to_nobody() {
    one_rcpt_550(Mode::Send);
}

#[test]
fn sendmail_550_on_one_rcpt_delivers_to_nobody() {
    one_rcpt_550(Mode::Sendmail);
}

#[test]
fn send_552_at_data_is_permanent() {
    let server = Server::start(ServerOptions::plain().data_reply(552));
    let (_cmd, _run) = expect_not_kept(
        Mode::Send,
        &profile_for(&server),
        &["ops@example.com"],
        69,
        &["552", "data"],
    );
    assert!(server.messages().is_empty());
    assert_eq!(server.connections(), 1, "no retry of a permanent failure");
}

#[test]
fn sendmail_552_at_data_is_permanent() {
    let server = Server::start(ServerOptions::plain().data_reply(552));
    expect_refused(
        Mode::Sendmail,
        &profile_for(&server),
        &["ops@example.com"],
        69,
        &["552"],
    );
    assert!(server.messages().is_empty());
}

#[test]
fn untrusted_certificate_is_refused() {
    for (options, security) in [
        (ServerOptions::starttls().untrusted_cert(), "starttls"),
        (ServerOptions::tls().untrusted_cert(), "tls"),
    ] {
        let server = Server::start(options);
        // profile_toml trusts the test CA only; the server's certificate is from another.
        let profile = profile_for(&server);
        assert!(profile.contains("ca_file"), "{profile}");
        let (_cmd, run) = expect_not_kept(
            Mode::Send,
            &profile,
            &["ops@example.com"],
            77,
            &["tls", "certificate"],
        );
        assert!(
            server.messages().is_empty(),
            "{security}: nothing delivered"
        );
        // Nothing was said inside (or outside) the failed TLS session but EHLO/STARTTLS.
        let commands = server.commands();
        assert!(
            commands
                .iter()
                .all(|c| matches!(c.verb().as_str(), "EHLO" | "STARTTLS")),
            "{security}: {commands:?}\n{run}"
        );
    }
}

/// sendmail never drops a message it read: a TLS problem is fixable, so the message is
/// kept (exit 77 still says what happened) and a flush after the fix delivers it once.
#[test]
fn sendmail_untrusted_certificate_is_refused_and_kept() {
    let server = Server::start(ServerOptions::starttls().untrusted_cert());
    let (cmd, _run) = expect_kept_with(
        Mode::Sendmail,
        &profile_for(&server),
        &["ops@example.com"],
        77,
        &["certificate"],
    );
    assert!(server.messages().is_empty());
    let fixed = Server::start(ServerOptions::starttls());
    flush_delivers_exactly_once(&cmd, &fixed, true, &["ops@example.com"]);
}

#[test]
fn starttls_required_but_not_offered_sends_nothing_in_plaintext() {
    let server = Server::plain();
    let profile = profile_for(&server).replace("security = \"none\"", "security = \"starttls\"");
    assert!(profile.contains("security = \"starttls\""), "{profile}");
    let (_cmd, run) = expect_not_kept(
        Mode::Send,
        &profile,
        &["ops@example.com"],
        77,
        &["starttls"],
    );
    assert!(server.messages().is_empty());
    let verbs: Vec<String> = server.commands().iter().map(|c| c.verb()).collect();
    for forbidden in ["MAIL", "RCPT", "DATA", "AUTH"] {
        assert!(
            !verbs.iter().any(|v| v == forbidden),
            "{forbidden} sent in plaintext: {verbs:?}\n{run}"
        );
    }
}

const WRONG_PASSWORD: &str = "Wr0ng-Pa55word-x7";

fn wrong_password_profile(server: &Server) -> String {
    let profile = profile_for(server).replace(
        "password = \"right-password\"",
        &format!("password = \"{WRONG_PASSWORD}\""),
    );
    assert!(profile.contains(WRONG_PASSWORD), "{profile}");
    profile
}

/// Base64 of what AUTH PLAIN and AUTH LOGIN would put on the wire with the wrong password.
fn credential_encodings() -> Vec<String> {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    vec![
        b64(format!("\0alice\0{WRONG_PASSWORD}").as_bytes()),
        b64(WRONG_PASSWORD.as_bytes()),
    ]
}

#[test]
fn auth_535_is_an_auth_failure_and_never_shows_the_password() {
    let server = Server::start(ServerOptions::starttls().auth("alice", "right-password"));
    let profile = wrong_password_profile(&server);
    let (cmd, run) = expect_not_kept(
        Mode::Send,
        &profile,
        &["ops@example.com"],
        77,
        &["535", "password"],
    );
    assert!(server.messages().is_empty());
    let verbs: Vec<String> = server.commands().iter().map(|c| c.verb()).collect();
    assert!(verbs.iter().any(|v| v == "AUTH"), "{verbs:?}");
    assert!(!verbs.iter().any(|v| v == "MAIL"), "{verbs:?}");
    for secret in std::iter::once(WRONG_PASSWORD.to_owned()).chain(credential_encodings()) {
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "{run}"
        );
    }

    // -v shows the conversation, with AUTH redacted.
    let mut verbose = cmd.again();
    Mode::Send.message_to(&mut verbose, &["ops@example.com"]);
    verbose.arg("-v");
    let run = verbose.run();
    run.assert_code(77);
    assert!(
        run.stderr.contains("EHLO"),
        "the SMTP trace is shown\n{run}"
    );
    let auth_lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("AUTH") && l.contains("->"))
        .collect();
    assert!(!auth_lines.is_empty(), "the trace shows AUTH\n{run}");
    assert!(
        auth_lines.iter().all(|l| l.contains("redacted")),
        "{auth_lines:?}"
    );
    for secret in std::iter::once(WRONG_PASSWORD.to_owned()).chain(credential_encodings()) {
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "{secret:?} leaked\n{run}"
        );
    }
    assert_outbox_empty(&cmd);
    assert!(server.messages().is_empty());
}

#[test]
fn sendmail_auth_535_is_kept_until_the_password_is_fixed() {
    let server = Server::start(ServerOptions::starttls().auth("alice", "right-password"));
    let (cmd, run) = expect_kept_with(
        Mode::Sendmail,
        &wrong_password_profile(&server),
        &["ops@example.com"],
        77,
        &["535"],
    );
    assert!(!run.stderr.contains(WRONG_PASSWORD), "{run}");
    for secret in credential_encodings() {
        assert!(!run.stderr.contains(&secret), "{run}");
    }
    assert!(server.messages().is_empty());
    // profile_for has the right password: the flush after the fix delivers it once.
    flush_delivers_exactly_once(&cmd, &server, true, &["ops@example.com"]);
}

/// The healthy path of the same harness, so a broken setup cannot make the matrix pass.
#[test]
fn healthy_server_gets_exactly_one_message_per_run() {
    for mode in [Mode::Send, Mode::Sendmail] {
        let server = Server::start(ServerOptions::starttls().auth("alice", "right-password"));
        let mut cmd = mode.command();
        cmd.write_config(&config(&profile_for(&server)));
        mode.message_to(&mut cmd, &["ops@example.com", "b@example.com"]);
        cmd.run().assert_success();
        let got = server.wait_for(1, WAIT);
        assert_eq!(got.len(), 1, "{mode:?}");
        assert!(got[0].tls && got[0].auth_user.as_deref() == Some("alice"));
        assert_is_test_message(&got[0], &["ops@example.com", "b@example.com"]);
        assert_outbox_empty(&cmd);
    }
}

// --- a password source that fails: exit 78, but the message is kept ------------------------

/// Under cron a password agent may not be running yet: the notification must not be lost.
#[test]
fn failing_password_command_keeps_the_message() {
    let server = Server::start(ServerOptions::plain().auth("job", "s3cret"));
    let mut cmd = Mode::Send.command();
    let profile = format!(
        "{}username = \"job\"\npassword_command = \"exit 3\"\n",
        plain_profile(server.port(), 3)
    );
    cmd.write_config(&config(&profile));
    Mode::Send.message_to(&mut cmd, &["a@example.com"]);
    let run = cmd.run();
    run.assert_code(78);
    assert_one_line(&run, &["password_command", "outbox"]);
    assert_eq!(cmd.outbox_ids().len(), 1, "kept\n{run}");
    assert!(server.messages().is_empty());

    // Once the secret is available, a flush delivers it exactly once.
    cmd.write_config(&config(&format!(
        "{}username = \"job\"\npassword_command = \"echo s3cret\"\n",
        plain_profile(server.port(), 3)
    )));
    let mut flush = cmd.rmail_here();
    flush.args(["queue", "flush"]);
    flush.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].auth_user.as_deref(), Some("job"));
    assert_outbox_empty(&cmd);
}
