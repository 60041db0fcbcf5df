//! `rmail merge` against a real SMTP server: personalisation, validation before sending,
//! path confinement, partial failure and resume, crash safety, concurrency, dry run, shards.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::merge_args;
use crate::support::write_file as write;
use crate::support::{Received, Rmail, Server, ServerOptions, rmail};
use mail_parser::MimeHeaders;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);

/// A sealed rmail whose config has one profile pointing at `server`.
fn rmail_for(server: &Server, extra: &str) -> Rmail {
    crate::support::rmail_for(server, "test", crate::support::BILLING, extra)
}

/// `name,email,invoice` rows: Person N <pN@example.com>, INV-N.
fn people_csv(n: usize) -> String {
    let mut csv = String::from("name,email,invoice\n");
    for i in 1..=n {
        csv += &format!("Person {i},p{i}@example.com,INV-{i}\n");
    }
    csv
}

const TEXT_TEMPLATE: &str = "+++\n\
to = \"{{ name }} <{{ email }}>\"\n\
subject = \"Invoice {{ invoice }} for {{ name }}\"\n\
+++\n\
Dear {{ name }},\n\nyour invoice {{ invoice }} is ready.\n";

/// A folder with `mail/invoice.txt` and `mail/data.csv` (n people).
fn merge_dir(n: usize) -> (TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "mail/invoice.txt", TEXT_TEMPLATE);
    let data = write(dir.path(), "mail/data.csv", people_csv(n));
    (dir, template, data)
}

/// [`merge_dir`] with the template's `attach` list set to `attach` (TOML).
fn merge_dir_attaching(n: usize, attach: &str) -> (TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = TEXT_TEMPLATE.replacen("+++\nDear", &format!("attach = {attach}\n+++\nDear"), 1);
    let template = write(dir.path(), "mail/invoice.txt", text);
    let data = write(dir.path(), "mail/data.csv", people_csv(n));
    (dir, template, data)
}

