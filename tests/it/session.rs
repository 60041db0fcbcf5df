//! An SMTP session you can trust (issue 10): rmail against hostile and broken servers.
//!
//! The scripted raw server (`support::raw`, rawsmtp.py) does what no server library would:
//! bytes injected after STARTTLS, an endless reply line, a greeting one byte at a time, 250 to
//! DATA or AUTH, a small SIZE. Every test asserts on what that server saw (commands and the
//! raw DATA bytes before unstuffing), on the exit code and on the outbox.

use std::time::{Duration, Instant};

use crate::support::raw::{RawOptions, RawServer, unstuff, wire_violations};
use crate::support::*;

const FROM: &str = "job@example.com";
const WAIT: Duration = Duration::from_secs(10);

/// An rmail whose default profile `t` is `profile` (a `[profiles.t]` table) plus `extra`.
fn configured(cmd: Rmail, profile: &str, extra: &str) -> Rmail {
    cmd.write_config(&format!(
        "default_profile = \"t\"\n{profile}{extra}from = \"{FROM}\"\n"
    ));
    cmd
}

/// `rmail send` of a small text message to `to` through `server`.
fn send_via(server: &RawServer, extra: &str, to: &str) -> (Rmail, Run) {
    let mut cmd = configured(rmail(), &server.profile_toml("t"), extra);
    cmd.args([
        "send",
        "--to",
        to,
        "-s",
        "Session test",
        "--text",
        "Hello.\n",
    ]);
    let run = cmd.run();
    (cmd, run)
}

/// `sendmail -i to` with `message` on stdin through `server`.
fn sendmail_via(server: &RawServer, extra: &str, to: &str, message: &[u8]) -> (Rmail, Run) {
    let mut cmd = configured(sendmail(), &server.profile_toml("t"), extra);
    cmd.args(["-i", to]).stdin_bytes(message);
    let run = cmd.run();
    (cmd, run)
}

fn has_verb(server: &RawServer, verb: &str) -> bool {
    server.verbs().iter().any(|v| v == verb)
}

// ---------------------------------------------------------------------------------------
// 1. STARTTLS response injection
// ---------------------------------------------------------------------------------------

const INJECTION: &str = "250-fake\\r\\n250 AUTH PLAIN\\r\\n";

#[test]
fn bytes_after_the_220_to_starttls_abort_as_a_tls_failure() {
    // The 554 after the final dot is what a one-step-late reader would miss.
    let server = RawServer::start(
        RawOptions::new()
            .starttls()
            .inject_after_starttls(INJECTION)
            .reply("DOT", "554 5.7.1 refused"),
    );
    let (cmd, run) = send_via(&server, "", "rcpt@example.com");
    run.assert_code(77);
    assert!(
        run.stderr.contains("STARTTLS"),
        "stderr should name STARTTLS: {run}"
    );
    server.wait_closed(1, WAIT);
    let verbs = server.verbs();
    assert!(
        !verbs
            .iter()
            .any(|v| v == "MAIL" || v == "AUTH" || v == "DATA"),
        "nothing may follow an injected STARTTLS reply: {verbs:?}\n{}",
        server.log()
    );
    assert!(server.data().is_empty());
    assert!(
        cmd.outbox_ids().is_empty(),
        "send reports, it does not keep"
    );
}

#[test]
fn sendmail_keeps_the_message_after_a_starttls_injection() {
    let server = RawServer::start(
        RawOptions::new()
            .starttls()
            .inject_after_starttls(INJECTION),
    );
    let (cmd, run) = sendmail_via(
        &server,
        "",
        "rcpt@example.com",
        b"Subject: cron\n\nbackup done\n",
    );
    run.assert_code(77);
    server.wait_closed(1, WAIT);
    assert!(!has_verb(&server, "MAIL"), "{}", server.log());
    assert_eq!(
        cmd.outbox_ids().len(),
        1,
        "sendmail never drops a message it read"
    );
}

#[test]
fn after_starttls_only_what_was_learned_under_tls_counts() {
    // A clean STARTTLS: EHLO is sent again inside TLS, and MAIL goes only inside TLS.
    let server = RawServer::start(RawOptions::new().starttls());
    let (_cmd, run) = send_via(&server, "", "rcpt@example.com");
    run.assert_code(0);
    server.wait_closed(1, WAIT);
    let commands = server.commands();
    let ehlos: Vec<bool> = commands
        .iter()
        .filter(|c| c.verb() == "EHLO")
        .map(|c| c.tls)
        .collect();
    assert_eq!(ehlos, [false, true], "{}", server.log());
    assert!(
        commands
            .iter()
            .filter(|c| matches!(c.verb().as_str(), "MAIL" | "RCPT" | "DATA"))
            .all(|c| c.tls)
    );
}

