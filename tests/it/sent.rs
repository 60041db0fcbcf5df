//! A copy in Sent (issue 14): after the SMTP server accepted a message, rmail APPENDs it to
//! the account's `\Sent` mailbox over IMAP. Real servers: Dovecot (`support::imapd`) next to
//! aiosmtpd; what landed in the mailbox is read back by Python's imaplib, and compared
//! byte for byte with what the SMTP server received.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::support::imapd::{ImapMessage, Imapd, ImapdOptions, SENT_MAILBOX};
use crate::support::*;

const WAIT: Duration = Duration::from_secs(5);
const FROM: &str = "Me <me@example.com>";
/// A merge template: one message per row, to its `email`.
const HELLO: &str =
    "+++\nto = \"{{ email }}\"\nsubject = \"Hello {{ name }}\"\n+++\nHi {{ name }}\n";

/// A config whose default profile `t` sends through `smtp` and, with `profile_extra` (e.g.
/// `save_sent = true`), keeps copies through the `imap` table that follows.
fn config(smtp: &Server, profile_extra: &str, imap: &str) -> String {
    format!(
        "default_profile = \"t\"\n{}from = \"{FROM}\"\n{profile_extra}{imap}",
        smtp.profile_toml("t")
    )
}

/// [`config`] with `save_sent = true` and `imap`'s STARTTLS table: the common case.
fn saving(smtp: &Server, imap: &Imapd) -> String {
    config(smtp, "save_sent = true\n", &imap.imap_toml("t", "starttls"))
}

/// `rmail send` of one small message to b@, blind copy to c@.
fn send(cmd: &Rmail, extra: &[&str]) -> Run {
    let mut again = cmd.again();
    again
        .args(["send", "--to", "b@example.com", "--bcc", "c@example.com"])
        .args(["-s", "Report"])
        .args(extra)
        .stdin_bytes("the report\n");
    again.run()
}

fn queue(cmd: &Rmail, args: &[&str]) -> Run {
    let mut r = cmd.again();
    r.arg("queue").args(args);
    r.run()
}

/// `raw` with `header` (a whole line with CRLF) inserted where its header block ends.
fn with_header_at_end(raw: &[u8], header: &str) -> Vec<u8> {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block")
        + 2;
    let mut out = raw[..at].to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&raw[at..]);
    out
}

/// IMAP's `01-Dec-2026 09:00:00 +0000` as seconds since the epoch.
fn internal_date_secs(text: &str) -> i64 {
    let parts: Vec<&str> = text
        .split([' ', '-', ':'])
        .filter(|p| !p.is_empty())
        .collect();
    let [day, month, year, h, m, s, zone] = parts[..] else {
        panic!("unexpected INTERNALDATE {text:?}");
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|&n| n == month).expect("month") as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().unwrap(), year.parse().unwrap());
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let zone: i64 = zone.parse().unwrap();
    let offset = zone.signum() * ((zone.abs() / 100) * 3600 + (zone.abs() % 100) * 60);
    days * 86_400
        + h.parse::<i64>().unwrap() * 3600
        + m.parse::<i64>().unwrap() * 60
        + s.parse::<i64>().unwrap()
        - offset
}

/// The one message in `mailbox`; fails showing what is there otherwise.
#[track_caller]
fn only_message(imap: &Imapd, mailbox: &str) -> ImapMessage {
    let messages = imap.messages(mailbox);
    assert_eq!(messages.len(), 1, "{mailbox}: {messages:?}");
    messages.into_iter().next().unwrap()
}

#[track_caller]
fn assert_no_copies(imap: &Imapd) {
    for mailbox in imap.mailboxes() {
        assert!(
            imap.messages(&mailbox.name).is_empty(),
            "{} holds a message",
            mailbox.name
        );
    }
}

