//! Private files stay private: `log_file` is created 0600 (its folder 0700 when rmail makes
//! it), and no credential reaches the log, stderr or the outbox, whatever a server echoes
//! back. The hostile server here is a few lines of raw SMTP on 127.0.0.1 that repeats every
//! AUTH line it gets in its replies.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::support::*;

const PASSWORD: &str = "Hunter2-Secret-9q";

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What would give the password away: itself and its base64 forms (PLAIN, LOGIN).
fn secrets() -> Vec<String> {
    vec![
        PASSWORD.to_owned(),
        b64(format!("\0alice\0{PASSWORD}").as_bytes()),
        b64(PASSWORD.as_bytes()),
    ]
}

/// A raw SMTP server that echoes each AUTH exchange in its reply, then refuses the login
/// with the line it was sent (`535 … you said: LINE`). Serves `connections` connections,
/// each bounded to 5 s.
fn echoing_server(connections: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut out = stream.try_clone().unwrap();
            let mut lines = BufReader::new(stream).lines();
            let _ = out.write_all(b"220 echo.example ESMTP\r\n");
            let mut in_login = 0;
            while let Some(Ok(line)) = lines.next() {
                let verb = line
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                let reply = if in_login == 1 {
                    in_login = 2;
                    format!("334 UGFzc3dvcmQ6 you said {line}\r\n")
                } else if in_login == 2 {
                    in_login = 0;
                    format!("535 5.7.8 bad credentials, you said: {line}\r\n")
                } else if verb == "EHLO" {
                    "250-echo.example\r\n250 AUTH PLAIN LOGIN\r\n".to_owned()
                } else if verb == "AUTH" && line.to_ascii_uppercase().starts_with("AUTH LOGIN") {
                    in_login = 1;
                    format!("334 VXNlcm5hbWU6 you said {line}\r\n")
                } else if verb == "AUTH" {
                    format!("535 5.7.8 bad credentials, you said: {line}\r\n")
                } else if verb == "QUIT" {
                    let _ = out.write_all(b"221 bye\r\n");
                    break;
                } else {
                    format!("502 5.5.1 {line}\r\n")
                };
                if out.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    port
}

fn config(port: u16, auth: &str, log: &Path) -> String {
    format!(
        "default_profile = \"t\"\nlog_file = {}\n[profiles.t]\nhost = \"127.0.0.1\"\nport = {port}\n\
         security = \"none\"\ntimeout_secs = 3\nauth = \"{auth}\"\nusername = \"alice\"\n\
         password = \"{PASSWORD}\"\nfrom = \"a@example.com\"\n",
        toml_string(&log.display().to_string())
    )
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "{secret:?} in {what}:\n{text}");
    }
}

#[test]
fn an_echoing_server_cannot_put_the_credential_in_the_log() {
    for auth in ["plain", "login"] {
        for sendmail_mode in [false, true] {
            let port = echoing_server(2);
            let mut cmd = if sendmail_mode { sendmail() } else { rmail() };
            let log = cmd.home().join("logs/rmail.log");
            cmd.write_config(&config(port, auth, &log));
            if sendmail_mode {
                cmd.args(["-i", "ops@example.com"]);
            } else {
                cmd.args(["send", "--to", "ops@example.com", "-s", "x"]);
            }
            cmd.arg("-v").stdin_bytes("Subject: x\n\nbody\n");
            let run = cmd.run();
            run.assert_code(77);
            assert_no_secret("stderr", &run.stderr);
            assert_no_secret("stdout", &run.stdout);
            let text = fs::read_to_string(&log).expect("log_file written");
            assert!(!text.is_empty());
            assert_no_secret("log_file", &text);
            // Whatever rmail kept of the attempt (sendmail keeps the message).
            if let Ok(dir) = fs::read_dir(cmd.outbox_dir()) {
                for entry in dir.flatten() {
                    if entry.path().extension().is_some_and(|e| e == "json") {
                        assert_no_secret("outbox", &fs::read_to_string(entry.path()).unwrap());
                    }
                }
            }
            assert_eq!(mode(&log), 0o600, "log_file mode");
            assert_eq!(mode(log.parent().unwrap()), 0o700, "the folder rmail made");
        }
    }
}

/// A log_file rmail creates is 0600 from the first line.
#[test]
fn log_file_is_created_private() {
    let server = Server::plain();
    let cmd = rmail();
    let log = cmd.home().join("rmail.log");
    cmd.write_config(&format!(
        "default_profile = \"t\"\nlog_file = {}\n{}from = \"a@example.com\"\n",
        toml_string(&log.display().to_string()),
        server.profile_toml("t")
    ));
    let mut send = cmd.again();
    send.args(["send", "--to", "b@example.com", "-s", "s", "--text", "hi"]);
    send.run().assert_success();
    assert_eq!(mode(&log), 0o600);
}
