#!/usr/bin/env python3
"""rmail against its peers and against itself, on one machine, in one run, on 127.0.0.1.

Workloads (servers: bench/servers.py; the targets are issue 12's, numbered as there):
  one-off      one small text message per process, N processes in a row: rmail vs msmtp (0)
  scaling      merges of small text messages at 1k / 10k / 100k rows: time, msg/s, peak RSS (1)
  merge        1,000 personalised messages with the same 50 KB attachment (69 KB rendered),
               concurrency 4: rmail vs Postfix smtp-source -s 4 -d vs Python's mailmerge (2)
  merge-tls    the same merge over implicit TLS (stunnel in front of smtp-sink) vs rmail's
               plaintext rate; mailmerge over TLS + AUTH against a private Postfix smtpd (3)
  one-off-tls  the one-off over implicit TLS (stunnel): rmail vs msmtp (4)
  large        one message with a 100 MiB attachment: rmail vs s-nail, and rmail DKIM-signed (5);
               and the sink's floor: the same message written from memory by a minimal client
               (write_from_memory), so the report shows what the sink alone allows
  million      a 1,000,000-row merge, once: time and peak RSS (README; not run by default)

Every run checks that the sink received exactly the expected number of messages: a run that
drops messages is wrong, not fast. Figures are medians over repeated runs; the ratios are what
to compare, as this machine is shared. Peak RSS comes from GNU time (`%M`, as `time -v` shows).
Usage: bench/bench.py [--quick] [--only WORKLOAD[,WORKLOAD…]] [--rows 1000,10000,100000]
"""

import argparse
import csv
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from servers import Certs, Postfix, Sink, Stunnel

ROOT = Path(__file__).resolve().parent.parent
RMAIL = Path(os.environ.get("RMAIL_BIN", ROOT / "target" / "release" / "rmail"))
VENV = Path(os.environ.get("BENCH_VENV", ROOT / "target" / "bench-venv"))
WORKLOADS = ["one-off", "scaling", "merge", "merge-tls", "one-off-tls", "large", "million"]
PASSWORD_ENV = "BENCH_SMTP_PASSWORD"


def expect(sink, n, what):
    got = sink.count()
    if got != n:
        raise SystemExit(f"FAIL: {what}: the sink received {got} messages, expected {n}")