/// How many messages each recipient got.
fn per_recipient(messages: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in messages {
        for rcpt in &m.rcpt_tos {
            *counts.entry(rcpt.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn assert_each_once(messages: &[Received], n: usize) {
    let counts = per_recipient(messages);
    assert_eq!(messages.len(), n, "deliveries");
    for i in 1..=n {
        assert_eq!(
            counts.get(&format!("p{i}@example.com")),
            Some(&1),
            "p{i}@example.com: {counts:?}"
        );
    }
}

fn body_text(m: &Received) -> String {
    m.parsed()
        .body_text(0)
        .map(|t| t.replace("\r\n", "\n"))
        .unwrap_or_default()
}

#[test]
fn twenty_rows_each_personalised_over_one_connection() {
    let server = Server::plain();
    let (dir, template, data) =
        merge_dir_attaching(20, r#"["pdf/{{ invoice }}.pdf", "terms.pdf"]"#);
    let terms: Vec<u8> = (0..=255u8).cycle().take(50_000).collect();
    write(dir.path(), "mail/terms.pdf", &terms);
    for i in 1..=20 {
        write(
            dir.path(),
            &format!("mail/pdf/INV-{i}.pdf"),
            format!("%PDF-1.4 invoice {i}\r\n\x00\x01"),
        );
    }

    let mut rmail = rmail_for(&server, "");
    rmail.args(merge_args(&template, &data));
    let run = rmail.run();
    run.assert_success();
    assert!(
        run.stderr
            .contains("merge: 20 sent, 0 failed, 0 already sent"),
        "{run}"
    );

    let got = server.wait_for(20, WAIT);
    assert_each_once(&got, 20);
    for m in &got {
        let rcpt = &m.rcpt_tos[0];
        let i: usize = rcpt
            .trim_start_matches('p')
            .trim_end_matches("@example.com")
            .parse()
            .unwrap();
        let msg = m.parsed();
        assert_eq!(
            msg.subject(),
            Some(format!("Invoice INV-{i} for Person {i}").as_str())
        );
        let to = msg.to().and_then(|a| a.first()).unwrap();
        assert_eq!(to.name(), Some(format!("Person {i}").as_str()));
        assert_eq!(m.mail_from, "billing@example.com");
        assert!(
            body_text(m).contains(&format!("Dear Person {i},")),
            "{}",
            m.text()
        );
        let files: Vec<_> = msg.attachments().collect();
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0].attachment_name(),
            Some(format!("INV-{i}.pdf").as_str())
        );
        assert_eq!(
            files[0].contents(),
            format!("%PDF-1.4 invoice {i}\r\n\x00\x01").as_bytes()
        );
        assert_eq!(files[1].attachment_name(), Some("terms.pdf"));
        assert_eq!(
            files[1].contents(),
            terms.as_slice(),
            "shared attachment intact"
        );
    }
    assert_eq!(
        server.connections(),
        1,
        "one SMTP session reused for every row"
    );

    // The same command again sends nothing: every row is in the journal.
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_success();
    assert!(
        run.stderr
            .contains("merge: 0 sent, 0 failed, 20 already sent"),
        "{run}"
    );
    assert!(dir.path().join("mail/data.csv.journal").is_file());
    server.wait_idle();
    assert_eq!(server.messages().len(), 20);
}

fn thread_sleep(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn undefined_variable_in_one_row_sends_nothing() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "invoice.txt", TEXT_TEMPLATE);
    let data = write(
        dir.path(),
        "data.jsonl",
        "{\"name\":\"A\",\"email\":\"a@example.com\",\"invoice\":\"1\"}\n\
         {\"name\":\"B\",\"email\":\"b@example.com\",\"invoice\":\"2\"}\n\
         {\"name\":\"C\",\"email\":\"c@example.com\"}\n\
         {\"name\":\"D\",\"email\":\"d@example.com\",\"invoice\":\"4\"}\n",
    );
    let mut rmail = rmail_for(&server, "");
    let run = rmail.args(merge_args(&template, &data)).run();
    run.assert_code(65);
    assert!(run.stderr.contains("row 3"), "{run}");
    assert!(run.stderr.contains("`invoice`"), "{run}");
    assert!(run.stderr.contains("nothing was sent"), "{run}");
    assert!(
        !run.stderr.contains("row 1"),
        "only the bad row is listed\n{run}"
    );
    server.wait_idle();
    assert_eq!(
        server.connections(),
        0,
        "no connection before every row is valid"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn attachments_cannot_leave_the_template_or_data_folder() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secret.txt", "top secret");
    let template = write(
        dir.path(),
        "mail/t.txt",
        "+++\nto = \"{{ email }}\"\nsubject = \"s\"\nattach = [\"{{ file }}\"]\n+++\nhi\n",
    );
    write(dir.path(), "mail/ok.txt", "fine");
    std::os::unix::fs::symlink(
        dir.path().join("secret.txt"),
        dir.path().join("mail/link.txt"),
    )
    .unwrap();
    let absolute = dir.path().join("secret.txt");
    let data = write(
        dir.path(),
        "mail/data.csv",
        format!(
            "email,file\n\
             a@example.com,ok.txt\n\
             b@example.com,../secret.txt\n\
             c@example.com,{}\n\
             d@example.com,link.txt\n\
             e@example.com,sub/../../secret.txt\n",
            absolute.display()
        ),
    );
    let mut rmail = rmail_for(&server, "");
    let run = rmail.args(merge_args(&template, &data)).run();
    run.assert_code(65);
    for row in [
        "row 2 (line 3)",
        "row 3 (line 4)",
        "row 4 (line 5)",
        "row 5 (line 6)",
    ] {
        assert!(run.stderr.contains(row), "{row} not refused\n{run}");
    }
    assert!(!run.stderr.contains("row 1 "), "{run}");
    assert!(run.stderr.contains("refused"), "{run}");
    server.wait_idle();
    assert_eq!(server.connections(), 0);
    assert!(server.messages().is_empty(), "nothing may be sent");
}

#[test]
fn rejected_recipient_is_listed_written_out_and_resent_after_a_fix() {
    let server = Server::start(ServerOptions::plain().rcpt_reply("p3@example.com", 550));
    let (dir, template, data) = merge_dir(5);
    let mut rmail = rmail_for(&server, "");
    let run = rmail.args(merge_args(&template, &data)).run();
    run.assert_code(65);
    assert!(
        run.stderr.contains("row 3 (line 4) to p3@example.com"),
        "{run}"
    );
    assert!(run.stderr.contains("550"), "{run}");
    assert!(
        run.stderr
            .contains("merge: 4 sent, 1 failed, 0 already sent"),
        "{run}"
    );
    let failed = dir.path().join("mail/data.failed.csv");
    assert!(run.stderr.contains(&failed.display().to_string()), "{run}");
    assert_eq!(
        fs::read_to_string(&failed).unwrap(),
        "name,email,invoice\nPerson 3,p3@example.com,INV-3\n"
    );
    let got = server.wait_for(4, WAIT);
    assert_eq!(got.len(), 4);
    assert!(!per_recipient(&got).contains_key("p3@example.com"));

    // Fix the address in the data file and run the same command: exactly that row goes.
    let fixed = people_csv(5).replace("p3@example.com", "fixed3@example.com");
    fs::write(&data, fixed).unwrap();
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_success();
    assert!(
        run.stderr
            .contains("merge: 1 sent, 0 failed, 4 already sent"),
        "{run}"
    );
    let got = server.wait_for(5, WAIT);
    server.wait_idle();
    let got_now = server.messages();
    assert_eq!(got_now.len(), 5, "{got:?}");
    assert_eq!(got_now[4].rcpt_tos, ["fixed3@example.com"]);
    assert!(!failed.exists(), "a stale failed-rows file is removed");
}

#[test]
fn killed_mid_merge_and_rerun_delivers_every_row_exactly_once() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(20);
    let rmail = rmail_for(&server, "");

    // 10 messages a second: a gap of 100 ms between deliveries to kill the process in.
    let mut first = rmail.again();
    first
        .args(merge_args(&template, &data))
        .args(["--rate", "10/s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = first.spawn().unwrap();
    let deadline = Instant::now() + WAIT;
    while server.messages().len() < 6 {
        assert!(Instant::now() < deadline, "the merge did not start");
        thread_sleep(5);
    }
    thread_sleep(40);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = server.messages().len();
    assert!(before < 20, "killed too late: {before} delivered");

    let run = rmail
        .again()
        .args(merge_args(&template, &data))
        .args(["--rate", "100/s"])
        .run();
    run.assert_success();
    assert!(
        run.stderr.contains(&format!(
            "{} sent, 0 failed, {before} already sent",
            20 - before
        )),
        "{run}"
    );
    let got = server.wait_for(20, WAIT);
    server.wait_idle();
    assert_each_once(&server.messages(), 20);
    drop(got);
}

#[test]
fn five_hundred_rows_over_four_sessions() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(500);
    let mut rmail = rmail_for(&server, "");
    let run = rmail
        .args(merge_args(&template, &data))
        .args(["--concurrency", "4"])
        .timeout(Duration::from_secs(120))
        .run();
    run.assert_success();
    assert!(run.stderr.contains("merge: 500 sent, 0 failed"), "{run}");
    let got = server.wait_for(500, WAIT);
    assert_each_once(&got, 500);
    let connections = server.connections();
    assert!(
        (2..=4).contains(&connections),
        "{connections} connections for 4 sessions"
    );
}

#[test]
fn dry_run_writes_one_eml_per_row_and_needs_no_password() {
    let server = Server::plain();
    let (dir, template, data) = merge_dir(7);
    // A password that cannot be fetched: a dry run must not ask for it.
    let mut rmail = rmail_for(&server, "username = \"u\"\npassword_command = \"exit 3\"\n");
    let out = dir.path().join("preview");
    let run = rmail
        .args(merge_args(&template, &data))
        .args(["--dry-run", "--out-dir"])
        .arg(&out)
        .run();
    run.assert_success();
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // One .eml per row, and the preview page (tests/it/preview.rs looks at it).
    let mut expected: Vec<String> = (1..=7).map(|i| format!("{i:04}.eml")).collect();
    expected.push("index.html".into());
    assert_eq!(names, expected);
    let raw = fs::read(out.join("0005.eml")).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.subject(), Some("Invoice INV-5 for Person 5"));
    server.wait_idle();
    assert_eq!(server.connections(), 0);
    assert!(
        !dir.path().join("mail/data.csv.journal").exists(),
        "a dry run keeps no journal"
    );

    // Without --out-dir a dry run is a usage error.
    let run = rmail
        .again()
        .args(merge_args(&template, &data))
        .arg("--dry-run")
        .run();
    run.assert_code(64);
}

#[test]
fn two_shards_cover_every_row_once() {
    let server = Server::plain();
    let (dir, template, data) = merge_dir(7);
    let rmail = rmail_for(&server, "");
    for shard in ["1/2", "2/2"] {
        let run = rmail
            .again()
            .args(merge_args(&template, &data))
            .args(["--shard", shard])
            .run();
        run.assert_success();
    }
    let got = server.wait_for(7, WAIT);
    server.wait_idle();
    assert_each_once(&server.messages(), 7);
    drop(got);
    // Rows 1, 3, 5, 7 went with the first shard.
    let first: Vec<String> = server.messages()[..4]
        .iter()
        .map(|m| m.rcpt_tos[0].clone())
        .collect();
    assert_eq!(
        first,
        [
            "p1@example.com",
            "p3@example.com",
            "p5@example.com",
            "p7@example.com"
        ]
    );
    assert!(
        dir.path()
            .join("mail/data.csv.shard-1-of-2.journal")
            .is_file()
    );
    assert!(
        dir.path()
            .join("mail/data.csv.shard-2-of-2.journal")
            .is_file()
    );

    let run = rmail
        .again()
        .args(merge_args(&template, &data))
        .args(["--shard", "3/2"])
        .run();
    run.assert_code(64);
}

#[test]
fn redirect_rehearsal_does_not_count_as_sent() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(4);
    let rmail = rmail_for(&server, "");
    let run = rmail
        .again()
        .args(merge_args(&template, &data))
        .args(["--redirect-to", "me@example.com", "--limit", "2"])
        .run();
    run.assert_success();
    let got = server.wait_for(2, WAIT);
    for m in &got {
        assert_eq!(m.rcpt_tos, ["me@example.com"]);
        let msg = m.parsed();
        let to = msg.to().and_then(|a| a.first()).unwrap();
        assert_eq!(to.address(), Some("me@example.com"));
        assert!(
            msg.header_raw("X-Rmail-Redirected-From")
                .is_some_and(|v| v.contains("@example.com")),
            "{}",
            m.text()
        );
    }
    // The real run still sends every row.
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_success();
    assert!(
        run.stderr
            .contains("merge: 4 sent, 0 failed, 0 already sent"),
        "{run}"
    );
    let got = server.wait_for(6, WAIT);
    assert_each_once(&got[2..], 4);
}

#[test]
fn json_tsv_and_bom_data() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "invoice.txt", TEXT_TEMPLATE);
    let json = write(
        dir.path(),
        "a.json",
        r#"[{"name": "Zoë", "email": "p1@example.com", "invoice": 1001}]"#,
    );
    let tsv = write(
        dir.path(),
        "b.tsv",
        "\u{feff}name\temail\tinvoice\nBo \"B\"\tp2@example.com\tX-2\n",
    );
    let rmail = rmail_for(&server, "");
    for data in [&json, &tsv] {
        rmail
            .again()
            .args(merge_args(&template, data))
            .run()
            .assert_success();
    }
    let got = server.wait_for(2, WAIT);
    assert_eq!(got[0].parsed().subject(), Some("Invoice 1001 for Zoë"));
    assert_eq!(got[1].parsed().subject(), Some("Invoice X-2 for Bo \"B\""));
}

