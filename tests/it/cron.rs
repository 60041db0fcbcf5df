//! sendmail never drops a message it read, in cron's real environment: no `HOME` (Debian's
//! cron starts its mailer with the daemon's environment), so the config and the outbox are
//! found through the passwd entry; every failure but a permanent refusal keeps the message
//! (server down, wrong password, untrusted certificate), and `queue flush` after the fix
//! delivers it exactly once.
//!
//! The passwd entry is the test's own: nss_wrapper (Debian's libnss-wrapper, the NSS test
//! library Samba uses) makes `getpwuid_r` read a passwd file whose entry for this uid has the
//! test's temporary home. Everything else is `env -i`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

const NSS_WRAPPER: &str = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so";
const WAIT: Duration = Duration::from_secs(5);

/// What Debian's cron writes to its mailer's stdin, shortened.
const CRON_MESSAGE: &str = "From: root (Cron Daemon)\n\
To: ops@example.com\n\
Subject: Cron <root@host> backup.sh\n\
Auto-Submitted: auto-generated\n\
\n\
backup.sh: 3 archives written\n";

fn nss_wrapper() -> PathBuf {
    let candidates = [
        PathBuf::from(NSS_WRAPPER),
        PathBuf::from("/usr/lib/libnss_wrapper.so"),
        PathBuf::from("/usr/lib64/libnss_wrapper.so"),
    ];
    candidates
        .into_iter()
        .find(|p| p.exists())
        .expect("libnss_wrapper.so: install Debian's libnss-wrapper (.ci/run does)")
}

/// Writes a passwd and a group file giving the current uid the home `home`, and returns the
/// variables that make glibc read them.
fn passwd_env(home: &Path) -> Vec<(String, String)> {
    let probe = home.join(".uid-probe");
    fs::write(&probe, "").unwrap();
    let meta = fs::metadata(&probe).unwrap();
    let (uid, gid) = (meta.uid(), meta.gid());
    fs::remove_file(&probe).unwrap();
    let nss = home.join(".nss");
    fs::create_dir_all(&nss).unwrap();
    let passwd = nss.join("passwd");
    let group = nss.join("group");
    fs::write(
        &passwd,
        format!(
            "cronuser:x:{uid}:{gid}:Cron User:{}:/bin/sh\n",
            home.display()
        ),
    )
    .unwrap();
    fs::write(&group, format!("cronuser:x:{gid}:\n")).unwrap();
    vec![
        ("LD_PRELOAD".into(), nss_wrapper().display().to_string()),
        ("NSS_WRAPPER_PASSWD".into(), passwd.display().to_string()),
        ("NSS_WRAPPER_GROUP".into(), group.display().to_string()),
    ]
}

/// `cmd` in cron's environment: nothing but PATH, LOGNAME, USER, SHELL and the passwd
/// lookup; no HOME, no XDG variables.
fn as_cron(cmd: &mut Rmail) {
    let home = cmd.home().to_path_buf();
    for key in [
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("PATH", "/usr/bin:/bin")
        .env("LOGNAME", "cronuser")
        .env("USER", "cronuser")
        .env("SHELL", "/bin/sh");
    for (k, v) in passwd_env(&home) {
        cmd.env(k, v);
    }
}

/// Debian cron's mailer command line, with the message on stdin, in cron's environment.
fn cron_sendmail(cmd: &Rmail) -> Run {
    let mut s = cmd.again();
    as_cron(&mut s);
    s.args([
        "-FCronDaemon",
        "-i",
        "-B8BITMIME",
        "-oem",
        "ops@example.com",
    ])
    .stdin_bytes(CRON_MESSAGE);
    s.run()
}

fn cron_flush(cmd: &Rmail) -> Run {
    let mut f = cmd.rmail_here();
    as_cron(&mut f);
    f.args(["queue", "flush"]);
    f.run()
}

fn config(profile: &str) -> String {
    format!("default_profile = \"t\"\n{profile}from = \"Cron <cron@example.com>\"\n")
}

#[track_caller]
fn assert_kept_then_flushed_once(cmd: &Rmail, run: &Run, healthy: &Server) {
    let ids = cmd.outbox_ids();
    assert_eq!(ids.len(), 1, "kept in the passwd home's outbox\n{run}");
    assert!(run.stderr.contains(&ids[0]), "{run}");
    cmd.write_config(&config(&healthy.profile_toml("t")));
    let before = healthy.messages().len();
    cron_flush(cmd).assert_success();
    let got = healthy.wait_for(before + 1, WAIT);
    assert_eq!(got.len(), before + 1, "exactly one delivery");
    assert_eq!(got[before].rcpt_tos, ["ops@example.com"]);
    assert!(got[before].text().contains("backup.sh: 3 archives written"));
    assert!(cmd.outbox_ids().is_empty());
    cron_flush(cmd).assert_success();
    healthy.wait_idle();
    assert_eq!(
        healthy.messages().len(),
        before + 1,
        "a second flush sends nothing"
    );
}

#[test]
fn without_home_the_config_comes_from_the_passwd_entry() {
    let server = Server::plain();
    let cmd = sendmail();
    cmd.write_config(&config(&server.profile_toml("t")));
    cron_sendmail(&cmd).assert_success();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_tos, ["ops@example.com"]);
}

