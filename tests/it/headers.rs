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