#[test]
fn malformed_data_names_row_and_line() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(dir.path(), "invoice.txt", TEXT_TEMPLATE);
    let data = write(
        dir.path(),
        "bad.csv",
        "name,email,invoice\nA,a@example.com,1\nB,b@example.com,2,extra\n",
    );
    let run = rmail_for(&server, "")
        .args(merge_args(&template, &data))
        .run();
    run.assert_code(65);
    assert!(run.stderr.contains("row 2 (line 3) has 4 fields"), "{run}");

    let missing = dir.path().join("missing.csv");
    let run = rmail_for(&server, "")
        .args(merge_args(&template, &missing))
        .run();
    run.assert_code(66);
}

#[test]
fn server_down_is_temporary_and_nothing_is_journaled() {
    let port = crate::support::closed_port();
    let (dir, template, data) = merge_dir(3);
    let rmail = rmail();
    rmail.write_config(&format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\n\
         from = \"b@example.com\"\ntimeout_secs = 5\n"
    ));
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_code(75);
    assert!(run.stderr.contains("3 not attempted"), "{run}");
    let journal = fs::read_to_string(dir.path().join("mail/data.csv.journal")).unwrap();
    assert_eq!(journal.lines().filter(|l| !l.starts_with('#')).count(), 0);
}

#[test]
fn verbose_prints_one_line_per_message_and_quiet_prints_only_the_summary() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(3);
    let rmail = rmail_for(&server, "");
    let run = rmail
        .again()
        .args(merge_args(&template, &data))
        .arg("-v")
        .run();
    run.assert_success();
    for i in 1..=3 {
        let line = format!(
            "merge: row {i} (line {}) sent to p{i}@example.com: 250",
            i + 1
        );
        assert!(run.stderr.contains(&line), "{line}\n{run}");
    }

    let (_dir, template, data) = merge_dir(3);
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_success();
    // Not a terminal and no -v: cron logs get the summary line and nothing else.
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(
        run.stderr
            .starts_with("merge: 3 sent, 0 failed, 0 already sent"),
        "{run}"
    );
}

