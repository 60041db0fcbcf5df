//! [`RawServer`]: `tests/it/support/rawsmtp.py`, a scripted SMTP server on plain sockets for
//! hostile behaviour no server library would produce (bytes injected after STARTTLS, an
//! endless reply line, a greeting trickled byte by byte, 250 to DATA, 250 to AUTH, a small
//! SIZE), and what it saw: every command line and the raw DATA bytes before unstuffing.
//!
//! ```ignore
//! let server = RawServer::start(RawOptions::new().reply("DATA", "250 ok"));
//! // … run rmail against server.profile_toml("t") …
//! assert!(server.commands().iter().any(|c| c.verb() == "QUIT"));
//! ```

use std::fs;
use std::path::Path;
use std::process::{Child, ChildStdin, Command};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{Certs, PYTHON, SessionLine, start_announcing, toml_string};

/// The raw SMTP server script.
pub const RAWSMTP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/rawsmtp.py");

/// What the raw server does; each method is one rawsmtp.py flag.
#[derive(Clone, Debug, Default)]
pub struct RawOptions {
    args: Vec<String>,
    tls: bool,
}

impl RawOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Scripts the reply at `stage` (GREETING EHLO STARTTLS AUTH MAIL RCPT DATA DOT RSET
    /// NOOP QUIT) with `spec`: a reply line (Python escapes allowed), or `endless`,
    /// `endless-lines`, `trickle:TEXT`, `silent`, `close`.
    pub fn reply(self, stage: &str, spec: &str) -> Self {
        self.flag("--reply", &format!("{stage}={spec}"))
    }

    /// Offers STARTTLS with the test certificate.
    pub fn starttls(mut self) -> Self {
        self.tls = true;
        let certs = Certs::generate();
        self.bare("--starttls")
            .flag("--cert", &certs.cert.display().to_string())
            .flag("--key", &certs.key.display().to_string())
    }

    /// Sends `bytes` (Python escapes, e.g. `250-fake\r\n250 AUTH PLAIN\r\n`) in the same
    /// write as the 220 to STARTTLS, before the handshake.
    pub fn inject_after_starttls(self, bytes: &str) -> Self {
        self.flag("--inject-after-starttls", bytes)
    }

    /// Offers AUTH PLAIN LOGIN; any credentials get 235 unless `reply("AUTH", …)`.
    pub fn auth(self) -> Self {
        self.bare("--auth")
    }

    /// Advertises `SIZE n` and answers MAIL FROM with a larger `SIZE=` with 552.
    pub fn size(self, n: u64) -> Self {
        self.flag("--size", &n.to_string())
    }

    pub fn smtputf8(self) -> Self {
        self.bare("--smtputf8")
    }

    pub fn no_8bitmime(self) -> Self {
        self.bare("--no-8bitmime")
    }

    pub fn pipelining(self) -> Self {
        self.bare("--pipelining")
    }

    /// Seconds between the bytes of a `trickle:` reply (default 1).
    pub fn trickle_delay(self, secs: f64) -> Self {
        self.flag("--trickle-delay", &secs.to_string())
    }

    /// Bytes sent and received per connection at most (default 256 MiB).
    pub fn max_bytes(self, n: u64) -> Self {
        self.flag("--max-bytes", &n.to_string())
    }

    fn flag(mut self, name: &str, value: &str) -> Self {
        self.args.push(name.to_owned());
        self.args.push(value.to_owned());
        self
    }

    fn bare(mut self, name: &str) -> Self {
        self.args.push(name.to_owned());
        self
    }
}

/// A running rawsmtp.py on 127.0.0.1, killed when dropped (and exiting by itself when this
/// process dies, or after 120 s).
pub struct RawServer {
    child: Child,
    _stdin: Option<ChildStdin>,
    dir: TempDir,
    port: u16,
    tls: bool,
}

