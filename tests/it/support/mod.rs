//! Shared helpers for rmail's integration tests (`mod common;` in each test file).
//!
//! - [`rmail`] runs the real binary in a sealed environment: a fresh HOME and XDG
//!   directories per call, no inherited variables but PATH, stdin from /dev/null.
//! - [`Server`] runs `tests/it/support/smtpd.py`, a scripted SMTP server on aiosmtpd
//!   (`/usr/bin/python3`, Debian package `python3-aiosmtpd`), and reads back what it
//!   received: the raw message bytes, the envelope, whether TLS and AUTH were used.
//! - [`Certs`] is a test CA, a server certificate it signed, and an unrelated CA + leaf,
//!   generated once per test binary by `tests/it/support/mkcerts.sh` (needs `openssl`).
//!
//! ```ignore
//! let server = Server::start(ServerOptions::starttls().auth("me", "secret"));
//! let mut rmail = rmail();
//! rmail.write_config(&format!("default_profile = \"t\"\n{}from = \"a@example.com\"\n",
//!     server.profile_toml("t")));
//! rmail.args(["send", "--to", "b@example.com", "-s", "Hi"]).stdin_bytes("hello\n");
//! rmail.run().assert_code(0);
//! let got = server.wait_for(1, Duration::from_secs(5));
//! assert!(got[0].tls);
//! assert_eq!(got[0].parsed().subject(), Some("Hi"));
//! ```
#![allow(dead_code)]

pub mod imapd;
pub mod pty;
pub mod raw;

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub mod oauth;

/// The interpreter that has aiosmtpd (Debian's python3-aiosmtpd); the pyenv `python3`
/// on PATH does not.
pub const PYTHON: &str = "/usr/bin/python3";
/// The scripted SMTP server.
pub const SMTPD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/smtpd.py");
/// The certificate generator.
pub const MKCERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/mkcerts.sh");

/// How long [`Rmail::run`] waits for rmail before killing it and failing the test.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The rmail binary in a sealed environment
// ---------------------------------------------------------------------------------------

/// A sealed rmail whose config has one profile, `name`, pointing at `server` and sending
/// as `from`; `extra` is appended to that profile's table (e.g. `"concurrency = 4\n"`).
pub fn rmail_for(server: &Server, name: &str, from: &str, extra: &str) -> Rmail {
    let rmail = rmail();
    rmail.write_config(&format!(
        "{}from = {}\n{extra}",
        server.profile_toml(name),
        toml_string(from)
    ));
    rmail
}

/// The sender of the merge tests.
pub const BILLING: &str = "Billing <billing@example.com>";

/// `merge TEMPLATE --data DATA`.
pub fn merge_args(template: &Path, data: &Path) -> Vec<String> {
    vec![
        "merge".into(),
        template.display().to_string(),
        "--data".into(),
        data.display().to_string(),
    ]
}

/// Writes `content` to `dir/name`, creating the folders between; returns the path.
pub fn write_file(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create the folders of a test file");
    }
    fs::write(&path, content).expect("write a test file");
    path
}

/// A config whose default profile is `t` (`profile_toml` is its `[profiles.t]` table),
/// sending as `from`.
pub fn default_config(profile_toml: &str, from: &str) -> String {
    format!(
        "default_profile = \"t\"\n{profile_toml}from = {}\n",
        toml_string(from)
    )
}

/// A `[profiles.t]` table for a plain-text server on `port` (e.g. a closed one).
pub fn plain_profile(port: u16, timeout_secs: u64) -> String {
    format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\ntimeout_secs = {timeout_secs}\n"
    )
}

/// A sealed `rmail` command; see [`rmail`].
pub fn rmail() -> Rmail {
    Rmail::new(env!("CARGO_BIN_EXE_rmail"))
}

/// The path of the rmail binary under test.
pub fn rmail_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rmail"))
}

