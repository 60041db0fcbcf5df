//! sendmail mode: rmail invoked as `sendmail` (argv[0], the /usr/sbin/sendmail link that
//! cron's MAILTO uses) and `rmail sendmail`. Every test checks what the SMTP server received.

use std::time::Duration;

use crate::support::*;

/// The profile's sender: what a cron message's unusable `From: root (Cron Daemon)` becomes.
const PROFILE_FROM: &str = "Backup Robot <robot@example.com>";

/// A config whose default profile `t` reaches `server` and sends as [`PROFILE_FROM`].
fn config_for(server: &Server) -> String {
    format!(
        "default_profile = \"t\"\n{}from = \"{PROFILE_FROM}\"\n",
        server.profile_toml("t")
    )
}

/// The one message the server received, after checking there is exactly one.
#[track_caller]
fn only_message(server: &Server) -> Received {
    let got = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1, "expected exactly one delivery: {got:#?}");
    got.into_iter().next().expect("one message")
}

/// Raw header lines (before the blank line) of a received message, unfolded not needed here.
fn header_block(received: &Received) -> String {
    let text = received.text();
    match text.split_once("\r\n\r\n") {
        Some((headers, _)) => headers.to_owned(),
        None => text,
    }
}

/// The body exactly as it arrived (after the first blank line).
fn raw_body(received: &Received) -> String {
    let text = received.text();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// What Debian's cron writes to sendmail's stdin (cron 3.0pl1, do_command.c): its own
/// From/To/Subject, the MIME headers for an 8-bit body, the auto-submitted markers and one
/// X-Cron-Env per variable. The body holds a lone "." line, which `-i` must keep, and
/// non-ASCII text, which is why cron passes -B8BITMIME.
const CRON_MESSAGE: &str = "From: root (Cron Daemon)\n\
To: ops@example.com\n\
Subject: Cron <root@host> backup.sh\n\
MIME-Version: 1.0\n\
Content-Type: text/plain; charset=UTF-8\n\
Content-Transfer-Encoding: 8bit\n\
Precedence: bulk\n\
Auto-Submitted: auto-generated\n\
X-Cron-Env: <SHELL=/bin/sh>\n\
X-Cron-Env: <HOME=/root>\n\
X-Cron-Env: <PATH=/usr/bin:/bin>\n\
X-Cron-Env: <LOGNAME=root>\n\
\n\
backup.sh: 3 archives written\n\
.\n\
Sauvegarde terminée — 12 Go, durée 4 min\n";

#[test]
fn debian_cron_argv_delivers_once_with_from_date_and_message_id() {
    let server = Server::plain();
    let mut sendmail = sendmail();
    sendmail.write_config(&config_for(&server));
    // Exactly what Debian's cron runs, read from its binary.
    sendmail
        .args([
            "-FCronDaemon",
            "-i",
            "-B8BITMIME",
            "-oem",
            "ops@example.com",
        ])
        .stdin_bytes(CRON_MESSAGE);
    let run = sendmail.run();
    run.assert_success();
    assert!(
        run.stdout.is_empty(),
        "sendmail prints nothing on success\n{run}"
    );

    let got = only_message(&server);
    assert_eq!(got.mail_from, "robot@example.com");
    assert_eq!(got.rcpt_tos, ["ops@example.com"]);

    let parsed = got.parsed();
    // `root (Cron Daemon)` has no domain: a relay would refuse it, so the profile's
    // address replaces it.
    let from = parsed
        .from()
        .and_then(|f| f.first())
        .expect("a From header");
    assert_eq!(from.address(), Some("robot@example.com"), "{}", got.text());
    assert!(
        !header_block(&got).contains("root (Cron Daemon)"),
        "{}",
        got.text()
    );
    assert!(parsed.date().is_some(), "Date added\n{}", got.text());
    let message_id = parsed.message_id().expect("Message-ID added");
    assert!(message_id.contains('@'), "{message_id}");
    assert_eq!(parsed.subject(), Some("Cron <root@host> backup.sh"));
    let to = parsed.to().and_then(|t| t.first()).expect("a To header");
    assert_eq!(to.address(), Some("ops@example.com"));

    // cron's own headers travel unchanged, once each.
    let headers = header_block(&got);
    for line in [
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "Auto-Submitted: auto-generated",
        "X-Cron-Env: <PATH=/usr/bin:/bin>",
    ] {
        assert_eq!(
            headers.matches(line).count(),
            1,
            "{line:?} once in\n{headers}"
        );
    }
    for name in ["From:", "Date:", "Message-ID:", "Subject:", "To:"] {
        let count = headers
            .lines()
            .filter(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&name.to_ascii_lowercase())
            })
            .count();
        assert_eq!(count, 1, "{name} once in\n{headers}");
    }

    // The body arrives byte for byte (CRLF on the wire), the "." line kept by -i.
    assert_eq!(
        raw_body(&got),
        "backup.sh: 3 archives written\r\n.\r\nSauvegarde terminée — 12 Go, durée 4 min\r\n"
    );
    assert_eq!(
        parsed
            .body_text(0)
            .as_deref()
            .map(|b| b.replace("\r\n", "\n")),
        Some("backup.sh: 3 archives written\n.\nSauvegarde terminée — 12 Go, durée 4 min\n".into())
    );
    // An 8-bit body is declared as such to a server that offers 8BITMIME.
    assert!(
        got.mail_options.iter().any(|o| o == "BODY=8BITMIME"),
        "{:?}",
        got.mail_options
    );
    assert!(server.messages().len() == 1, "delivered exactly once");
}

