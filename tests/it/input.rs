//! Input the user gave is never dropped or misread (issue 15): what is piped in beside
//! `--html-file` becomes the text part, beside `--text` it is refused; on a terminal the
//! body is typed as with mail(1); an inline image the HTML never refers to is warned about.

use std::fs;
use std::time::Duration;

use crate::support::pty::{Step, run_on_terminal};
use crate::support::{Rmail, Server, mime_tree, rmail, rmail_for};

const WAIT: Duration = Duration::from_secs(10);

fn sender(server: &Server) -> Rmail {
    rmail_for(server, "t", "me@example.com", "")
}

/// The decoded text/plain and text/html bodies of a received message.
fn bodies(raw: &[u8]) -> (Option<String>, Option<String>) {
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    (
        msg.body_text(0).map(|t| t.into_owned()),
        msg.body_html(0).map(|t| t.into_owned()),
    )
}

/// `printf 'text' | rmail send --html-file x.html`: the piped text is the text part, the
/// file the HTML part (before, stdin was dropped and a text part generated from the HTML).
#[test]
fn piped_text_beside_html_file_is_the_text_part() {
    let server = Server::plain();
    let mut cmd = sender(&server);
    let html = cmd.home().join("x.html");
    fs::write(&html, "<p>The <b>HTML</b> version</p>").unwrap();
    cmd.args([
        "send",
        "--to",
        "ann@example.com",
        "-s",
        "both",
        "--html-file",
    ])
    .arg(&html)
    .stdin_bytes("The piped text version\n");
    cmd.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let msg = got[0].parsed();
    assert_eq!(
        mime_tree(&msg),
        "multipart/alternative[text/plain,text/html]"
    );
    let (text, html) = bodies(&got[0].raw);
    assert_eq!(
        text.as_deref().map(str::trim_end),
        Some("The piped text version")
    );
    assert!(html.unwrap_or_default().contains("<b>HTML</b>"));
}

/// `--html-file` with a stdin nobody writes to (a script's inherited pipe) does not hang:
/// the text part is generated from the HTML, as before.
#[test]
fn html_file_with_a_silent_stdin_does_not_wait_for_it() {
    let server = Server::plain();
    let mut cmd = sender(&server);
    let html = cmd.home().join("x.html");
    fs::write(&html, "<p>Only HTML</p>").unwrap();
    cmd.args([
        "send",
        "--to",
        "ann@example.com",
        "-s",
        "html",
        "--html-file",
    ])
    .arg(&html)
    .stdin_open()
    .timeout(Duration::from_secs(10));
    let run = cmd.run();
    run.assert_success();
    assert!(run.elapsed < Duration::from_secs(5), "{run}");
    let got = server.wait_for(1, WAIT);
    let (text, _) = bodies(&got[0].raw);
    assert!(text.unwrap_or_default().contains("Only HTML"));
}

/// `--text` and a body on stdin: two bodies, and rmail will not silently pick one.
#[test]
fn text_flag_and_piped_body_is_refused() {
    let server = Server::plain();
    let mut cmd = sender(&server);
    cmd.args([
        "send",
        "--to",
        "ann@example.com",
        "-s",
        "x",
        "--text",
        "flag body",
    ])
    .stdin_bytes("piped body\n");
    let run = cmd.run();
    run.assert_code(64);
    assert!(
        run.stderr.contains("the body is given twice") && run.stderr.contains("drop one"),
        "{run}"
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run}");
    server.assert_nothing_sent();

    // An empty stdin (/dev/null, as under cron) is no second body.
    let run = cmd
        .again()
        .args([
            "send",
            "--to",
            "ann@example.com",
            "-s",
            "x",
            "--text",
            "flag body",
        ])
        .run();
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(
        bodies(&got[0].raw).0.as_deref().map(str::trim_end),
        Some("flag body")
    );
}

/// On a terminal with no body given, rmail asks for it like mail(1) and sends what was
/// typed up to Ctrl-D (before, it sent an empty message at once).
#[test]
fn on_a_terminal_the_body_is_typed() {
    let server = Server::plain();
    let mut cmd = sender(&server);
    cmd.args(["send", "--to", "ann@example.com", "-s", "Q3"]);
    let run = run_on_terminal(
        &cmd,
        &[
            Step::Expect("end|Ctrl-D"),
            Step::Send("Numbers are up.\\nSee you.\\n"),
            Step::Send("\\x04"),
        ],
    );
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(run.stdout.contains("Ctrl-D on a line of its own"), "{run}");
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    let text = bodies(&got[0].raw)
        .0
        .unwrap_or_default()
        .replace("\r\n", "\n");
    assert_eq!(text.trim_end(), "Numbers are up.\nSee you.");

    // A body on the command line: no question, sent at once.
    let server = Server::plain();
    let mut cmd = sender(&server);
    cmd.args([
        "send",
        "--to",
        "ann@example.com",
        "-s",
        "Q3",
        "--text",
        "given",
    ]);
    let run = run_on_terminal(&cmd, &[]);
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert!(!run.stdout.contains("Ctrl-D"), "{run}");
    assert_eq!(server.wait_for(1, WAIT).len(), 1);
}