/// rmail invoked as `sendmail` (argv\[0\]) through a symlink in its own sealed home,
/// as it would be when linked as /usr/sbin/sendmail.
pub fn sendmail() -> Rmail {
    let home = Arc::new(new_home());
    let bin = home.path().join("bin");
    fs::create_dir_all(&bin).expect("create bin/ in the test home");
    let link = bin.join("sendmail");
    std::os::unix::fs::symlink(rmail_bin(), &link).expect("symlink sendmail -> rmail");
    Rmail::with_home(link, home)
}

/// A [`Command`] for rmail with a sealed environment, plus the temporary home it uses.
///
/// The environment is cleared except `PATH`; `HOME`, `XDG_CONFIG_HOME` (`HOME/.config`),
/// `XDG_STATE_HOME` (`HOME/.local/state`), `XDG_CACHE_HOME` (`HOME/.cache`) and
/// `XDG_DATA_HOME` (`HOME/.local/share`) point into a fresh temporary directory that is
/// deleted when the last `Rmail` sharing it (see [`Rmail::again`]) is dropped. The working
/// directory is left as cargo sets it (the package root). Stdin is /dev/null unless
/// [`Rmail::stdin_bytes`] is used.
///
/// It dereferences to [`Command`] for anything not wrapped here (`env_remove`,
/// `current_dir`, `output`, ...). [`Rmail::run`] is preferred over `output()`: it enforces a
/// timeout and returns a [`Run`] whose assertions print stdout and stderr.
pub struct Rmail {
    cmd: Command,
    home: Arc<TempDir>,
    input: Option<Vec<u8>>,
    /// Keep stdin an open pipe that never delivers anything (a terminal nobody types at).
    stdin_open: bool,
    timeout: Duration,
}

fn new_home() -> TempDir {
    tempfile::Builder::new()
        .prefix("rmail-home-")
        .tempdir()
        .expect("create a temporary HOME for rmail")
}

impl Rmail {
    /// A sealed command for `program` (normally the rmail binary) in a fresh home.
    pub fn new(program: impl AsRef<OsStr>) -> Rmail {
        Rmail::with_home(program, Arc::new(new_home()))
    }

