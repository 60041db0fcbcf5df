//! `rmail send` against a real SMTP server: what arrives, parsed by mail-parser.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Received, Server, mime_tree as tree, rmail};
use mail_parser::MimeHeaders;

const WAIT: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name)
}

/// A sealed rmail whose config has one profile pointing at `server`.
fn rmail_for(server: &Server) -> crate::support::Rmail {
    crate::support::rmail_for(server, "test", "Sender Name <sender@example.com>", "")
}

/// A header's raw value as it arrived, whitespace-trimmed.
fn header(received: &Received, name: &str) -> Option<String> {
    received
        .parsed()
        .header_raw(name)
        .map(|v| v.trim().to_string())
}

#[test]
fn plain_text_from_stdin() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    rmail
        .args(["send", "--to", "ann@example.com", "-s", "Backup done"])
        .stdin_bytes("all good\n.hidden\n.\n..two\nsecond line\n");
    rmail.run().assert_success();

    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].mail_from, "sender@example.com");
    assert_eq!(got[0].rcpt_tos, ["ann@example.com"]);
    let msg = got[0].parsed();
    assert_eq!(tree(&msg), "text/plain");
    assert_eq!(msg.subject(), Some("Backup done"));
    // SMTP carries CRLF line endings; the text is the same.
    assert_eq!(
        msg.body_text(0).map(|t| t.replace("\r\n", "\n")).as_deref(),
        Some("all good\n.hidden\n.\n..two\nsecond line\n")
    );
    let from = msg.from().and_then(|a| a.first()).expect("From header");
    assert_eq!(from.name(), Some("Sender Name"));
    assert_eq!(from.address(), Some("sender@example.com"));
    for required in ["Date", "Message-ID", "MIME-Version"] {
        assert!(
            header(&got[0], required).is_some(),
            "{required} missing:\n{}",
            got[0].text()
        );
    }
    assert!(msg.date().is_some(), "Date must parse");
    assert!(
        msg.message_id()
            .is_some_and(|id| id.ends_with("@example.com"))
    );
}

#[test]
fn to_cc_bcc_lists_and_bcc_stays_out_of_headers() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    rmail.args([
        "send",
        "--to",
        "a@example.com, \"Lee, Bo\" <b@example.com>",
        "--to",
        "c@example.com",
        "--cc",
        "d@example.com",
        "--bcc",
        "secret@example.com",
        "--reply-to",
        "team@example.com",
        "-s",
        "x",
        "--text",
        "hi",
    ]);
    rmail.run().assert_success();

    let got = server.wait_for(1, WAIT);
    let mut rcpts = got[0].rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com",
            "secret@example.com"
        ]
    );
    let text = got[0].text();
    assert!(!text.contains("secret@example.com"), "Bcc leaked:\n{text}");
    assert!(!text.to_ascii_lowercase().contains("\r\nbcc:"), "{text}");
    let msg = got[0].parsed();
    let to: Vec<_> = msg
        .to()
        .map(|a| a.iter().filter_map(|m| m.address()).collect())
        .unwrap_or_default();
    assert_eq!(to, ["a@example.com", "b@example.com", "c@example.com"]);
    let bo = msg
        .to()
        .and_then(|a| a.iter().nth(1))
        .and_then(|m| m.name());
    assert_eq!(bo, Some("Lee, Bo"));
    assert_eq!(
        msg.reply_to()
            .and_then(|a| a.first())
            .and_then(|m| m.address()),
        Some("team@example.com")
    );
    assert_eq!(
        msg.cc().and_then(|a| a.first()).and_then(|m| m.address()),
        Some("d@example.com")
    );
}

