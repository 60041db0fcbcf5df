//! Templates: the examples shipped in templates/, `rmail send --template`, lookup by name,
//! and template errors. Each example is sent to a real SMTP server and checked as parsed
//! by mail-parser.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Received, Rmail, Server};
use mail_parser::MimeHeaders;

const WAIT: Duration = Duration::from_secs(10);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn rmail_for(server: &Server) -> Rmail {
    crate::support::rmail_for(server, "test", "Example <hello@example.com>", "")
}

fn text(m: &Received) -> String {
    m.parsed()
        .body_text(0)
        .map(|t| t.replace("\r\n", "\n"))
        .unwrap_or_default()
}

/// The MIME structure, e.g. `multipart/alternative[text/plain,text/html]`.
fn tree(m: &Received) -> String {
    crate::support::mime_tree(&m.parsed())
}

#[test]
fn cron_report_by_name_with_vars() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    // The working directory is the repository: ./templates/cron-report.txt by name.
    rmail.args([
        "send",
        "--template",
        "cron-report",
        "--var",
        "host=web1",
        "--to",
        "ops@example.com",
    ]);
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@example.com"]);
    let msg = got[0].parsed();
    assert_eq!(msg.subject(), Some("[done] cron job on web1"));
    assert_eq!(msg.header_raw("X-Rmail-Host").map(str::trim), Some("web1"));
    assert_eq!(tree(&got[0]), "text/plain");
    assert!(
        text(&got[0]).contains("on web1 finished with status: done."),
        "{}",
        got[0].text()
    );
}

#[test]
fn cron_report_takes_the_log_from_stdin_and_flags_win() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    rmail
        .args([
            "send",
            "--template",
            "templates/cron-report.txt",
            "--var",
            "host=db2",
            "--var",
            "status=FAILED",
            "--var",
            "job=backup",
            "--to",
            "ops@example.com",
            "-s",
            "custom subject",
        ])
        .stdin_bytes("dump: disk full\nexit 1\n");
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let msg = got[0].parsed();
    assert_eq!(
        msg.subject(),
        Some("custom subject"),
        "the flag overrides the front matter"
    );
    let body = text(&got[0]);
    assert!(
        body.contains("backup on db2 finished with status: FAILED."),
        "{body}"
    );
    assert!(
        body.contains("Output:\n\ndump: disk full\nexit 1\n"),
        "{body}"
    );
}

#[test]
fn welcome_html_with_inline_logo_and_sibling_text() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("signups.csv");
    fs::write(
        &data,
        "name,email\nAnn & Co,ann@example.com\nBo,bo@example.com\n",
    )
    .unwrap();
    let mut rmail = rmail_for(&server);
    rmail
        .args(["merge", "welcome", "--data"])
        .arg(&data)
        .run()
        .assert_success();
    let got = server.wait_for(2, WAIT);
    let logo = fs::read(repo("templates/logo.png")).unwrap();
    for (m, name) in got.iter().zip(["Ann & Co", "Bo"]) {
        assert_eq!(
            tree(m),
            "multipart/alternative[text/plain,multipart/related[text/html,image/png]]"
        );
        let msg = m.parsed();
        assert_eq!(
            msg.subject(),
            Some(format!("Welcome to Example, {name}!").as_str())
        );
        // The text part is welcome.txt, rendered; not generated from the HTML.
        assert!(
            text(m).starts_with(&format!("Welcome, {name}!\n\nYour account")),
            "{}",
            text(m)
        );
        let html = msg.body_html(0).unwrap().to_string();
        assert!(html.contains("src=\"cid:logo\""), "{html}");
        if name == "Ann & Co" {
            assert!(
                html.contains("Welcome, Ann &amp; Co!"),
                "HTML values are escaped: {html}"
            );
        }
        let image = msg
            .parts
            .iter()
            .find(|p| p.content_id().is_some())
            .expect("inline part");
        assert_eq!(image.content_id(), Some("logo"));
        assert_eq!(
            image.contents(),
            logo.as_slice(),
            "logo arrives byte-identical"
        );
    }
}

