//! DKIM signing, checked by an independent verifier: what arrived at a real SMTP server
//! (aiosmtpd) is verified by dkimpy (`tests/it/support/dkimverify.py`), with the public key
//! served from a local file instead of DNS. Keys are generated per test with openssl.
//!
//! dkimpy and PyNaCl (for Ed25519) are installed from PyPI into a venv under cargo's
//! target tmpdir, once per test binary and reused across runs (needs `python3 -m venv`,
//! Debian's python3-venv; `.ci/run` installs it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::{PYTHON, Received, Rmail, Server, ServerOptions, rmail, sendmail};

const WAIT: Duration = Duration::from_secs(10);
const VERIFY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/support/dkimverify.py"
);

#[derive(Clone, Copy, Debug)]
enum Alg {
    Rsa,
    Ed25519,
}

impl Alg {
    fn config(self) -> &'static str {
        match self {
            Alg::Rsa => "rsa-sha256",
            Alg::Ed25519 => "ed25519-sha256",
        }
    }
    fn verifier(self) -> &'static str {
        match self {
            Alg::Rsa => "rsa",
            Alg::Ed25519 => "ed25519",
        }
    }
}

/// A private key (PEM, as the user would have it) and its public key (DER) for the verifier.
struct Key {
    alg: Alg,
    pem: PathBuf,
    der: PathBuf,
}

const DOMAIN: &str = "example.com";
const SELECTOR: &str = "s2026";

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Generates a key of `alg` in `dir`.
fn generate_key(dir: &Path, alg: Alg) -> Key {
    let pem = dir.join(format!("dkim-{}.pem", alg.verifier()));
    let der = dir.join(format!("dkim-{}.pub.der", alg.verifier()));
    let pem_s = pem.to_str().unwrap();
    match alg {
        Alg::Rsa => openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            pem_s,
        ]),
        Alg::Ed25519 => openssl(&["genpkey", "-algorithm", "ed25519", "-out", pem_s]),
    }
    openssl(&[
        "pkey",
        "-in",
        pem_s,
        "-pubout",
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    Key { alg, pem, der }
}

/// A Python with dkimpy and PyNaCl: a venv made once (per target dir) from the system
/// python3, so the verifier is the PyPI release, not something in this repository.
fn verifier_python() -> &'static Path {
    static PYTHON_WITH_DKIM: OnceLock<PathBuf> = OnceLock::new();
    PYTHON_WITH_DKIM.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dkimpy-venv");
        let python = venv.join("bin/python");
        let works = |python: &Path| {
            Command::new(python)
                .args(["-c", "import dkim, nacl"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if works(&python) {
            return python;
        }
        // Built beside the final place and renamed into it, so a half-made venv (an
        // interrupted run, a parallel cargo) is never mistaken for a working one.
        let building = venv.with_extension(format!("tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&building);
        let run = |cmd: &mut Command, what: &str| {
            let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                out.status.success(),
                "{what} failed (CI: .ci/run installs python3-venv; PyPI must be reachable):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            Command::new(PYTHON).args(["-m", "venv"]).arg(&building),
            "python3 -m venv",
        );
        run(
            Command::new(building.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "dkimpy",
                "pynacl",
            ]),
            "pip install dkimpy pynacl",
        );
        if fs::rename(&building, &venv).is_err() {
            // Someone else finished first: use theirs.
            let _ = fs::remove_dir_all(&building);
        }
        assert!(
            works(&python),
            "dkimpy venv at {} does not work",
            venv.display()
        );
        python
    })
}

/// Runs dkimpy on `message`; returns (all signatures verify, its report).
fn dkim_verify(message: &[u8], key: &Key) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("message.eml");
    fs::write(&path, message).unwrap();
    let out = Command::new(verifier_python())
        .arg(VERIFY)
        .arg(&path)
        .args([SELECTOR, DOMAIN, key.alg.verifier()])
        .arg(&key.der)
        .output()
        .expect("run dkimverify.py");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "dkimverify.py crashed: {report}"
    );
    (out.status.success(), report)
}