// ---------------------------------------------------------------------------------------
// 2. A bounded reply reader
// ---------------------------------------------------------------------------------------

/// Peak resident memory of a run under `/usr/bin/time -v`, in kB.
fn max_rss_kb(run: &Run) -> u64 {
    run.stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS from /usr/bin/time -v:\n{run}"))
}

#[test]
fn an_endless_reply_line_ends_the_session_with_flat_memory() {
    let server = RawServer::start(RawOptions::new().reply("GREETING", "endless"));
    // rmail under /usr/bin/time -v, in the same sealed environment.
    let mut cmd = configured(Rmail::new("/usr/bin/time"), &server.profile_toml("t"), "");
    cmd.arg("-v").arg(rmail_bin()).args([
        "send",
        "--to",
        "rcpt@example.com",
        "-s",
        "x",
        "--text",
        "y",
    ]);
    let run = cmd.run();
    run.assert_code(75);
    let rss = max_rss_kb(&run);
    assert!(
        rss < 64 * 1024,
        "peak RSS {rss} kB for an endless reply line"
    );
    assert!(
        run.stderr.contains("too long"),
        "stderr should say the reply line was too long: {run}"
    );
    assert!(run.elapsed < Duration::from_secs(10), "{run}");
}

#[test]
fn a_reply_of_endless_lines_is_cut_at_100_kb() {
    let server = RawServer::start(RawOptions::new().reply("EHLO", "endless-lines"));
    let (_cmd, run) = send_via(&server, "", "rcpt@example.com");
    run.assert_code(75);
    assert!(run.stderr.contains("too long"), "{run}");
    assert!(run.elapsed < Duration::from_secs(5), "{run}");
    server.wait_closed(1, WAIT);
    assert!(!has_verb(&server, "MAIL"), "{}", server.log());
}

// ---------------------------------------------------------------------------------------
// 3. timeout_secs bounds a whole reply; QUIT after a failure has a short grace period
// ---------------------------------------------------------------------------------------

#[test]
fn a_trickled_greeting_costs_about_timeout_secs() {
    // 40 bytes at 0.25 s each: 10 s, and every single read is quick.
    let server = RawServer::start(
        RawOptions::new()
            .reply("GREETING", "trickle:220 localhost slow greeting ok for you")
            .trickle_delay(0.25),
    );
    let profile = server
        .profile_toml("t")
        .replace("timeout_secs = 10", "timeout_secs = 2");
    let mut cmd = configured(rmail(), &profile, "");
    cmd.args(["send", "--to", "r@example.com", "-s", "x", "--text", "y"]);
    let started = Instant::now();
    let run = cmd.run();
    let took = started.elapsed();
    run.assert_code(75);
    assert!(took < Duration::from_secs(5), "took {took:?}\n{run}");
    assert_eq!(cmd.outbox_ids().len(), 1, "a timeout keeps the message");
}

#[test]
fn quit_after_a_failure_waits_only_a_short_grace_period() {
    let server = RawServer::start(
        RawOptions::new()
            .reply("DOT", "554 5.7.1 refused")
            .reply("QUIT", "silent"),
    );
    let mut cmd = configured(rmail(), &server.profile_toml("t"), "");
    cmd.args(["send", "--to", "r@example.com", "-s", "x", "--text", "y"]);
    // timeout_secs = 10 in the profile: a second full timeout would take 10 s more.
    let run = cmd.run();
    run.assert_code(69);
    assert!(run.elapsed < Duration::from_secs(5), "{run}");
    assert!(has_verb(&server, "QUIT"), "{}", server.log());
}

#[test]
fn a_silent_server_costs_one_timeout_not_two() {
    // No answer to the message data: one timeout_secs, then the connection is closed (no
    // QUIT into a session that is out of step, and no second timeout waiting for it).
    let server = RawServer::start(RawOptions::new().reply("DOT", "silent"));
    let profile = server
        .profile_toml("t")
        .replace("timeout_secs = 10", "timeout_secs = 2");
    let mut cmd = configured(rmail(), &profile, "");
    cmd.args(["send", "--to", "r@example.com", "-s", "x", "--text", "y"]);
    let run = cmd.run();
    run.assert_code(75);
    assert!(
        run.elapsed >= Duration::from_secs(2) && run.elapsed < Duration::from_millis(3500),
        "{run}"
    );
    assert_eq!(cmd.outbox_ids().len(), 1);
}