def timed(cmd, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - start


def timed_cpu(cmd, **kw):
    """(wall seconds, CPU seconds: user + system) of a command. CPU time is steadier than
    wall time on a shared machine, and shows what a tool does rather than what it waits for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(cmd, **kw)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_from_memory(port, message):
    """Sends `message` (CRLF lines) to 127.0.0.1:`port` as a minimal SMTP client does: one
    sendall of bytes already stuffed in memory, no reading, no encoding, no process start.
    Returns the wall time from connect to the reply to QUIT: what the server alone allows."""
    data = message.replace(b"\r\n.", b"\r\n..")
    data += b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"

    def reply(f, code):
        while True:
            line = f.readline()
            if line[3:4] != b"-":
                break
        if not line.startswith(code):
            raise SystemExit(f"FAIL: sink floor: expected {code.decode()}, got {line!r}")

    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
        reply(f, b"220")
        s.sendall(b"EHLO floor.example.com\r\n")
        reply(f, b"250")
        s.sendall(b"MAIL FROM:<bench@example.com>\r\nRCPT TO:<ops@example.com>\r\nDATA\r\n")
        for code in (b"250", b"250", b"354"):
            reply(f, code)
        s.sendall(data)
        reply(f, b"250")
        s.sendall(b"QUIT\r\n")
        reply(f, b"221")
    return time.perf_counter() - start


def peak(cmd, **kw):
    """(wall seconds, peak RSS in bytes) of a command, via GNU time."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], stderr=subprocess.PIPE, **kw)
    lines = out.stderr.decode(errors="replace").strip().splitlines()
    if out.returncode != 0:
        tail = "\n".join(lines[-5:])
        raise SystemExit(f"FAIL: {cmd[0]} exited {out.returncode}:\n{tail}")
    wall, kib = lines[-1].split()
    return float(wall), int(kib) * 1024


class Bench:
    def __init__(self, workdir, quick):
        self.dir = workdir
        self.quick = quick
        self.home = workdir / "home"
        self.home.mkdir()
        self.env = {**os.environ, "HOME": str(self.home), PASSWORD_ENV: Postfix.PASSWORD,
                    "XDG_CONFIG_HOME": str(self.home / ".config"),
                    "XDG_STATE_HOME": str(self.home / ".state")}
        self._certs = None
        self.counter = 0

    @property
    def certs(self):
        if self._certs is None:
            self._certs = Certs(self.dir)
        return self._certs

    def fresh(self, name):
        self.counter += 1
        path = self.dir / f"{name}-{self.counter}"
        path.mkdir()
        return path

    def rmail_config(self, port, security="none", auth=False, extra=""):
        self.counter += 1
        path = self.dir / f"rmail-{self.counter}.toml"
        text = (f'[profiles.bench]\nhost = "127.0.0.1"\nport = {port}\n'
                f'security = "{security}"\nfrom = "bench@example.com"\n')
        if security != "none":
            text += f'ca_file = "{self.certs.ca}"\n'
        if auth:
            text += f'username = "{Postfix.USER}"\npassword_env = "{PASSWORD_ENV}"\n'
        path.write_text(text + extra)
        return path

    def msmtprc(self, port, tls):
        self.counter += 1
        rc = self.dir / f"msmtprc-{self.counter}"
        text = (f"account bench\nhost 127.0.0.1\nport {port}\nfrom bench@example.com\n"
                "auth off\n")
        if tls:
            text += f"tls on\ntls_starttls off\ntls_trust_file {self.certs.ca}\n"
        else:
            text += "tls off\n"
        rc.write_text(text + "account default : bench\n")
        rc.chmod(0o600)
        return rc

    # ---- 0 and 4: one message per process ------------------------------------------------

    def one_off(self, runs, tls):
        msg = self.dir / "oneoff.txt"
        msg.write_text("backup finished at 03:00, 0 errors\n")
        sink = Sink(self.dir)
        tunnel = Stunnel(self.dir, self.certs, sink.port) if tls else None
        port = tunnel.port if tls else sink.port
        cfg = self.rmail_config(port, "tls" if tls else "none")
        tools = {
            "rmail": [str(RMAIL), "--config", str(cfg), "send", "--to", "ops@example.com",
                      "-s", "nightly backup"],
            "msmtp": ["msmtp", "-C", str(self.msmtprc(port, tls)), "ops@example.com"],
        }
        times = {name: [] for name in tools}
        cpu = {name: [] for name in tools}
        # Interleaved, so that a burst of load elsewhere hits both tools alike.
        for _ in range(runs):
            for name, cmd in tools.items():
                with open(msg, "rb") as stdin:
                    wall, used = timed_cpu(cmd, stdin=stdin, env=self.env,
                                           stdout=subprocess.DEVNULL)
                times[name].append(wall)
                cpu[name].append(used)
        expect(sink, len(tools) * runs, "one-off" + (" over TLS" if tls else ""))
        if tunnel:
            tunnel.stop()
        sink.stop()
        return ({name: statistics.median(t) for name, t in times.items()},
                {name: statistics.median(c) for name, c in cpu.items()})

    # ---- 1: scaling ------------------------------------------------------------------------

    def small_merge(self, rows):
        """A template and `rows` rows of small text messages; returns (template, data)."""
        d = self.fresh(f"small-{rows}")
        template = d / "note.txt"
        template.write_text(
            '+++\nto = "{{ name }} <{{ email }}>"\nsubject = "Your code, {{ name }}"\n+++\n'
            "Dear {{ name }},\n\nyour code is {{ code }}.\n")
        data = d / "people.csv"
        with open(data, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "email", "code"])
            for i in range(rows):
                w.writerow([f"Person {i}", f"p{i}@example.com", f"C{i:07}"])
        return template, data

    def rmail_merge(self, cfg, template, data, expected, sink, what):
        """Runs one merge with its own journal; (wall, peak RSS), after checking the count."""
        journal = data.parent / f"journal-{self.counter}"
        self.counter += 1
        wall, rss = peak([str(RMAIL), "--config", str(cfg), "merge", str(template), "--data",
                          str(data), "--journal", str(journal)],
                         stdout=subprocess.DEVNULL, env=self.env)
        expect(sink, expected, what)
        return wall, rss

    def scaling(self, sizes):
        results = {}
        for rows in sizes:
            template, data = self.small_merge(rows)
            sink = Sink(self.dir)
            cfg = self.rmail_config(sink.port, extra="concurrency = 4\n")
            results[rows] = self.rmail_merge(cfg, template, data, rows, sink,
                                             f"merge of {rows} rows")
            sink.stop()
        return results

    # ---- 2 and 3: the 69 KB merge ------------------------------------------------------

    def offer_merge(self, rows):
        """1,000 rows, each with the same 50 KB attachment; (template dir, data, attachment,
        the same message pre-built for smtp-source)."""
        tdir = self.fresh("offer")
        attachment = tdir / "brochure.pdf"
        attachment.write_bytes(os.urandom(50 * 1024))
        (tdir / "offer.txt").write_text(
            '+++\nto = "{{ name }} <{{ email }}>"\nsubject = "Your offer, {{ name }}"\n'
            'attach = ["brochure.pdf"]\n+++\nDear {{ name }},\n\nyour code is {{ code }}.\n')
        data = tdir / "people.csv"
        with open(data, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "email", "code"])
            for i in range(rows):
                w.writerow([f"Person {i}", f"p{i}@example.com", f"C{i:05}"])
        one = tdir / "one.eml"
        subprocess.run([str(RMAIL), "send", "--dry-run", "--to", "p0@example.com", "-s",
                        "Your offer, Person 0", "--text",
                        "Dear Person 0,\n\nyour code is C00000.\n", "--from",
                        "bench@example.com", "--attach", str(attachment), "--eml", str(one)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=self.env)
        # smtp-source appends CRLF to each line: give it LF lines so the size stays the same.
        src_msg = tdir / "one-lf.eml"
        src_msg.write_bytes(one.read_bytes().replace(b"\r\n", b"\n"))
        return tdir, data, attachment, src_msg

    def merge(self, rows, repeats):
        tdir, data, attachment, src_msg = self.offer_merge(rows)
        rates = {"rmail": [], "smtp-source": [], "mailmerge": []}
        sink_cpu = []
        for i in range(repeats):
            for name in rates:
                if name == "mailmerge" and i > 0:
                    continue  # slow and steady: once is enough
                sink = Sink(self.dir)
                before = sink.cpu()
                if name == "rmail":
                    cfg = self.rmail_config(sink.port, extra="concurrency = 4\n")
                    elapsed, _ = self.rmail_merge(cfg, tdir / "offer.txt", data, rows, sink,
                                                  "merge (rmail)")
                elif name == "smtp-source":
                    elapsed = timed(["smtp-source", "-s", "4", "-d", "-m", str(rows), "-F",
                                     str(src_msg), "-f", "bench@example.com", "-t",
                                     "p@example.com", f"127.0.0.1:{sink.port}"])
                    expect(sink, rows, "merge (smtp-source)")
                else:
                    elapsed = self.mailmerge(sink.port, None, tdir, data, attachment)
                    expect(sink, rows, "merge (mailmerge)")
                if name != "mailmerge":
                    sink_cpu.append(sink.cpu() - before)
                sink.stop()
                rates[name].append(rows / elapsed)
        # smtp-sink is one process: the messages per second its CPU time allows is a ceiling
        # for every client.
        return summary(rates), rows / statistics.median(sink_cpu)

    def merge_tls(self, rows, repeats):
        tdir, data, attachment, _ = self.offer_merge(rows)
        rates = {"rmail plaintext": [], "rmail tls": [], "rmail postfix": [], "mailmerge": []}
        for i in range(repeats):
            for name in rates:
                if name in ("mailmerge", "rmail postfix") and i > 0:
                    continue
                sink = Sink(self.dir)
                if name == "rmail plaintext":
                    cfg = self.rmail_config(sink.port, extra="concurrency = 4\n")
                    elapsed, _ = self.rmail_merge(cfg, tdir / "offer.txt", data, rows, sink,
                                                  "merge (rmail, plaintext)")
                elif name == "rmail tls":
                    tunnel = Stunnel(self.dir, self.certs, sink.port)
                    cfg = self.rmail_config(tunnel.port, "tls", extra="concurrency = 4\n")
                    elapsed, _ = self.rmail_merge(cfg, tdir / "offer.txt", data, rows, sink,
                                                  "merge (rmail, stunnel)")
                    tunnel.stop()
                else:
                    postfix = Postfix(self.dir, self.certs, sink.port)
                    if name == "rmail postfix":
                        cfg = self.rmail_config(postfix.tls_port, "tls", auth=True,
                                                extra="concurrency = 4\n")
                        elapsed, _ = self.rmail_merge(cfg, tdir / "offer.txt", data, rows,
                                                      sink, "merge (rmail, postfix TLS+AUTH)")
                    else:
                        elapsed = self.mailmerge(postfix.tls_port, postfix, tdir, data,
                                                 attachment)
                        expect(sink, rows, "merge (mailmerge, postfix TLS+AUTH)")
                    postfix.stop()
                sink.stop()
                rates[name].append(rows / elapsed)
        return summary(rates)

    def mailmerge(self, port, postfix, tdir, data, attachment):
        """One mailmerge run; over implicit TLS with AUTH when `postfix` is given."""
        mm = VENV / "bin" / "mailmerge"
        if not mm.exists():
            raise SystemExit(f"mailmerge not found at {mm}: run bench/run.sh (it installs it)")
        d = self.fresh("mailmerge")
        host, security = "127.0.0.1", "Never"
        if postfix:
            host, security = "localhost", "SSL/TLS"  # the certificate's name
        (d / "mailmerge_server.conf").write_text(
            f"[smtp_server]\nhost = {host}\nport = {port}\nsecurity = {security}\n"
            f"username = {Postfix.USER}\nratelimit = 0\n")
        (d / "mailmerge_template.txt").write_text(
            "TO: {{name}} <{{email}}>\nSUBJECT: Your offer, {{name}}\nFROM: bench@example.com\n"
            f"ATTACHMENT: {attachment}\n\nDear {{{{name}}}},\n\nyour code is {{{{code}}}}.\n")
        shutil.copy(data, d / "mailmerge_database.csv")
        env = {**self.env, "PYTHONWARNINGS": "ignore", "SSL_CERT_FILE": str(self.certs.ca)}
        # No controlling terminal (a new session), so getpass reads the password from stdin.
        return timed([str(mm), "--no-dry-run", "--no-limit", "--template",
                      str(d / "mailmerge_template.txt"), "--database",
                      str(d / "mailmerge_database.csv"), "--config",
                      str(d / "mailmerge_server.conf"), "--output-format", "raw"],
                     cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     input=(Postfix.PASSWORD + "\n").encode(), env=env,
                     start_new_session=True)

    # ---- 5: a large attachment ------------------------------------------------------------

    def large(self, mib, repeats):
        big = self.dir / "big.bin"
        with open(big, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        key = self.dir / "dkim.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", str(key)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dkim = (f'dkim = {{ domain = "example.com", selector = "s1", '
                f'private_key_file = "{key}" }}\n')
        # The floor's message: what rmail sends, written once (Message-ID and Date aside).
        eml = self.dir / "big.eml"
        subprocess.run([str(RMAIL), "--config", str(self.rmail_config(25)), "send", "--dry-run",
                        "--to", "ops@example.com", "-s", "big", "--text", "see attachment",
                        "--attach", str(big), "--eml", str(eml)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=self.env)
        message = eml.read_bytes()
        eml.unlink()
        results = {"rmail": ([], []), "s-nail": ([], []), "rmail dkim": ([], []),
                   "floor": ([], [])}
        sink_cpu = {name: [] for name in results}
        for _ in range(repeats):
            for name, (walls, rss) in results.items():
                sink = Sink(self.dir)
                before = sink.cpu()
                if name == "floor":
                    walls.append(write_from_memory(sink.port, message))
                    rss.append(0)
                    expect(sink, 1, "large (sink floor)")
                    sink_cpu[name].append(sink.cpu() - before)
                    sink.stop()
                    continue
                if name.startswith("rmail"):
                    cfg = self.rmail_config(sink.port, extra=dkim if "dkim" in name else "")
                    cmd = [str(RMAIL), "--config", str(cfg), "send", "--to",
                           "ops@example.com", "-s", "big", "--text", "see attachment",
                           "--attach", str(big)]
                else:
                    cmd = ["s-nail", "-n", "-#", "-S", "v15-compat", "-S", "smtp-auth=none",
                           "-S", f"mta=smtp://127.0.0.1:{sink.port}", "-S",
                           "from=bench@example.com", "-s", "big", "-a", str(big),
                           "ops@example.com"]
                with open(os.devnull, "rb") as stdin:
                    wall, peak_rss = peak(cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                                          env=self.env)
                expect(sink, 1, f"large ({name})")
                sink_cpu[name].append(sink.cpu() - before)
                sink.stop()
                walls.append(wall)
                rss.append(peak_rss)
        size = mib << 20
        medians = {name: (statistics.median(w), statistics.median(r))
                   for name, (w, r) in results.items()}
        # The sink's CPU time over every run: no client delivers faster than the sink reads.
        medians["sink cpu"] = (statistics.median([c for cs in sink_cpu.values() for c in cs]), 0)
        return medians, size

    def million(self, rows):
        return self.scaling([rows])[rows]


class Report:
    """The targets as measured, and the scaling table."""

    def __init__(self):
        self.rows = []
        self.met = True
        self.tables = []

    def target(self, number, what, value, goal, ok, figures):
        self.met &= ok
        self.rows.append((number, what, value, goal, "met" if ok else "MISSED", figures))

    def print(self):
        for table in self.tables:
            print(table)
        if self.rows:
            head = ("#", "target", "measured", "goal", "", "figures")
            widths = [max(len(str(r[i])) for r in [head, *self.rows]) for i in range(5)]
            print()
            for row in [head, *self.rows]:
                cells = [str(c).ljust(w) for c, w in zip(row[:5], widths)]
                print("  ".join(cells) + "  " + row[5])
        print("\nall targets met" if self.met else "\nSOME TARGETS MISSED")


class Rates(dict):
    """Median rate per tool, with the spread of the runs behind it."""

    def __init__(self, medians, spread):
        super().__init__(medians)
        self.spread = spread

    def figure(self, name):
        low, high = self.spread[name]
        if low == high:
            return f"{self[name]:.0f}"
        return f"{self[name]:.0f} ({low:.0f}-{high:.0f})"


def summary(rates):
    return Rates({name: statistics.median(r) for name, r in rates.items()},
                 {name: (min(r), max(r)) for name, r in rates.items()})


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs, smaller sizes (smoke)")
    ap.add_argument("--only", help="comma-separated workloads: " + ", ".join(WORKLOADS))
    ap.add_argument("--rows", help="scaling sizes, e.g. 1000,10000,100000")
    ap.add_argument("--million-rows", type=int, default=1_000_000)
    args = ap.parse_args()
    chosen = args.only.split(",") if args.only else [w for w in WORKLOADS if w != "million"]
    for name in chosen:
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    if not RMAIL.exists():
        raise SystemExit(f"{RMAIL} not found: cargo build --release")
    runs = 20 if args.quick else 200
    repeats = 1 if args.quick else 3
    # The merge rates move by +-20 % from run to run here: more runs, interleaved, and the
    # median of them.
    merge_repeats = 1 if args.quick else 5
    rows = 200 if args.quick else 1000
    mib = 10 if args.quick else 100
    sizes = [int(n) for n in args.rows.split(",")] if args.rows else (
        [100, 1000, 10000] if args.quick else [1000, 10000, 100000])

    report = Report()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="rmail-bench-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # the servers' own users read their configs in here
        bench = Bench(workdir, args.quick)
        plain_one_off = None
        if "one-off" in chosen:
            r, cpu = bench.one_off(runs, tls=False)
            plain_one_off = r["rmail"]
            ratio = r["rmail"] / r["msmtp"]
            report.target(0, "one-off, plaintext: rmail/msmtp time", f"{ratio:.3f}x",
                          "<= 0.1x", ratio <= 0.1,
                          f"median of {runs}: rmail {ms(r['rmail'])} (CPU {ms(cpu['rmail'])}), "
                          f"msmtp {ms(r['msmtp'])} (CPU {ms(cpu['msmtp'])})")
        if "scaling" in chosen:
            r = bench.scaling(sizes)
            table = ["", "scaling: merge of small text messages, concurrency 4, to smtp-sink",
                     f"{'rows':>9}  {'time':>8}  {'msg/s':>7}  {'peak RSS':>9}"]
            for n, (wall, rss) in r.items():
                table.append(f"{n:>9,}  {wall:>7.2f}s  {n / wall:>7.0f}  {rss / 1e6:>7.1f} MB")
            report.tables.append("\n".join(table))
            if len(sizes) >= 2:
                small, big = sizes[-2], sizes[-1]
                factor = big / small
                t_ratio = r[big][0] / r[small][0]
                m_ratio = r[big][1] / r[small][1]
                report.target(1, f"merge time, {big:,} / {small:,} rows", f"{t_ratio:.2f}x",
                              f"<= {1.1 * factor:.0f}x", t_ratio <= 1.1 * factor,
                              f"{r[small][0]:.2f} s -> {r[big][0]:.2f} s")
                report.target(1, f"merge peak RSS, {big:,} / {small:,} rows",
                              f"{m_ratio:.2f}x", "<= 1.5x", m_ratio <= 1.5,
                              f"{r[small][1] / 1e6:.1f} MB -> {r[big][1] / 1e6:.1f} MB")
        if "merge" in chosen:
            r, ceiling = bench.merge(rows, merge_repeats)
            vs_source = r["rmail"] / r["smtp-source"]
            vs_mm = r["rmail"] / r["mailmerge"]
            figures = (f"{rows} x 69 KB, msg/s, median (range) of {merge_repeats}: rmail "
                       f"{r.figure('rmail')}, smtp-source -s 4 -d {r.figure('smtp-source')}, "
                       f"mailmerge {r['mailmerge']:.0f}; the sink's CPU allows {ceiling:.0f}")
            report.target(2, "merge rate: rmail/smtp-source", f"{vs_source:.2f}x", ">= 1.0x",
                          vs_source >= 1.0, figures)
            # The sink's ceiling over mailmerge's rate is the most any client can reach.
            most = ceiling / r["mailmerge"]
            reach = "reachable" if most >= 20 else "out of reach"
            report.target(2, "merge rate: rmail/mailmerge", f"{vs_mm:.1f}x", ">= 20x",
                          vs_mm >= 20,
                          f"the sink's ceiling is {most:.1f}x mailmerge: the target is {reach} "
                          f"on this sink; rmail {r['rmail'] / ceiling:.2f}x the ceiling")
        if "merge-tls" in chosen:
            r = bench.merge_tls(rows, merge_repeats)
            vs_plain = r["rmail tls"] / r["rmail plaintext"]
            vs_mm = r["rmail tls"] / r["mailmerge"]
            report.target(3, "TLS merge rate: stunnel/plaintext", f"{vs_plain:.2f}x", ">= 0.9x",
                          vs_plain >= 0.9,
                          f"{rows} x 69 KB, msg/s, median (range) of {merge_repeats}: rmail "
                          f"over stunnel {r.figure('rmail tls')}, plaintext "
                          f"{r.figure('rmail plaintext')}")
            report.target(3, "TLS merge rate: rmail/mailmerge TLS+AUTH", f"{vs_mm:.1f}x",
                          ">= 20x", vs_mm >= 20,
                          f"mailmerge via Postfix smtpd TLS+AUTH {r['mailmerge']:.0f}; rmail "
                          f"against the same Postfix {r['rmail postfix']:.0f}")
        if "one-off-tls" in chosen:
            r, cpu = bench.one_off(runs, tls=True)
            ratio = r["rmail"] / r["msmtp"]
            plain = f", rmail plaintext {ms(plain_one_off)}" if plain_one_off else ""
            report.target(4, "one-off, implicit TLS: rmail/msmtp time", f"{ratio:.3f}x",
                          "<= 0.1x", ratio <= 0.1,
                          f"median of {runs}: rmail {ms(r['rmail'])} (CPU {ms(cpu['rmail'])}), "
                          f"msmtp {ms(r['msmtp'])} (CPU {ms(cpu['msmtp'])}){plain}")
        if "large" in chosen:
            r, size = bench.large(mib, repeats)
            (rw, rr), (sw, sr), (dw, dr) = r["rmail"], r["s-nail"], r["rmail dkim"]
            fw, fc = r["floor"][0], r["sink cpu"][0]
            report.target(5, f"{mib} MiB attachment: rmail peak RSS", f"{rr / 1e6:.1f} MB",
                          "<= 16 MB", rr <= 16e6,
                          f"rmail {rw:.2f} s, s-nail {sw:.2f} s / {sr / 1e6:.1f} MB")
            # No client delivers faster than the sink reads: its CPU time is the hard floor.
            reach = "reachable" if fc <= 0.5 * sw else "out of reach"
            report.target(5, f"{mib} MiB attachment: rmail/s-nail time", f"{rw / sw:.2f}x",
                          "<= 0.5x", rw <= 0.5 * sw,
                          f"sink floor {fw:.2f} s = {fw / sw:.2f}x s-nail (the same bytes "
                          f"from memory; the sink itself used {fc:.2f} s = {fc / sw:.2f}x of CPU: the target "
                          f"is {reach} on this sink); rmail {rw / fw:.2f}x the floor")
            report.target(5, f"{mib} MiB, DKIM-signed: peak RSS / file", f"{dr / size:.2f}x",
                          "<= 1.5x", dr <= 1.5 * size, f"{dw:.2f} s, {dr / 1e6:.1f} MB")
        if "million" in chosen:
            n = args.million_rows
            wall, rss = bench.million(n)
            report.tables.append(f"\nmerge of {n:,} small text messages: {wall:.1f} s "
                                 f"({n / wall:.0f} msg/s), peak RSS {rss / 1e6:.1f} MB")
            report.target("1", f"{n:,}-row merge peak RSS", f"{rss / 1e6:.1f} MB", "< 64 MB",
                          rss < 64e6, f"{wall:.1f} s")
    report.print()
    print(f"(bench took {time.time() - started:.0f} s; load average now "
          f"{os.getloadavg()[0]:.2f})")
    return 0 if report.met else 1


if __name__ == "__main__":
    sys.exit(main())
