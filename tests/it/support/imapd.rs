//! A real IMAP server for the Sent-folder tests: Dovecot (Debian `dovecot-imapd`) on
//! 127.0.0.1 from a generated config, and an independent reader (Python's imaplib,
//! `tests/it/support/imapread.py`) to see what landed in a mailbox.
//!
//! Each [`Imapd`] has its own directory (config, passwd-file users, Maildir homes, logs) and
//! two listeners: [`Imapd::port`] (plain IMAP offering STARTTLS, or without STARTTLS when
//! TLS is off) and [`Imapd::tls_port`] (implicit TLS). The certificate is the [`Certs`]
//! server certificate (or the untrusted one), so rmail trusts it through `ca_file`.
//!
//! Dovecot runs without root when the tests do: every service runs as the test user, no
//! chroot, mail owned by the test user. As root (CI), the login processes keep Dovecot's
//! own unprivileged users and chroot, and mail is owned by `nobody`, since Dovecot refuses
//! both a root login process and uid 0 for mail.
//!
//! ```ignore
//! let imap = Imapd::start(ImapdOptions::default());
//! // … rmail sends with [profiles.t.imap] = imap.imap_toml("t", "starttls") …
//! let sent = imap.messages("Sent Messages");
//! assert_eq!(sent.len(), 1);
//! assert!(sent[0].flags.iter().any(|f| f == "\\Seen"));
//! ```

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{Certs, PYTHON, toml_string};

/// The independent reader.
pub const IMAPREAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/imapread.py");

/// The Dovecot master binary (Debian's dovecot-core, pulled in by dovecot-imapd).
const DOVECOT: &str = "/usr/sbin/dovecot";

/// How long to wait for Dovecot to greet on both ports.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The name of the `\Sent` mailbox in [`ImapdOptions::default`]: deliberately not "Sent"
/// (iCloud's name), so a client that guesses the name instead of asking fails.
pub const SENT_MAILBOX: &str = "Sent Messages";

/// What the server looks like.
#[derive(Clone, Debug)]
pub struct ImapdOptions {
    /// Users and their passwords.
    pub users: Vec<(String, String)>,
    /// Mailboxes created at first login, with an RFC 6154 SPECIAL-USE attribute or none.
    pub mailboxes: Vec<(String, Option<String>)>,
    /// TLS on (STARTTLS offered on [`Imapd::port`], implicit TLS on [`Imapd::tls_port`]).
    /// Off: plain IMAP only, no STARTTLS in the capabilities.
    pub tls: bool,
    /// (certificate, key); `None`: the [`Certs`] server certificate.
    pub cert: Option<(PathBuf, PathBuf)>,
}

impl Default for ImapdOptions {
    /// One user `me@example.com` / `imap-secret`; `Sent Messages` (\Sent), `Drafts`
    /// (\Drafts), `Trash` (\Trash); TLS on with the test CA's server certificate.
    fn default() -> Self {
        ImapdOptions {
            users: vec![("me@example.com".into(), "imap-secret".into())],
            mailboxes: vec![
                (SENT_MAILBOX.into(), Some("\\Sent".into())),
                ("Drafts".into(), Some("\\Drafts".into())),
                ("Trash".into(), Some("\\Trash".into())),
            ],
            tls: true,
            cert: None,
        }
    }
}

impl ImapdOptions {
    /// Replaces the mailboxes created at first login.
    pub fn mailboxes(mut self, mailboxes: &[(&str, Option<&str>)]) -> Self {
        self.mailboxes = mailboxes
            .iter()
            .map(|(name, attr)| ((*name).to_owned(), attr.map(str::to_owned)))
            .collect();
        self
    }
    /// Adds a user.
    pub fn user(mut self, user: &str, password: &str) -> Self {
        self.users.push((user.to_owned(), password.to_owned()));
        self
    }
    /// Plain IMAP only: STARTTLS not offered, no implicit-TLS listener.
    pub fn without_tls(mut self) -> Self {
        self.tls = false;
        self
    }
    /// Present the certificate signed by the unrelated CA.
    pub fn untrusted_cert(mut self) -> Self {
        let certs = Certs::generate();
        self.cert = Some((certs.untrusted_cert.clone(), certs.untrusted_key.clone()));
        self
    }
}