#[test]
fn html_inline_image_and_attachments_structure() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let pdf_name = "Jahresabschluß 2024 – 報告.pdf";
    let pdf = dir.path().join(pdf_name);
    std::fs::write(&pdf, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nbinary\x00\r\n").unwrap();

    let mut rmail = rmail_for(&server);
    rmail
        .args([
            "send",
            "--to",
            "Zoë Ωmega <zoe@example.com>",
            "-s",
            "Q3 report — 季度报告 ✓",
        ])
        .arg("--html-file")
        .arg(fixture("report.html"))
        .arg("--inline")
        .arg(fixture("logo.png"))
        .arg("--attach")
        .arg(&pdf)
        .arg("-a")
        .arg(fixture("report.csv"))
        .arg("-a")
        .arg(fixture("blob.bin"))
        .args(["-H", "X-Job: nightly-backup"]);
    rmail.run().assert_success();

    let got = server.wait_for(1, WAIT);
    let msg = got[0].parsed();
    assert_eq!(
        tree(&msg),
        "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png]],\
         application/pdf,text/csv,application/octet-stream]"
    );
    assert_eq!(msg.subject(), Some("Q3 report — 季度报告 ✓"));
    let to = msg.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.name(), Some("Zoë Ωmega"));
    assert!(
        got[0].raw.is_ascii(),
        "headers and bodies must be encoded for transport"
    );

    // The generated text alternative is readable text, not markup.
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Quarterly report"), "{text}");
    assert!(text.contains("Dear Zoë,"), "{text}");
    assert!(
        text.contains("Full report <https://example.com/r>"),
        "{text}"
    );
    assert!(!text.contains('<') || !text.contains("<p>"), "{text}");
    let html = msg.body_html(0).unwrap();
    assert!(html.contains("cid:logo.png"));

    // The inline image: Content-ID = file name, inline disposition, its own bytes.
    let image = msg
        .parts
        .iter()
        .find(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
        .unwrap();
    assert_eq!(image.content_id(), Some("logo.png"));
    assert_eq!(
        image.content_disposition().map(|d| d.ctype()),
        Some("inline")
    );
    assert_eq!(
        image.contents(),
        std::fs::read(fixture("logo.png")).unwrap()
    );

    // Attachments: names round-trip (RFC 2231), bytes identical, base64 even for text.
    let attachments: Vec<_> = msg.attachments().collect();
    let named = |name: &str| {
        attachments
            .iter()
            .find(|a| a.attachment_name() == Some(name))
            .unwrap_or_else(|| panic!("no attachment named {name}:\n{}", got[0].text()))
    };
    assert_eq!(named(pdf_name).contents(), std::fs::read(&pdf).unwrap());
    assert_eq!(
        named("report.csv").contents(),
        std::fs::read(fixture("report.csv")).unwrap()
    );
    assert_eq!(
        named("blob.bin").contents(),
        std::fs::read(fixture("blob.bin")).unwrap()
    );
    let raw = got[0].text();
    let csv_part = raw
        .split("\r\n--")
        .find(|part| part.contains("report.csv"))
        .unwrap();
    assert!(
        csv_part.contains("Content-Transfer-Encoding: base64"),
        "text attachments must be base64:\n{raw}"
    );
    assert_eq!(header(&got[0], "X-Job").as_deref(), Some("nightly-backup"));
}

#[test]
fn text_and_html_is_alternative() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    rmail
        .args([
            "send",
            "--to",
            "a@example.com",
            "-s",
            "s",
            "--text",
            "plain version",
        ])
        .arg("--html-file")
        .arg(fixture("report.html"))
        .arg("--inline")
        .arg(format!("{}=brand", fixture("logo.png").display()));
    // The HTML refers to cid:logo.png, but the image is named "brand": still sent.
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let msg = got[0].parsed();
    assert_eq!(
        tree(&msg),
        "multipart/alternative[text/plain,multipart/related[text/html,image/png]]"
    );
    assert_eq!(msg.body_text(0).as_deref(), Some("plain version"));
    let image = msg.parts.iter().find(|p| p.content_id().is_some()).unwrap();
    assert_eq!(image.content_id(), Some("brand"));
}

#[test]
fn eml_holds_exactly_the_bytes_sent() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("sent.eml");
    let mut rmail = rmail_for(&server);
    rmail
        .args([
            "send",
            "--to",
            "a@example.com",
            "-s",
            "s",
            "--text",
            "hello",
        ])
        .arg("--attach")
        .arg(fixture("report.csv"))
        .arg("--eml")
        .arg(&eml);
    rmail.run().assert_success();
    server.first_as_in_eml(&eml);
}