#[track_caller]
fn assert_verifies(received: &Received, key: &Key) {
    assert!(
        received.raw.starts_with(b"DKIM-Signature: v=1; a="),
        "the signature is the first header:\n{}",
        received.text()
    );
    let (ok, report) = dkim_verify(&received.raw, key);
    assert!(
        ok,
        "dkimpy rejects the signature: {report}\n{}",
        received.text()
    );
}

/// The profile for `server`, signing with `key`.
fn config(server: &Server, key: &Key, from: &str) -> String {
    format!(
        "{}from = {from:?}\ndkim = {{ domain = \"{DOMAIN}\", selector = \"{SELECTOR}\", \
         private_key_file = {:?}, algorithm = \"{}\" }}\n",
        server.profile_toml("t"),
        key.pem.to_str().unwrap(),
        key.alg.config()
    )
}

/// One test per algorithm: `for_both_algorithms!(scenario: name_rsa, name_ed25519)` runs
/// `scenario(Alg::Rsa)` and `scenario(Alg::Ed25519)` as two tests.
macro_rules! for_both_algorithms {
    ($scenario:ident: $rsa:ident, $ed25519:ident) => {
        #[test]
        fn $rsa() {
            $scenario(Alg::Rsa);
        }

        #[test]
        fn $ed25519() {
            $scenario(Alg::Ed25519);
        }
    };
}

fn setup(alg: Alg, from: &str) -> (Server, Rmail, Key) {
    let server = Server::start(ServerOptions::plain());
    let rmail = rmail();
    let key = generate_key(rmail.home(), alg);
    rmail.write_config(&config(&server, &key, from));
    (server, rmail, key)
}

fn send_plain_text(alg: Alg) {
    let (server, mut rmail, key) = setup(alg, "Sender <sender@example.com>");
    rmail
        .args(["send", "--to", "rcpt@example.com", "-s", "Backup done"])
        .stdin_bytes("All 3 volumes backed up.\nNo errors.\n");
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_verifies(&got[0], &key);
}

for_both_algorithms!(send_plain_text: send_plain_text_rsa, send_plain_text_ed25519);

