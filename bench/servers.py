"""The servers the benchmark measures against, all on 127.0.0.1, all started and stopped here.

  Sink      Postfix's smtp-sink: a fast C server that counts messages (`-c`). Every workload
            checks its count: a run that drops messages is wrong, not fast.
  Stunnel   Debian's stunnel4 in front of a Sink: implicit TLS (port 465 style).
  Postfix   a private Postfix instance (its own config, queue and log folder) whose smtpd offers
            STARTTLS and implicit TLS with SASL AUTH (Dovecot's auth service, passwd-file), and
            hands every accepted message to a Sink through `smtpd_proxy_filter`: a real
            submission server for mailmerge, whose TLS mode always logs in.
  Certs     a throw-away CA and leaf (tests/it/support/mkcerts.sh), trusted through ca_file /
            tls_trust_file / SSL_CERT_FILE, never installed system-wide.

Each server runs in its own session (process group) and is stopped by that id.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, what, proc=None, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"{what} exited at start (code {proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start listening on 127.0.0.1:{port}")


def stop_group(proc):
    """Ends a server started with start_new_session=True: its whole process group, by id."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


class Certs:
    """A test CA (ca.pem) and a leaf for localhost / 127.0.0.1 (server.pem, server.key)."""

    def __init__(self, workdir):
        self.dir = workdir / "certs"
        subprocess.run(["bash", str(ROOT / "tests/it/support/mkcerts.sh"), str(self.dir)],
                       check=True, stdout=subprocess.DEVNULL)
        self.ca = self.dir / "ca.pem"
        self.cert = self.dir / "server.pem"
        self.key = self.dir / "server.key"
        # Readable by the servers' unprivileged users (the folder holds nothing else secret).
        os.chmod(self.dir, 0o755)
        os.chmod(self.key, 0o644)


class Sink:
    """Postfix's smtp-sink on a fresh port, counting messages (the -c counters on stdout)."""

    def __init__(self, workdir):
        for _ in range(20):
            self.port = free_port()
            self.log_path = workdir / f"sink-{self.port}.log"
            log = open(self.log_path, "wb")
            self.proc = subprocess.Popen(
                ["smtp-sink", "-u", os.environ.get("SINK_USER", "nobody"), "-c",
                 f"127.0.0.1:{self.port}", "1000"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            try:
                wait_listening(self.port, "smtp-sink", self.proc)
                return
            except SystemExit:
                stop_group(self.proc)  # the port was taken meanwhile: try another
        raise SystemExit("smtp-sink did not start (is postfix installed?)")

    def count(self):
        """Messages received so far; waits until the counter stops moving."""
        last, stable_since = -1, time.time()
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.log_path.read_bytes().decode(errors="replace")
            found = re.findall(r"mesg=(\d+)", text)
            now = int(found[-1]) if found else 0
            if now != last:
                last, stable_since = now, time.time()
            elif time.time() - stable_since > 0.3:
                return now  # counters are written when a session ends
            time.sleep(0.05)
        return last

    def cpu(self):
        """CPU seconds (user + system) the sink has used so far: no client can deliver a
        message faster than the sink takes to read it."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        stop_group(self.proc)


class Stunnel:
    """stunnel4: implicit TLS on its own port, forwarding in plaintext to `target_port`."""

    def __init__(self, workdir, certs, target_port):
        self.port = free_port()
        conf = workdir / f"stunnel-{self.port}.conf"
        conf.write_text(
            "foreground = yes\n"
            f"output = {workdir}/stunnel-{self.port}.log\n"
            "debug = 3\n"
            "[smtps]\n"
            f"accept = 127.0.0.1:{self.port}\n"
            f"connect = 127.0.0.1:{target_port}\n"
            f"cert = {certs.cert}\n"
            f"key = {certs.key}\n")
        program = shutil.which("stunnel4") or shutil.which("stunnel") or "stunnel4"
        self.proc = subprocess.Popen([program, str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_listening(self.port, "stunnel4", self.proc)

    def stop(self):
        stop_group(self.proc)


class Postfix:
    """A private Postfix smtpd with STARTTLS (`starttls_port`), implicit TLS (`tls_port`) and
    SASL AUTH through Dovecot, proxying every accepted message to `sink_port`.

    Only the services smtpd needs run (anvil, tlsmgr, proxymap, trivial-rewrite, postlogd):
    no queue manager, nothing is queued or delivered by Postfix itself.
    """

    USER = "bench"
    PASSWORD = "bench-secret"

    def __init__(self, workdir, certs, sink_port):
        self.dir = workdir / "postfix"
        self.starttls_port = free_port()
        self.tls_port = free_port()
        auth_port = free_port()
        etc, queue, data = self.dir / "etc", self.dir / "queue", self.dir / "data"
        for d in (etc, queue / "pid", queue / "private", queue / "public", data):
            d.mkdir(parents=True, exist_ok=True)
        shutil.chown(queue / "private", "postfix")
        shutil.chown(queue / "public", "postfix", "postdrop")
        shutil.chown(data, "postfix")
        os.chmod(self.dir, 0o755)

        self.dovecot = self._start_dovecot(auth_port)
        (etc / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost
mydestination =
local_recipient_maps =
relay_recipient_maps =
alias_maps =
maillog_file = {self.dir}/maillog
maillog_file_prefixes = {self.dir}
message_size_limit = 0
smtpd_tls_cert_file = {certs.cert}
smtpd_tls_key_file = {certs.key}
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_session_cache_database =
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth_port}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_proxy_filter = 127.0.0.1:{sink_port}
""")
        (etc / "master.cf").write_text(f"""\
127.0.0.1:{self.starttls_port} inet n - n - 100 smtpd
127.0.0.1:{self.tls_port} inet n - n - 100 smtpd -o smtpd_tls_wrappermode=yes
anvil     unix  -       -       n       -       1       anvil
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
proxymap  unix  -       -       n       -       -       proxymap
rewrite   unix  -       -       n       -       -       trivial-rewrite
postlog   unix-dgram n  -       n       -       1       postlogd
""")
        self.etc = etc
        self.proc = subprocess.Popen(["postfix", "-c", str(etc), "start-fg"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        try:
            wait_listening(self.tls_port, "postfix", self.proc)
            wait_listening(self.starttls_port, "postfix", self.proc)
        except SystemExit:
            self.stop()
            raise

    def _start_dovecot(self, auth_port):
        d = self.dir / "dovecot"
        d.mkdir(parents=True, exist_ok=True)
        (d / "users").write_text(f"{self.USER}:{{PLAIN}}{self.PASSWORD}\n")
        os.chmod(d / "users", 0o644)
        conf = d / "dovecot.conf"
        conf.write_text(f"""\
base_dir = {d}/run
state_dir = {d}/state
protocols =
listen = 127.0.0.1
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}
}}
service auth {{
  inet_listener {{
    address = 127.0.0.1
    port = {auth_port}
  }}
}}
service anvil {{
  chroot =
}}
""")
        proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        wait_listening(auth_port, "dovecot", proc)
        return proc

    def stop(self):
        subprocess.run(["postfix", "-c", str(self.etc), "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        stop_group(self.proc)
        stop_group(self.dovecot)
