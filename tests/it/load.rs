//! A smoke run of the benchmark's workloads against Postfix's smtp-sink (the load server
//! `bench/bench.py` uses), counting deliveries: the full benchmark is `bash bench/run.sh`.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::rmail;

/// smtp-sink on a free port, counting messages on its stdout (`-c`).
struct Sink {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sink.log");
        // /usr/sbin is not on every user's PATH.
        let program = if Path::new("/usr/sbin/smtp-sink").exists() {
            "/usr/sbin/smtp-sink"
        } else {
            "smtp-sink"
        };
        // smtp-sink cannot be asked for a free port, so pick one; another test may take
        // the same one first, so retry until this sink is the one listening.
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new(program)
                .args(["-u", "nobody", "-c", &format!("127.0.0.1:{port}"), "100"])
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "smtp-sink (Debian package postfix) must be installed: .ci/run installs it",
                );
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if child.try_wait().ok().flatten().is_some() {
                    break; // it could not bind: try another port
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    std::thread::sleep(Duration::from_millis(50));
                    if child.try_wait().ok().flatten().is_none() {
                        return Sink {
                            child,
                            port,
                            log,
                            _dir: dir,
                        };
                    }
                    break;
                }
                assert!(Instant::now() < deadline, "smtp-sink did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("smtp-sink could not get a port");
    }

    /// Messages received so far (the last `mesg=N` counter).
    fn count(&self) -> usize {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text.rsplit("mesg=")
            .next()
            .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    fn wait_for(&self, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.count() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Give a miscount the chance to show: more than expected is a failure too.
        std::thread::sleep(Duration::from_millis(200));
        self.count()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn profile(port: u16) -> String {
    format!(
        "[profiles.sink]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"bench@example.com\"\n"
    )
}

#[test]
fn one_off_sends_count_exactly() {
    let sink = Sink::start();
    let base = rmail();
    base.write_config(&profile(sink.port));
    for i in 0..10 {
        let mut r = base.again();
        r.args(["send", "--to", "ops@example.com", "-s", &format!("run {i}")])
            .stdin_bytes("backup finished\n");
        r.run().assert_success();
    }
    assert_eq!(sink.wait_for(10), 10);
}

/// rmail stays a position-independent executable (ELF type ET_DYN), so its own code and
/// data are randomized at every start like its libraries': linking it `-no-pie` would save
/// about 0.6 ms of a one-off (README, Performance) at that price.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_is_position_independent() {
    let elf = std::fs::read(crate::support::rmail_bin()).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    let e_type = u16::from_le_bytes([elf[16], elf[17]]);
    assert_eq!(
        e_type, 3,
        "ELF type {e_type}: 3 is ET_DYN (PIE), 2 (ET_EXEC) is fixed"
    );
}

#[test]
fn merge_of_fifty_with_a_shared_attachment_counts_exactly() {
    let sink = Sink::start();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    std::fs::write(t.join("brochure.pdf"), vec![7u8; 50 * 1024]).unwrap();
    std::fs::write(
        t.join("offer.txt"),
        "+++\nto = \"{{ name }} <{{ email }}>\"\nsubject = \"Offer for {{ name }}\"\n\
         attach = [\"brochure.pdf\"]\n+++\nDear {{ name }}, your code is {{ code }}.\n",
    )
    .unwrap();
    let mut csv = String::from("name,email,code\n");
    for i in 0..50 {
        csv += &format!("P{i},p{i}@example.com,C{i}\n");
    }
    std::fs::write(t.join("people.csv"), csv).unwrap();

    let mut r = rmail();
    r.write_config(&format!("{}concurrency = 4\n", profile(sink.port)));
    r.arg("merge")
        .arg(t.join("offer.txt"))
        .arg("--data")
        .arg(t.join("people.csv"));
    let run = r.run();
    run.assert_success();
    assert!(run.stderr.contains("50 sent"), "{run}");
    assert_eq!(sink.wait_for(50), 50);

    // Re-running sends nothing: the journal has every row.
    let mut again = r.again();
    again
        .arg("merge")
        .arg(t.join("offer.txt"))
        .arg("--data")
        .arg(t.join("people.csv"));
    again.run().assert_success();
    assert_eq!(sink.wait_for(50), 50);
    assert!(Path::new(&t.join("people.csv.journal")).exists());
}

/// Peak resident memory of a run under `/usr/bin/time -v`, in kB.
fn max_rss_kb(run: &crate::support::Run) -> u64 {
    run.stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS from /usr/bin/time -v:\n{run}"))
}

/// `rmail merge … --dry-run --limit 1` under `/usr/bin/time -v`: every row is checked,
/// one message written. Returns the run.
fn checked_merge(dir: &Path, data: &Path) -> crate::support::Run {
    let mut r = crate::support::Rmail::new("/usr/bin/time");
    r.arg("-v")
        .arg(crate::support::rmail_bin())
        .arg("merge")
        .arg(dir.join("note.txt"))
        .arg("--data")
        .arg(data)
        .args(["--dry-run", "--limit", "1", "--out-dir"])
        .arg(dir.join("out"))
        .timeout(Duration::from_secs(120));
    r.run()
}

#[test]
fn checking_every_row_takes_the_same_memory_at_2000_and_20000_rows() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    std::fs::write(
        t.join("note.txt"),
        "+++\nto = \"{{ name }} <{{ email }}>\"\nfrom = \"bench@example.com\"\n\
         subject = \"Your code, {{ name }}\"\n+++\nDear {{ name }},\n\nyour code is {{ code }}, \
         and this line is here so that a rendered message is not tiny: {{ code }} {{ name }}.\n",
    )
    .unwrap();
    let mut rss = Vec::new();
    for rows in [2_000, 20_000] {
        let mut csv = String::from("name,email,code\n");
        for i in 0..rows {
            csv += &format!("Person {i},p{i}@example.com,C{i:07}\n");
        }
        let data = t.join(format!("people-{rows}.csv"));
        std::fs::write(&data, csv).unwrap();
        let run = checked_merge(t, &data);
        run.assert_success();
        assert!(run.stderr.contains("1 message(s) written"), "{run}");
        rss.push(max_rss_kb(&run));
    }
    // Rows are streamed and no rendered message is kept: ten times the rows, the same memory
    // (before, every rendered row was kept until the end: about 3x here).
    assert!(
        rss[1] * 10 <= rss[0] * 15,
        "peak RSS {} kB at 2,000 rows, {} kB at 20,000",
        rss[0],
        rss[1]
    );
}

#[test]
fn a_gigabyte_sparse_csv_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    std::fs::write(
        t.join("note.txt"),
        "+++\nto = \"{{ email }}\"\nfrom = \"bench@example.com\"\nsubject = \"x\"\n+++\nhi\n",
    )
    .unwrap();
    let data = t.join("sparse.csv");
    let file = std::fs::File::create(&data).unwrap();
    std::io::Write::write_all(&mut &file, b"name,email\nAnn,").unwrap();
    // A hole: reads as 1 GiB of NUL bytes, costs no disk.
    file.set_len(1 << 30).unwrap();
    drop(file);
    let run = checked_merge(t, &data);
    run.assert_code(65);
    assert!(
        run.stderr.contains("line 2") && run.stderr.contains("longer than 1 MiB"),
        "{run}"
    );
    let rss = max_rss_kb(&run);
    assert!(rss < 64 * 1024, "peak RSS {rss} kB for a 1 GiB sparse CSV");
    assert!(!t.join("out").exists() || std::fs::read_dir(t.join("out")).unwrap().count() == 0);
}
