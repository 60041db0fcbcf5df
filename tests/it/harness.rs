//! Self-test of the test harness (tests/it/support, tests/it/support): the scripted SMTP server,
//! the certificates and the sealed command. A client written by someone else, Python's
//! smtplib, talks to the server here, so these tests do not depend on rmail working.

use std::time::Duration;

use crate::support::*;
use serde_json::{Value, json};

/// One SMTP session with Python's smtplib, described by `spec`:
/// `{"port", "mode": "plain"|"starttls"|"tls", "ca"?, "login"?: [user, pass],
///   "from", "to": [...], "message"}`. Returns a JSON object: `{"refused": {addr: [code,
/// text]}, "auth_secs"?}` on success, `{"error": class, "code"?, "text"?, "auth_secs"?}`
/// when smtplib raised.
const SMTPLIB_CLIENT: &str = r#"
import json, smtplib, ssl, sys, time
spec = json.loads(sys.argv[1])
out = {}
try:
    ctx = ssl.create_default_context(cafile=spec["ca"]) if spec.get("ca") else None
    if spec["mode"] == "tls":
        s = smtplib.SMTP_SSL("127.0.0.1", spec["port"], context=ctx, timeout=10)
    else:
        s = smtplib.SMTP("127.0.0.1", spec["port"], timeout=10)
    if spec["mode"] == "starttls":
        s.starttls(context=ctx)
    if spec.get("login"):
        started = time.monotonic()
        try:
            s.login(*spec["login"])
        finally:
            out["auth_secs"] = time.monotonic() - started
    refused = s.sendmail(spec["from"], spec["to"], spec["message"].encode())
    out["refused"] = {k: [v[0], v[1].decode()] for k, v in refused.items()}
    s.quit()
except Exception as e:
    out["error"] = type(e).__name__
    if hasattr(e, "smtp_code"):
        out["code"] = e.smtp_code
        out["text"] = e.smtp_error.decode(errors="replace")
    elif isinstance(e, smtplib.SMTPRecipientsRefused):
        out["refused"] = {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}
    else:
        out["text"] = str(e)
print(json.dumps(out))
"#;