/// The harness itself: Dovecot starts from its generated config, the `\Sent` mailbox is not
/// called "Sent", and a fresh mailbox is empty.
#[test]
fn dovecot_harness_lists_a_sent_special_use_mailbox() {
    let imap = Imapd::start(ImapdOptions::default());
    let boxes = imap.mailboxes();
    let sent: Vec<_> = boxes
        .iter()
        .filter(|m| m.flags.iter().any(|f| f == "\\Sent"))
        .collect();
    assert_eq!(sent.len(), 1, "{boxes:?}");
    assert_eq!(sent[0].name, SENT_MAILBOX);
    assert!(imap.messages(SENT_MAILBOX).is_empty());
}

/// The copy is what the SMTP server received, byte for byte, plus the Bcc line the
/// recipients did not see; it is \Seen, dated by the message's Date, in the mailbox marked
/// \Sent (not one guessed by name), over STARTTLS with the test CA.
#[test]
fn send_appends_the_sent_bytes_plus_bcc_seen_and_dated_to_the_special_use_mailbox() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default().mailboxes(&[
        ("Sent", None),
        (SENT_MAILBOX, Some("\\Sent")),
        ("Drafts", Some("\\Drafts")),
    ]));
    let cmd = rmail();
    cmd.write_config(&saving(&smtp, &imap));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert_eq!(run.stderr, "", "{run}");

    let received = smtp.wait_for(1, WAIT);
    assert_eq!(received.len(), 1);
    assert!(
        !received[0].text().to_ascii_lowercase().contains("\nbcc:"),
        "Bcc travelled to the recipients:\n{}",
        received[0].text()
    );
    let copy = only_message(&imap, SENT_MAILBOX);
    assert_eq!(
        String::from_utf8_lossy(&copy.raw),
        String::from_utf8_lossy(&with_header_at_end(
            &received[0].raw,
            "Bcc: c@example.com\r\n"
        ))
    );
    assert!(copy.has_flag("\\Seen"), "{:?}", copy.flags);
    let date = received[0]
        .parsed()
        .date()
        .expect("a Date header")
        .to_timestamp();
    assert_eq!(internal_date_secs(&copy.internal_date), date);
    assert!(imap.messages("Sent").is_empty());
    assert!(imap.messages("INBOX").is_empty());
}

/// Implicit TLS (993-style) works the same way.
#[test]
fn implicit_tls_imap_gets_the_copy() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default());
    let cmd = rmail();
    cmd.write_config(&config(
        &smtp,
        "save_sent = true\n",
        &imap.imap_toml("t", "tls"),
    ));
    send(&cmd, &[]).assert_success();
    let copy = only_message(&imap, SENT_MAILBOX);
    assert_eq!(
        copy.raw,
        with_header_at_end(&smtp.wait_for(1, WAIT)[0].raw, "Bcc: c@example.com\r\n")
    );
}

/// Nothing is copied unless the SMTP server accepted the message: a permanent refusal
/// (exit 69) and a temporary one (exit 75, queued) both leave Sent empty.
#[test]
fn an_smtp_failure_leaves_sent_empty() {
    let imap = Imapd::start(ImapdOptions::default());
    for (options, code) in [
        (ServerOptions::plain().data_reply(554), 69),
        (ServerOptions::plain().data_reply(451), 75),
    ] {
        let smtp = Server::start(options);
        let cmd = rmail();
        cmd.write_config(&saving(&smtp, &imap));
        send(&cmd, &[]).assert_code(code);
    }
    assert_no_copies(&imap);
}

/// Mail queued after a temporary SMTP failure gets its copy when `queue flush` delivers it,
/// and only then.
#[test]
fn mail_kept_after_a_temporary_failure_gets_its_copy_when_flush_delivers_it() {
    let smtp = Server::start(ServerOptions::plain().data_reply(451).fail_first(1));
    let imap = Imapd::start(ImapdOptions::default());
    let cmd = rmail();
    cmd.write_config(&saving(&smtp, &imap));
    send(&cmd, &[]).assert_code(75);
    assert!(imap.messages(SENT_MAILBOX).is_empty());
    assert_eq!(cmd.outbox_ids().len(), 1);

    let flushed = queue(&cmd, &["flush"]);
    flushed.assert_success();
    let received = smtp.wait_for(1, WAIT);
    let copy = only_message(&imap, SENT_MAILBOX);
    assert_eq!(
        copy.raw,
        with_header_at_end(&received[0].raw, "Bcc: c@example.com\r\n")
    );
    assert!(copy.has_flag("\\Seen"));
    assert!(cmd.outbox_ids().is_empty(), "{flushed}");
}