// ---------------------------------------------------------------------------------------
// 4. DATA only after 354, AUTH only on 235
// ---------------------------------------------------------------------------------------

#[test]
fn a_250_to_data_is_not_a_go_ahead() {
    let server = RawServer::start(RawOptions::new().reply("DATA", "250 2.0.0 sure"));
    let (_cmd, run) = send_via(&server, "", "rcpt@example.com");
    assert_ne!(run.code(), 0, "{run}");
    server.wait_closed(1, WAIT);
    let lines: Vec<String> = server.commands().into_iter().map(|c| c.line).collect();
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("Subject") || l.starts_with("Hello")),
        "the message went out as commands: {lines:?}"
    );
    assert!(server.data().is_empty());
    assert!(has_verb(&server, "QUIT"), "{}", server.log());
}

#[test]
fn a_250_to_auth_is_not_a_login() {
    let server = RawServer::start(RawOptions::new().auth().reply("AUTH", "250 2.0.0 ok"));
    let (_cmd, run) = send_via(
        &server,
        "username = \"me\"\npassword = \"secret\"\n",
        "rcpt@example.com",
    );
    run.assert_code(77);
    server.wait_closed(1, WAIT);
    assert!(!has_verb(&server, "MAIL"), "{}", server.log());
    assert!(has_verb(&server, "QUIT"), "{}", server.log());
}

#[test]
fn auth_on_235_logs_in() {
    let server = RawServer::start(RawOptions::new().auth());
    let (_cmd, run) = send_via(
        &server,
        "username = \"me\"\npassword = \"secret\"\n",
        "rcpt@example.com",
    );
    run.assert_code(0);
    assert_eq!(server.data().len(), 1);
}

// ---------------------------------------------------------------------------------------
// 5. SIZE
// ---------------------------------------------------------------------------------------