/// A message as the independent reader saw it.
#[derive(Clone, Debug)]
pub struct ImapMessage {
    /// Flags, e.g. `["\\Seen"]` (`\Recent` included when the server reports it).
    pub flags: Vec<String>,
    /// INTERNALDATE as the server prints it: `01-Dec-2026 09:00:00 +0000`.
    pub internal_date: String,
    /// The exact message bytes (BODY\[\]).
    pub raw: Vec<u8>,
}

impl ImapMessage {
    /// Whether the message carries `flag` (e.g. `"\\Seen"`), ignoring case.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
    }
    /// The message parsed by mail-parser.
    #[track_caller]
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("mail-parser parses the stored message")
    }
}

/// A mailbox from LIST, as the independent reader saw it.
#[derive(Clone, Debug)]
pub struct MailboxInfo {
    /// The name, decoded from modified UTF-7.
    pub name: String,
    /// The attributes, e.g. `["\\HasNoChildren", "\\Sent"]`.
    pub flags: Vec<String>,
}

/// A running Dovecot, stopped (SIGTERM to the master, which stops its children) when
/// dropped. Its files live in a temporary directory removed on drop.
pub struct Imapd {
    /// `sh` running Dovecot in the foreground; it stops Dovecot when its stdin closes, so
    /// a test process that dies without Drop leaves no server behind.
    child: Child,
    stdin: Option<ChildStdin>,
    dir: TempDir,
    port: u16,
    tls_port: u16,
    options: ImapdOptions,
}