/// Without save_sent nothing is copied (the default is false).
#[test]
fn without_save_sent_no_copy_is_made() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default());
    let cmd = rmail();
    cmd.write_config(&config(&smtp, "", &imap.imap_toml("t", "starttls")));
    send(&cmd, &[]).assert_success();
    smtp.wait_for(1, WAIT);
    assert_no_copies(&imap);
}

/// IMAP down: the mail is delivered (exit 0) with one warning line, and the copy waits in
/// the outbox; `queue flush` appends it once IMAP is back, without sending the mail again,
/// and a second flush has nothing left to do.
#[test]
fn imap_down_is_a_warning_and_flush_appends_the_copy_once_without_resending() {
    let smtp = Server::plain();
    let cmd = rmail();
    let down = format!(
        "[profiles.t.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\n\
         username = \"me@example.com\"\npassword = \"imap-secret\"\n",
        closed_port()
    );
    cmd.write_config(&config(&smtp, "save_sent = true\n", &down));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert_eq!(smtp.wait_for(1, WAIT).len(), 1);
    let warning: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warning.len(), 1, "{run}");
    assert!(warning[0].contains("warning"), "{run}");
    assert!(warning[0].contains("Sent"), "{run}");
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 1, "{run}");
    assert!(warning[0].contains(&ids[0]), "{run}");

    let listed = queue(&cmd, &["list"]);
    listed.assert_success();
    assert!(listed.stdout.contains(&ids[0]), "{listed}");
    assert!(listed.stdout.contains("copy for Sent"), "{listed}");

    let imap = Imapd::start(ImapdOptions::default());
    cmd.write_config(&saving(&smtp, &imap));
    queue(&cmd, &["flush"]).assert_success();
    let copy = only_message(&imap, SENT_MAILBOX);
    let received = smtp.messages();
    assert_eq!(received.len(), 1, "flush sent the mail again");
    assert_eq!(
        copy.raw,
        with_header_at_end(&received[0].raw, "Bcc: c@example.com\r\n")
    );
    assert!(copy.has_flag("\\Seen"));
    assert!(cmd.outbox_ids().is_empty());

    queue(&cmd, &["flush"]).assert_success();
    assert_eq!(imap.messages(SENT_MAILBOX).len(), 1);
    assert_eq!(smtp.messages().len(), 1);
}

/// A wrong IMAP password: exit 0, one warning that never shows a password, the copy kept;
/// a flush with the right password appends it once.
#[test]
fn a_wrong_imap_password_is_a_warning_and_the_copy_waits_for_flush() {
    let smtp = Server::start(ServerOptions::plain().auth("smtp-user", "smtp-secret"));
    let imap = Imapd::start(ImapdOptions::default());
    let cmd = rmail();
    let wrong = imap
        .imap_toml("t", "starttls")
        .replace("\"imap-secret\"", "\"wrong-imap-secret\"");
    cmd.write_config(&config(&smtp, "save_sent = true\n", &wrong));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(
        !run.stderr.contains("secret"),
        "a password in the output: {run}"
    );
    assert!(
        !run.stdout.contains("secret"),
        "a password in the output: {run}"
    );
    assert_eq!(cmd.outbox_ids().len(), 1);
    assert!(imap.messages(SENT_MAILBOX).is_empty());

    // A flush that still cannot log in keeps it, with the reason, and exits 77.
    let again = queue(&cmd, &["flush"]);
    again.assert_code(77);
    assert!(!again.stderr.contains("secret"), "{again}");
    assert_eq!(cmd.outbox_ids().len(), 1);

    cmd.write_config(&saving(&smtp, &imap));
    // The failed flush set a retry time (the outbox backs off); after a fix `--now` tries
    // at once.
    queue(&cmd, &["flush", "--now"]).assert_success();
    assert_eq!(imap.messages(SENT_MAILBOX).len(), 1);
    assert_eq!(smtp.messages().len(), 1);
    assert!(cmd.outbox_ids().is_empty());
}

