//! Values from data are values, never syntax: a merge row or a `--var` can fill in a display
//! name or an address, but can never add, split or redirect a recipient. A display name with
//! a comma or quotes is quoted and just works; a value that would change the mailboxes the
//! template spells makes the row invalid before anything is sent (exit 65, row and column
//! named).

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::support::write_file as write;
use crate::support::{Rmail, Server};
use mail_parser::{Address, HeaderValue};

const WAIT: Duration = Duration::from_secs(20);

/// The README's own pattern.
const TEMPLATE: &str = "+++\n\
to = \"{{ name }} <{{ email }}>\"\n\
subject = \"Hello {{ name }}\"\n\
+++\n\
Dear {{ name }}.\n";

fn rmail_for(server: &Server) -> Rmail {
    crate::support::rmail_for(server, "test", crate::support::BILLING, "")
}

fn merge(rmail: &Rmail, template: &Path, data: &Path) -> crate::support::Run {
    let mut run = rmail.again();
    run.arg("merge")
        .arg(template)
        .arg("--data")
        .arg(data)
        .timeout(Duration::from_secs(60));
    run.run()
}

/// (display name, address) of every mailbox in the message's To header, as mail-parser
/// (an independent parser) reads it.
fn to_mailboxes(m: &crate::support::Received) -> Vec<(Option<String>, Option<String>)> {
    let parsed = m.parsed();
    let mut out = Vec::new();
    if let Some(HeaderValue::Address(Address::List(list))) =
        parsed.header("To").map(|h| h.clone().into_owned())
    {
        for a in list {
            out.push((
                a.name.map(|n| n.into_owned()),
                a.address.map(|n| n.into_owned()),
            ));
        }
    }
    out
}

#[track_caller]
fn assert_nothing_sent(server: &Server) {
    server.wait_idle();
    assert!(server.messages().is_empty(), "something was sent");
    assert_eq!(server.connections(), 0, "{}", server.session_log());
}

#[test]
fn a_display_name_with_a_comma_or_quotes_is_quoted_and_delivered() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "t.txt", TEMPLATE);
    let data = write(
        dir.path(),
        "people.csv",
        "name,email\n\
         \"Lee, Ann\",ann@example.com\n\
         \"Bob \"\"The Boss\"\" Smith\",bob@example.com\n\
         O'Neil; Carl,carl@example.com\n",
    );
    let run = merge(&rmail_for(&server), &template, &data);
    run.assert_success();
    let got = server.wait_for(3, WAIT);
    assert_eq!(got.len(), 3);
    let expect = [
        ("Lee, Ann", "ann@example.com"),
        ("Bob \"The Boss\" Smith", "bob@example.com"),
        ("O'Neil; Carl", "carl@example.com"),
    ];
    for (m, (name, address)) in got.iter().zip(expect) {
        assert_eq!(m.rcpt_tos, [address], "exactly one recipient");
        assert_eq!(
            to_mailboxes(m),
            [(Some(name.to_owned()), Some(address.to_owned()))],
            "{}",
            m.text()
        );
    }
}

/// Rows whose values try to add a recipient, in each column, in CSV and JSON.
const HOSTILE: &[(&str, &str, &str)] = &[
    // (name, email, the column that must be named)
    ("Evil <evil@evil.example>, Ann", "ann@example.com", "name"),
    ("Ann", "ok@example.com>, <evil@evil.example", "email"),
    ("Ann", "ann@example.com, evil@evil.example", "email"),
    ("Ann", "evil@evil.example> (x", "email"),
    ("\"\" <evil@evil.example>, \"x", "ann@example.com", "name"),
];