    fn with_home(program: impl AsRef<OsStr>, home: Arc<TempDir>) -> Rmail {
        let h = home.path();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
            )
            .env("HOME", h)
            .env("XDG_CONFIG_HOME", h.join(".config"))
            .env("XDG_STATE_HOME", h.join(".local/state"))
            .env("XDG_CACHE_HOME", h.join(".cache"))
            .env("XDG_DATA_HOME", h.join(".local/share"))
            .stdin(Stdio::null());
        Rmail {
            cmd,
            home,
            input: None,
            stdin_open: false,
            timeout: DEFAULT_RUN_TIMEOUT,
        }
    }

    /// Another rmail command sharing this one's home (config, outbox, journals): e.g.
    /// `rmail queue flush` after a `send` that queued a message.
    pub fn again(&self) -> Rmail {
        let program = self.cmd.get_program().to_owned();
        Rmail::with_home(program, Arc::clone(&self.home))
    }

    /// The `rmail` binary (not the `sendmail` link) sharing this home, e.g. `queue flush`
    /// after `sendmail()` kept a message.
    pub fn rmail_here(&self) -> Rmail {
        Rmail::with_home(rmail_bin(), Arc::clone(&self.home))
    }

    /// `$HOME`.
    pub fn home(&self) -> &Path {
        self.home.path()
    }
    /// `$XDG_CONFIG_HOME`.
    pub fn config_home(&self) -> PathBuf {
        self.home().join(".config")
    }
    /// `$XDG_STATE_HOME`.
    pub fn state_home(&self) -> PathBuf {
        self.home().join(".local/state")
    }
    /// `$XDG_CACHE_HOME`.
    pub fn cache_home(&self) -> PathBuf {
        self.home().join(".cache")
    }
    /// Where rmail looks for its config by default: `$XDG_CONFIG_HOME/rmail/config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.config_home().join("rmail").join("config.toml")
    }
    /// The outbox of temporarily failed messages: `$XDG_STATE_HOME/rmail/outbox`.
    /// The ids of the outbox entries, sorted (an entry exists once its `.json` does).
    pub fn outbox_ids(&self) -> Vec<String> {
        let Ok(dir) = fs::read_dir(self.outbox_dir()) else {
            return Vec::new();
        };
        let mut ids: Vec<String> = dir
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?;
                (!id.starts_with('.')).then(|| id.to_owned())
            })
            .collect();
        ids.sort();
        ids
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.state_home().join("rmail").join("outbox")
    }

    /// Writes `toml` to [`Rmail::config_path`] (mode 0600, so rmail has no reason to warn
    /// about a readable password) and returns the path.
    pub fn write_config(&self, toml: &str) -> PathBuf {
        let dir = self.config_home().join("rmail");
        write_config(&dir, toml)
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.arg(arg);
        self
    }
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env(key, val);
        self
    }
    /// Feed these bytes to rmail's stdin (then close it) in [`Rmail::run`].
    pub fn stdin_bytes(&mut self, input: impl AsRef<[u8]>) -> &mut Self {
        self.input = Some(input.as_ref().to_vec());
        self
    }
    /// Give rmail a stdin that stays open and silent until it exits: a command that must not
    /// read stdin then finishes, one that reads it hangs until the timeout.
    pub fn stdin_open(&mut self) -> &mut Self {
        self.stdin_open = true;
        self
    }

    /// How long [`Rmail::run`] waits before killing rmail (default 60 s).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// Runs rmail to completion and captures its output. Panics (failing the test) if it
    /// cannot be started or is still running after the timeout; the panic shows what it
    /// printed so far.
    #[track_caller]
    pub fn run(&mut self) -> Run {
        let started = Instant::now();
        if self.input.is_some() || self.stdin_open {
            self.cmd.stdin(Stdio::piped());
        }
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.cmd.get_program()));

        // Stdin, stdout and stderr each get a thread so that a child that blocks on one
        // pipe cannot deadlock us on another.
        // Held (never written) until rmail exits, with stdin_open.
        let _silent_stdin = if self.stdin_open {
            child.stdin.take()
        } else {
            None
        };
        let writer = match (self.input.clone(), child.stdin.take()) {
            (Some(input), Some(mut stdin)) => Some(thread::spawn(move || {
                // rmail may legitimately exit without reading everything (usage error).
                let _ = stdin.write_all(&input);
            })),
            _ => None,
        };
        let stdout = drain(child.stdout.take().expect("stdout was piped"));
        let stderr = drain(child.stderr.take().expect("stderr was piped"));

        let mut timed_out = false;
        let status = loop {
            match child.try_wait().expect("wait for rmail") {
                Some(status) => break status,
                None if started.elapsed() > self.timeout => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().expect("wait for killed rmail");
                }
                None => thread::sleep(Duration::from_millis(5)),
            }
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        let stdout_bytes = stdout.join().expect("stdout reader thread");
        let stderr_bytes = stderr.join().expect("stderr reader thread");
        let run = Run {
            status,
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
            stdout_bytes,
            elapsed: started.elapsed(),
        };
        if timed_out {
            panic!(
                "rmail {:?} still running after {:?}; killed.\n{run}",
                self.args_debug(),
                self.timeout
            );
        }
        run
    }

    fn args_debug(&self) -> Vec<String> {
        self.cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }
}

impl Deref for Rmail {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}
impl DerefMut for Rmail {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// What one rmail run did. `Display` shows everything, for assertion messages.
pub struct Run {
    pub status: ExitStatus,
    /// stdout, lossily decoded; the exact bytes are in `stdout_bytes`.
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The exit code. Panics if rmail was killed by a signal.
    #[track_caller]
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(code) => code,
            None => panic!("rmail was killed by a signal\n{self}"),
        }
    }
    pub fn success(&self) -> bool {
        self.status.success()
    }
    /// Asserts the exit code, showing stdout and stderr if it differs.
    #[track_caller]
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "unexpected exit status\n{self}"
        );
        self
    }
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status: {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}
impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Writes `toml` to `dir/config.toml` (creating `dir`, mode 0600) and returns that path.
pub fn write_config(dir: impl AsRef<Path>, toml: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir.as_ref();
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let path = dir.join("config.toml");
    fs::write(&path, toml).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    path
}

