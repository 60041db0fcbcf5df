//! One merge per journal, and a journal that cannot be written stops the merge at once:
//! two overlapping runs of the same merge never deliver a row twice, and a full disk names
//! exactly the rows that may go again. Merge flags never panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::merge_args;
use crate::support::write_file as write;
use crate::support::{Rmail, Server, rmail_bin};

const WAIT: Duration = Duration::from_secs(20);

fn rmail_for(server: &Server) -> Rmail {
    crate::support::rmail_for(server, "test", crate::support::BILLING, "")
}

/// `mail/t.txt` and `mail/rows.csv` with `n` rows to pN@example.com.
fn merge_dir(n: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "mail/t.txt",
        "+++\nto = \"{{ email }}\"\nsubject = \"row {{ n }}\"\n+++\nhi {{ n }}\n",
    );
    let mut csv = String::from("n,email\n");
    for i in 1..=n {
        csv += &format!("{i},p{i}@example.com\n");
    }
    let data = write(dir.path(), "mail/rows.csv", csv);
    (dir, template, data)
}

fn count_per_recipient(server: &Server) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for m in server.messages() {
        for r in m.rcpt_tos {
            *counts.entry(r).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn a_second_run_of_the_same_merge_refuses_at_once_naming_the_journal() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(10);
    let rmail = rmail_for(&server);
    let mut first = rmail.again();
    first
        .args(merge_args(&template, &data))
        .args(["--rate", "5/s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = first.spawn().unwrap();
    let deadline = Instant::now() + WAIT;
    while server.messages().is_empty() {
        assert!(Instant::now() < deadline, "the first merge did not start");
        std::thread::sleep(Duration::from_millis(5));
    }

    let mut second = rmail.again();
    second
        .args(merge_args(&template, &data))
        .args(["--rate", "5/s"])
        .timeout(Duration::from_secs(10));
    let run = second.run();
    assert!(
        run.elapsed < Duration::from_secs(2),
        "refuses at once, does not wait\n{run}"
    );
    run.assert_code(75);
    let journal = data.with_file_name("rows.csv.journal");
    assert!(
        run.stderr.contains(&journal.display().to_string()),
        "names the journal\n{run}"
    );
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run}");

    assert!(child.wait().unwrap().success());
    server.wait_idle();
    let counts = count_per_recipient(&server);
    assert_eq!(counts.len(), 10, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

/// Runs rmail with `args` in a private mount namespace in which `dir` is a tmpfs with
/// room for `free_pages` pages of data; `journal` (inside `dir`) is copied to `keep` when
/// rmail is done. Returns rmail's exit code and stderr.
fn run_on_small_disk(
    cmd: &Rmail,
    dir: &Path,
    free_pages: usize,
    args: &[String],
    keep: &Path,
) -> (Option<i32>, String) {
    // Two extra pages for the tmpfs's own bookkeeping; a filler takes the rest.
    let script = format!(
        "set -e; mount -t tmpfs -o size={}k tmpfs \"$1\"; \
         head -c {} /dev/zero > \"$1/filler\" || true; shift; \
         set +e; \"$@\"; rc=$?; cp \"$JOURNAL\" \"$KEEP\" 2>/dev/null; exit $rc",
        (free_pages + 2) * 4,
        2 * 4096
    );
    let mut command = Command::new("unshare");
    command
        .args(["--map-root-user", "--mount", "sh", "-c", &script, "sh"])
        .arg(dir)
        .arg(rmail_bin())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("JOURNAL", dir.join("j.journal"))
        .env("KEEP", keep);
    for key in [
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
    ] {
        if let Some((_, Some(v))) = cmd.get_envs().find(|(k, _)| *k == key) {
            command.env(key, v);
        }
    }
    let out = command.output().expect("run unshare");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_journal_that_cannot_be_written_stops_before_the_next_row_and_names_it() {
    let server = Server::plain();
    let (dir, template, data) = merge_dir(200);
    let rmail = rmail_for(&server);
    let small = dir.path().join("small");
    fs::create_dir_all(&small).unwrap();
    let keep = dir.path().join("kept.journal");
    let mut args = merge_args(&template, &data);
    args.extend([
        "--journal".into(),
        small.join("j.journal").display().to_string(),
        "--concurrency".into(),
        "1".into(),
    ]);
    // One page: room for the journal's first ~60 rows, not for 200.
    let (code, stderr) = run_on_small_disk(&rmail, &small, 1, &args, &keep);
    assert_eq!(code, Some(73), "{stderr}");
    let journal = fs::read_to_string(&keep).expect("the journal was copied out");
    // Complete lines only: the write that hit the full disk may have left a torn one.
    let complete = &journal[..journal.rfind('\n').map_or(0, |i| i + 1)];
    let recorded = complete
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    assert!(recorded > 5 && recorded < 200, "{recorded} rows journaled");
    server.wait_idle();
    let sent = server.messages().len();
    // The row whose record failed went; nothing after it.
    assert_eq!(sent, recorded + 1, "{stderr}");
    let unrecorded = format!("row {}", recorded + 1);
    assert!(
        stderr.contains(&unrecorded) && stderr.contains("j.journal"),
        "the note names the row that may go twice and the journal\n{stderr}"
    );
    assert!(
        !stderr.contains("not sent twice"),
        "no promise it cannot keep\n{stderr}"
    );
}

#[test]
fn journal_and_failed_rows_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let server =
        Server::start(crate::support::ServerOptions::plain().rcpt_reply("p2@example.com", 550));
    let (_dir, template, data) = merge_dir(3);
    let mut cmd = rmail_for(&server);
    cmd.args(merge_args(&template, &data)).run().assert_code(65);
    for path in [
        data.with_file_name("rows.csv.journal"),
        data.with_file_name("rows.failed.csv"),
    ] {
        let mode = fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn rate_limit_and_shard_never_panic() {
    let server = Server::plain();
    let (_dir, template, data) = merge_dir(3);
    let rmail = rmail_for(&server);
    let cases: &[&[&str]] = &[
        &["--rate", "1e-300"],
        &["--rate", "1e-20/s"],
        &["--rate", "inf"],
        &["--rate", "NaN"],
        &["--rate=-1"],
        &["--rate", "0"],
        &["--rate", "1/0"],
        &["--rate", "/"],
        &["--limit=-1"],
        &["--limit", "99999999999999999999999"],
        &["--shard", "0/0"],
        &["--shard", "1/0"],
        &["--shard", "3/2"],
        &["--shard", "1/99999999999999999999999"],
        &["--shard", "1/2/3"],
        &["--concurrency", "0"],
        &["--concurrency", "99999999999999999999"],
    ];
    for case in cases {
        let mut cmd = rmail.again();
        cmd.args(merge_args(&template, &data))
            .args(*case)
            .timeout(Duration::from_secs(20));
        let run = cmd.run();
        assert_eq!(run.code(), 64, "{case:?}\n{run}");
        assert!(!run.stderr.contains("panicked"), "{case:?}\n{run}");
        let said = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("For more information"))
            .count();
        assert_eq!(said, 1, "{case:?}\n{run}");
    }
    assert!(server.messages().is_empty());
    // The extremes that are valid still work: a huge rate, a limit beyond the data, a
    // shard of one.
    let mut cmd = rmail.again();
    cmd.args(merge_args(&template, &data)).args([
        "--rate",
        "1e300",
        "--limit",
        "18446744073709551615",
        "--shard",
        "1/1",
    ]);
    cmd.run().assert_success();
    assert_eq!(server.wait_for(3, WAIT).len(), 3);
}