#[test]
fn a_csv_value_that_adds_a_recipient_stops_the_merge_before_anything_is_sent() {
    for (i, (name, email, column)) in HOSTILE.iter().enumerate() {
        let server = Server::plain();
        let dir = tempfile::tempdir().unwrap();
        let template = write(dir.path(), "t.txt", TEMPLATE);
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["name", "email"]).unwrap();
        csv.write_record(["Good Row", "good@example.com"]).unwrap();
        csv.write_record([*name, *email]).unwrap();
        let data = write(dir.path(), "people.csv", csv.into_inner().unwrap());
        let run = merge(&rmail_for(&server), &template, &data);
        run.assert_code(65);
        assert!(
            run.stderr.contains("row 2") && run.stderr.contains(column),
            "case {i}: stderr names the row and the column '{column}'\n{run}"
        );
        assert!(!run.stderr.contains("row 1 "), "case {i}\n{run}");
        assert_nothing_sent(&server);
    }
}

#[test]
fn a_json_value_that_adds_a_recipient_stops_the_merge_before_anything_is_sent() {
    for (i, (name, email, column)) in HOSTILE.iter().enumerate() {
        let server = Server::plain();
        let dir = tempfile::tempdir().unwrap();
        let template = write(dir.path(), "t.txt", TEMPLATE);
        let rows = serde_json::json!([
            {"name": "Good Row", "email": "good@example.com"},
            {"name": name, "email": email},
        ]);
        let data = write(dir.path(), "people.json", rows.to_string());
        let run = merge(&rmail_for(&server), &template, &data);
        run.assert_code(65);
        assert!(
            run.stderr.contains("row 2") && run.stderr.contains(column),
            "case {i}: stderr names the row and the column '{column}'\n{run}"
        );
        assert_nothing_sent(&server);
    }
}

/// A field the template spells as one mailbox stays one mailbox even when the whole
/// mailbox comes from data; a template that spells two gets exactly two.
#[test]
fn the_template_decides_how_many_mailboxes_there_are() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "t.txt",
        "+++\nto = \"{{ contact }}\"\ncc = \"{{ a }}, {{ b }}\"\nsubject = \"s\"\n+++\nhi\n",
    );
    let data = write(
        dir.path(),
        "rows.csv",
        "contact,a,b\n\"Lee, Ann <ann@example.com>\",c1@example.com,c2@example.com\n",
    );
    let run = merge(&rmail_for(&server), &template, &data);
    // "Lee, Ann <ann@example.com>" as one value is two mailboxes to a parser ("Lee" and
    // "Ann <…>"): refused, not guessed.
    run.assert_code(65);
    assert!(run.stderr.contains("contact"), "{run}");
    assert_nothing_sent(&server);

    fs::write(
        &data,
        "contact,a,b\nAnn Lee <ann@example.com>,c1@example.com,c2@example.com\n",
    )
    .unwrap();
    merge(&rmail_for(&server), &template, &data).assert_success();
    let got = server.wait_for(1, WAIT);
    let mut rcpts = got[0].rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["ann@example.com", "c1@example.com", "c2@example.com"]
    );
}

#[test]
fn send_template_var_cannot_add_a_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "t.txt", TEMPLATE);
    for (name, email, _) in HOSTILE {
        let server = Server::plain();
        let mut cmd = rmail_for(&server);
        cmd.arg("send")
            .arg("--template")
            .arg(&template)
            .arg("--var")
            .arg(format!("name={name}"))
            .arg("--var")
            .arg(format!("email={email}"));
        let run = cmd.run();
        run.assert_code(65);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "one line\n{run}");
        assert_nothing_sent(&server);
    }

    // A harmless comma just works.
    let server = Server::plain();
    let mut cmd = rmail_for(&server);
    cmd.arg("send").arg("--template").arg(&template).args([
        "--var",
        "name=Lee, Ann",
        "--var",
        "email=ann@example.com",
    ]);
    cmd.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ann@example.com"]);
    assert_eq!(
        to_mailboxes(&got[0]),
        [(
            Some("Lee, Ann".to_owned()),
            Some("ann@example.com".to_owned())
        )]
    );
}