/// Without its own credentials the imap table uses the SMTP profile's username and password.
#[test]
fn the_imap_table_falls_back_to_the_smtp_credentials() {
    let imap = Imapd::start(ImapdOptions::default());
    let smtp = Server::start(ServerOptions::plain().auth(imap.user(), imap.password()));
    let cmd = rmail();
    let table = format!(
        "[profiles.t.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"tls\"\nca_file = {}\n",
        imap.tls_port(),
        toml_string(&Certs::generate().ca.display().to_string())
    );
    cmd.write_config(&config(&smtp, "save_sent = true\n", &table));
    send(&cmd, &[]).assert_success();
    assert_eq!(imap.messages(SENT_MAILBOX).len(), 1);
}

/// sent_folder wins over the \Sent mailbox, and a localized (non-ASCII) name is found by
/// its decoded form.
#[test]
fn sent_folder_overrides_special_use_even_with_a_localized_name() {
    let smtp = Server::plain();
    let imap = Imapd::start(
        ImapdOptions::default().mailboxes(&[(SENT_MAILBOX, Some("\\Sent")), ("已发送", None)]),
    );
    let cmd = rmail();
    let table = imap.imap_toml("t", "starttls") + "sent_folder = \"已发送\"\n";
    cmd.write_config(&config(&smtp, "save_sent = true\n", &table));
    send(&cmd, &[]).assert_success();
    assert_eq!(imap.messages("已发送").len(), 1);
    assert!(imap.messages(SENT_MAILBOX).is_empty());
}

/// A server without SPECIAL-USE attributes: a well-known name is used ("Sent Items").
#[test]
fn without_special_use_a_well_known_name_is_used() {
    let smtp = Server::plain();
    let imap =
        Imapd::start(ImapdOptions::default().mailboxes(&[("Archive", None), ("Sent Items", None)]));
    let cmd = rmail();
    cmd.write_config(&saving(&smtp, &imap));
    send(&cmd, &[]).assert_success();
    assert_eq!(imap.messages("Sent Items").len(), 1);
}

/// No Sent mailbox at all: the mail is delivered, the warning names the mailboxes seen and
/// the fix (sent_folder), the copy is kept; a sent_folder that does not exist likewise.
#[test]
fn no_sent_mailbox_is_a_warning_naming_what_was_seen() {
    let smtp = Server::plain();
    let imap =
        Imapd::start(ImapdOptions::default().mailboxes(&[("Archive", None), ("Receipts", None)]));
    let cmd = rmail();
    cmd.write_config(&saving(&smtp, &imap));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    for word in ["\"Archive\"", "\"Receipts\"", "\"INBOX\"", "sent_folder"] {
        assert!(run.stderr.contains(word), "{word} missing: {run}");
    }
    assert_eq!(cmd.outbox_ids().len(), 1);

    let cmd = rmail();
    let table = imap.imap_toml("t", "starttls") + "sent_folder = \"Snet\"\n";
    cmd.write_config(&config(&smtp, "save_sent = true\n", &table));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert!(run.stderr.contains("\"Snet\""), "{run}");
    assert!(run.stderr.contains("\"Archive\""), "{run}");
    assert_no_copies(&imap);
}