#[test]
fn t_takes_to_cc_and_bcc_and_removes_bcc() {
    let server = Server::plain();
    let mut sendmail = sendmail();
    sendmail.write_config(&config_for(&server));
    sendmail.arg("-t").stdin_bytes(
        "From: Reports <reports@example.com>\n\
         To: Alice <alice@example.com>\n\
         Cc: bob@example.com,\n  \"Carol, C.\" <carol@example.com>\n\
         Bcc: hidden@example.com\n\
         Subject: Weekly numbers\n\
         \n\
         All green.\n",
    );
    sendmail.run().assert_success();

    let got = only_message(&server);
    let mut rcpts = got.rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        [
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "hidden@example.com"
        ]
    );
    let text = got.text();
    assert!(
        !text.to_ascii_lowercase().contains("bcc:"),
        "Bcc header must not travel\n{text}"
    );
    assert!(!text.contains("hidden@example.com"), "{text}");
    let parsed = got.parsed();
    // A usable From is kept as the author wrote it; the envelope uses the profile.
    assert_eq!(
        parsed
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address()),
        Some("reports@example.com")
    );
    assert_eq!(got.mail_from, "robot@example.com");
    assert_eq!(parsed.subject(), Some("Weekly numbers"));
    assert_eq!(parsed.cc().map(|c| c.iter().count()), Some(2));
    assert_eq!(
        parsed.body_text(0).as_deref().map(str::trim_end),
        Some("All green.")
    );
}

#[test]
fn t_with_argument_recipients_sends_to_both_once() {
    let server = Server::plain();
    let mut sendmail = sendmail();
    sendmail.write_config(&config_for(&server));
    sendmail
        .args(["-t", "extra@example.com", "ALICE@example.com"])
        .stdin_bytes("To: alice@example.com\nSubject: s\n\nb\n");
    sendmail.run().assert_success();
    let got = only_message(&server);
    assert_eq!(got.rcpt_tos.len(), 2, "{:?}", got.rcpt_tos);
    assert!(got.rcpt_tos.iter().any(|r| r == "extra@example.com"));
    assert!(
        got.rcpt_tos
            .iter()
            .any(|r| r.eq_ignore_ascii_case("alice@example.com"))
    );
}

