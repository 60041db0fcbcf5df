#!/usr/bin/env python3
"""rmail against its peers, on one machine, in one run, against Postfix's smtp-sink.

Workloads (see bench/README.md and the README's "Performance" section):
  one-off  one small text message per process, N processes in a row: rmail vs msmtp
  merge    1,000 personalised messages with the same 50 KB attachment: rmail merge vs
           Postfix smtp-source (pre-built message of the same size) vs Python's mailmerge
  large    one message with a 100 MiB attachment: rmail vs s-nail (wall time, peak RSS)

Every workload checks that the sink received exactly the expected number of messages:
a benchmark that drops messages is wrong, not fast. Prints a table of ratios; figures are
medians over repeated runs. Usage: bench/bench.py [--quick] [--only WORKLOAD]
"""

import argparse
import csv
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RMAIL = Path(os.environ.get("RMAIL_BIN", ROOT / "target" / "release" / "rmail"))
VENV = Path(os.environ.get("BENCH_VENV", ROOT / "target" / "bench-venv"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Postfix's smtp-sink on a fresh port, counting messages (the -c counters on stdout)."""

    def __init__(self, workdir):
        self.port = free_port()
        self.log = open(workdir / f"sink-{self.port}.log", "wb+")
        self.proc = subprocess.Popen(
            ["smtp-sink", "-u", os.environ.get("SINK_USER", "nobody"), "-c",
             f"127.0.0.1:{self.port}", "1000"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("smtp-sink did not start (is postfix installed?)")

    def count(self):
        time.sleep(0.3)  # counters are written when a session ends
        self.log.flush()
        text = (Path(self.log.name)).read_bytes().decode(errors="replace")
        found = re.findall(r"mesg=(\d+)", text)
        return int(found[-1]) if found else 0

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def expect(sink, n, what):
    got = sink.count()
    if got != n:
        raise SystemExit(f"FAIL: {what}: the sink received {got} messages, expected {n}")


def timed(cmd, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - start


def peak(cmd, **kw):
    """(wall seconds, peak RSS in bytes) of a command, via GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], check=True,
                         stderr=subprocess.PIPE, **kw)
    wall, kib = out.stderr.decode().strip().splitlines()[-1].split()
    return float(wall), int(kib) * 1024


def rmail_config(workdir, port, extra=""):
    path = workdir / f"rmail-{port}.toml"
    path.write_text(
        f'[profiles.sink]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'from = "bench@example.com"\n{extra}')
    return path


def one_off(workdir, runs):
    msg = workdir / "oneoff.txt"
    msg.write_text("Subject: nightly backup\n\nbackup finished at 03:00, 0 errors\n")
    results = {}
    sink = Sink(workdir)
    cfg = rmail_config(workdir, sink.port)
    rc = workdir / "msmtprc"
    rc.write_text(f"account sink\nhost 127.0.0.1\nport {sink.port}\nfrom bench@example.com\n"
                  "tls off\nauth off\naccount default : sink\n")
    rc.chmod(0o600)
    tools = {
        "rmail": [str(RMAIL), "--config", str(cfg), "send", "--to", "ops@example.com",
                  "-s", "nightly backup"],
        "msmtp": ["msmtp", "-C", str(rc), "ops@example.com"],
    }
    for name, cmd in tools.items():
        times = []
        for _ in range(runs):
            with open(msg, "rb") as stdin:
                times.append(timed(cmd, stdin=stdin))
        results[name] = statistics.median(times)
    expect(sink, 2 * runs, "one-off")
    sink.stop()
    return results


def merge(workdir, rows, repeats):
    attachment = workdir / "brochure.pdf"
    attachment.write_bytes(os.urandom(50 * 1024))
    tdir = workdir / "tpl"
    tdir.mkdir(exist_ok=True)
    shutil.copy(attachment, tdir / "brochure.pdf")
    (tdir / "offer.txt").write_text(
        '+++\nto = "{{ name }} <{{ email }}>"\nsubject = "Your offer, {{ name }}"\n'
        'attach = ["brochure.pdf"]\n+++\nDear {{ name }},\n\nyour code is {{ code }}.\n')
    data = tdir / "people.csv"
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "email", "code"])
        for i in range(rows):
            w.writerow([f"Person {i}", f"p{i}@example.com", f"C{i:05}"])

    # The same message, pre-built, for smtp-source: rmail renders one to get the exact size.
    one = workdir / "one.eml"
    subprocess.run([str(RMAIL), "send", "--dry-run", "--to", "p0@example.com", "-s",
                    "Your offer, Person 0", "--text", "Dear Person 0,\n\nyour code is C00000.\n",
                    "--attach", str(attachment), "--eml", str(one)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # smtp-source appends CRLF to each line: give it LF lines so the size stays the same.
    src_msg = workdir / "one-lf.eml"
    src_msg.write_bytes(one.read_bytes().replace(b"\r\n", b"\n"))

    results = {}
    for name in ["rmail", "smtp-source", "mailmerge"]:
        rates = []
        for _ in range(repeats if name != "mailmerge" else 1):
            sink = Sink(workdir)
            n = rows
            if name == "rmail":
                cfg = rmail_config(workdir, sink.port, "concurrency = 4\n")
                journal = workdir / f"journal-{sink.port}"
                elapsed = timed([str(RMAIL), "--config", str(cfg), "merge",
                                 str(tdir / "offer.txt"), "--data", str(data),
                                 "--journal", str(journal)],
                                stdout=subprocess.DEVNULL)
            elif name == "smtp-source":
                elapsed = timed(["smtp-source", "-s", "4", "-d", "-m", str(n), "-F", str(src_msg),
                                 "-f", "bench@example.com", "-t", "p@example.com",
                                 f"127.0.0.1:{sink.port}"])
            else:
                elapsed = mailmerge_run(workdir, sink.port, tdir, data, attachment)
            expect(sink, n, f"merge ({name})")
            sink.stop()
            rates.append(n / elapsed)
        results[name] = statistics.median(rates)
    return results


def mailmerge_run(workdir, port, tdir, data, attachment):
    mm = VENV / "bin" / "mailmerge"
    if not mm.exists():
        raise SystemExit(f"mailmerge not found at {mm}: run bench/run.sh (it installs it)")
    d = workdir / f"mm-{port}"
    d.mkdir()
    (d / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = Never\n"
        "username = bench\nratelimit = 0\n")
    (d / "mailmerge_template.txt").write_text(
        "TO: {{name}} <{{email}}>\nSUBJECT: Your offer, {{name}}\nFROM: bench@example.com\n"
        f"ATTACHMENT: {attachment}\n\nDear {{{{name}}}},\n\nyour code is {{{{code}}}}.\n")
    shutil.copy(data, d / "mailmerge_database.csv")
    return timed([str(mm), "--no-dry-run", "--no-limit", "--template",
                  str(d / "mailmerge_template.txt"), "--database",
                  str(d / "mailmerge_database.csv"), "--config",
                  str(d / "mailmerge_server.conf"), "--output-format", "raw"],
                 cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 input=b"", env={**os.environ, "PYTHONWARNINGS": "ignore"})


def large(workdir, mib, repeats):
    big = workdir / "big.bin"
    with open(big, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    results = {}
    for name in ["rmail", "s-nail"]:
        walls, rss = [], []
        for _ in range(repeats):
            sink = Sink(workdir)
            if name == "rmail":
                cfg = rmail_config(workdir, sink.port)
                cmd = [str(RMAIL), "--config", str(cfg), "send", "--to", "ops@example.com",
                       "-s", "big", "--text", "see attachment", "--attach", str(big)]
            else:
                cmd = ["s-nail", "-n", "-#", "-S", "v15-compat", "-S", "smtp-auth=none", "-S",
                       f"mta=smtp://127.0.0.1:{sink.port}", "-S", "from=bench@example.com",
                       "-s", "big", "-a", str(big), "ops@example.com"]
            with open(os.devnull, "rb") as stdin:
                wall, peak_rss = peak(cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                                      env={**os.environ, "HOME": str(workdir)})
            expect(sink, 1, f"large ({name})")
            sink.stop()
            walls.append(wall)
            rss.append(peak_rss)
        results[name] = (statistics.median(walls), statistics.median(rss))
    return results, mib << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    ap.add_argument("--only", choices=["one-off", "merge", "large"])
    args = ap.parse_args()
    if not RMAIL.exists():
        raise SystemExit(f"{RMAIL} not found: cargo build --release")
    runs = 20 if args.quick else 200
    repeats = 1 if args.quick else 3
    rows = 200 if args.quick else 1000
    mib = 10 if args.quick else 100

    with tempfile.TemporaryDirectory(prefix="rmail-bench-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)
        lines = []
        targets_met = True
        if args.only in (None, "one-off"):
            r = one_off(workdir, runs)
            ratio = r["rmail"] / r["msmtp"]
            targets_met &= ratio <= 0.25
            lines.append(("one-off", f"{runs} processes, median ms/message",
                          f"rmail {r['rmail']*1000:.1f}, msmtp {r['msmtp']*1000:.1f}",
                          f"rmail/msmtp time = {ratio:.2f}x (target <= 0.25x)"))
        if args.only in (None, "merge"):
            r = merge(workdir, rows, repeats)
            vs_source = r["rmail"] / r["smtp-source"]
            vs_mm = r["rmail"] / r["mailmerge"]
            targets_met &= vs_source >= 0.8 and vs_mm >= 10
            lines.append(("merge", f"{rows} messages, 50 KB attachment, msg/s",
                          f"rmail {r['rmail']:.0f}, smtp-source {r['smtp-source']:.0f}, "
                          f"mailmerge {r['mailmerge']:.0f}",
                          f"rmail/smtp-source = {vs_source:.2f}x (target >= 0.8x), "
                          f"rmail/mailmerge = {vs_mm:.1f}x (target >= 10x)"))
        if args.only in (None, "large"):
            r, size = large(workdir, mib, repeats)
            (rw, rr), (sw, sr) = r["rmail"], r["s-nail"]
            ok = rr <= 1.5 * size and rw <= sw
            targets_met &= ok
            lines.append(("large", f"{mib} MiB attachment, wall s / peak RSS MB",
                          f"rmail {rw:.2f} s / {rr/1e6:.0f} MB, s-nail {sw:.2f} s / {sr/1e6:.0f} MB",
                          f"rmail/s-nail time = {rw/sw:.2f}x (target <= 1x), "
                          f"rmail RSS = {rr/size:.2f}x file size (target <= 1.5x)"))
        width = max(len(l[1]) for l in lines)
        print(f"\n{'workload':<9} {'measure':<{width}}  figures  ->  ratio")
        for name, what, figures, ratio in lines:
            print(f"{name:<9} {what:<{width}}  {figures}  ->  {ratio}")
        print("all targets met" if targets_met else "SOME TARGETS MISSED")
        return 0 if targets_met else 1


if __name__ == "__main__":
    sys.exit(main())