/// Same TLS rules as SMTP: an IMAP certificate from an unknown CA, or a server that does
/// not offer STARTTLS, is a warning (never a plaintext login), and nothing is appended.
#[test]
fn imap_tls_is_verified_and_starttls_never_skipped() {
    let smtp = Server::plain();

    let untrusted = Imapd::start(ImapdOptions::default().untrusted_cert());
    let cmd = rmail();
    cmd.write_config(&config(
        &smtp,
        "save_sent = true\n",
        &untrusted.imap_toml("t", "starttls"),
    ));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert!(run.stderr.contains("TLS"), "{run}");
    assert!(run.stderr.contains("ca_file"), "{run}");
    assert_no_copies(&untrusted);
    assert_eq!(cmd.outbox_ids().len(), 1);

    let plaintext = Imapd::start(ImapdOptions::default().without_tls());
    let cmd = rmail();
    cmd.write_config(&config(
        &smtp,
        "save_sent = true\n",
        &plaintext.imap_toml("t", "starttls"),
    ));
    let run = send(&cmd, &[]);
    run.assert_success();
    assert!(run.stderr.contains("STARTTLS"), "{run}");
    // Read before the independent reader logs in itself.
    let log = fs::read_to_string(plaintext.dir().join("dovecot.log")).unwrap_or_default();
    assert!(
        !log.contains("Login:"),
        "rmail logged in without TLS:\n{log}"
    );
    assert_no_copies(&plaintext);
}

/// `send --template` honours save_sent like `send`.
#[test]
fn send_with_a_template_honours_save_sent() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("note.txt");
    fs::write(
        &template,
        "+++\nto = \"b@example.com\"\nsubject = \"Hello {{ name }}\"\n+++\nHi {{ name }}\n",
    )
    .unwrap();
    let cmd = rmail();
    cmd.write_config(&saving(&smtp, &imap));
    let mut run = cmd.again();
    run.args(["send", "--template"])
        .arg(&template)
        .args(["--var", "name=Ann"]);
    run.run().assert_success();
    let copy = only_message(&imap, SENT_MAILBOX);
    assert_eq!(copy.raw, smtp.wait_for(1, WAIT)[0].raw);
}

/// Cron mail does not fill a mailbox by default: `sendmail` copies only with --save-sent.
#[test]
fn sendmail_copies_only_with_save_sent() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default());
    let cmd = sendmail();
    cmd.write_config(&saving(&smtp, &imap));
    let message = "To: ops@example.com\nSubject: nightly\n\nall good\n";
    let mut plain = cmd.again();
    plain.args(["-t", "-i"]).stdin_bytes(message);
    plain.run().assert_success();
    smtp.wait_for(1, WAIT);
    assert!(imap.messages(SENT_MAILBOX).is_empty());

    let mut asked = cmd.again();
    asked
        .args(["--save-sent", "-i", "ops@example.com", "audit@example.com"])
        .stdin_bytes(message);
    asked.run().assert_success();
    let received = smtp.wait_for(2, WAIT);
    let copy = only_message(&imap, SENT_MAILBOX);
    // audit@ was an envelope-only recipient: the copy says so in Bcc.
    assert_eq!(
        copy.raw,
        with_header_at_end(&received[1].raw, "Bcc: audit@example.com\r\n")
    );
}

/// A bulk run does not fill a mailbox by default: `merge` copies only with --save-sent,
/// then one copy per row.
#[test]
fn merge_copies_only_with_save_sent() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let template = write_file(dir.path(), "hello.txt", HELLO);
    let data = |name: &str| {
        write_file(
            dir.path(),
            name,
            "name,email\nAnn,ann@example.com\nBob,bob@example.com\n",
        )
    };
    let cmd = rmail();
    cmd.write_config(&saving(&smtp, &imap));
    let merge = |data: &Path, extra: &[&str]| {
        cmd.again()
            .args(merge_args(&template, data))
            .args(extra)
            .run()
    };
    merge(&data("first.csv"), &[]).assert_success();
    smtp.wait_for(2, WAIT);
    assert!(imap.messages(SENT_MAILBOX).is_empty());

    merge(&data("second.csv"), &["--save-sent"]).assert_success();
    let received = smtp.wait_for(4, WAIT);
    let mut copies: Vec<Vec<u8>> = imap
        .messages(SENT_MAILBOX)
        .into_iter()
        .map(|m| m.raw)
        .collect();
    let mut sent: Vec<Vec<u8>> = received[2..].iter().map(|m| m.raw.clone()).collect();
    copies.sort();
    sent.sort();
    assert_eq!(copies, sent);
}