#[test]
fn without_home_and_with_the_server_down_the_message_is_kept() {
    let cmd = sendmail();
    cmd.write_config(&config(&format!(
        "[profiles.t]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout_secs = 2\n",
        closed_port()
    )));
    let run = cron_sendmail(&cmd);
    run.assert_code(75);
    assert_kept_then_flushed_once(&cmd, &run, &Server::plain());
}

#[test]
fn a_wrong_password_keeps_the_message_until_it_is_fixed() {
    let server = Server::start(ServerOptions::starttls().auth("alice", "right-password"));
    let cmd = sendmail();
    cmd.write_config(&config(
        &server
            .profile_toml("t")
            .replace("right-password", "wrong-password"),
    ));
    let run = cron_sendmail(&cmd);
    run.assert_code(77);
    assert!(!run.stderr.contains("wrong-password"), "{run}");
    assert!(server.messages().is_empty());
    assert_kept_then_flushed_once(&cmd, &run, &server);
}

#[test]
fn an_untrusted_certificate_keeps_the_message_until_it_is_fixed() {
    let bad = Server::start(ServerOptions::starttls().untrusted_cert());
    let cmd = sendmail();
    cmd.write_config(&config(&bad.profile_toml("t")));
    let run = cron_sendmail(&cmd);
    run.assert_code(77);
    assert!(bad.messages().is_empty());
    assert_kept_then_flushed_once(&cmd, &run, &Server::start(ServerOptions::starttls()));
}

/// A config that cannot be used when the message arrives (none at all, or one with an
/// error in it) keeps the message too, as it was read: the user fixes the config, and the
/// flush prepares and sends it, exactly once, with the profile's sender.
#[test]
fn no_usable_config_keeps_the_message_as_it_was_read() {
    for broken in [
        None,
        Some("default_profile = \"t\"\n[profiles.t]\nport = \"x\"\n"),
    ] {
        let cmd = sendmail();
        if let Some(text) = broken {
            cmd.write_config(text);
        }
        let run = cron_sendmail(&cmd);
        run.assert_code(78);
        let ids = cmd.outbox_ids();
        assert_eq!(ids.len(), 1, "{run}");
        assert!(run.stderr.contains(&ids[0]), "{run}");

        let server = Server::plain();
        cmd.write_config(&config(&server.profile_toml("t")));
        let flush = cron_flush(&cmd);
        flush.assert_success();
        let got = server.wait_for(1, WAIT);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].rcpt_tos, ["ops@example.com"]);
        assert_eq!(got[0].mail_from, "cron@example.com", "the profile's sender");
        assert!(got[0].text().contains("backup.sh: 3 archives written"));
        assert!(got[0].parsed().date().is_some() && got[0].parsed().message_id().is_some());
        assert!(cmd.outbox_ids().is_empty());
        cron_flush(&cmd).assert_success();
        server.wait_idle();
        assert_eq!(server.messages().len(), 1);
    }
}