/// UTF-8 subject, display names and file names; an HTML body with an inline image and two
/// attachments (one binary): every header encoded, several MIME layers.
fn send_attachments_non_ascii(alg: Alg) {
    let (server, mut rmail, key) = setup(alg, "Zoë Ångström <sender@example.com>");
    let dir = rmail.home().join("files");
    fs::create_dir_all(&dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures");
    let csv = dir.join("Übersicht März – 売上.csv");
    fs::copy(fixtures.join("report.csv"), &csv).unwrap();
    let html = dir.join("body.html");
    fs::write(
        &html,
        "<p>Grüße, <b>José</b> — 你好</p><img src=\"cid:logo.png\">\n",
    )
    .unwrap();
    rmail
        .args([
            "send",
            "--to",
            "José Müller <jose@example.com>, 王小明 <wang@example.com>",
            "--cc",
            "cc@example.com",
            "--reply-to",
            "Équipe <team@example.com>",
            "-s",
            "Rapport été 2026: ✓ naïve café — 月報",
            "--text",
            "Grüße — the report is attached. ✓\n",
            "--html-file",
        ])
        .arg(&html)
        .arg("--inline")
        .arg(fixtures.join("logo.png"))
        .arg("--attach")
        .arg(&csv)
        .arg("--attach")
        .arg(fixtures.join("blob.bin"));
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    let parsed = got[0].parsed();
    assert_eq!(
        parsed.subject(),
        Some("Rapport été 2026: ✓ naïve café — 月報")
    );
    assert_eq!(parsed.attachments().count(), 3, "{}", got[0].text());
    assert_verifies(&got[0], &key);
}

for_both_algorithms!(
    send_attachments_non_ascii:
    send_attachments_and_non_ascii_headers_rsa,
    send_attachments_and_non_ascii_headers_ed25519
);

/// sendmail mode signs the message as completed (Date, Message-ID added, LF → CRLF),
/// including raw UTF-8 header bytes as cron and scripts write them.
fn sendmail_mode(alg: Alg) {
    let server = Server::start(ServerOptions::plain());
    let mut cmd = sendmail();
    let key = generate_key(cmd.home(), alg);
    cmd.write_config(&config(&server, &key, "cron@example.com"));
    cmd.args(["-t", "-i"]).stdin_bytes(
        "To: Ops Team <ops@example.com>\nSubject: Sauvegarde terminée ✓\n\
         X-Cron-Env: <SHELL=/bin/sh>\n\nbackup ok\n.\nlast line without newline",
    );
    cmd.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_verifies(&got[0], &key);
}

for_both_algorithms!(sendmail_mode: sendmail_rsa, sendmail_ed25519);

/// The verifier is real: one flipped body byte, a changed subject, or another key fails.
fn tampered(alg: Alg) {
    let (server, mut rmail, key) = setup(alg, "sender@example.com");
    rmail
        .args(["send", "--to", "rcpt@example.com", "-s", "Invoice 42"])
        .args(["--text", "Amount due: 100 EUR\n"]);
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_verifies(&got[0], &key);

    let raw = &got[0].raw;
    let body_at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header/body separator")
        + 4;
    let digit = body_at
        + raw[body_at..]
            .iter()
            .position(|b| *b == b'1')
            .expect("the amount in the body");
    let mut tampered = raw.clone();
    tampered[digit] = b'9';
    let (ok, report) = dkim_verify(&tampered, &key);
    assert!(!ok, "a changed body must not verify: {report}");

    let text = String::from_utf8(raw.clone()).unwrap();
    let tampered = text.replacen("Subject: Invoice 42", "Subject: Invoice 43", 1);
    assert_ne!(tampered, text);
    let (ok, report) = dkim_verify(tampered.as_bytes(), &key);
    assert!(!ok, "a changed subject must not verify: {report}");

    // And a key that is not the signer's does not verify it either.
    let other_dir = tempfile::tempdir().unwrap();
    let other = generate_key(other_dir.path(), alg);
    let (ok, report) = dkim_verify(raw, &other);
    assert!(!ok, "another key must not verify: {report}");
}

for_both_algorithms!(
    tampered:
    tampered_message_fails_verification_rsa,
    tampered_message_fails_verification_ed25519
);

/// `--eml` and `--dry-run` show the signed bytes: exactly what the server received.
#[test]
fn eml_and_dry_run_hold_the_signed_bytes() {
    let (server, mut rmail, key) = setup(Alg::Ed25519, "sender@example.com");
    let eml = rmail.home().join("sent.eml");
    rmail
        .args([
            "send",
            "--to",
            "rcpt@example.com",
            "-s",
            "hi",
            "--text",
            "hello\n",
        ])
        .arg("--eml")
        .arg(&eml);
    rmail.run().assert_success();
    let sent = server.first_as_in_eml(&eml);
    assert_verifies(&sent, &key);

    let mut dry = rmail.again();
    dry.args([
        "send",
        "--dry-run",
        "--to",
        "rcpt@example.com",
        "-s",
        "hi",
        "--text",
        "hello\n",
    ]);
    let run = dry.run();
    run.assert_success();
    assert!(run.stdout.starts_with("DKIM-Signature: "), "{run}");
    let (ok, report) = dkim_verify(&run.stdout_bytes, &key);
    assert!(ok, "{report}");
}

/// A message kept in the outbox after a temporary failure is stored signed, so
/// `rmail queue flush` sends a message that still verifies.
#[test]
fn queued_message_is_flushed_signed() {
    let server = Server::start(ServerOptions::plain().data_reply(451).fail_first(1));
    let mut cmd = rmail();
    let key = generate_key(cmd.home(), Alg::Rsa);
    cmd.write_config(&config(&server, &key, "cron@example.com"));
    cmd.args(["sendmail", "ops@example.com"])
        .stdin_bytes("Subject: nightly\n\nall good\n");
    cmd.run().assert_code(75);
    cmd.again().args(["queue", "flush"]).run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_verifies(&got[0], &key);
}

/// A key file that is missing or not a key is a configuration error (78) naming the file,
/// found before anything is sent.
#[test]
fn bad_key_file_is_config_error_naming_it() {
    let server = Server::start(ServerOptions::plain());
    let mut rmail = rmail();
    let missing = rmail.home().join("no-such-dkim.pem");
    rmail.write_config(&format!(
        "{}from = \"a@example.com\"\ndkim = {{ domain = \"{DOMAIN}\", selector = \"s1\", \
         private_key_file = {:?} }}\n",
        server.profile_toml("t"),
        missing.to_str().unwrap()
    ));
    rmail.args(["send", "--to", "b@example.com", "-s", "x", "--text", "y"]);
    let run = rmail.run();
    run.assert_code(78);
    assert!(run.stderr.contains("no-such-dkim.pem"), "{run}");

    // Not a key at all.
    fs::write(&missing, "hello\n").unwrap();
    let mut again = rmail.again();
    again.args(["send", "--to", "b@example.com", "-s", "x", "--text", "y"]);
    let run = again.run();
    run.assert_code(78);
    assert!(run.stderr.contains("no-such-dkim.pem"), "{run}");

    // An Ed25519 key where rsa-sha256 (the default) is configured.
    let ed = generate_key(rmail.home(), Alg::Ed25519);
    fs::copy(&ed.pem, &missing).unwrap();
    let mut sm = rmail.again();
    sm.args(["sendmail", "b@example.com"])
        .stdin_bytes("Subject: x\n\ny\n");
    let run = sm.run();
    run.assert_code(78);
    assert!(run.stderr.contains("algorithm"), "{run}");
    assert!(server.messages().is_empty());
}

/// An unknown key inside `dkim = { … }` is refused like any other unknown key.
#[test]
fn unknown_dkim_key_is_refused() {
    let mut rmail = rmail();
    rmail.write_config(
        "[profiles.t]\nhost = \"127.0.0.1\"\ndkim = { domain = \"example.com\", \
         selector = \"s1\", private_key_file = \"k.pem\", algo = \"rsa-sha256\" }\n",
    );
    rmail.args(["profiles"]);
    let run = rmail.run();
    run.assert_code(78);
    assert!(run.stderr.contains("algo"), "{run}");
}

/// A merge signs every row's message with the profile's key, each verifiable on its own.
#[test]
fn merge_signs_every_row() {
    let (server, mut rmail, key) = setup(Alg::Ed25519, "Billing <billing@example.com>");
    let dir = rmail.home().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("note.md"),
        "+++\nto = \"{{ name }} <{{ email }}>\"\nsubject = \"Rechnung für {{ name }}\"\n+++\nHallo **{{ name }}**.\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("rows.csv"),
        "name,email\nZoë,z@example.com\nÅsa,a@example.com\n",
    )
    .unwrap();
    rmail
        .arg("merge")
        .arg(dir.join("note.md"))
        .arg("--data")
        .arg(dir.join("rows.csv"));
    rmail.run().assert_success();
    let got = server.wait_for(2, WAIT);
    for received in &got {
        assert_verifies(received, &key);
    }
}