#[test]
fn f_sets_the_envelope_sender() {
    let server = Server::plain();
    let mut sendmail = sendmail();
    sendmail.write_config(&config_for(&server));
    sendmail
        .args(["-f", "bounces@example.org", "ops@example.com"])
        .stdin_bytes("Subject: with -f\n\nbody\n");
    sendmail.run().assert_success();
    let got = only_message(&server);
    assert_eq!(got.mail_from, "bounces@example.org");
    assert_eq!(got.rcpt_tos, ["ops@example.com"]);
    // No From in the input: the -f address is the author too.
    assert_eq!(
        got.parsed()
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address()),
        Some("bounces@example.org")
    );

    // Attached form, as some daemons write it: -fADDR.
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    sendmail
        .args(["-fcron@example.net", "ops@example.com"])
        .stdin_bytes("Subject: attached -f\n\nbody\n");
    sendmail.run().assert_success();
    assert_eq!(only_message(&server).mail_from, "cron@example.net");
}

/// A fresh `sendmail` whose config reaches `server`.
fn sendmail_for(server: &Server) -> Rmail {
    let sendmail = sendmail();
    sendmail.write_config(&config_for(server));
    sendmail
}

#[test]
fn date_and_message_id_present_are_kept_unchanged() {
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    sendmail.arg("ops@example.com").stdin_bytes(
        "From: Me <me@example.com>\n\
         Date: Mon, 01 Jan 2024 09:30:00 +0100\n\
         Message-ID: <kept-12345@host.example.com>\n\
         Subject: keep my headers\n\
         \n\
         body\n",
    );
    sendmail.run().assert_success();
    let got = only_message(&server);
    let headers = header_block(&got);
    assert!(
        headers.contains("\r\nDate: Mon, 01 Jan 2024 09:30:00 +0100\r\n"),
        "{headers}"
    );
    assert!(
        headers.contains("\r\nMessage-ID: <kept-12345@host.example.com>"),
        "{headers}"
    );
    assert_eq!(headers.matches("Date:").count(), 1, "{headers}");
    assert_eq!(
        headers.to_ascii_lowercase().matches("message-id:").count(),
        1,
        "{headers}"
    );
    assert!(
        headers.starts_with("From: Me <me@example.com>\r\n"),
        "{headers}"
    );
    assert_eq!(
        got.parsed().message_id(),
        Some("kept-12345@host.example.com")
    );
}

#[test]
fn oi_odi_and_oem_are_accepted() {
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    sendmail
        .args(["-oi", "-odi", "-oem", "ops@example.com"])
        .stdin_bytes("Subject: options\n\nbefore\n.\nafter\n");
    sendmail.run().assert_success();
    let got = only_message(&server);
    // -oi is -i: the "." line does not end the message.
    assert_eq!(raw_body(&got), "before\r\n.\r\nafter\r\n");
    assert_eq!(got.rcpt_tos, ["ops@example.com"]);
}

/// Whatever the job printed arrives as it was: leading dots (dot-stuffed on the wire and
/// unstuffed by the server), trailing blanks, tabs, bytes that are not UTF-8, CRLF input.
#[test]
fn body_bytes_arrive_unchanged() {
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    let mut input = b"Subject: raw output\r\n\r\n".to_vec();
    input.extend_from_slice(b".hidden file\n..two dots\n\tindented  \nlatin-1: caf\xe9\n\n");
    input.extend_from_slice(b"last line without newline");
    sendmail.args(["-i", "ops@example.com"]).stdin_bytes(&input);
    sendmail.run().assert_success();
    let got = only_message(&server);
    let body = got
        .raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| got.raw[at + 4..].to_vec())
        .expect("a header/body separator");
    assert_eq!(
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(
            b".hidden file\r\n..two dots\r\n\tindented  \r\nlatin-1: caf\xe9\r\n\r\nlast line without newline\r\n"
        )
    );
    assert_eq!(
        body,
        b".hidden file\r\n..two dots\r\n\tindented  \r\nlatin-1: caf\xe9\r\n\r\nlast line without newline\r\n"
    );
}

