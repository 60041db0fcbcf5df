//! Files named by templates and data are opened once, inside their folder: a symlink or a
//! special file swapped in while a merge runs is never followed out of the folder, never read
//! endlessly (/dev/zero, a FIFO), and what is sent is what was checked.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::write_file as write;
use crate::support::{Received, Rmail, Server};
use mail_parser::MimeHeaders;

const SECRET: &str = "TOP SECRET outside the folder";

fn rmail_for(server: &Server) -> Rmail {
    crate::support::rmail_for(server, "test", crate::support::BILLING, "")
}

/// The attachments of a received message: (file name, bytes).
fn attachments(m: &Received) -> Vec<(String, Vec<u8>)> {
    let parsed = m.parsed();
    parsed
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_owned(),
                a.contents().to_vec(),
            )
        })
        .collect()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
}

/// A merge at 2 rows a second: each row attaches its own file `f{i}.txt`. Once the first
/// message has arrived, the files of rows 3..=6 are replaced: by a symlink out of the folder,
/// by a symlink to /dev/zero, by a FIFO, by a symlink to a file inside a folder outside.
#[test]
fn files_swapped_during_a_merge_are_never_read_outside_the_folder() {
    let server = Server::plain();
    let outer = tempfile::tempdir().unwrap();
    let secret = write(outer.path(), "secret.txt", SECRET);
    let dir = outer.path().join("mail");
    let template = write(
        &dir,
        "t.txt",
        "+++\nto = \"{{ email }}\"\nsubject = \"row {{ n }}\"\nattach = [\"files/f{{ n }}.txt\"]\n+++\nhi\n",
    );
    let mut csv = String::from("n,email\n");
    for n in 1..=6 {
        write(&dir, &format!("files/f{n}.txt"), format!("original {n}"));
        csv += &format!("{n},p{n}@example.com\n");
    }
    let data = write(&dir, "rows.csv", csv);

    let mut cmd = rmail_for(&server).again();
    cmd.arg("merge")
        .arg(&template)
        .arg("--data")
        .arg(&data)
        .args(["--rate", "2/s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.messages().is_empty() {
        assert!(Instant::now() < deadline, "the merge did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let files = dir.join("files");
    let swap = |n: usize| {
        let path = files.join(format!("f{n}.txt"));
        fs::remove_file(&path).unwrap();
        path
    };
    std::os::unix::fs::symlink(&secret, swap(3)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", swap(4)).unwrap();
    mkfifo(&swap(5));
    std::os::unix::fs::symlink("../../secret.txt", swap(6)).unwrap();

    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the merge must not hang on a FIFO or read /dev/zero: {stderr}"
    );
    server.wait_idle();
    let got = server.messages();
    for m in &got {
        assert!(
            !m.text().contains(SECRET) && !m.text().contains("VE9QIFNFQ1JFVC"),
            "a file from outside the folder was sent:\n{}",
            m.text()
        );
        let n: usize = m
            .parsed()
            .subject()
            .and_then(|s| s.strip_prefix("row "))
            .and_then(|s| s.parse().ok())
            .expect("row subject");
        // What is sent is what was checked: the original file, or nothing at all.
        assert_eq!(
            attachments(m),
            [(format!("f{n}.txt"), format!("original {n}").into_bytes())],
            "row {n}"
        );
        assert!(m.raw.len() < 100_000, "row {n}: {} bytes", m.raw.len());
    }
    // Rows 1 and 2 were checked and went before the swap could matter.
    assert!(got.len() >= 2, "{stderr}");
    if got.len() < 6 {
        assert_eq!(out.status.code(), Some(65), "{stderr}");
        assert!(stderr.contains("refused"), "{stderr}");
    }
}

/// A FIFO or a device in the folder is not a file to attach: refused before sending,
/// without blocking on it.
#[test]
fn a_fifo_or_device_is_refused_before_sending() {
    let server = Server::plain();
    let dir = tempfile::tempdir().unwrap();
    let template = write(
        dir.path(),
        "t.txt",
        "+++\nto = \"{{ email }}\"\nsubject = \"s\"\nattach = [\"{{ file }}\"]\n+++\nhi\n",
    );
    mkfifo(&dir.path().join("pipe"));
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    let data = write(
        dir.path(),
        "rows.csv",
        "email,file\na@example.com,pipe\nb@example.com,zero\n",
    );
    let mut cmd = rmail_for(&server);
    cmd.arg("merge")
        .arg(&template)
        .arg("--data")
        .arg(&data)
        .timeout(Duration::from_secs(20));
    let run = cmd.run();
    run.assert_code(65);
    assert!(
        run.stderr.contains("row 1") && run.stderr.contains("row 2"),
        "{run}"
    );
    server.wait_idle();
    assert_eq!(server.connections(), 0);

    // `send --attach` too.
    let mut cmd = rmail_for(&server);
    cmd.args(["send", "--to", "a@example.com", "-s", "s", "--text", "hi"])
        .arg("--attach")
        .arg(dir.path().join("pipe"))
        .timeout(Duration::from_secs(20));
    let run = cmd.run();
    assert_eq!(run.code(), 66, "{run}");
    assert!(run.stderr.contains("regular file"), "{run}");
    assert_eq!(server.connections(), 0);
}
