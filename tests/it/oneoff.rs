//! `--server HOST[:PORT]` (issue 15): try a server without writing a config, as with swaks,
//! with `--security`, `--user` and `--password-env`, for `rmail send` and `rmail check`.

use std::time::Duration;

use crate::support::{Certs, Server, ServerOptions, rmail};

const WAIT: Duration = Duration::from_secs(10);

/// No config at all: STARTTLS (verified against the CA in SSL_CERT_FILE), AUTH with the
/// password from the named variable, and the message arrives.
#[test]
fn send_through_a_server_named_on_the_command_line() {
    let server = Server::start(ServerOptions::starttls().auth("me@example.com", "s3cret-pw"));
    let mut cmd = rmail();
    let run = cmd
        .env("SSL_CERT_FILE", &Certs::generate().ca)
        .env("TRY_PW", "s3cret-pw")
        .args(["send", "--server", &format!("127.0.0.1:{}", server.port())])
        .args(["--user", "me@example.com", "--password-env", "TRY_PW"])
        .args(["--to", "ann@example.com", "-s", "trying", "--text", "hello"])
        .run();
    run.assert_success();
    assert!(!cmd.config_path().exists(), "no config was written");
    let got = server.wait_for(1, WAIT);
    assert!(got[0].tls, "STARTTLS was used");
    assert_eq!(got[0].auth_user.as_deref(), Some("me@example.com"));
    assert_eq!(got[0].mail_from, "me@example.com", "the user is the sender");
    assert_eq!(got[0].rcpt_tos, ["ann@example.com"]);
    assert!(!run.stderr.contains("s3cret-pw") && !run.stdout.contains("s3cret-pw"));
}

/// `rmail check --server … --security none` reports the server without any config, and a
/// config's profile (with its password) is not used for it.
#[test]
fn check_a_server_named_on_the_command_line() {
    let server = Server::plain();
    let mut cmd = rmail();
    cmd.write_config(
        "default_profile = \"work\"\n[profiles.work]\nhost = \"127.0.0.9\"\nusername = \"boss\"\npassword = \"never-sent\"\n",
    );
    let run = cmd
        .args(["check", "--server", &format!("127.0.0.1:{}", server.port())])
        .args(["--security", "none"])
        .run();
    run.assert_success();
    assert!(
        run.stdout.contains(&format!(
            "--server (127.0.0.1:{}, security none)",
            server.port()
        )),
        "{run}"
    );
    assert!(run.stdout.contains("auth:        not configured"), "{run}");
    server.wait_idle();
    assert!(
        !server.session_log().contains("AUTH"),
        "{}",
        server.session_log()
    );
}

/// The default is STARTTLS, required: a server without it is refused, never used in
/// plaintext; and the flags are checked like any other.
#[test]
fn one_off_server_keeps_the_rules() {
    let server = Server::plain();
    let run = rmail()
        .args(["send", "--server", &format!("127.0.0.1:{}", server.port())])
        .args([
            "--to",
            "ann@example.com",
            "-s",
            "x",
            "--text",
            "y",
            "--from",
            "me@example.com",
        ])
        .run();
    run.assert_code(77);
    assert!(run.stderr.contains("does not offer STARTTLS"), "{run}");
    server.assert_nothing_sent();

    let run = rmail().args(["check", "--server", "host:notaport"]).run();
    run.assert_code(64);
    assert!(run.stderr.contains("must be HOST or HOST:PORT"), "{run}");
    let run = rmail().args(["check", "--user", "me"]).run();
    run.assert_code(64);
    assert!(run.stderr.contains("--server"), "{run}");
}