#[test]
fn dry_run_prints_message_and_sends_nothing() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    rmail
        .args([
            "send",
            "--dry-run",
            "--to",
            "a@example.com",
            "-s",
            "hi",
            "--text",
            "hello",
        ])
        .arg("--attach")
        .arg(fixture("blob.bin"));
    let run = rmail.run();
    run.assert_success();
    let msg = mail_parser::MessageParser::default()
        .parse(&run.stdout_bytes)
        .expect("dry run prints a parsable message");
    assert_eq!(
        tree(&msg),
        "multipart/mixed[text/plain,application/octet-stream]"
    );
    assert_eq!(msg.subject(), Some("hi"));
    assert!(run.stderr.contains("nothing sent"), "{run}");
    server.wait_idle();
    assert!(server.messages().is_empty());
    assert_eq!(server.connections(), 0, "a dry run must not even connect");
}

/// The README's quick start: no config at all, a dry run with an attachment.
#[test]
fn dry_run_works_without_any_config() {
    let mut rmail = rmail();
    rmail.args([
        "send",
        "--dry-run",
        "--to",
        "a@example.com",
        "-s",
        "hi",
        "--text",
        "hello",
        "--attach",
        "Cargo.toml",
    ]);
    let run = rmail.run();
    run.assert_success();
    let msg = mail_parser::MessageParser::default()
        .parse(&run.stdout_bytes)
        .unwrap();
    assert_eq!(tree(&msg), "multipart/mixed[text/plain,text/x-toml]");
    assert_eq!(msg.body_text(0).as_deref(), Some("hello"));
    let attachment = msg.attachments().next().unwrap();
    assert_eq!(attachment.attachment_name(), Some("Cargo.toml"));
    assert_eq!(
        attachment.contents(),
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap()
    );
}

#[test]
fn to_flag_and_profile_env_select_profile() {
    let first = Server::plain();
    let second = Server::plain();
    let rmail_cfg = rmail();
    rmail_cfg.write_config(&format!(
        "default_profile = \"one\"\n{}from = \"one@example.com\"\n{}from = \"two@example.com\"\n",
        first.profile_toml("one"),
        second.profile_toml("two")
    ));
    let mut by_env = rmail_cfg.again();
    by_env
        .env("RMAIL_PROFILE", "two")
        .args(["send", "--to", "a@example.com", "--text", "x"]);
    by_env.run().assert_success();
    assert_eq!(second.wait_for(1, WAIT)[0].mail_from, "two@example.com");

    // The flag wins over the environment, after the subcommand too.
    let mut by_flag = rmail_cfg.again();
    by_flag.env("RMAIL_PROFILE", "two").args([
        "send",
        "--to",
        "a@example.com",
        "--text",
        "x",
        "-p",
        "one",
    ]);
    by_flag.run().assert_success();
    assert_eq!(first.wait_for(1, WAIT)[0].mail_from, "one@example.com");
    assert_eq!(second.messages().len(), 1);
}

/// Files from 1 MiB on are base64-encoded while the message is sent; what arrives, what
/// `--eml` wrote and what a retry from the outbox sends must all be the same bytes.
#[test]
fn large_attachment_is_streamed_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("backup.tar");
    let data: Vec<u8> = (0..(3 << 20) + 11)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&big, &data).unwrap();
    let eml = dir.path().join("sent.eml");

    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    rmail
        .args([
            "send",
            "--to",
            "a@example.com",
            "-s",
            "backup",
            "--text",
            "attached",
        ])
        .arg("--attach")
        .arg(&big)
        .arg("--eml")
        .arg(&eml);
    rmail.run().assert_success();
    let sent = server.first_as_in_eml(&eml);
    let msg = sent.parsed();
    let attachment = msg.attachments().next().unwrap();
    assert_eq!(attachment.attachment_name(), Some("backup.tar"));
    assert!(
        attachment.contents() == data.as_slice(),
        "attachment bytes differ"
    );

    // The same message kept after a temporary failure is flushed byte-identical.
    let down = crate::support::closed_port();
    let mut failing = rmail_for(&server).again();
    failing.write_config(&format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {down}\nsecurity = \"none\"\nfrom = \"me@example.com\"\n"
    ));
    failing
        .args([
            "send",
            "--to",
            "b@example.com",
            "-s",
            "backup",
            "--text",
            "attached",
        ])
        .arg("--attach")
        .arg(&big)
        .arg("--eml")
        .arg(dir.path().join("kept.eml"));
    failing.run().assert_code(75);
    failing.write_config(&format!(
        "{}from = \"me@example.com\"\n",
        server.profile_toml("t")
    ));
    let mut flush = failing.again();
    flush.args(["queue", "flush"]);
    flush.run().assert_success();
    let got = server.wait_for(2, WAIT);
    assert_eq!(
        std::fs::read(dir.path().join("kept.eml")).unwrap(),
        got[1].raw
    );
}

