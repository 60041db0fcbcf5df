//! MIME structure and headers as other readers see them (issue 15, "MIME and headers"):
//! what a real SMTP server received, read back by Python's `email` package (a parser rmail
//! did not write) and by mail-parser.

use std::fs;
use std::process::Command;
use std::time::Duration;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

/// Python's `email` (policy.default) on `raw`: one line per MIME part,
/// `type|content-type params as JSON|filename|disposition`.
fn python_parts(raw: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    fs::write(&path, raw).unwrap();
    let script = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
for p in m.walk():
    params = dict(p['Content-Type'].params) if p['Content-Type'] else {}
    params.pop('boundary', None)
    print('|'.join([p.get_content_type(), json.dumps(params, sort_keys=True, ensure_ascii=False),
                    str(p.get_filename()), str(p.get_content_disposition())]))
"#;
    let out = Command::new(PYTHON)
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// HTML with an inline image and a non-ASCII attachment: multipart/related names its root
/// type (RFC 2387), the inline image has a file name, and the attachment's name is also in
/// Content-Type `name=` as RFC 2047 (older Outlook and webmail read only that).
#[test]
fn related_type_inline_file_name_and_encoded_name_parameter() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server, "t", "Sender <sender@example.com>", "");
    let dir = rmail.home().join("files");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("logo.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    fs::write(dir.join("mail.html"), "<p>Hi <img src=\"cid:logo\"></p>\n").unwrap();
    let csv = dir.join("Übersicht März – 売上.csv");
    fs::write(&csv, "a,b\n1,2\n").unwrap();
    rmail
        .args(["send", "--to", "rcpt@example.com", "-s", "Report"])
        .arg("--html-file")
        .arg(dir.join("mail.html"))
        .arg("--inline")
        .arg(format!("{}=logo", dir.join("logo.png").display()))
        .arg("--attach")
        .arg(&csv);
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let parts = python_parts(&got[0].raw);
    assert!(
        parts.contains(&"multipart/related|{\"type\": \"text/html\"}|None|None".to_string()),
        "{parts:#?}"
    );
    assert!(
        parts.contains(&"image/png|{\"name\": \"logo.png\"}|logo.png|inline".to_string()),
        "{parts:#?}"
    );
    assert!(
        parts.contains(
            &"text/csv|{\"name\": \"Übersicht März – 売上.csv\"}|Übersicht März – 売上.csv|attachment"
                .to_string()
        ),
        "{parts:#?}"
    );
    // The name= fallback is RFC 2047 on the wire (the RFC 2231 form stays in
    // Content-Disposition), and every header line stays short.
    let text = got[0].text();
    assert!(text.contains("name=\"=?utf-8?B?"), "{text}");
    assert!(text.contains("filename*"), "{text}");
    assert!(text.lines().all(|l| l.len() <= 78), "{text}");
    // mail-parser agrees on the names.
    use mail_parser::MimeHeaders;
    let parsed = got[0].parsed();
    let names: Vec<_> = parsed
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.content_type()
                    .and_then(|ct| ct.attribute("name"))
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("logo.png".to_string(), "logo.png".to_string()),
            (
                "Übersicht März – 売上.csv".to_string(),
                "Übersicht März – 売上.csv".to_string()
            )
        ]
    );
}

// ---------------------------------------------------------------------------------------
// sendmail mode
// ---------------------------------------------------------------------------------------

/// A `sendmail` link whose default profile reaches `server`; `extra` goes before the
/// profile table (e.g. `aliases = …`).
fn sendmail_for(server: &Server, extra: &str) -> Rmail {
    let cmd = sendmail();
    cmd.write_config(&format!(
        "{extra}default_profile = \"t\"\n{}from = \"Robot <robot@example.com>\"\n",
        server.profile_toml("t")
    ));
    cmd
}