#[test]
fn invoice_markdown_with_per_row_pdf() {
    let server = Server::plain();
    // A copy, so the journal written beside the data stays out of the repository.
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("templates");
    fs::create_dir_all(t.join("invoices")).unwrap();
    for file in [
        "invoice.md",
        "invoice-data.csv",
        "invoices/INV-1001.pdf",
        "invoices/INV-1002.pdf",
    ] {
        fs::copy(repo(&format!("templates/{file}")), t.join(file)).unwrap();
    }
    let mut rmail = rmail_for(&server);
    rmail
        .args(["merge", "invoice", "--data", "templates/invoice-data.csv"])
        .current_dir(dir.path());
    rmail.run().assert_success();

    let got = server.wait_for(2, WAIT);
    for (m, (name, invoice)) in got
        .iter()
        .zip([("Ann Lee", "INV-1001"), ("Bo Chen", "INV-1002")])
    {
        assert_eq!(
            tree(m),
            "multipart/mixed[multipart/alternative[text/plain,text/html],application/pdf]"
        );
        let msg = m.parsed();
        assert_eq!(
            msg.subject(),
            Some(format!("Invoice {invoice} for {name}").as_str())
        );
        let html = msg.body_html(0).unwrap().to_string();
        assert!(
            html.contains(&format!("<strong>{invoice}</strong>")),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(
            text(m).contains(&format!("attached invoice **{invoice}**")),
            "{}",
            text(m)
        );
        let pdf = msg.attachments().next().expect("the invoice PDF");
        assert_eq!(
            pdf.attachment_name(),
            Some(format!("{invoice}.pdf").as_str())
        );
        let expected = fs::read(repo(&format!("templates/invoices/{invoice}.pdf"))).unwrap();
        assert_eq!(pdf.contents(), expected.as_slice());
        assert!(expected.starts_with(b"%PDF-"));
    }
}

#[test]
fn templates_in_the_user_folder_are_found_by_name() {
    let server = Server::plain();
    let mut rmail = rmail_for(&server);
    let folder = rmail.config_home().join("rmail/templates");
    fs::create_dir_all(&folder).unwrap();
    fs::write(
        folder.join("ping.txt"),
        "+++\nsubject = \"ping {{ n }}\"\nto = \"ops@example.com\"\n+++\npong {{ n }}\n",
    )
    .unwrap();
    rmail
        .args(["send", "--template", "ping", "--var", "n=7"])
        .run()
        .assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].parsed().subject(), Some("ping 7"));
    assert_eq!(text(&got[0]), "pong 7\n");
}

#[test]
fn template_errors_are_clear_and_send_nothing() {
    let server = Server::plain();
    let rmail = rmail_for(&server);

    let run = rmail
        .again()
        .args([
            "send",
            "--template",
            "no-such-template",
            "--to",
            "a@example.com",
        ])
        .run();
    run.assert_code(66);
    assert!(
        run.stderr.contains("template 'no-such-template' not found"),
        "{run}"
    );

    // The welcome body uses `email`, which only the front matter's `to` would get.
    let run = rmail
        .again()
        .args([
            "send",
            "--template",
            "welcome",
            "--var",
            "name=A",
            "--to",
            "a@example.com",
        ])
        .run();
    run.assert_code(65);
    assert!(
        run.stderr
            .contains("undefined variable `email` in welcome.html line"),
        "{run}"
    );

    let run = rmail
        .again()
        .args([
            "send",
            "--template",
            "cron-report",
            "--var",
            "novalue",
            "--to",
            "a@example.com",
        ])
        .run();
    run.assert_code(64);

    let run = rmail
        .again()
        .args([
            "send",
            "--var",
            "a=b",
            "--to",
            "a@example.com",
            "--text",
            "x",
        ])
        .run();
    run.assert_code(64);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    fs::write(&bad, "+++\nsubjcet = \"x\"\n+++\nbody\n").unwrap();
    let run = rmail
        .again()
        .args(["send", "--to", "a@example.com", "--template"])
        .arg(&bad)
        .run();
    run.assert_code(65);
    assert!(run.stderr.contains("line 2"), "{run}");
    assert!(run.stderr.contains("subjcet"), "{run}");

    std::thread::sleep(Duration::from_millis(100));
    assert!(server.messages().is_empty());
}

/// `unsubscribe` in the front matter gives every message List-Unsubscribe, and with an
/// HTTPS target the RFC 8058 one-click header, personalised per row.
#[test]
fn unsubscribe_headers_per_row() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("news.txt");
    fs::write(
        &template,
        "+++\nto = \"{{ email }}\"\nsubject = \"News\"\n\
         unsubscribe = [\"https://example.com/unsub/{{ id }}\", \"mailto:unsub@example.com?subject=unsub-{{ id }}\"]\n\
         +++\nHello.\n",
    )
    .unwrap();
    let data = dir.path().join("list.csv");
    fs::write(&data, "email,id\na@example.com,17\nb@example.com,42\n").unwrap();
    let mut r = rmail_for(&server);
    r.arg("merge").arg(&template).arg("--data").arg(&data);
    r.run().assert_success();
    let got = server.wait_for(2, WAIT);
    for m in &got {
        let id = if m.rcpt_tos[0] == "a@example.com" {
            "17"
        } else {
            "42"
        };
        let parsed = m.parsed();
        let unsub = parsed.header_raw("List-Unsubscribe").unwrap_or_default();
        let unsub: String = unsub.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            unsub,
            format!(
                "<https://example.com/unsub/{id}>, <mailto:unsub@example.com?subject=unsub-{id}>"
            )
        );
        assert_eq!(
            parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
    }

    // A target that is neither https: nor mailto: is refused before anything is sent.
    fs::write(
        &template,
        "+++\nto = \"{{ email }}\"\nsubject = \"News\"\nunsubscribe = \"http://example.com/u/{{ id }}\"\n+++\nHello.\n",
    )
    .unwrap();
    let mut bad = r.again();
    bad.arg("merge").arg(&template).arg("--data").arg(&data);
    let run = bad.run();
    run.assert_code(65);
    assert!(run.stderr.contains("https://"), "{run}");
    assert_eq!(server.messages().len(), 2);
}