/// A port on 127.0.0.1 with nothing listening (bound, then released): connecting to it is
/// refused, for "server down" tests.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener
        .local_addr()
        .expect("local address of the probe socket")
        .port()
}

// ---------------------------------------------------------------------------------------
// Test certificates
// ---------------------------------------------------------------------------------------

/// Test TLS material from `tests/it/support/mkcerts.sh`; all files PEM.
#[derive(Debug)]
pub struct Certs {
    pub dir: PathBuf,
    /// The test CA: give it to rmail as `ca_file`.
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    /// Server certificate for localhost / 127.0.0.1, signed by `ca`.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// An unrelated CA, and a server certificate it signed (same names as `cert`): a server
    /// using `untrusted_cert` must be refused by a client that trusts only `ca`.
    pub other_ca: PathBuf,
    pub untrusted_cert: PathBuf,
    pub untrusted_key: PathBuf,
}

impl Certs {
    /// Generates the certificates on first use in this test binary, then returns the same
    /// ones. They live under cargo's target tmp dir (removed by `cargo clean`).
    pub fn generate() -> &'static Certs {
        static CERTS: OnceLock<Certs> = OnceLock::new();
        CERTS.get_or_init(|| {
            prune_old_cert_dirs();
            let dir = tempfile::Builder::new()
                .prefix("rmail-test-certs-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .expect("create a directory for test certificates")
                // Kept for the whole process: a static is never dropped anyway.
                .keep();
            let out = Command::new("bash")
                .arg(MKCERTS)
                .arg(&dir)
                .stdin(Stdio::null())
                .output()
                .expect("run bash tests/it/support/mkcerts.sh");
            assert!(
                out.status.success(),
                "mkcerts.sh failed ({}); is openssl installed?\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Certs {
                ca: dir.join("ca.pem"),
                ca_key: dir.join("ca.key"),
                cert: dir.join("server.pem"),
                key: dir.join("server.key"),
                other_ca: dir.join("other-ca.pem"),
                untrusted_cert: dir.join("untrusted.pem"),
                untrusted_key: dir.join("untrusted.key"),
                dir,
            }
        })
    }
}

/// Each test binary leaves its certificate directory behind (a static is never dropped);
/// remove those older than two hours, long after any test run that could still use them.
fn prune_old_cert_dirs() {
    let Ok(entries) = fs::read_dir(env!("CARGO_TARGET_TMPDIR")) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(2 * 3600));
        if stale
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with("rmail-test-certs-")
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scripted SMTP server
// ---------------------------------------------------------------------------------------

/// How the server speaks TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP; STARTTLS is not offered.
    #[default]
    None,
    /// STARTTLS offered and required before MAIL.
    StartTls,
    /// Implicit TLS from the first byte (port-465 style).
    Tls,
}

impl Security {
    /// The name used by smtpd.py's `--security` and by rmail's `security` config key.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::StartTls => "starttls",
            Security::Tls => "tls",
        }
    }
}