#[test]
fn mail_from_carries_size_when_the_server_offers_it() {
    let server = RawServer::start(RawOptions::new().size(1_000_000));
    let (_cmd, run) = send_via(&server, "", "rcpt@example.com");
    run.assert_code(0);
    server.wait_closed(1, WAIT);
    let mail = server
        .commands()
        .into_iter()
        .find(|c| c.verb() == "MAIL")
        .expect("a MAIL command");
    let size: usize = mail
        .line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("SIZE="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no SIZE= in {:?}", mail.line));
    let message = unstuff(&server.data()[0]);
    assert!(
        size >= message.len() && size <= message.len() + 16,
        "SIZE={size} for a {}-byte message",
        message.len()
    );
}

#[test]
fn a_message_over_the_advertised_size_is_refused_before_upload() {
    let server = RawServer::start(RawOptions::new().size(1000));
    let mut cmd = configured(rmail(), &server.profile_toml("t"), "");
    let body = "x".repeat(70).repeat(100);
    cmd.args([
        "send",
        "--to",
        "r@example.com",
        "-s",
        "big",
        "--text",
        &body,
    ]);
    let run = cmd.run();
    run.assert_code(69);
    assert!(run.stderr.contains("1000"), "stderr names the limit: {run}");
    server.wait_closed(1, WAIT);
    assert!(!has_verb(&server, "DATA"), "{}", server.log());
    assert!(server.data().is_empty());
    assert!(has_verb(&server, "QUIT"), "{}", server.log());
}

// ---------------------------------------------------------------------------------------
// 6. QUIT after every failure that leaves the session readable
// ---------------------------------------------------------------------------------------

#[test]
fn quit_follows_every_refusal() {
    for (stage, reply, code, extra) in [
        ("RCPT", "550 5.1.1 no such user", 65, ""),
        ("MAIL", "451 4.3.0 try later", 75, ""),
        ("DATA", "554 5.3.0 no data for you", 69, ""),
        ("DOT", "554 5.7.1 spam", 69, ""),
        (
            "AUTH",
            "535 5.7.8 bad credentials",
            77,
            "username = \"me\"\npassword = \"wrong\"\n",
        ),
    ] {
        let mut options = RawOptions::new().reply(stage, reply);
        if stage == "AUTH" {
            options = options.auth();
        }
        let server = RawServer::start(options);
        let (_cmd, run) = send_via(&server, extra, "rcpt@example.com");
        assert_eq!(run.code(), code, "{stage} {reply}\n{run}");
        server.wait_closed(1, WAIT);
        assert_eq!(
            server.verbs().last().map(String::as_str),
            Some("QUIT"),
            "{stage} {reply}: the session should end with QUIT\n{}",
            server.log()
        );
    }
}

// ---------------------------------------------------------------------------------------
// 7. Nothing illegal on the wire
// ---------------------------------------------------------------------------------------

#[track_caller]
fn assert_clean(server: &RawServer) {
    let data = server.data();
    assert!(!data.is_empty(), "nothing arrived\n{}", server.log());
    for raw in &data {
        let bad = wire_violations(raw);
        assert!(bad.is_empty(), "illegal on the wire: {bad:?}");
    }
}

#[test]
fn send_puts_no_bare_cr_nul_or_long_line_on_the_wire() {
    let server = RawServer::start(RawOptions::new());
    let mut cmd = configured(rmail(), &server.profile_toml("t"), "");
    let long = "y".repeat(5000);
    let body = format!("smuggle\r.\r\nMAIL FROM:<x@evil>\rnul\0here\n{long}\n");
    cmd.args(["send", "--to", "r@example.com", "-s", "wire"])
        .stdin_bytes(body.as_bytes());
    let run = cmd.run();
    run.assert_code(0);
    assert_clean(&server);
    let message = unstuff(&server.data()[0]);
    let parsed = mail_parser::MessageParser::default()
        .parse(&message)
        .expect("parse");
    let text = parsed.body_text(0).expect("a text body");
    assert!(text.contains(&long), "the long line survives, encoded");
    assert!(text.contains("MAIL FROM:<x@evil>"));
}

#[test]
fn sendmail_normalises_line_ends_and_reencodes_what_would_be_illegal() {
    let server = RawServer::start(RawOptions::new());
    let long = "z".repeat(1 << 20);
    let mut message = b"Subject: cron\r.\r\nX-Test: 1\n\nbody\r.\r\nline\n".to_vec();
    message.extend_from_slice(b"nul\0byte\n");
    message.extend_from_slice(long.as_bytes());
    message.extend_from_slice(b"\nend\n");
    let (_cmd, run) = sendmail_via(&server, "", "rcpt@example.com", &message);
    run.assert_code(0);
    assert_clean(&server);
    let got = unstuff(&server.data()[0]);
    let parsed = mail_parser::MessageParser::default()
        .parse(&got)
        .expect("parse");
    let text = parsed.body_text(0).expect("a text body");
    assert!(text.contains(&long), "the 1 MB line survives, encoded");
    assert!(text.contains("end"));
}

#[test]
fn queue_flush_puts_nothing_illegal_on_the_wire() {
    // Keep a message (the server is down), then flush it to a recording server.
    let down = closed_port();
    let mut cmd = configured(
        sendmail(),
        &format!(
            "[profiles.t]\nhost = \"127.0.0.1\"\nport = {down}\nsecurity = \"none\"\ntimeout_secs = 5\n"
        ),
        "",
    );
    let mut message = b"Subject: kept\n\nbare\rcr and\0nul\n".to_vec();
    message.extend_from_slice("w".repeat(3000).as_bytes());
    message.push(b'\n');
    cmd.args(["-i", "rcpt@example.com"]).stdin_bytes(&message);
    cmd.run().assert_code(75);
    assert_eq!(cmd.outbox_ids().len(), 1);

    let server = RawServer::start(RawOptions::new());
    let flush = configured(cmd.rmail_here(), &server.profile_toml("t"), "");
    let mut flush = flush;
    flush.args(["queue", "flush"]);
    flush.run().assert_code(0);
    assert_clean(&server);
}

// ---------------------------------------------------------------------------------------
// 8. SMTPUTF8 and IDN
// ---------------------------------------------------------------------------------------

#[test]
fn an_idn_domain_goes_as_punycode_without_smtputf8() {
    let server = RawServer::start(RawOptions::new());
    let (_cmd, run) = send_via(&server, "", "zoe@bücher.example");
    run.assert_code(0);
    server.wait_closed(1, WAIT);
    let rcpt = server
        .commands()
        .into_iter()
        .find(|c| c.verb() == "RCPT")
        .expect("RCPT");
    assert_eq!(rcpt.line, "RCPT TO:<zoe@xn--bcher-kva.example>");
    let mail = server
        .commands()
        .into_iter()
        .find(|c| c.verb() == "MAIL")
        .expect("MAIL");
    assert!(!mail.line.contains("SMTPUTF8"), "{}", mail.line);
    let data = server.data();
    assert!(data[0].is_ascii(), "RFC 6532 headers without SMTPUTF8");
}

#[test]
fn a_non_ascii_local_part_needs_smtputf8() {
    let server = RawServer::start(RawOptions::new());
    let (cmd, run) = send_via(&server, "", "zoë@example.com");
    run.assert_code(65);
    assert!(run.stderr.contains("SMTPUTF8"), "{run}");
    server.wait_closed(1, WAIT);
    assert!(!has_verb(&server, "MAIL"), "{}", server.log());
    assert!(cmd.outbox_ids().is_empty());
}

#[test]
fn a_non_ascii_address_only_in_a_header_needs_smtputf8() {
    let server = RawServer::start(RawOptions::new());
    let mut cmd = configured(rmail(), &server.profile_toml("t"), "");
    cmd.args([
        "send",
        "--to",
        "r@example.com",
        "--reply-to",
        "zoë@example.com",
        "-s",
        "x",
        "--text",
        "y",
    ]);
    let run = cmd.run();
    run.assert_code(65);
    assert!(run.stderr.contains("SMTPUTF8"), "{run}");
    assert!(server.data().is_empty(), "{}", server.log());

    // sendmail mode: the From header of the input.
    let server = RawServer::start(RawOptions::new());
    let (_cmd, run) = sendmail_via(
        &server,
        "",
        "r@example.com",
        "From: Zoë <zoë@example.com>\nSubject: x\n\nbody\n".as_bytes(),
    );
    run.assert_code(65);
    assert!(server.data().is_empty(), "{}", server.log());
}

#[test]
fn a_non_ascii_address_goes_with_smtputf8_when_offered() {
    let server = RawServer::start(RawOptions::new().smtputf8());
    let (_cmd, run) = send_via(&server, "", "zoë@example.com");
    run.assert_code(0);
    server.wait_closed(1, WAIT);
    let mail = server
        .commands()
        .into_iter()
        .find(|c| c.verb() == "MAIL")
        .expect("MAIL");
    assert!(mail.line.ends_with(" SMTPUTF8") || mail.line.contains(" SMTPUTF8 "));
    assert!(
        server
            .commands()
            .iter()
            .any(|c| c.line == "RCPT TO:<zoë@example.com>"),
        "{}",
        server.log()
    );
}

// The same against aiosmtpd, a real server, with and without `enable_SMTPUTF8`.

/// `rmail send` through an aiosmtpd `server` with these extra arguments.
fn send_aiosmtpd(server: &Server, args: &[&str]) -> Run {
    let mut cmd = configured(rmail(), &server.profile_toml("t"), "");
    cmd.args(["send", "-s", "Grüße", "--text", "Hallo.\n"])
        .args(args);
    cmd.run()
}

#[test]
fn aiosmtpd_without_smtputf8_gets_punycode_for_an_idn_domain() {
    let server = Server::start(ServerOptions::plain().without_smtputf8());
    let run = send_aiosmtpd(&server, &["--to", "Zoë <zoe@bücher.example>"]);
    run.assert_code(0);
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["zoe@xn--bcher-kva.example"]);
    assert!(
        !got[0].mail_options.iter().any(|o| o == "SMTPUTF8"),
        "{:?}",
        got[0].mail_options
    );
    assert!(got[0].raw.is_ascii(), "{}", got[0].text());
    let parsed = got[0].parsed();
    let to = parsed.to().and_then(|a| a.first()).expect("a To address");
    assert_eq!(to.address(), Some("zoe@xn--bcher-kva.example"));
    assert_eq!(to.name(), Some("Zoë"));
}