impl Imapd {
    /// Starts Dovecot with these options and waits until both listeners greet.
    #[track_caller]
    pub fn start(options: ImapdOptions) -> Imapd {
        // The free ports are found by binding and releasing them, so another process can
        // take one in between: try a few times.
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Imapd::try_start(options.clone()) {
                Ok(imapd) => return imapd,
                Err(why) => last_failure = why,
            }
        }
        panic!(
            "Dovecot did not start: {last_failure}\nIs dovecot-imapd installed \
             (apt-get install dovecot-imapd)?"
        );
    }

    fn try_start(options: ImapdOptions) -> Result<Imapd, String> {
        let dir = tempfile::Builder::new()
            .prefix("rmail-imapd-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let port = free_port();
        let tls_port = free_port();
        let config = write_config(dir.path(), &options, port, tls_port)?;

        // A background job's stdin is /dev/null in a non-interactive shell, so the watcher
        // gets the pipe as fd 3.
        let script = format!(
            "exec 3<&0; {DOVECOT} -F -c '{}' & pid=$!; \
             (cat <&3 >/dev/null; kill $pid 2>/dev/null) & wait $pid",
            config.display()
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(
                fs::File::create(dir.path().join("dovecot.stderr"))
                    .map_err(|e| format!("dovecot.stderr: {e}"))?,
            )
            .spawn()
            .map_err(|e| format!("cannot run {DOVECOT}: {e}"))?;
        let stdin = child.stdin.take();
        let mut imapd = Imapd {
            child,
            stdin,
            dir,
            port,
            tls_port,
            options,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = imapd.child.try_wait() {
                return Err(format!("it exited ({status})\n{}", imapd.logs()));
            }
            if imapd.greets() {
                return Ok(imapd);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no greeting within {START_TIMEOUT:?}\n{}",
                    imapd.logs()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the plain port sends Dovecot's final greeting (the one with "ready"; while
    /// its auth process starts, Dovecot first sends "Waiting for authentication process").
    /// The implicit-TLS listener is part of the same login service, so one check is enough.
    fn greets(&self) -> bool {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut reader = BufReader::new(&stream);
        for _ in 0..3 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return false;
            }
            if line.starts_with("* OK") && line.contains("ready") {
                let _ = (&stream).write_all(b"x LOGOUT\r\n");
                return true;
            }
        }
        false
    }

    /// Plain IMAP port: STARTTLS offered (unless [`ImapdOptions::without_tls`]).
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Implicit-TLS port (only meaningful with TLS on).
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }
    /// The first user's name.
    pub fn user(&self) -> &str {
        &self.options.users[0].0
    }
    /// The first user's password.
    pub fn password(&self) -> &str {
        &self.options.users[0].1
    }
    /// The server's directory (config, logs, Maildirs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `[profiles.PROFILE.imap]` table reaching this server with `security` ("starttls",
    /// "tls" or "none"), the test CA as `ca_file`, and the first user's credentials.
    pub fn imap_toml(&self, profile: &str, security: &str) -> String {
        let port = if security == "tls" {
            self.tls_port
        } else {
            self.port
        };
        format!(
            "[profiles.{profile}.imap]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\n\
             ca_file = {}\nusername = {}\npassword = {}\n",
            toml_string(&Certs::generate().ca.display().to_string()),
            toml_string(self.user()),
            toml_string(self.password()),
        )
    }

    /// The first user's mailboxes from LIST.
    #[track_caller]
    pub fn mailboxes(&self) -> Vec<MailboxInfo> {
        let report = self.read("INBOX");
        report["mailboxes"]
            .as_array()
            .expect("imapread.py lists mailboxes")
            .iter()
            .map(|m| MailboxInfo {
                name: m["name"].as_str().unwrap_or_default().to_owned(),
                flags: strings(&m["flags"]),
            })
            .collect()
    }

    /// The messages in the first user's `mailbox` (its UTF-8 name), in order, read without
    /// changing their flags.
    #[track_caller]
    pub fn messages(&self, mailbox: &str) -> Vec<ImapMessage> {
        let report = self.read(mailbox);
        report["messages"]
            .as_array()
            .expect("imapread.py lists messages")
            .iter()
            .map(|m| ImapMessage {
                flags: strings(&m["flags"]),
                internal_date: m["internaldate"].as_str().unwrap_or_default().to_owned(),
                raw: base64_decode(m["raw"].as_str().unwrap_or_default()),
            })
            .collect()
    }

    #[track_caller]
    fn read(&self, mailbox: &str) -> serde_json::Value {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(IMAPREAD)
            .arg("--user")
            .arg(self.user())
            .arg("--password")
            .arg(self.password())
            .arg("--mailbox")
            .arg(mailbox)
            .stdin(Stdio::null());
        if self.options.tls {
            cmd.arg("--port")
                .arg(self.tls_port.to_string())
                .arg("--ca")
                .arg(self.reader_ca());
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        let out = cmd.output().expect("run imapread.py");
        assert!(
            out.status.success(),
            "imapread.py failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        serde_json::from_slice(&out.stdout).expect("imapread.py prints JSON")
    }

    /// The CA that signed the certificate this server presents.
    fn reader_ca(&self) -> PathBuf {
        let certs = Certs::generate();
        match &self.options.cert {
            Some((cert, _)) if *cert == certs.untrusted_cert => certs.other_ca.clone(),
            _ => certs.ca.clone(),
        }
    }

    /// Dovecot's log and stderr, for failure messages.
    pub fn logs(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir().join(name)).unwrap_or_default();
        format!(
            "--- dovecot.log ---\n{}--- dovecot.stderr ---\n{}",
            read("dovecot.log"),
            read("dovecot.stderr")
        )
    }
}

impl Drop for Imapd {
    fn drop(&mut self) {
        // Closing stdin makes the shell stop Dovecot with SIGTERM; the master then stops
        // its children. SIGKILL to the shell would leave them running.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port on 127.0.0.1")
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Standard base64 (with padding), as Python's base64.b64encode writes it.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("base64 from imapread.py") as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The uid/gid and user name the mail is stored under, and whether Dovecot runs as root.
struct Identity {
    root: bool,
    user: String,
    group: String,
    uid: u32,
    gid: u32,
}

fn identity(dir: &Path) -> Result<Identity, String> {
    let meta = fs::metadata(dir).map_err(|e| format!("stat {}: {e}", dir.display()))?;
    if meta.uid() == 0 {
        let id = |flag: &str| -> Result<u32, String> {
            let out = Command::new("id")
                .args([flag, "nobody"])
                .output()
                .map_err(|e| format!("id {flag} nobody: {e}"))?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|_| "no user nobody".to_owned())
        };
        return Ok(Identity {
            root: true,
            user: String::new(),
            group: String::new(),
            uid: id("-u")?,
            gid: id("-g")?,
        });
    }
    let name = |flag: &str| -> Result<String, String> {
        let out = Command::new("id")
            .arg(flag)
            .output()
            .map_err(|e| format!("id {flag}: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    Ok(Identity {
        root: false,
        user: name("-un")?,
        group: name("-gn")?,
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

/// Writes dovecot.conf, the passwd-file and the homes into `dir`; returns the config path.
fn write_config(
    dir: &Path,
    options: &ImapdOptions,
    port: u16,
    tls_port: u16,
) -> Result<PathBuf, String> {
    let who = identity(dir)?;
    let d = dir.display();
    let certs = Certs::generate();
    let (cert, key) = options
        .cert
        .clone()
        .unwrap_or_else(|| (certs.cert.clone(), certs.key.clone()));

    let mut passwd = String::new();
    for (user, password) in &options.users {
        passwd += &format!("{user}:{{PLAIN}}{password}::::::\n");
    }
    fs::write(dir.join("passwd"), passwd).map_err(|e| format!("passwd: {e}"))?;
    let home = dir.join("home");
    fs::create_dir(&home).map_err(|e| format!("home: {e}"))?;
    if who.root {
        // Mail is owned by nobody: the imap process must reach it through this directory.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
            .and_then(|()| std::os::unix::fs::chown(&home, Some(who.uid), Some(who.gid)))
            .map_err(|e| format!("prepare {} for nobody: {e}", home.display()))?;
    }

    let mut conf = format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
         protocols = imap\nlisten = 127.0.0.1\n\
         disable_plaintext_auth = no\nauth_mechanisms = plain login\nauth_failure_delay = 0\n\
         mail_location = maildir:~/Maildir\n\
         first_valid_uid = {uid}\nlast_valid_uid = {uid}\nfirst_valid_gid = {gid}\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home/%u\n}}\n",
        uid = who.uid,
        gid = who.gid,
    );
    if options.tls {
        conf += &format!(
            "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
            cert.display(),
            key.display()
        );
    } else {
        conf += "ssl = no\n";
    }
    conf += "namespace inbox {\n  inbox = yes\n  separator = /\n";
    for (name, special_use) in &options.mailboxes {
        conf += &format!("  mailbox \"{name}\" {{\n    auto = create\n");
        if let Some(attr) = special_use {
            conf += &format!("    special_use = {attr}\n");
        }
        conf += "  }\n";
    }
    conf += "}\n";
    // Dovecot's built-in imaps listener (993) exists unless overridden; port 0 disables it.
    let tls_port = if options.tls { tls_port } else { 0 };
    let tls_listener = format!(
        "  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes\n  }}\n"
    );
    // As the test user, nothing can chroot or switch users: run everything as that user.
    let (login_chroot, users) = if who.root {
        (String::new(), String::new())
    } else {
        let u = &who.user;
        (
            "  chroot =\n".to_owned(),
            format!(
                "default_internal_user = {u}\ndefault_internal_group = {g}\ndefault_login_user = {u}\n\
                 service anvil {{\n  chroot =\n}}\nservice auth {{\n  user = {u}\n}}\n\
                 service auth-worker {{\n  user = {u}\n}}\n",
                g = who.group
            ),
        )
    };
    conf += &format!(
        "service imap-login {{\n{login_chroot}  inet_listener imap {{\n    address = 127.0.0.1\n    \
         port = {port}\n  }}\n{tls_listener}}}\n{users}"
    );
    let path = dir.join("dovecot.conf");
    fs::write(&path, conf).map_err(|e| format!("dovecot.conf: {e}"))?;
    Ok(path)
}
