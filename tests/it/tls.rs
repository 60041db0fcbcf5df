//! TLS and AUTH against real servers: STARTTLS, implicit TLS, trust, pinning, `rmail check`.

use std::process::Command;
use std::time::Duration;

use crate::support::{Certs, Server, ServerOptions, rmail, toml_string};

const WAIT: Duration = Duration::from_secs(10);

fn send_with(config: &str) -> (crate::support::Rmail, crate::support::Run) {
    let mut rmail = rmail();
    rmail.write_config(config);
    rmail.args([
        "send",
        "--to",
        "ann@example.com",
        "-s",
        "over tls",
        "--text",
        "secret body",
    ]);
    let run = rmail.run();
    (rmail, run)
}

/// The SHA-256 fingerprint of a PEM certificate, as openssl computes it.
fn openssl_fingerprint(pem: &std::path::Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .expect("run openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or("")
        .replace(':', "");
    format!("sha256:{}", hex.to_ascii_lowercase())
}

#[test]
fn starttls_then_auth_then_send() {
    let server = Server::start(ServerOptions::starttls().auth("me@example.com", "pa55-word"));
    let (_rmail, run) = send_with(&format!(
        "{}from = \"me@example.com\"\n",
        server.profile_toml("t")
    ));
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert!(got[0].tls, "message must travel over TLS");
    assert_eq!(got[0].auth_user.as_deref(), Some("me@example.com"));
    assert_eq!(got[0].parsed().subject(), Some("over tls"));
    // AUTH and MAIL happened only after the upgrade.
    for line in server.commands() {
        if matches!(line.verb().as_str(), "AUTH" | "MAIL" | "RCPT" | "DATA") {
            assert!(
                line.tls,
                "{} sent in plaintext:\n{}",
                line.verb(),
                server.session_log()
            );
        }
    }
}

#[test]
fn implicit_tls_with_auth() {
    let server = Server::start(ServerOptions::tls().auth("me", "pw"));
    let (_rmail, run) = send_with(&format!(
        "{}from = \"me@example.com\"\n",
        server.profile_toml("t")
    ));
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert!(got[0].tls);
    assert_eq!(got[0].auth_user.as_deref(), Some("me"));
}

#[test]
fn auth_login_mechanism_when_asked() {
    let server = Server::start(ServerOptions::starttls().auth("me", "pw"));
    let (_rmail, run) = send_with(&format!(
        "{}from = \"me@example.com\"\nauth = \"login\"\n",
        server.profile_toml("t")
    ));
    run.assert_success();
    server.wait_for(1, WAIT);
    assert!(
        server
            .commands()
            .iter()
            .any(|l| l.line.to_ascii_uppercase().starts_with("AUTH LOGIN")),
        "{}",
        server.session_log()
    );
}

#[test]
fn password_from_env_and_command() {
    let server = Server::start(ServerOptions::starttls().auth("me", "from-elsewhere"));
    let base = format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nca_file = {}\nusername = \"me\"\nfrom = \"me@example.com\"\n",
        server.port(),
        toml_string(&Certs::generate().ca.display().to_string())
    );
    let mut by_env = rmail();
    by_env.write_config(&format!("{base}password_env = \"SMTP_PW\"\n"));
    by_env
        .env("SMTP_PW", "from-elsewhere")
        .args(["send", "--to", "a@example.com", "--text", "1"]);
    by_env.run().assert_success();

    let mut by_command = rmail();
    by_command.write_config(&format!(
        "{base}password_command = \"printf 'from-elsewhere\\\\nuser: me\\\\n'\"\n"
    ));
    by_command.args(["send", "--to", "a@example.com", "--text", "2"]);
    by_command.run().assert_success();
    assert_eq!(server.wait_for(2, WAIT).len(), 2);

    let mut unset = rmail();
    unset.write_config(&format!("{base}password_env = \"SMTP_PW\"\n"));
    unset.args(["send", "--to", "a@example.com", "--text", "3"]);
    let run = unset.run();
    run.assert_code(78);
    assert!(run.stderr.contains("SMTP_PW"), "{run}");
}