#[test]
fn aiosmtpd_without_smtputf8_gets_nothing_for_a_non_ascii_local_part() {
    let server = Server::start(ServerOptions::plain().without_smtputf8());
    let run = send_aiosmtpd(&server, &["--to", "zoë@example.com"]);
    run.assert_code(65);
    assert!(run.stderr.contains("SMTPUTF8"), "{run}");
    server.assert_nothing_sent();

    let run = send_aiosmtpd(
        &server,
        &["--to", "r@example.com", "--reply-to", "zoë@example.com"],
    );
    run.assert_code(65);
    server.assert_nothing_sent();
}

#[test]
fn aiosmtpd_with_smtputf8_gets_utf8_addresses_with_the_parameter() {
    let server = Server::plain();
    let run = send_aiosmtpd(&server, &["--to", "zoë@example.com"]);
    run.assert_code(0);
    let run = send_aiosmtpd(
        &server,
        &["--to", "r@example.com", "--reply-to", "zoë@example.com"],
    );
    run.assert_code(0);
    let got = server.wait_for(2, WAIT);
    assert_eq!(got[0].rcpt_tos, ["zoë@example.com"]);
    for message in &got {
        assert!(
            message.mail_options.iter().any(|o| o == "SMTPUTF8"),
            "{:?}",
            message.mail_options
        );
    }
    let parsed = got[1].parsed();
    let reply_to = parsed.reply_to().and_then(|a| a.first()).expect("Reply-To");
    assert_eq!(reply_to.address(), Some("zoë@example.com"));
}