/// Headers pass as they came too: folding kept, and bytes that are not UTF-8 (a cron
/// Subject naming a Latin-1 file) are not replaced.
#[test]
fn header_bytes_arrive_unchanged() {
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    sendmail
        .args(["-i", "ops@example.com"])
        .stdin_bytes(
            &b"Subject: Cron <root@host> ls /srv/caf\xe9\nX-Folded: first part\n\tsecond part\n\nbody\n"[..],
        );
    sendmail.run().assert_success();
    let got = only_message(&server);
    let raw = &got.raw;
    let find = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(
        find(b"\r\nSubject: Cron <root@host> ls /srv/caf\xe9\r\n")
            || raw.starts_with(b"Subject: Cron <root@host> ls /srv/caf\xe9\r\n"),
        "{}",
        got.text()
    );
    assert!(
        find(b"X-Folded: first part\r\n\tsecond part\r\n"),
        "{}",
        got.text()
    );
}

#[test]
fn subcommand_form_works_too() {
    let server = Server::plain();
    let mut rmail = rmail();
    rmail.write_config(&config_for(&server));
    rmail
        .args(["sendmail", "-i", "ops@example.com"])
        .stdin_bytes("To: ops@example.com\nSubject: via rmail sendmail\n\nhello\n");
    rmail.run().assert_success();
    let got = only_message(&server);
    assert_eq!(got.rcpt_tos, ["ops@example.com"]);
    assert_eq!(got.mail_from, "robot@example.com");
    let parsed = got.parsed();
    assert_eq!(parsed.subject(), Some("via rmail sendmail"));
    assert!(parsed.date().is_some() && parsed.message_id().is_some());
    assert_eq!(raw_body(&got), "hello\r\n");
}

#[test]
fn without_i_a_lone_dot_line_ends_the_message() {
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    sendmail
        .arg("ops@example.com")
        .stdin_bytes("Subject: dots\n\nfirst line\n.\nnever sent\n");
    sendmail.run().assert_success();
    let got = only_message(&server);
    assert_eq!(raw_body(&got), "first line\r\n");
    assert!(!got.text().contains("never sent"));
}

#[test]
fn no_recipients_is_a_usage_error_and_sends_nothing() {
    let server = Server::plain();
    let mut sendmail = sendmail_for(&server);
    // No arguments, no -t: the To header alone does not make a recipient.
    sendmail.stdin_bytes("To: ops@example.com\nSubject: s\n\nbody\n");
    let run = sendmail.run();
    run.assert_code(64);
    assert!(run.stderr.contains("recipient"), "{run}");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "one line\n{run}");

    // -t with no recipient headers.
    let mut again = sendmail.again();
    again.arg("-t").stdin_bytes("Subject: s\n\nbody\n");
    again.run().assert_code(64);

    assert!(server.messages().is_empty());
    assert_eq!(server.connections(), 0, "{}", server.session_log());
    assert!(
        !sendmail.outbox_dir().exists()
            || std::fs::read_dir(sendmail.outbox_dir())
                .map(|d| d.count())
                .unwrap_or(0)
                == 0
    );
}

/// Without MAILTO, cron mails the crontab's owner by local name (`root`): the config's
/// `aliases` say where that goes. Without an alias it is refused loudly, nothing sent.
#[test]
fn cron_mail_to_a_local_name_follows_aliases() {
    let server = Server::plain();
    let message = CRON_MESSAGE.replace("To: ops@example.com", "To: root");

    let mut unmapped = sendmail();
    unmapped.write_config(&config_for(&server));
    unmapped
        .args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"])
        .stdin_bytes(&message);
    let run = unmapped.run();
    run.assert_code(65);
    assert!(
        run.stderr.contains("aliases") && run.stderr.contains("'root'"),
        "{run}"
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run}");

    let mut mapped = sendmail();
    mapped.write_config(&format!(
        "aliases = {{ root = \"ops@example.com, Oncall <oncall@example.com>\" }}\n{}",
        config_for(&server)
    ));
    mapped
        .args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"])
        .stdin_bytes(&message);
    mapped.run().assert_success();
    let got = only_message(&server);
    assert_eq!(got.rcpt_tos, ["ops@example.com", "oncall@example.com"]);
    assert!(raw_body(&got).contains("backup.sh: 3 archives written"));
}