/// README's Ed25519 commands (the block after its `ed25519-publish` marker), run as a user
/// would, print a p= value that dkimpy accepts for a message rmail signed with that key:
/// the raw 32-byte key (RFC 8463), not the DER a verifier would reject.
#[test]
fn readme_ed25519_publishing_commands_give_a_record_that_verifies() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split_once("<!-- ed25519-publish")
        .and_then(|(_, rest)| rest.split_once("```sh\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block)
        .expect("README has the Ed25519 publishing block");
    let script: Vec<&str> = block.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(script.len(), 2, "{block}");
    let mut rmail = rmail();
    fs::create_dir_all(rmail.home().join(".config/rmail")).unwrap();
    let out = Command::new("sh")
        .args(["-ec", &script.join("\n")])
        .env("HOME", rmail.home())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        published.trim().len(),
        44,
        "base64 of 32 bytes: {published}"
    );
    let p_file = rmail.home().join("record.p");
    fs::write(&p_file, published.trim()).unwrap();

    let pem = rmail.home().join(".config/rmail/dkim-ed25519.pem");
    rmail.write_config(&format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\n\
         from = \"sender@example.com\"\n\
         dkim = {{ domain = \"{DOMAIN}\", selector = \"{SELECTOR}\", \
         private_key_file = {:?}, algorithm = \"ed25519-sha256\" }}\n",
        pem.to_str().unwrap()
    ));
    rmail.args([
        "send",
        "--dry-run",
        "--to",
        "rcpt@example.com",
        "-s",
        "hi",
        "--text",
        "hello\n",
    ]);
    let run = rmail.run();
    run.assert_success();
    let key = Key {
        alg: Alg::Ed25519,
        pem,
        der: p_file,
    };
    let (ok, report) = dkim_verify(&run.stdout_bytes, &key);
    assert!(ok, "dkimpy rejects the README's record: {report}");
}