fn smtplib(spec: Value) -> Value {
    let out = std::process::Command::new(PYTHON)
        .arg("-c")
        .arg(SMTPLIB_CLIENT)
        .arg(spec.to_string())
        .output()
        .expect("run /usr/bin/python3 for the smtplib client");
    assert!(
        out.status.success(),
        "smtplib client failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "smtplib client printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

const MESSAGE: &str = "From: Alice <alice@example.com>\r\n\
    To: bob@example.com\r\n\
    Subject: Harness check\r\n\
    \r\n\
    Hello Bob.\r\n\
    .A line that needs dot-stuffing\r\n";

fn send(server: &Server, mode: &str, extra: Value) -> Value {
    let mut spec = json!({
        "port": server.port(),
        "mode": mode,
        "from": "alice@example.com",
        "to": ["bob@example.com"],
        "message": MESSAGE,
    });
    if mode != "plain" {
        spec["ca"] = json!(Certs::generate().ca);
    }
    for (k, v) in extra.as_object().into_iter().flatten() {
        spec[k] = v.clone();
    }
    smtplib(spec)
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn plain_server_saves_message_and_envelope() {
    let server = Server::plain();
    let result = send(
        &server,
        "plain",
        json!({"to": ["bob@example.com", "carol@example.com"]}),
    );
    assert_eq!(result["refused"], json!({}), "{result}");

    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.seq, 1);
    assert_eq!(m.mail_from, "alice@example.com");
    assert_eq!(m.rcpt_tos, ["bob@example.com", "carol@example.com"]);
    assert!(!m.tls);
    assert_eq!(m.auth_user, None);
    // Exact bytes: CRLF kept, dot-stuffing undone, no terminating ".".
    assert_eq!(m.raw, MESSAGE.as_bytes());
    let parsed = m.parsed();
    assert_eq!(parsed.subject(), Some("Harness check"));
    let body = parsed.body_text(0).expect("a text body");
    assert!(
        body.contains("Hello Bob.") && body.contains(".A line that needs"),
        "{body:?}"
    );

    let commands = server.commands();
    assert!(
        commands.iter().any(|c| c.verb() == "MAIL" && !c.tls),
        "{}",
        server.session_log()
    );
    assert!(!commands.iter().any(|c| c.verb() == "STARTTLS"));
    assert_eq!(server.connections(), 1);
    assert_eq!(server.stderr(), "");
}

#[test]
fn starttls_server_uses_the_test_ca() {
    let server = Server::start(ServerOptions::starttls());
    let result = send(&server, "starttls", json!({}));
    assert_eq!(result["refused"], json!({}), "{result}");

    let m = &server.wait_for(1, WAIT)[0];
    assert!(m.tls, "{m:?}");
    assert_eq!(m.parsed().subject(), Some("Harness check"));

    let commands = server.commands();
    let starttls = commands
        .iter()
        .position(|c| c.verb() == "STARTTLS")
        .expect("STARTTLS in session log");
    assert!(!commands[starttls].tls);
    assert!(
        commands[starttls + 1..].iter().all(|c| c.tls),
        "{}",
        server.session_log()
    );
}

#[test]
fn starttls_is_required_before_mail() {
    let server = Server::start(ServerOptions::starttls());
    let result = send(&server, "plain", json!({}));
    assert_eq!(result["code"], 530, "{result}");
    assert!(server.messages().is_empty());
}

#[test]
fn implicit_tls_server_with_auth() {
    let server = Server::start(ServerOptions::tls().auth("alice", "s3cret"));
    let result = send(&server, "tls", json!({"login": ["alice", "s3cret"]}));
    assert_eq!(result["refused"], json!({}), "{result}");

    let m = &server.wait_for(1, WAIT)[0];
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("alice"));
    assert!(server.commands().iter().all(|c| c.tls));
    let profile = server.profile_toml("t");
    assert!(
        profile.contains(&format!("port = {}", server.port())),
        "{profile}"
    );
    assert!(profile.contains("security = \"tls\""), "{profile}");
    assert!(profile.contains("username = \"alice\""), "{profile}");
}

#[test]
fn untrusted_certificate_is_refused_by_a_verifying_client() {
    let server = Server::start(ServerOptions::starttls().untrusted_cert());
    let result = send(&server, "starttls", json!({}));
    assert_eq!(result["error"], "SSLCertVerificationError", "{result}");
    assert!(server.messages().is_empty());
}

#[test]
fn rcpt_reply_rejects_only_that_recipient() {
    let server = Server::start(ServerOptions::plain().rcpt_reply("x@y.example", 550));
    let result = send(
        &server,
        "plain",
        json!({"to": ["x@y.example", "ok@y.example"]}),
    );
    assert_eq!(result["refused"]["x@y.example"][0], 550, "{result}");
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ok@y.example"]);

    // With it as the only recipient, the whole send is refused and nothing arrives.
    let result = send(&server, "plain", json!({"to": ["X@Y.example"]}));
    assert_eq!(result["error"], "SMTPRecipientsRefused", "{result}");
    assert_eq!(result["refused"]["X@Y.example"][0], 550, "{result}");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn wrong_password_gets_535_quickly() {
    let server = Server::start(ServerOptions::plain().auth("alice", "right"));
    let result = send(&server, "plain", json!({"login": ["alice", "wrong"]}));
    assert_eq!(result["error"], "SMTPAuthenticationError", "{result}");
    assert_eq!(result["code"], 535, "{result}");
    let secs = result["auth_secs"].as_f64().expect("auth_secs");
    assert!(secs < 5.0, "AUTH failure took {secs} s");

    // And the right one works without TLS on a `none` server.
    let result = send(&server, "plain", json!({"login": ["alice", "right"]}));
    assert_eq!(result["refused"], json!({}), "{result}");
    assert_eq!(
        server.wait_for(1, WAIT)[0].auth_user.as_deref(),
        Some("alice")
    );
}

#[test]
fn auth_is_required_when_configured() {
    let server = Server::start(ServerOptions::plain().auth("alice", "right"));
    let result = send(&server, "plain", json!({}));
    assert_eq!(result["code"], 530, "{result}");
}

#[test]
fn data_reply_rejects_the_message() {
    let server = Server::start(ServerOptions::plain().data_reply(552));
    let result = send(&server, "plain", json!({}));
    assert_eq!(result["error"], "SMTPDataError", "{result}");
    assert_eq!(result["code"], 552, "{result}");
    assert!(server.messages().is_empty());
}

#[test]
fn fail_first_lets_later_transactions_through() {
    let server = Server::start(ServerOptions::plain().data_reply(451).fail_first(1));
    assert_eq!(send(&server, "plain", json!({}))["code"], 451);
    assert_eq!(send(&server, "plain", json!({}))["refused"], json!({}));
    assert_eq!(server.wait_for(1, WAIT).len(), 1);

    let server = Server::start(ServerOptions::plain().greeting_code(421).fail_first(1));
    assert_eq!(send(&server, "plain", json!({}))["code"], 421);
    assert_eq!(send(&server, "plain", json!({}))["refused"], json!({}));
    assert_eq!(server.connections(), 2);
}

#[test]
fn greeting_code_closes_the_connection() {
    let server = Server::start(ServerOptions::plain().greeting_code(421));
    let result = send(&server, "plain", json!({}));
    assert_eq!(result["error"], "SMTPConnectError", "{result}");
    assert_eq!(result["code"], 421, "{result}");
}

#[test]
fn drop_in_data_resets_without_reply() {
    let server = Server::start(ServerOptions::plain().drop_in_data());
    let result = send(&server, "plain", json!({}));
    assert_eq!(result["error"], "SMTPServerDisconnected", "{result}");
    assert!(server.messages().is_empty());
    assert!(
        server.session_log().contains("drop-in-data"),
        "{}",
        server.session_log()
    );
}

#[test]
fn stall_never_greets() {
    let server = Server::start(ServerOptions::plain().stall());
    let started = std::time::Instant::now();
    let out = std::process::Command::new(PYTHON)
        .args(["-c", "import smtplib, sys\ntry:\n smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=1)\nexcept Exception as e: print(type(e).__name__)"])
        .arg(server.port().to_string())
        .output()
        .expect("run smtplib");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("SMTPServerDisconnected") || printed.contains("TimeoutError"),
        "{printed}"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.connections(), 1);
}

#[test]
fn closed_port_refuses_connections() {
    let port = closed_port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn sealed_command_has_only_path_and_its_own_home() {
    // The sealing is the same for any program: check it with env(1).
    let mut cmd = Rmail::new("/usr/bin/env");
    let run = cmd.run();
    run.assert_success();
    let home = cmd.home().display().to_string();
    let mut names: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "HOME",
            "PATH",
            "XDG_CACHE_HOME",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "XDG_STATE_HOME"
        ],
        "{run}"
    );
    for line in run
        .stdout
        .lines()
        .filter(|l| l.starts_with("HOME=") || l.starts_with("XDG_"))
    {
        assert!(line.contains(&home), "{line} is not under {home}");
    }

    // Stdin is /dev/null by default, and stdin_bytes feeds it.
    let mut cat = Rmail::new("/bin/cat");
    assert_eq!(cat.run().stdout, "");
    assert_eq!(cat.again().stdin_bytes("piped\n").run().stdout, "piped\n");

    // The config lands where rmail looks by default; `again` shares the home.
    let config = cmd.write_config("default_profile = \"t\"\n");
    assert_eq!(config, cmd.config_path());
    assert!(cmd.again().home() == cmd.home());
    assert!(config.starts_with(cmd.home()));
}

#[test]
fn run_timeout_kills_a_hung_process() {
    let result = std::panic::catch_unwind(|| {
        Rmail::new("/bin/sleep")
            .arg("30")
            .timeout(Duration::from_millis(300))
            .run();
    });
    let message = result.expect_err("run() should panic on timeout");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(text.contains("still running"), "{text}");
}

#[test]
fn rmail_binary_is_sealed_too() {
    // Only that it starts: what it does with no arguments is rmail's business.
    let run = rmail().timeout(Duration::from_secs(30)).run();
    assert!(run.status.code().is_some(), "{run}");
}