/// What the server does; mirrors smtpd.py's flags. Build with a struct literal
/// (`ServerOptions { security: Security::Tls, ..Default::default() }`) or the chainable
/// methods (`ServerOptions::starttls().auth("u", "p").rcpt_reply("x@y", 550)`).
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub security: Security,
    /// (certificate, key) for StartTls/Tls. `None`: the [`Certs`] server certificate.
    pub cert: Option<(PathBuf, PathBuf)>,
    /// Require AUTH (PLAIN and LOGIN offered) with (user, password); a wrong one gets 535.
    pub auth: Option<(String, String)>,
    /// Greet with this code (e.g. 421) and close.
    pub greeting_code: Option<u16>,
    /// Answer RCPT TO for these addresses with these codes (e.g. 550, 451).
    pub rcpt_reply: Vec<(String, u16)>,
    /// Answer the end of every message's DATA with this code (e.g. 552, 451).
    pub data_reply: Option<u16>,
    /// After DATA's 354, read a line of content, then reset the connection, no reply.
    pub drop_in_data: bool,
    /// Accept connections, never send a byte (not even a TLS handshake).
    pub stall: bool,
    /// Scripted failures only for the first N transactions (MAIL commands); greeting_code
    /// only for the first N connections. Later ones succeed.
    pub fail_first: Option<u32>,
    /// Scripted failures only for transaction number N (from 1, over all connections).
    pub only_transaction: Option<u32>,
    /// SIZE limit (default 32 MiB).
    pub max_size: Option<u64>,
    /// Advertise PIPELINING in the EHLO reply.
    pub pipelining: bool,
    /// Also offer AUTH XOAUTH2, with the `auth` password as the bearer token.
    pub xoauth2: bool,
    /// Do not offer SMTPUTF8 (aiosmtpd's `enable_SMTPUTF8=False`).
    pub no_smtputf8: bool,
    /// Offer AUTH XOAUTH2 only and accept a token only if this introspection endpoint
    /// (an [`oauth::Provider`]'s) says it is active with the smtp scope.
    pub xoauth2_introspect: Option<String>,
}

impl ServerOptions {
    pub fn plain() -> Self {
        Self::default()
    }
    pub fn starttls() -> Self {
        Self {
            security: Security::StartTls,
            ..Self::default()
        }
    }
    pub fn tls() -> Self {
        Self {
            security: Security::Tls,
            ..Self::default()
        }
    }
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }
    pub fn cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.cert = Some((cert.into(), key.into()));
        self
    }
    /// Present the certificate signed by the unrelated CA.
    pub fn untrusted_cert(self) -> Self {
        let certs = Certs::generate();
        self.cert(&certs.untrusted_cert, &certs.untrusted_key)
    }
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }
    pub fn greeting_code(mut self, code: u16) -> Self {
        self.greeting_code = Some(code);
        self
    }
    pub fn rcpt_reply(mut self, address: &str, code: u16) -> Self {
        self.rcpt_reply.push((address.to_owned(), code));
        self
    }
    pub fn data_reply(mut self, code: u16) -> Self {
        self.data_reply = Some(code);
        self
    }
    pub fn drop_in_data(mut self) -> Self {
        self.drop_in_data = true;
        self
    }
    pub fn stall(mut self) -> Self {
        self.stall = true;
        self
    }
    pub fn fail_first(mut self, n: u32) -> Self {
        self.fail_first = Some(n);
        self
    }
    pub fn only_transaction(mut self, n: u32) -> Self {
        self.only_transaction = Some(n);
        self
    }
    pub fn xoauth2(mut self) -> Self {
        self.xoauth2 = true;
        self
    }

    pub fn pipelining(mut self) -> Self {
        self.pipelining = true;
        self
    }

    /// Do not offer SMTPUTF8.
    pub fn without_smtputf8(mut self) -> Self {
        self.no_smtputf8 = true;
        self
    }

    /// AUTH XOAUTH2 checked against `provider`'s token introspection.
    pub fn xoauth2_introspect(mut self, provider: &oauth::Provider) -> Self {
        self.xoauth2_introspect = Some(provider.introspection_url());
        self
    }

    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The smtpd.py command-line flags (without `--dir`).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["--security".to_owned(), self.security.as_str().to_owned()];
        if self.security != Security::None {
            let (cert, key) = match &self.cert {
                Some(pair) => pair.clone(),
                None => {
                    let certs = Certs::generate();
                    (certs.cert.clone(), certs.key.clone())
                }
            };
            args.push("--cert".into());
            args.push(cert.display().to_string());
            args.push("--key".into());
            args.push(key.display().to_string());
        }
        if let Some((user, password)) = &self.auth {
            args.push("--auth".into());
            args.push(format!("{user}:{password}"));
        }
        if let Some(code) = self.greeting_code {
            args.push("--greeting-code".into());
            args.push(code.to_string());
        }
        for (address, code) in &self.rcpt_reply {
            args.push("--rcpt-reply".into());
            args.push(format!("{address}={code}"));
        }
        if let Some(code) = self.data_reply {
            args.push("--data-reply".into());
            args.push(code.to_string());
        }
        if self.drop_in_data {
            args.push("--drop-in-data".into());
        }
        if self.stall {
            args.push("--stall".into());
        }
        if let Some(n) = self.fail_first {
            args.push("--fail-first".into());
            args.push(n.to_string());
        }
        if let Some(n) = self.only_transaction {
            args.push("--only-transaction".into());
            args.push(n.to_string());
        }
        if let Some(bytes) = self.max_size {
            args.push("--max-size".into());
            args.push(bytes.to_string());
        }
        if self.pipelining {
            args.push("--pipelining".into());
        }
        if self.xoauth2 {
            args.push("--xoauth2".into());
        }
        if self.no_smtputf8 {
            args.push("--no-smtputf8".into());
        }
        if let Some(url) = &self.xoauth2_introspect {
            args.push("--xoauth2-introspect".into());
            args.push(url.clone());
        }
        args
    }
}