#[test]
fn refused_login_stops_the_merge_with_77_and_sends_nothing() {
    let server = Server::start(ServerOptions::plain().auth("user", "right"));
    let (_dir, template, data) = merge_dir(4);
    let rmail = rmail();
    rmail.write_config(&format!(
        "{}from = \"b@example.com\"\n",
        server
            .profile_toml("test")
            .replace("password = \"right\"", "password = \"wrong\"")
    ));
    let run = rmail
        .again()
        .args(merge_args(&template, &data))
        .args(["--concurrency", "2"])
        .run();
    run.assert_code(77);
    assert!(
        run.stderr
            .contains("merge: 0 sent, 0 failed, 4 not attempted"),
        "{run}"
    );
    assert!(server.messages().is_empty());
}

/// With a server that offers PIPELINING, rmail sends MAIL FROM and every RCPT TO in one
/// write; a refused recipient must still cost only its own row, and a row with a Cc goes to
/// all of its recipients or to none.
#[test]
fn pipelined_sessions_keep_rows_all_or_nothing() {
    let server = Server::start(
        ServerOptions::plain()
            .pipelining()
            .rcpt_reply("p3@example.com", 550)
            .rcpt_reply("p4@example.com", 451),
    );
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "mail/cc.txt",
        "+++\nto = \"{{ name }} <{{ email }}>\"\ncc = \"audit@example.com\"\n\
         subject = \"Invoice {{ invoice }}\"\n+++\nDear {{ name }}.\n",
    );
    let data = write(dir.path(), "mail/data.csv", people_csv(5));
    let mut rmail = rmail_for(&server, "");
    let run = rmail.args(merge_args(&template, &data)).run();
    run.assert_code(65);
    assert!(run.stderr.contains("merge: 3 sent, 2 failed"), "{run}");
    assert!(
        run.stderr.contains("p3@example.com") && run.stderr.contains("550"),
        "{run}"
    );
    assert!(
        run.stderr.contains("p4@example.com") && run.stderr.contains("451"),
        "{run}"
    );
    server.wait_for(3, WAIT);
    server.wait_idle();
    let got = server.messages();
    assert_eq!(got.len(), 3, "{got:?}");
    let counts = per_recipient(&got);
    assert_eq!(
        counts.get("audit@example.com"),
        Some(&3),
        "the Cc of refused rows got nothing"
    );
    for refused in ["p3@example.com", "p4@example.com"] {
        assert!(!counts.contains_key(refused));
    }
    // Pipelining was on: rmail asked for the extension list again on each connection.
    let ehlos = server
        .commands()
        .iter()
        .filter(|c| c.verb() == "EHLO")
        .count();
    assert!(ehlos >= 2, "{}", server.session_log());
}