/// RFC 8058 §3: List-Unsubscribe and List-Unsubscribe-Post are covered by the signature
/// (the one-click rule of the large mailbox providers rests on it): they are in `h=`, and a
/// relay that changes the unsubscribe target breaks the signature.
fn list_unsubscribe_headers_are_signed(alg: Alg) {
    let (server, mut rmail, key) = setup(alg, "News <news@example.com>");
    let dir = rmail.home().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("news.txt"),
        "+++\nto = \"{{ email }}\"\nsubject = \"News\"\n\
         unsubscribe = \"https://example.com/unsub/{{ id }}\"\n+++\nHello.\n",
    )
    .unwrap();
    std::fs::write(dir.join("list.csv"), "email,id\na@example.com,17\n").unwrap();
    rmail
        .arg("merge")
        .arg(dir.join("news.txt"))
        .arg("--data")
        .arg(dir.join("list.csv"));
    rmail.run().assert_success();
    let got = server.wait_for(1, WAIT);
    assert_verifies(&got[0], &key);
    let text = got[0].text();
    let signature: String = text
        .split("\r\n")
        .take_while(|l| l.starts_with("DKIM-Signature:") || l.starts_with([' ', '\t']))
        .collect::<Vec<_>>()
        .concat()
        .split_whitespace()
        .collect();
    let signed = signature
        .split(';')
        .find_map(|tag| tag.strip_prefix("h="))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let signed: Vec<&str> = signed.split(':').collect();
    assert!(
        signed.contains(&"list-unsubscribe") && signed.contains(&"list-unsubscribe-post"),
        "h= lacks the unsubscribe headers: {signature}"
    );
    let tampered = text.replace(
        "https://example.com/unsub/17",
        "https://evil.example/unsub/17",
    );
    assert_ne!(tampered, text);
    let (ok, report) = dkim_verify(tampered.as_bytes(), &key);
    assert!(!ok, "a changed List-Unsubscribe still verifies: {report}");
}

for_both_algorithms!(
    list_unsubscribe_headers_are_signed:
    list_unsubscribe_headers_are_signed_rsa,
    list_unsubscribe_headers_are_signed_ed25519
);