/// Ctrl-C while typing the body sends nothing.
#[test]
fn ctrl_c_while_typing_sends_nothing() {
    let server = Server::plain();
    let mut cmd = sender(&server);
    cmd.args(["send", "--to", "ann@example.com", "-s", "Q3"]);
    let run = run_on_terminal(
        &cmd,
        &[
            Step::Expect("Ctrl-D"),
            Step::Send("half a sen"),
            Step::Send("\\x03"),
        ],
    );
    // Killed by SIGINT, as mail(1) would be: 128 + 2.
    assert_eq!(run.status.code(), Some(130), "{run}");
    assert!(run.stderr.is_empty(), "the driver saw every step: {run}");
    server.assert_nothing_sent();
}

/// `--inline logo.png=brand` that the HTML never refers to as cid:brand is a warning; one
/// it refers to is not.
#[test]
fn unreferenced_inline_image_is_warned_about() {
    let cmd = rmail();
    let html = cmd.home().join("x.html");
    fs::write(&html, "<p>Hi</p><img src=\"cid:logo.png\">").unwrap();
    let logo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/logo.png");
    let run = cmd
        .again()
        .args([
            "send",
            "--dry-run",
            "--to",
            "a@example.com",
            "-s",
            "x",
            "--html-file",
        ])
        .arg(&html)
        .args(["--inline", &format!("{logo}=brand"), "--inline", logo])
        .run();
    run.assert_success();
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{run}");
    assert!(
        warnings[0].contains("never refers to the inline image cid:brand"),
        "{run}"
    );
    // Still a well-formed message with both images.
    let msg = mail_parser::MessageParser::default()
        .parse(&run.stdout_bytes)
        .unwrap();
    assert!(mime_tree(&msg).contains("multipart/related[text/html,image/png,image/png]"));
}

/// `--key invoice`: a row fixed after it was sent (a typo in the name) is known by its
/// invoice number and not sent again; without a key it would count as a new row.
#[test]
fn key_column_identifies_rows_across_edits() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("invoice.txt");
    fs::write(
        &template,
        "+++\nto = \"{{ name }} <{{ email }}>\"\nsubject = \"Invoice {{ invoice }}\"\n+++\nDear {{ name }}\n",
    )
    .unwrap();
    let data = dir.path().join("invoices.csv");
    fs::write(
        &data,
        "invoice,name,email\nINV-1,Jhon,john@example.com\nINV-2,Mary,mary@example.com\n",
    )
    .unwrap();
    let cmd = sender(&server);
    let merge = |extra: &[&str]| {
        let mut run = cmd.again();
        run.arg("merge")
            .arg(&template)
            .arg("--data")
            .arg(&data)
            .args(extra);
        run.run()
    };
    merge(&["--key", "invoice"]).assert_success();
    assert_eq!(server.wait_for(2, WAIT).len(), 2);

    // The typo fixed; INV-3 added.
    fs::write(
        &data,
        "invoice,name,email\nINV-1,John,john@example.com\nINV-2,Mary,mary@example.com\nINV-3,Ann,ann@example.com\n",
    )
    .unwrap();
    let run = merge(&["--key", "invoice"]);
    run.assert_success();
    assert!(
        run.stderr
            .contains("merge: 1 sent, 0 failed, 2 already sent"),
        "{run}"
    );
    server.wait_idle();
    let got = server.messages();
    assert_eq!(got.len(), 3, "only INV-3 is new");
    assert_eq!(got[2].rcpt_tos, ["ann@example.com"]);

    // A key column whose values repeat cannot tell rows apart: refused before sending.
    fs::write(
        &data,
        "invoice,name,email\nINV-9,A,a@example.com\nINV-9,B,b@example.com\n",
    )
    .unwrap();
    let run = merge(&["--key", "invoice"]);
    run.assert_code(65);
    assert!(
        run.stderr.contains("rows 1 and 2") && run.stderr.contains("'INV-9'"),
        "{run}"
    );
    let run = merge(&["--key", "invoce"]);
    run.assert_code(65);
    assert!(
        run.stderr
            .contains("has no invoce (columns: invoice, name, email)"),
        "{run}"
    );
    server.wait_idle();
    assert_eq!(server.messages().len(), 3, "nothing more was sent");
}