/// A running smtpd.py on 127.0.0.1, killed when dropped. Its files live in a temporary
/// directory ([`Server::dir`]) removed on drop.
pub struct Server {
    child: Child,
    /// Held open: smtpd.py runs with --exit-on-stdin-eof, so it also exits if this test
    /// process dies without running Drop.
    _stdin: Option<ChildStdin>,
    dir: TempDir,
    port: u16,
    options: ServerOptions,
}

/// How long to wait for smtpd.py's `PORT n` line.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts a test server (`command`, with stdin and stdout piped for it) and waits up to
/// `timeout` for the line `PREFIX value` it prints once it listens; returns the running
/// child and the value. stdout is read on a thread, so the wait can time out, and drained
/// afterwards, so the server can never block on it. On failure the child is gone and the
/// error says why.
pub fn start_announcing(
    command: &mut Command,
    prefix: &'static str,
    timeout: Duration,
) -> Result<(Child, String), String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(value) = line.strip_prefix(prefix) {
                let _ = tx.send(value.trim().to_owned());
                break;
            }
        }
        for _ in lines {}
    });
    match rx.recv_timeout(timeout) {
        Ok(value) => Ok((child, value)),
        Err(outcome) => {
            let _ = child.kill();
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            Err(match outcome {
                mpsc::RecvTimeoutError::Timeout => format!("no {prefix}line within {timeout:?}"),
                mpsc::RecvTimeoutError::Disconnected => {
                    format!("it exited ({status}) without a {prefix}line")
                }
            })
        }
    }
}