#[test]
fn untrusted_certificate_is_refused() {
    // A certificate from the test CA, but the profile does not trust that CA.
    let server = Server::start(ServerOptions::starttls());
    let config = format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"me@example.com\"\ntimeout_secs = 5\n",
        server.port()
    );
    let (rmail, run) = send_with(&config);
    run.assert_code(77);
    assert!(
        run.stderr.contains("ca_file"),
        "the error says how to fix it: {run}"
    );
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().is_empty());
    assert!(
        !rmail.outbox_dir().exists() || std::fs::read_dir(rmail.outbox_dir()).unwrap().count() == 0,
        "a trust failure is not temporary: nothing may be queued"
    );
}

/// Sends with `config` and `store` as the system trust store (SSL_CERT_FILE): the message
/// must arrive over TLS.
#[track_caller]
fn delivered_over_tls_trusting(server: &Server, config: &str, store: &std::path::Path) {
    let mut rmail = rmail();
    rmail.write_config(config);
    rmail
        .env("SSL_CERT_FILE", store)
        .args(["send", "--to", "a@example.com", "--text", "x"]);
    rmail.run().assert_success();
    assert!(server.wait_for(1, WAIT)[0].tls);
}

#[test]
fn system_trust_store_is_honoured() {
    // rustls-native-certs reads SSL_CERT_FILE: a company CA installed system-wide works
    // without ca_file.
    let server = Server::start(ServerOptions::starttls());
    let config = format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"me@example.com\"\n",
        server.port()
    );
    delivered_over_tls_trusting(&server, &config, &Certs::generate().ca);
}

#[test]
fn certificate_for_another_ca_is_refused_even_with_ca_file() {
    let server = Server::start(ServerOptions::starttls().untrusted_cert());
    let (_rmail, run) = send_with(&format!(
        "{}from = \"me@example.com\"\n",
        server.profile_toml("t")
    ));
    run.assert_code(77);
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().is_empty());
}

#[test]
fn pinned_fingerprint_accepts_that_certificate_only() {
    let certs = Certs::generate();
    let server = Server::start(ServerOptions::tls().untrusted_cert());
    let pin = openssl_fingerprint(&certs.untrusted_cert);
    let base = format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"tls\"\nfrom = \"me@example.com\"\n",
        server.port()
    );
    // The pinned certificate is accepted although no trusted CA signed it.
    let (_r, run) = send_with(&format!("{base}tls_fingerprint = \"{pin}\"\n"));
    run.assert_success();
    assert_eq!(server.wait_for(1, WAIT).len(), 1);

    // Any other certificate is refused, even one that chains to a trusted root.
    let trusted = Server::start(ServerOptions::tls());
    let other_pin = format!("sha256:{}", "ab".repeat(32));
    let (_r, run) = send_with(&format!(
        "{}from = \"me@example.com\"\ntls_fingerprint = \"{other_pin}\"\n",
        trusted.profile_toml("t")
    ));
    run.assert_code(77);
    assert!(run.stderr.contains("tls_fingerprint"), "{run}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(trusted.messages().is_empty());
}

#[test]
fn check_reports_tls_certificate_extensions_and_auth() {
    let certs = Certs::generate();
    let server = Server::start(ServerOptions::starttls().auth("me", "pw"));
    let mut rmail = rmail();
    rmail.write_config(&server.profile_toml("t"));
    rmail.arg("check");
    let run = rmail.run();
    run.assert_success();
    let out = &run.stdout;
    assert!(
        out.contains("tls:         TLS 1.3") || out.contains("tls:         TLS 1.2"),
        "{run}"
    );
    assert!(out.contains("CN=localhost"), "subject: {run}");
    assert!(out.contains("expires:"), "{run}");
    assert!(
        out.contains(&openssl_fingerprint(&certs.cert)),
        "fingerprint: {run}"
    );
    assert!(
        out.contains("STARTTLS") || out.contains("8BITMIME"),
        "extensions: {run}"
    );
    assert!(
        out.contains("auth offers: PLAIN LOGIN") || out.contains("auth offers: LOGIN PLAIN"),
        "{run}"
    );
    assert!(out.contains("auth:        ok"), "{run}");
    assert!(!out.contains("pw\n") && !run.stderr.contains("pw\n"));
    server.assert_nothing_sent();
}