#[test]
fn sendmail_headers_get_punycode_for_an_idn_domain() {
    let server = Server::start(ServerOptions::plain().without_smtputf8());
    let mut cmd = configured(sendmail(), &server.profile_toml("t"), "");
    cmd.arg("-t")
        .stdin_bytes("To: Zoë <zoe@bücher.example>\nSubject: cron\n\nbackup done\n".as_bytes());
    cmd.run().assert_code(0);
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["zoe@xn--bcher-kva.example"]);
    let parsed = got[0].parsed();
    let to = parsed.to().and_then(|a| a.first()).expect("a To address");
    assert_eq!(to.address(), Some("zoe@xn--bcher-kva.example"));
}

// ---------------------------------------------------------------------------------------
// Pipelining (issue 12: one round trip for MAIL FROM, RCPT TO and DATA)
// ---------------------------------------------------------------------------------------

/// To a server that offers PIPELINING, a one-off send puts MAIL FROM, every RCPT TO and
/// DATA in one write: the server finds RCPT and DATA already received when it has answered
/// the command before (and the message arrives whole).
#[test]
fn one_off_pipelines_mail_rcpt_and_data() {
    let server = RawServer::start(RawOptions::new().pipelining());
    let (_rmail, run) = send_via(&server, "", "ann@example.com");
    run.assert_success();
    let cmds: Vec<(String, bool)> = server
        .events()
        .iter()
        .filter(|e| e["kind"] == "cmd")
        .map(|e| {
            let line = e["line"].as_str().unwrap_or_default();
            let verb = line.split(' ').next().unwrap_or_default().to_uppercase();
            (verb, e["early"].as_bool().unwrap_or(false))
        })
        .collect();
    let early = |verb: &str| cmds.iter().any(|(v, e)| v == verb && *e);
    assert!(
        early("RCPT") && early("DATA"),
        "RCPT and DATA came in the write of MAIL FROM: {cmds:?}\n{}",
        server.log()
    );
    assert!(!early("EHLO"), "{cmds:?}");
    let data = server.data();
    assert_eq!(data.len(), 1, "{}", server.log());
    assert!(String::from_utf8_lossy(&unstuff(&data[0])).contains("Hello."));
}

/// A server that does not offer PIPELINING gets one command at a time.
#[test]
fn no_pipelining_unless_offered() {
    let server = RawServer::start(RawOptions::new());
    let (_rmail, run) = send_via(&server, "", "ann@example.com");
    run.assert_success();
    let early: Vec<String> = server
        .events()
        .iter()
        .filter(|e| e["kind"] == "cmd" && e["early"] == true)
        .map(|e| e["line"].to_string())
        .collect();
    assert!(early.is_empty(), "{early:?}\n{}", server.log());
    assert_eq!(server.data().len(), 1);
}

/// One recipient refused, another accepted: the server answers the pipelined DATA with 354,
/// and rmail closes the connection before any message data, so nobody gets the message.
#[test]
fn refused_recipient_with_pipelined_data_delivers_to_nobody() {
    let server = Server::start(
        ServerOptions::plain()
            .pipelining()
            .rcpt_reply("gone@example.com", 550),
    );
    let mut rmail = rmail_for(&server, "t", FROM, "");
    rmail.args([
        "send",
        "--to",
        "gone@example.com",
        "--cc",
        "ok@example.com",
        "-s",
        "all or nothing",
        "--text",
        "x",
    ]);
    let run = rmail.run();
    run.assert_code(65);
    assert!(run.stderr.contains("gone@example.com"), "{run}");
    std::thread::sleep(Duration::from_millis(300));
    server.wait_idle();
    assert!(server.messages().is_empty(), "{:?}", server.messages());
}