/// A progress bar with rate and ETA when stderr is a terminal (run under `script`, which
/// gives rmail a pseudo-terminal); none in a cron log.
#[test]
fn progress_bar_only_on_a_terminal() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(30);
    let rmail = rmail_for(&server, "");
    let command = format!(
        "{} --config {} merge {} --data {} --rate 100/s --yes",
        crate::support::rmail_bin().display(),
        rmail.config_path().display(),
        template.display(),
        data.display()
    );
    let typescript = rmail.home().join("typescript");
    let out = std::process::Command::new("script")
        .arg("-qec")
        .arg(&command)
        .arg(&typescript)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", rmail.home())
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("run script(1) from util-linux");
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&fs::read(&typescript).unwrap()).into_owned();
    assert!(
        screen.contains("/30") && screen.contains("msg/s") && screen.contains("ETA"),
        "{screen}"
    );
    assert!(screen.contains("merge: 30 sent"), "{screen}");
    assert_each_once(&server.wait_for(30, WAIT), 30);

    // Not a terminal: only the summary line.
    let (_dir, template, data) = merge_dir(3);
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_success();
    assert!(!run.stderr.contains("ETA"), "{run}");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run}");
}

/// Row attachments of 3 MiB (streamed from the files opened for each row) arrive
/// byte-identical, and so do the attachments in a dry run's `.eml` files.
#[test]
fn large_row_attachments_arrive_byte_identical() {
    let server = Server::plain();
    let (dir, template, data) = merge_dir_attaching(2, r#"["pdf/{{ invoice }}.pdf"]"#);
    let file = |i: u32| -> Vec<u8> {
        (0..(3u32 << 20) + 1)
            .map(|b| (b.wrapping_add(i).wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect()
    };
    for i in 1..=2 {
        write(dir.path(), &format!("mail/pdf/INV-{i}.pdf"), file(i));
    }
    let mut rmail = rmail_for(&server, "");
    rmail.args(merge_args(&template, &data));
    rmail.run().assert_success();
    let got = server.wait_for(2, WAIT);
    assert_each_once(&got, 2);
    for m in &got {
        let i: u32 = if m.rcpt_tos[0] == "p1@example.com" {
            1
        } else {
            2
        };
        let parsed = m.parsed();
        let files: Vec<_> = parsed.attachments().collect();
        assert_eq!(files.len(), 1);
        assert_eq!(
            files[0].attachment_name(),
            Some(format!("INV-{i}.pdf").as_str())
        );
        assert!(files[0].contents() == file(i).as_slice(), "row {i}");
    }

    let out = dir.path().join("out");
    let mut dry = rmail.again();
    dry.args(merge_args(&template, &data))
        .arg("--dry-run")
        .arg("--out-dir")
        .arg(&out);
    dry.run().assert_success();
    for i in 1..=2u32 {
        let eml = fs::read(out.join(format!("{i:04}.eml"))).unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
        let attachment = parsed.attachments().next().unwrap();
        assert!(
            attachment.contents() == file(i).as_slice(),
            ".eml of row {i}"
        );
    }
}

/// A `log_file` that cannot be written does not fail the merge, and is warned about once a
/// run, not once a row.
#[test]
fn an_unwritable_log_file_is_warned_about_once() {
    let server = Server::plain();
    let (dir, template, data) = merge_dir(5);
    // A folder where the log file should be: every append fails.
    let log = dir.path().join("rmail.log");
    fs::create_dir(&log).unwrap();
    let rmail = rmail();
    rmail.write_config(&format!(
        "log_file = {}\n{}from = \"billing@example.com\"\n",
        crate::support::toml_string(&log.display().to_string()),
        server.profile_toml("test")
    ));
    let run = rmail.again().args(merge_args(&template, &data)).run();
    run.assert_success();
    assert_each_once(&server.wait_for(5, WAIT), 5);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("cannot write log_file"))
        .collect();
    assert_eq!(warnings.len(), 1, "{run}");
    assert!(warnings[0].starts_with("rmail: warning: "), "{run}");
}