/// 3 MiB of bytes that compress badly and are not valid UTF-8, different per `seed`.
fn big_bytes(seed: u32) -> Vec<u8> {
    (0..(3u32 << 20) + 5)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// A copy of `raw` with one base64 character of the attachment body changed.
fn tampered_attachment(raw: &[u8]) -> Vec<u8> {
    let mut tampered = raw.to_vec();
    let middle = raw.len() / 2;
    let at = middle
        + raw[middle..]
            .iter()
            .position(|b| b.is_ascii_alphanumeric())
            .unwrap();
    tampered[at] = if raw[at] == b'A' { b'B' } else { b'A' };
    tampered
}

/// A large attachment (streamed: its body hash computed chunk by chunk, then read again to
/// be sent) arrives byte-identical and verifies; `--eml` holds the same bytes; one changed
/// character of the attachment fails verification.
fn send_large_attachment(alg: Alg) {
    let (server, mut rmail, key) = setup(alg, "Sender <sender@example.com>");
    let big = rmail.home().join("backup.tar");
    let data = big_bytes(0);
    fs::write(&big, &data).unwrap();
    let eml = rmail.home().join("sent.eml");
    rmail
        .args(["send", "--to", "rcpt@example.com", "-s", "Backup"])
        .args(["--text", "The archive is attached.\n"])
        .arg("--attach")
        .arg(&big)
        .arg("--eml")
        .arg(&eml);
    rmail.run().assert_success();
    let sent = server.first_as_in_eml(&eml);
    let parsed = sent.parsed();
    let attachment = parsed.attachments().next().unwrap();
    assert!(
        attachment.contents() == data.as_slice(),
        "attachment bytes differ"
    );
    assert_verifies(&sent, &key);
    let (ok, report) = dkim_verify(&tampered_attachment(&sent.raw), &key);
    assert!(!ok, "a changed attachment must not verify: {report}");
}

for_both_algorithms!(
    send_large_attachment:
    large_attachment_streamed_and_signed_verifies_rsa,
    large_attachment_streamed_and_signed_verifies_ed25519
);

/// A merge signs each row's message with its own large attachment streamed.
#[test]
fn merge_rows_with_large_attachments_verify() {
    let (server, rmail, key) = setup(Alg::Ed25519, "billing@example.com");
    let dir = rmail.home().join("mail");
    fs::create_dir_all(dir.join("pdf")).unwrap();
    fs::write(
        dir.join("invoice.txt"),
        "+++\nto = \"{{ email }}\"\nsubject = \"Invoice {{ n }}\"\n\
         attach = [\"pdf/{{ n }}.pdf\"]\n+++\nYour invoice.\n",
    )
    .unwrap();
    fs::write(
        dir.join("data.csv"),
        "email,n\na@example.com,1\nb@example.com,2\n",
    )
    .unwrap();
    for n in 1..=2 {
        fs::write(dir.join(format!("pdf/{n}.pdf")), big_bytes(n)).unwrap();
    }
    let mut merge = rmail.again();
    merge
        .arg("merge")
        .arg(dir.join("invoice.txt"))
        .arg("--data")
        .arg(dir.join("data.csv"));
    merge.run().assert_success();
    let got = server.wait_for(2, WAIT);
    for m in &got {
        let n: u32 = if m.rcpt_tos[0] == "a@example.com" {
            1
        } else {
            2
        };
        let parsed = m.parsed();
        let attachment = parsed.attachments().next().unwrap();
        assert!(attachment.contents() == big_bytes(n).as_slice(), "row {n}");
        assert_verifies(m, &key);
        let (ok, report) = dkim_verify(&tampered_attachment(&m.raw), &key);
        assert!(!ok, "a changed attachment must not verify: {report}");
    }
}

/// Signing reads the file once to hash it and again to send it: a file truncated in
/// between (held at 354 by the raw server) is never delivered under a signature that
/// covered other bytes.
#[test]
fn a_signed_attachment_that_changes_before_sending_is_never_delivered() {
    let keys = tempfile::tempdir().unwrap();
    let key = generate_key(keys.path(), Alg::Ed25519);
    let extra = format!(
        "dkim = {{ domain = \"{DOMAIN}\", selector = \"{SELECTOR}\", private_key_file = {:?}, \
         algorithm = \"ed25519-sha256\" }}\n",
        key.pem.to_str().unwrap()
    );
    let (run, server, _) = crate::send::attachment_changed_at_data(&extra, |path| {
        let file = fs::OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(100).unwrap();
    });
    crate::send::assert_cut_off(&run, &server);
}