impl Server {
    /// Starts smtpd.py with these options and waits until it listens.
    #[track_caller]
    pub fn start(options: ServerOptions) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("rmail-smtpd-")
            .tempdir()
            .expect("create a directory for the test SMTP server");
        let stderr_path = dir.path().join("smtpd.stderr");
        let stderr = fs::File::create(&stderr_path).expect("create smtpd.stderr");
        let started = start_announcing(
            Command::new(PYTHON)
                .arg(SMTPD)
                .arg("--dir")
                .arg(dir.path())
                .arg("--exit-on-stdin-eof")
                .args(options.to_args())
                .stderr(stderr),
            "PORT ",
            SERVER_START_TIMEOUT,
        );
        let (mut child, port) = match started.and_then(|(child, port)| match port.parse::<u16>() {
            Ok(port) => Ok((child, port)),
            Err(_) => Err(format!("malformed PORT line: {port}")),
        }) {
            Ok(started) => started,
            Err(why) => panic!(
                "test SMTP server did not start: {why}.\n\
                 Is python3-aiosmtpd installed (apt-get install python3-aiosmtpd)? \
                 It must be importable by {PYTHON}.\ncommand: {PYTHON} {SMTPD} {}\n\
                 --- smtpd.py stderr ---\n{}",
                options.to_args().join(" "),
                fs::read_to_string(&stderr_path).unwrap_or_default()
            ),
        };
        let stdin = child.stdin.take();
        Server {
            child,
            _stdin: stdin,
            dir,
            port,
            options,
        }
    }

    /// A plain server with no scripted failures.
    pub fn plain() -> Server {
        Server::start(ServerOptions::plain())
    }

    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }
    /// Where smtpd.py writes messages, session.log and smtpd.stderr.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `[profiles.NAME]` table (keys from PRODUCT.md) that reaches this server:
    /// host, port, security, `ca_file` (the test CA) for TLS, username/password for AUTH,
    /// and `timeout_secs = 10`. Append more keys of the same profile right after it.
    pub fn profile_toml(&self, name: &str) -> String {
        let mut toml = format!(
            "[profiles.{name}]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"{}\"\ntimeout_secs = 10\n",
            self.port,
            self.options.security.as_str()
        );
        if self.options.security != Security::None {
            toml += &format!(
                "ca_file = {}\n",
                toml_string(&Certs::generate().ca.display().to_string())
            );
        }
        if let Some((user, password)) = &self.options.auth {
            toml += &format!(
                "username = {}\npassword = {}\n",
                toml_string(user),
                toml_string(password)
            );
        }
        toml
    }

    /// Waits (up to 10 s) until every connection the server accepted has closed, so that
    /// what it logged is complete; call after rmail exited.
    #[track_caller]
    pub fn wait_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.session_log();
            let open = |event: &str| {
                let mut conns: Vec<&str> = log
                    .lines()
                    .filter(|l| l.ends_with(event))
                    .filter_map(|l| l.split(' ').next())
                    .collect();
                conns.dedup();
                conns.len()
            };
            if open(" * connect") == open(" * closed") {
                return;
            }
            if Instant::now() >= deadline {
                panic!("the test server still has open connections\n{log}");
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Nothing arrived and no transaction was even begun (no MAIL, RCPT or DATA).
    #[track_caller]
    pub fn assert_nothing_sent(&self) {
        self.wait_idle();
        assert!(self.messages().is_empty(), "something was sent");
        assert!(
            !self
                .commands()
                .iter()
                .any(|l| matches!(l.verb().as_str(), "MAIL" | "RCPT" | "DATA")),
            "{}",
            self.session_log()
        );
    }

    /// The complete messages received so far, in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        let mut stems: Vec<String> = fs::read_dir(self.dir())
            .expect("list the test SMTP server's directory")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".json")?;
                stem.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| stem.to_owned())
            })
            .collect();
        stems.sort(); // zero-padded, so text order is arrival order
        stems.iter().map(|stem| self.read_message(stem)).collect()
    }

    fn read_message(&self, stem: &str) -> Received {
        let json_path = self.dir().join(format!("{stem}.json"));
        let eml_path = self.dir().join(format!("{stem}.eml"));
        let json =
            fs::read(&json_path).unwrap_or_else(|e| panic!("read {}: {e}", json_path.display()));
        let meta: serde_json::Value = serde_json::from_slice(&json)
            .unwrap_or_else(|e| panic!("parse {}: {e}", json_path.display()));
        let strings = |key: &str| -> Vec<String> {
            meta[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        Received {
            seq: meta["seq"].as_u64().unwrap_or_default() as u32,
            conn: meta["conn"].as_u64().unwrap_or_default() as u32,
            raw: fs::read(&eml_path).unwrap_or_else(|e| panic!("read {}: {e}", eml_path.display())),
            mail_from: meta["mail_from"].as_str().unwrap_or_default().to_owned(),
            rcpt_tos: strings("rcpt_tos"),
            mail_options: strings("mail_options"),
            tls: meta["tls"].as_bool().unwrap_or(false),
            auth_user: meta["auth_user"].as_str().map(str::to_owned),
        }
    }

    /// Waits until at least `n` messages have arrived and returns all of them; fails the
    /// test (showing the session log) if they have not arrived within `timeout`.
    #[track_caller]
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected {n} message(s) within {timeout:?}, the server has {}\n\
                     --- session.log ---\n{}--- smtpd.stderr ---\n{}",
                    messages.len(),
                    self.session_log(),
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the first message and checks that `eml` (rmail's `--eml` copy) holds
    /// exactly the bytes the server received; returns the message.
    #[track_caller]
    pub fn first_as_in_eml(&self, eml: &Path) -> Received {
        let first = self.wait_for(1, Duration::from_secs(10)).remove(0);
        let written = fs::read(eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
        assert!(written == first.raw, "--eml differs from the bytes sent");
        first
    }

    /// session.log: one line per event, `<conn> <plain|tls> > <client line>` for what the
    /// client sent (commands and AUTH responses, never DATA content) and
    /// `<conn> <plain|tls> * <event>` for connect, close, scripted drops.
    pub fn session_log(&self) -> String {
        fs::read_to_string(self.dir().join("session.log")).unwrap_or_default()
    }

    /// The client's lines from session.log, in order. Command verbs are as the client sent
    /// them (clients may use lower case: compare with `eq_ignore_ascii_case`/`to_uppercase`).
    pub fn commands(&self) -> Vec<SessionLine> {
        self.session_log()
            .lines()
            .filter_map(|l| {
                let (conn, rest) = l.split_once(' ')?;
                let (state, rest) = rest.split_once(' ')?;
                let line = rest.strip_prefix("> ")?;
                Some(SessionLine {
                    conn: conn.parse().ok()?,
                    tls: state == "tls",
                    line: line.to_owned(),
                })
            })
            .collect()
    }

    /// The number of TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.session_log()
            .lines()
            .filter(|l| l.contains(" * connect"))
            .count()
    }

    /// What smtpd.py wrote to stderr (tracebacks, failed TLS handshakes).
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir().join("smtpd.stderr")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One line a client sent, from session.log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLine {
    /// Connection number, from 1.
    pub conn: u32,
    /// Whether it travelled inside TLS.
    pub tls: bool,
    pub line: String,
}

impl SessionLine {
    /// The command verb, upper-cased (`"EHLO"`, `"AUTH"`, `"MAIL"`...).
    pub fn verb(&self) -> String {
        self.line
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase()
    }
}

/// A message the server accepted.
#[derive(Clone)]
pub struct Received {
    /// Arrival number, from 1 (the NNNN of NNNN.eml).
    pub seq: u32,
    /// The connection it came on, from 1.
    pub conn: u32,
    /// The DATA bytes exactly as received (CRLF line endings, dot-stuffing undone).
    pub raw: Vec<u8>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// MAIL FROM parameters, upper-cased (`"SIZE=123"`, `"BODY=8BITMIME"`).
    pub mail_options: Vec<String>,
    pub tls: bool,
    pub auth_user: Option<String>,
}

impl Received {
    /// The message parsed by mail-parser (an independent MIME parser).
    #[track_caller]
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .unwrap_or_else(|| {
                panic!(
                    "mail-parser cannot parse message {}:\n{}",
                    self.seq,
                    self.text()
                )
            })
    }
    /// The raw bytes, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("seq", &self.seq)
            .field("conn", &self.conn)
            .field("mail_from", &self.mail_from)
            .field("rcpt_tos", &self.rcpt_tos)
            .field("mail_options", &self.mail_options)
            .field("tls", &self.tls)
            .field("auth_user", &self.auth_user)
            .field("raw", &self.text())
            .finish()
    }
}

/// A TOML basic string for `s` (quotes and backslashes escaped).
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The MIME structure of a message as a compact string, e.g.
/// `multipart/mixed[multipart/alternative[text/plain,text/html],application/pdf]`.
pub fn mime_tree(message: &mail_parser::Message<'_>) -> String {
    use mail_parser::{MimeHeaders, PartType};
    fn walk(message: &mail_parser::Message<'_>, id: u32, out: &mut String) {
        let Some(part) = message.part(id) else {
            return;
        };
        let ct = part
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
            .unwrap_or_else(|| "text/plain".into());
        out.push_str(&ct.to_ascii_lowercase());
        if let PartType::Multipart(children) = &part.body {
            out.push('[');
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                walk(message, *child, out);
            }
            out.push(']');
        }
    }
    let mut out = String::new();
    walk(message, 0, &mut out);
    out
}