#[test]
fn check_with_wrong_password_exits_77() {
    let server = Server::start(ServerOptions::starttls().auth("me", "right"));
    let mut rmail = rmail();
    rmail.write_config(
        &server
            .profile_toml("t")
            .replace("\"right\"", "\"wr0ng-pa55\""),
    );
    rmail.args(["check", "-v"]);
    let run = rmail.run();
    run.assert_code(77);
    assert!(run.stdout.contains("auth:        FAILED"), "{run}");
    assert!(
        !run.stdout.contains("wr0ng-pa55") && !run.stderr.contains("wr0ng-pa55"),
        "{run}"
    );
    assert!(
        run.stderr.contains("(credentials redacted)"),
        "-v shows AUTH redacted: {run}"
    );
}

#[test]
fn check_shows_the_certificate_it_does_not_trust() {
    let certs = Certs::generate();
    let server = Server::start(ServerOptions::tls().untrusted_cert());
    let mut rmail = rmail();
    rmail.write_config(&server.profile_toml("t"));
    rmail.arg("check");
    let run = rmail.run();
    run.assert_code(77);
    assert!(run.stdout.contains("NOT trusted"), "{run}");
    assert!(
        run.stdout
            .contains(&openssl_fingerprint(&certs.untrusted_cert)),
        "{run}"
    );
}

/// `auth = "xoauth2"` takes the bearer token from password_command (any OAuth helper).
#[test]
fn xoauth2_token_from_password_command() {
    let server = Server::start(
        ServerOptions::starttls()
            .auth("me@example.com", "ya29.token-xyz")
            .xoauth2(),
    );
    let base = format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nca_file = {}\nusername = \"me@example.com\"\n\
         from = \"me@example.com\"\nauth = \"xoauth2\"\n",
        server.port(),
        toml_string(&Certs::generate().ca.display().to_string())
    );
    let (_r, run) = send_with(&format!(
        "{base}password_command = \"echo ya29.token-xyz\"\n"
    ));
    run.assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].auth_user.as_deref(), Some("me@example.com"));
    assert!(
        server
            .commands()
            .iter()
            .any(|l| l.line.to_ascii_uppercase().starts_with("AUTH XOAUTH2")),
        "{}",
        server.session_log()
    );

    // An expired token is an authentication failure (77), and the token is never printed.
    let (_r, run) = send_with(&format!(
        "{base}password_command = \"echo expired-token-123\"\n"
    ));
    run.assert_code(77);
    assert!(
        !run.stdout.contains("expired-token-123") && !run.stderr.contains("expired-token-123"),
        "{run}"
    );
    assert_eq!(server.messages().len(), 1);
}

/// With `ca_file` the system store still counts: a server whose CA is only in the system
/// store (SSL_CERT_FILE) is trusted though `ca_file` names another CA.
#[test]
fn ca_file_adds_to_the_system_store() {
    let certs = Certs::generate();
    let server = Server::start(ServerOptions::tls().untrusted_cert());
    let config = format!("{}from = \"me@example.com\"\n", server.profile_toml("t"));
    delivered_over_tls_trusting(&server, &config, &certs.other_ca);
}

/// A server the profile's `ca_file` vouches for is trusted without reading the system
/// store (most of what TLS added to a one-off send, issue 12). The store here is a FIFO:
/// a reader opening it would let the writer below open it too.
#[test]
fn system_store_is_not_read_when_ca_file_vouches() {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let server = Server::start(ServerOptions::tls());
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("store.pem");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let done = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (fifo, done, opened) = (fifo.clone(), Arc::clone(&done), Arc::clone(&opened));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                // Opening a FIFO to write without blocking succeeds only while a reader has
                // it open; closing it again gives that reader an empty file.
                let writer = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
                    .open(&fifo);
                if writer.is_ok() {
                    opened.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut rmail = rmail();
    rmail.write_config(&format!(
        "{}from = \"me@example.com\"\n",
        server.profile_toml("t")
    ));
    rmail
        .env("SSL_CERT_FILE", &fifo)
        .env("SSL_CERT_DIR", dir.path())
        .args(["send", "--to", "a@example.com", "--text", "x"]);
    let run = rmail.run();
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    run.assert_success();
    assert!(server.wait_for(1, WAIT)[0].tls);
    assert!(
        !opened.load(Ordering::SeqCst),
        "rmail read the system store although ca_file vouched for the server"
    );
}
