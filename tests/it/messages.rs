//! Errors a new user meets, in words (issue 15): an undefined template variable names the
//! variable, the row and the fix; TLS failures say what is wrong with the certificate, not
//! Rust debug text; a refused recipient is one line with the next step; a mistyped config
//! key gets a "did you mean".

use std::fs;

use crate::support::write_file as write;
use crate::support::{Certs, Server, ServerOptions, rmail, rmail_for};

/// Rust's debug rendering of an error, which a user must never have to read.
fn assert_no_debug_text(stderr: &str) {
    for debug in [
        "Other(",
        "OtherError",
        "CaUsedAsEndEntity",
        "UnknownIssuer",
        "Error {",
    ] {
        assert!(!stderr.contains(debug), "debug text `{debug}` in: {stderr}");
    }
}

/// A merge whose template uses a column the data lacks: the variable, the rows and the
/// column to add; nothing is sent.
#[test]
fn undefined_variable_in_a_merge_names_variable_row_and_fix() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "invoice.txt",
        "+++\nto = \"{{ email }}\"\nsubject = \"Invoice\"\n+++\nDear {{ name }},\n\nYour number: {{ customer_no }}\n",
    );
    let data = write(
        dir.path(),
        "customers.csv",
        "name,email\nAnn,ann@example.com\nBob,bob@example.com\n",
    );
    let run = rmail_for(&server, "t", "me@example.com", "")
        .arg("merge")
        .arg(&template)
        .arg("--data")
        .arg(&data)
        .run();
    run.assert_code(65);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("rows 1-2 (2 rows)"), "the rows: {run}");
    assert!(
        first.contains("undefined variable `customer_no` in invoice.txt line 7"),
        "the variable and where: {run}"
    );
    assert!(
        first.contains("add a column customer_no to")
            && first.contains("customers.csv (it has: name, email)"),
        "the fix: {run}"
    );
    server.assert_nothing_sent();
}

/// `rmail send --template` with a variable nobody passed: the fix is a `--var`.
#[test]
fn undefined_variable_in_send_suggests_var() {
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "report.txt",
        "+++\nsubject = \"Backup of {{ host }}\"\n+++\nAll fine.\n",
    );
    let run = rmail()
        .args(["send", "--dry-run", "--to", "ops@example.com", "--template"])
        .arg(&template)
        .run();
    run.assert_code(65);
    assert!(
        run.stderr.contains("undefined variable `host`")
            && run.stderr.contains("pass --var host=…"),
        "{run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
}

/// A server whose certificate is the CA itself (what `openssl req -x509` makes): said in
/// words with the fix, not `Other(OtherError(CaUsedAsEndEntity))`.
#[test]
fn ca_used_as_server_certificate_is_explained() {
    let certs = Certs::generate();
    let server = Server::start(ServerOptions::starttls().cert(&certs.ca, &certs.ca_key));
    let run = rmail_for(&server, "t", "me@example.com", "")
        .args(["send", "--to", "ann@example.com", "-s", "x", "--text", "y"])
        .run();
    run.assert_code(77);
    assert_no_debug_text(&run.stderr);
    assert!(
        run.stderr
            .contains("the server presents a CA certificate as its own")
            && run.stderr.contains("tls_fingerprint"),
        "{run}"
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run}");
    server.assert_nothing_sent();
}

/// A certificate from a CA nobody trusts: the reason and both ways out, in one line.
#[test]
fn untrusted_issuer_is_explained() {
    let certs = Certs::generate();
    let server =
        Server::start(ServerOptions::starttls().cert(&certs.untrusted_cert, &certs.untrusted_key));
    let run = rmail_for(&server, "t", "me@example.com", "")
        .args(["check"])
        .run();
    run.assert_code(77);
    assert_no_debug_text(&run.stderr);
    assert!(
        run.stderr
            .contains("signed by a CA this machine does not trust")
            && run.stderr.contains("ca_file")
            && run.stderr.contains("tls_fingerprint"),
        "{run}"
    );
}

/// A refused recipient: one line naming the address, the server's reply and what to do.
#[test]
fn refused_recipient_is_one_clear_line() {
    let server = Server::start(ServerOptions::plain().rcpt_reply("nobody@example.com", 550));
    let run = rmail_for(&server, "t", "me@example.com", "")
        .args([
            "send",
            "--to",
            "nobody@example.com",
            "-s",
            "x",
            "--text",
            "y",
        ])
        .run();
    run.assert_code(65);
    let stderr = run.stderr.trim();
    assert_eq!(stderr.lines().count(), 1, "{run}");
    let expected = format!(
        "rmail: recipient <nobody@example.com>: refused by 127.0.0.1:{} (550",
        server.port()
    );
    assert!(stderr.starts_with(&expected), "{run}");
    assert!(
        stderr.ends_with(
            "check the address for a typo or ask for the right one; the message was not sent"
        ),
        "{run}"
    );
    assert!(!stderr.contains("to RCPT TO"), "{run}");
    server.wait_idle();
    assert!(server.messages().is_empty(), "{}", server.session_log());
}

/// A mistyped key: the file, the line, and the key it was meant to be.
#[test]
fn unknown_config_key_suggests_the_right_one() {
    let mut cmd = rmail();
    cmd.write_config(
        "default_profile = \"t\"\n[profiles.t]\nhost = \"127.0.0.1\"\npasword_env = \"PW\"\n",
    );
    let run = cmd.arg("profiles").run();
    run.assert_code(78);
    assert!(
        run.stderr.contains("config.toml:4:")
            && run
                .stderr
                .contains("unknown key `pasword_env`; did you mean `password_env`?"),
        "{run}"
    );
    assert!(!run.stderr.contains("expected one of"), "{run}");

    // A default_profile that names no profile is a configuration error too.
    let run = cmd
        .again()
        .env("RMAIL_CONFIG", {
            let path = cmd.home().join("other.toml");
            fs::write(
                &path,
                "default_profile = \"wrok\"\n[profiles.work]\nhost = \"x\"\n",
            )
            .unwrap();
            path
        })
        .arg("profiles")
        .run();
    run.assert_code(78);
    assert!(run.stderr.contains("default_profile 'wrok'"), "{run}");
}