/// A merge whose IMAP server is down still sends every row (exit 0): the first copy kept
/// gets a warning, the others are counted once, and each copy waits in the outbox, where
/// `queue flush` saves them all without sending a row again.
#[test]
fn a_merge_with_imap_down_keeps_every_copy_and_warns_once() {
    let smtp = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write_file(dir.path(), "hello.txt", HELLO);
    let data = write_file(
        dir.path(),
        "people.csv",
        "name,email\nAnn,ann@example.com\nBob,bob@example.com\nCy,cy@example.com\n",
    );
    let cmd = rmail();
    let down = format!(
        "[profiles.t.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"tls\"\n\
         username = \"me@example.com\"\npassword = \"imap-secret\"\n",
        closed_port()
    );
    cmd.write_config(&config(&smtp, "", &down));
    let run = cmd
        .again()
        .args(merge_args(&template, &data))
        .arg("--save-sent")
        .run();
    run.assert_success();
    assert_eq!(smtp.wait_for(3, WAIT).len(), 3);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 2, "{run}");
    assert!(warnings[1].contains("3 copies"), "{run}");
    assert_eq!(cmd.outbox_ids().len(), 3);

    let imap = Imapd::start(ImapdOptions::default());
    cmd.write_config(&config(&smtp, "", &imap.imap_toml("t", "tls")));
    queue(&cmd, &["flush"]).assert_success();
    assert_eq!(imap.messages(SENT_MAILBOX).len(), 3);
    assert_eq!(smtp.messages().len(), 3);
    assert!(cmd.outbox_ids().is_empty());
}

/// Providers that keep their own copy of SMTP-submitted mail (Gmail here): save_sent = true
/// adds no second one; save_sent = "always" does.
#[test]
fn a_provider_that_saves_its_own_copy_gets_none_unless_told() {
    let smtp = Server::plain();
    let imap = Imapd::start(ImapdOptions::default());
    // The gmail preset, pointed at the local servers.
    let profile = format!(
        "default_profile = \"t\"\n[profiles.t]\nprovider = \"gmail\"\nhost = \"127.0.0.1\"\n\
         port = {}\nsecurity = \"none\"\ntimeout_secs = 10\nfrom = \"{FROM}\"\n",
        smtp.port()
    );
    let cmd = rmail();
    cmd.write_config(&format!(
        "{profile}save_sent = true\n{}",
        imap.imap_toml("t", "starttls")
    ));
    send(&cmd, &[]).assert_success();
    smtp.wait_for(1, WAIT);
    assert!(imap.messages(SENT_MAILBOX).is_empty());

    let listed = {
        let mut r = cmd.again();
        r.arg("profiles");
        r.run()
    };
    assert!(listed.stdout.contains("keeps its own copy"), "{listed}");

    cmd.write_config(&format!(
        "{profile}save_sent = \"always\"\n{}",
        imap.imap_toml("t", "starttls")
    ));
    send(&cmd, &[]).assert_success();
    assert_eq!(imap.messages(SENT_MAILBOX).len(), 1);
}

/// save_sent without any way to reach IMAP (a custom host, no imap table) is a
/// configuration error found before anything is sent.
#[test]
fn save_sent_without_an_imap_server_is_a_config_error_before_sending() {
    let smtp = Server::plain();
    let cmd = rmail();
    cmd.write_config(&config(&smtp, "save_sent = true\n", ""));
    let run = send(&cmd, &[]);
    run.assert_code(78);
    assert!(run.stderr.contains("imap"), "{run}");
    smtp.assert_nothing_sent();
}