/// A 3 MiB attachment sent through the scripted raw server, which holds the session at
/// `354` (trickling the reply) while `change` alters the file rmail has already opened.
/// Returns the run and the server. `extra` goes into the profile (a DKIM key).
pub(crate) fn attachment_changed_at_data(
    extra: &str,
    change: impl FnOnce(&Path) + Send + 'static,
) -> (crate::support::Run, crate::support::raw::RawServer, PathBuf) {
    use crate::support::raw::{RawOptions, RawServer};
    let server = RawServer::start(
        RawOptions::new()
            .reply("DATA", "trickle:354 go ahead")
            .trickle_delay(0.1),
    );
    let cmd = rmail();
    let big = cmd.home().join("backup.tar");
    std::fs::write(&big, vec![b'x'; 3 << 20]).unwrap();
    let eml = cmd.home().join("sent.eml");
    cmd.write_config(&format!(
        "default_profile = \"t\"\n{}{extra}from = \"job@example.com\"\n",
        server.profile_toml("t")
    ));
    // Waits for DATA, then changes the file while the 354 is still trickling in.
    let events = server.dir().join("events.jsonl");
    let path = big.clone();
    let changer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            let log = std::fs::read_to_string(&events).unwrap_or_default();
            if log.contains("\"line\": \"DATA\"") || log.contains("\"line\":\"DATA\"") {
                change(&path);
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    });
    let mut send = cmd.again();
    send.args([
        "send",
        "--to",
        "a@example.com",
        "-s",
        "backup",
        "--text",
        "x",
    ])
    .arg("--attach")
    .arg(&big)
    .arg("--eml")
    .arg(&eml);
    let run = send.run();
    assert!(
        changer.join().unwrap(),
        "rmail never sent DATA: {run}\n{}",
        server.log()
    );
    // The message cannot be sent as it was composed: nothing is kept to retry.
    assert!(send.outbox_ids().is_empty(), "nothing is kept: {run}");
    server.wait_closed(1, WAIT);
    (run, server, eml)
}

/// Asserts what a change under rmail's feet must give: exit 65 with one line naming the
/// file, no final dot (the server accepted nothing), the connection cut.
#[track_caller]
pub(crate) fn assert_cut_off(run: &crate::support::Run, server: &crate::support::raw::RawServer) {
    run.assert_code(65);
    assert_eq!(run.stderr.trim().lines().count(), 1, "one line: {run}");
    assert!(
        run.stderr.contains("backup.tar changed") && run.stderr.contains("nothing was delivered"),
        "{run}"
    );
    assert!(
        server.data().is_empty(),
        "the server must never see the final dot:\n{}",
        server.log()
    );
    assert!(
        !server.verbs().iter().any(|v| v == "QUIT"),
        "the connection is cut, not ended politely after a message: {:?}",
        server.verbs()
    );
}

/// A large attachment is read while it is sent, from the file opened at compose time: a
/// file truncated or grown after that is never delivered as something else.
#[test]
fn an_attachment_that_shrinks_or_grows_during_sending_is_never_delivered() {
    let (run, server, _) = attachment_changed_at_data("", |path| {
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(1 << 20).unwrap();
    });
    assert_cut_off(&run, &server);

    let (run, server, _) = attachment_changed_at_data("", |path| {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(b"appended later").unwrap();
    });
    assert_cut_off(&run, &server);
}
