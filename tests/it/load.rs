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