/// Python's `email` (policy.default) on a message: the named headers (as a reader sees
/// them, decoded), then the decoded text body.
fn python_read(raw: &[u8], headers: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.eml");
    fs::write(&path, raw).unwrap();
    let script = r#"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
for name in sys.argv[2:]:
    h = m[name]
    if h is not None and hasattr(h, 'addresses'):
        print(name, '=', ', '.join(a.addr_spec for a in h.addresses))
    else:
        print(name, '=', h)
print(m.get_content_charset())
print(m.get_content(), end='')
"#;
    let out = Command::new(PYTHON)
        .args(["-c", script])
        .arg(&path)
        .args(headers)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// cron in the C locale labels its mail `charset=US-ASCII` (and `7bit`) even when the job
/// printed UTF-8: rmail relabels a body that is valid UTF-8, so it is not garbled.
#[test]
fn cron_us_ascii_label_on_a_utf8_body_is_relabelled() {
    let server = Server::plain();
    let mut cmd = sendmail_for(&server, "");
    cmd.args([
        "-FCronDaemon",
        "-i",
        "-B8BITMIME",
        "-oem",
        "ops@example.com",
    ])
    .stdin_bytes(
        "From: root (Cron Daemon)\nTo: ops@example.com\nSubject: Cron <root@h> backup\n\
             MIME-Version: 1.0\nContent-Type: text/plain; charset=US-ASCII\n\
             Content-Transfer-Encoding: 7bit\n\nSauvegarde terminée — 12 Go\n",
    );
    cmd.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let read = python_read(&got[0].raw, &[]);
    assert_eq!(
        read,
        ["utf-8", "Sauvegarde terminée — 12 Go"],
        "{}",
        got[0].text()
    );
    assert!(
        got[0]
            .text()
            .contains("Content-Transfer-Encoding: 8bit\r\n")
    );

    // Plain ASCII stays labelled as it was.
    let mut ascii = cmd.again();
    ascii.args(["-i", "ops@example.com"]).stdin_bytes(
        "Subject: s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=US-ASCII\n\nplain\n",
    );
    ascii.run().assert_success();
    let got = server.wait_for(2, WAIT);
    assert!(
        got[1]
            .text()
            .contains("Content-Type: text/plain; charset=US-ASCII\r\n"),
        "{}",
        got[1].text()
    );
}

/// A Content-Type without MIME-Version (scripts that write their own headers) gets
/// `MIME-Version: 1.0`, without which readers may ignore the Content-Type (RFC 2045).
#[test]
fn mime_version_is_added_to_a_message_with_content_type() {
    let server = Server::plain();
    let mut cmd = sendmail_for(&server, "");
    cmd.args(["-i", "ops@example.com"]).stdin_bytes(
        "Subject: report\nContent-Type: text/html; charset=utf-8\n\n<p>Disk 91% full</p>\n",
    );
    cmd.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let read = python_read(&got[0].raw, &["MIME-Version"]);
    assert_eq!(read[0], "MIME-Version = 1.0", "{}", got[0].text());
    let parsed = got[0].parsed();
    assert_eq!(
        parsed.body_html(0).as_deref(),
        Some("<p>Disk 91% full</p>\r\n")
    );
    assert_eq!(got[0].text().matches("MIME-Version").count(), 1);
}

/// cron addresses the crontab's owner as `To: root`; with `aliases = { root = … }` the
/// envelope goes to the alias, and so does what a reader sees: the To header names the
/// addresses the message went to, not a local name that means nothing outside the host.
#[test]
fn an_alias_shows_in_the_to_header() {
    let server = Server::plain();
    let mut cmd = sendmail_for(
        &server,
        "aliases = { root = \"ops@example.com, Oncall <oncall@example.com>\" }\n",
    );
    cmd.args(["-FCronDaemon", "-i", "root"]).stdin_bytes(
        "From: root (Cron Daemon)\nTo: root\nCc: audit@example.com (Audit)\nSubject: Cron <root@h> job\n\nok\n",
    );
    cmd.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@example.com", "oncall@example.com"]);
    let read = python_read(&got[0].raw, &["To", "Cc"]);
    assert_eq!(
        read[..2],
        [
            "To = ops@example.com, oncall@example.com",
            "Cc = audit@example.com"
        ],
        "{}",
        got[0].text()
    );
    // A header without a local name is passed on byte for byte.
    assert!(
        got[0]
            .text()
            .contains("\r\nCc: audit@example.com (Audit)\r\n"),
        "{}",
        got[0].text()
    );
}

/// `-t` reads To/Cc/Bcc with a real RFC 5322 parser: comments (`(Ops Team)`), groups, and
/// quoted names with commas, as other mail programs write them.
#[test]
fn t_reads_comments_groups_and_quoted_names() {
    let server = Server::plain();
    let mut cmd = sendmail_for(&server, "");
    cmd.args(["-t", "-i"]).stdin_bytes(
        "From: Reports <reports@example.com>\n\
         To: ops@example.com (Ops Team)\n\
         Cc: Team: a@example.com, \"Doe, Jane\" <jane@example.com>;,\n  undisclosed-recipients:;\n\
         Bcc: hidden@example.com (Auditor)\n\
         Subject: weekly\n\nbody\n",
    );
    let run = cmd.run();
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(
        got[0].rcpt_tos,
        [
            "ops@example.com",
            "a@example.com",
            "jane@example.com",
            "hidden@example.com"
        ]
    );
    let text = got[0].text();
    assert!(
        text.contains("\r\nTo: ops@example.com (Ops Team)\r\n"),
        "{text}"
    );
    assert!(!text.contains("hidden@example.com"), "{text}");

    // Something that is not an address is still one clear line, 65, nothing sent.
    let mut bad = cmd.again();
    bad.args(["-t", "-i"])
        .stdin_bytes("To: Ops Team\nSubject: s\n\nbody\n");
    let run = bad.run();
    run.assert_code(65);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run}");
    assert!(run.stderr.contains("Ops Team"), "{run}");
    assert_eq!(server.messages().len(), 1);
}