impl RawServer {
    /// Starts rawsmtp.py and waits until it listens.
    #[track_caller]
    pub fn start(options: RawOptions) -> RawServer {
        let dir = tempfile::Builder::new()
            .prefix("rmail-rawsmtp-")
            .tempdir()
            .expect("create a directory for the raw SMTP server");
        let stderr_path = dir.path().join("rawsmtp.stderr");
        let stderr = fs::File::create(&stderr_path).expect("create rawsmtp.stderr");
        let started = start_announcing(
            Command::new(PYTHON)
                .arg(RAWSMTP)
                .arg("--dir")
                .arg(dir.path())
                .arg("--exit-on-stdin-eof")
                .args(&options.args)
                .stderr(stderr),
            "PORT ",
            Duration::from_secs(20),
        );
        let (mut child, port) = match started.map(|(child, port)| (child, port.parse::<u16>())) {
            Ok((child, Ok(port))) => (child, port),
            outcome => panic!(
                "rawsmtp.py did not start ({:?}): {}\n{}",
                options.args,
                outcome
                    .err()
                    .unwrap_or_else(|| "malformed PORT line".into()),
                fs::read_to_string(&stderr_path).unwrap_or_default()
            ),
        };
        let stdin = child.stdin.take();
        RawServer {
            child,
            _stdin: stdin,
            dir,
            port,
            tls: options.tls,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `[profiles.NAME]` table for this server: `security = "starttls"` with the test CA
    /// when it offers STARTTLS, else `"none"`; `timeout_secs = 10`. Append keys after it.
    pub fn profile_toml(&self, name: &str) -> String {
        let mut toml = format!(
            "[profiles.{name}]\nhost = \"127.0.0.1\"\nport = {}\ntimeout_secs = 10\n",
            self.port
        );
        if self.tls {
            toml += &format!(
                "security = \"starttls\"\nca_file = {}\n",
                toml_string(&Certs::generate().ca.display().to_string())
            );
        } else {
            toml += "security = \"none\"\n";
        }
        toml
    }

    /// Every record of events.jsonl so far.
    pub fn events(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.dir().join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The command lines the client sent (outside DATA), in order.
    pub fn commands(&self) -> Vec<SessionLine> {
        self.events()
            .iter()
            .filter(|e| e["kind"] == "cmd")
            .map(|e| SessionLine {
                conn: e["conn"].as_u64().unwrap_or_default() as u32,
                tls: e["tls"].as_bool().unwrap_or(false),
                line: e["line"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The verbs of [`RawServer::commands`], upper-cased: `["EHLO", "MAIL", …]`.
    pub fn verbs(&self) -> Vec<String> {
        self.commands().iter().map(SessionLine::verb).collect()
    }

    /// The `what` of every event record (`connect`, `closed`, `tls established`, …).
    pub fn happenings(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["kind"] == "event")
            .filter_map(|e| e["what"].as_str().map(str::to_owned))
            .collect()
    }

    /// The raw DATA of each message, as on the wire: dot-stuffed, ending CRLF "." CRLF.
    pub fn data(&self) -> Vec<Vec<u8>> {
        self.events()
            .iter()
            .filter(|e| e["kind"] == "data")
            .filter_map(|e| e["file"].as_str().map(str::to_owned))
            .map(|f| fs::read(self.dir().join(&f)).unwrap_or_default())
            .collect()
    }

    /// Waits until the client has closed `n` connections (the server logs `closed`), so
    /// that everything it sent is in the log.
    pub fn wait_closed(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.happenings().iter().filter(|w| *w == "closed").count() < n
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything recorded, for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("events.jsonl")).unwrap_or_default()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What is illegal in `raw` message data on the wire (RFC 5321 §2.3.8, §4.5.3.1.6): bare
/// CR, bare LF, NUL, a line over 998 octets. Empty when the data is clean. An independent
/// check: it knows nothing of how rmail writes.
pub fn wire_violations(raw: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut line_len = 0usize;
    let mut line_no = 1usize;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'\r' if raw.get(i + 1) != Some(&b'\n') => {
                found.push(format!("bare CR at byte {i} (line {line_no})"));
                line_len += 1;
            }
            b'\r' => {}
            b'\n' if i == 0 || raw[i - 1] != b'\r' => {
                found.push(format!("bare LF at byte {i} (line {line_no})"));
                line_no += 1;
                line_len = 0;
            }
            b'\n' => {
                line_no += 1;
                line_len = 0;
            }
            0 => {
                found.push(format!("NUL at byte {i} (line {line_no})"));
                line_len += 1;
            }
            _ => line_len += 1,
        }
        if line_len == 999 {
            found.push(format!("line {line_no} longer than 998 octets"));
        }
    }
    found
}

/// The message inside raw DATA: the terminator removed and dot-stuffing undone.
pub fn unstuff(raw: &[u8]) -> Vec<u8> {
    let body = raw.strip_suffix(b".\r\n").unwrap_or(raw);
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|b| *b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}
