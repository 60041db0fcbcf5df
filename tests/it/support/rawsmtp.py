#!/usr/bin/python3
"""A scripted raw SMTP server for rmail's hostile-server tests.

Plain sockets and ssl from the standard library (no aiosmtpd): it must be able to do what
a well-behaved server library never would, byte for byte.

    /usr/bin/python3 tests/it/support/rawsmtp.py --dir OUTDIR [options]

It listens on 127.0.0.1 (a free port unless --port is given), prints "PORT <n>" on stdout
once it accepts connections, and runs until killed, until --lifetime seconds have passed,
or (with --exit-on-stdin-eof) until its stdin is closed. Every connection is bounded: at
most --max-bytes sent and --max-bytes received.

What it leaves in OUTDIR:
  events.jsonl     one JSON object a line, in order, written as it happens:
                     {"conn": 1, "tls": false, "kind": "cmd",   "line": "EHLO x"}
                     {"conn": 1, "tls": false, "kind": "event", "what": "connect"}
                     {"conn": 1, "tls": false, "kind": "data",  "seq": 1, "file": "data-0001.raw",
                      "bytes": 1234}
                   "cmd" is every line the client sent outside DATA (AUTH responses too),
                   without its CRLF; bytes that are not UTF-8 are backslash-escaped.
  data-NNNN.raw    the raw DATA bytes as they came off the wire, before any unstuffing:
                   everything after the 354 up to and including the final CRLF "." CRLF.

Replies are scripted per stage with --reply STAGE=SPEC (repeatable). STAGE is one of
GREETING EHLO STARTTLS AUTH MAIL RCPT DATA DOT RSET NOOP QUIT (DOT: the end of the message
data). SPEC is the reply text with Python escapes ("250 ok\\r\\n"; a missing final CRLF is
added), or one of:
  endless          "220 " then 'a' forever (no line end), up to --max-bytes
  endless-lines    "250-aaaa...\\r\\n" lines forever, up to --max-bytes
  trickle:TEXT     TEXT one byte every --trickle-delay seconds
  silent           never answer (the connection stays open)
  close            close the connection without a reply
Anything not scripted gets a plausible default reply.
"""

import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time

STAGES = {"GREETING", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "DOT", "RSET",
          "NOOP", "QUIT"}

# A command line longer than this ends the connection (a client bug, not a test input).
MAX_COMMAND_LINE = 64 * 1024


def parse_args(argv):
    p = argparse.ArgumentParser(description="Scripted raw SMTP server for rmail's tests.")
    p.add_argument("--dir", required=True, help="where events.jsonl and data-NNNN.raw go")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--reply", action="append", default=[], metavar="STAGE=SPEC",
                   help="script the reply at STAGE (see the module doc); repeatable")
    p.add_argument("--starttls", action="store_true", help="offer STARTTLS (needs --cert/--key)")
    p.add_argument("--inject-after-starttls", metavar="BYTES",
                   help="send these bytes (Python escapes) right after the 220 to STARTTLS, "
                        "in the same write, before the TLS handshake")
    p.add_argument("--tls", action="store_true", help="implicit TLS from the first byte")
    p.add_argument("--cert", help="PEM certificate chain")
    p.add_argument("--key", help="PEM private key")
    p.add_argument("--auth", action="store_true",
                   help="offer AUTH PLAIN LOGIN (any credentials succeed with 235 unless "
                        "--reply AUTH=... says otherwise)")
    p.add_argument("--size", type=int, metavar="N",
                   help="advertise SIZE N and answer MAIL FROM with SIZE= above N with 552")
    p.add_argument("--smtputf8", action="store_true", help="advertise SMTPUTF8")
    p.add_argument("--no-8bitmime", action="store_true", help="do not advertise 8BITMIME")
    p.add_argument("--pipelining", action="store_true", help="advertise PIPELINING")
    p.add_argument("--trickle-delay", type=float, default=1.0, metavar="SECS")
    p.add_argument("--max-bytes", type=int, default=256 << 20,
                   help="bytes sent, and bytes received, per connection at most")
    p.add_argument("--lifetime", type=float, default=120.0, metavar="SECS",
                   help="exit after this long whatever happens")
    p.add_argument("--exit-on-stdin-eof", action="store_true")
    args = p.parse_args(argv)

    args.replies = {}
    for item in args.reply:
        stage, sep, spec = item.partition("=")
        stage = stage.upper()
        if not sep or stage not in STAGES:
            p.error(f"--reply wants STAGE=SPEC with STAGE one of {sorted(STAGES)}, got {item!r}")
        args.replies[stage] = spec
    args.inject = unescape(args.inject_after_starttls) if args.inject_after_starttls else b""
    if (args.starttls or args.tls) and not (args.cert and args.key):
        p.error("--starttls and --tls need --cert and --key")
    return args


def unescape(text):
    """Python string escapes (\\r, \\n, \\x00) → bytes."""
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")


class Recorder:
    """events.jsonl and the data files; shared by all connection threads."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.lock = threading.Lock()
        self.conns = 0
        self.seq = 0
        self.log = open(os.path.join(outdir, "events.jsonl"), "ab", buffering=0)

    def new_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns

    def write(self, record):
        line = json.dumps(record, ensure_ascii=True).encode("ascii") + b"\n"
        with self.lock:
            self.log.write(line)

    def save_data(self, raw):
        with self.lock:
            self.seq += 1
            seq = self.seq
        name = f"data-{seq:04d}.raw"
        tmp = os.path.join(self.outdir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, os.path.join(self.outdir, name))
        return seq, name


class Closed(Exception):
    """The client went away, a bound was reached, or the script said close."""


class Connection:
    def __init__(self, args, recorder, sock, ctx):
        self.args = args
        self.rec = recorder
        self.sock = sock
        self.ctx = ctx
        self.tls = False
        self.buf = b""
        self.early = False
        self.sent = 0
        self.received = 0
        self.conn = recorder.new_conn()

    # --- recording ---------------------------------------------------------------------

    def event(self, what):
        self.rec.write({"conn": self.conn, "tls": self.tls, "kind": "event", "what": what})

    def command(self, line):
        text = line.decode("utf-8", "backslashreplace")
        # early: the line was here before the reply to the one before it went out (the
        # client pipelined it, RFC 2920); a client that waits for each reply never does that.
        self.rec.write({"conn": self.conn, "tls": self.tls, "kind": "cmd", "line": text,
                        "early": self.early})

    # --- bytes in and out --------------------------------------------------------------

    def send(self, data):
        if self.sent + len(data) > self.args.max_bytes:
            data = data[: max(0, self.args.max_bytes - self.sent)]
            self._sendall(data)
            self.event("max-bytes sent")
            raise Closed()
        self._sendall(data)

    def _sendall(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.event(f"client gone while sending: {type(exc).__name__}")
            raise Closed() from exc
        self.sent += len(data)

    def fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (OSError, ssl.SSLError) as exc:
            self.event(f"client gone while receiving: {type(exc).__name__}")
            raise Closed() from exc
        if not chunk:
            self.event("client closed")
            raise Closed()
        self.received += len(chunk)
        if self.received > self.args.max_bytes:
            self.event("max-bytes received")
            raise Closed()
        self.buf += chunk

    def readline(self):
        """One line up to LF, without its CRLF (or LF)."""
        self.early = b"\n" in self.buf
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_COMMAND_LINE:
                self.event("command line too long")
                raise Closed()
            self.fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line[:-1] if line.endswith(b"\r") else line

    def read_data(self):
        """The raw message data up to and including CRLF "." CRLF."""
        # The terminator may come first (an empty message): search with a virtual CRLF
        # in front, as the DATA command's own line end is part of the sequence.
        while True:
            probe = b"\r\n" + self.buf
            end = probe.find(b"\r\n.\r\n")
            if end >= 0:
                size = end + 5 - 2
                raw, self.buf = self.buf[:size], self.buf[size:]
                return raw
            self.fill()

    # --- scripted replies --------------------------------------------------------------

    def reply(self, stage, default):
        spec = self.args.replies.get(stage)
        if spec is None:
            self.send(with_crlf(default))
            return default[:3]
        if spec == "close":
            self.event(f"scripted close at {stage}")
            raise Closed()
        if spec == "silent":
            self.event(f"scripted silence at {stage}")
            while True:  # until the client gives up (or the lifetime ends)
                self.fill()
                self.buf = b""
        if spec == "endless":
            self.event(f"endless line at {stage}")
            self.send(b"220 ")
            block = b"a" * 65536
            while True:
                self.send(block)
        if spec == "endless-lines":
            self.event(f"endless lines at {stage}")
            block = b"250-" + b"a" * 60 + b"\r\n"
            block *= 1024
            while True:
                self.send(block)
        if spec.startswith("trickle:"):
            self.event(f"trickle at {stage}")
            for byte in with_crlf(spec[len("trickle:"):]):
                self.send(bytes([byte]))
                time.sleep(self.args.trickle_delay)
            return spec[len("trickle:"):][:3]
        self.send(with_crlf(spec))
        return spec[:3]

    # --- the dialogue ------------------------------------------------------------------

    def ehlo_lines(self):
        lines = ["localhost rawsmtp"]
        if self.args.pipelining:
            lines.append("PIPELINING")
        if self.args.size is not None:
            lines.append(f"SIZE {self.args.size}")
        if not self.args.no_8bitmime:
            lines.append("8BITMIME")
        if self.args.smtputf8:
            lines.append("SMTPUTF8")
        if self.args.starttls and not self.tls:
            lines.append("STARTTLS")
        if self.args.auth:
            lines.append("AUTH PLAIN LOGIN")
        lines.append("HELP")
        return "\r\n".join(
            f"250{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)
        )

    def run(self):
        self.event("connect")
        try:
            if self.args.tls:
                self.start_tls()
            self.reply("GREETING", "220 localhost rawsmtp ready")
            while True:
                line = self.readline()
                self.command(line)
                verb = line.split(b" ", 1)[0].upper().decode("latin-1")
                if not self.dispatch(verb, line):
                    break
        except Closed:
            pass
        finally:
            self.event("closed")
            try:
                self.sock.close()
            except OSError:
                pass

    def dispatch(self, verb, line):
        """Answers one command; False ends the connection."""
        if verb in ("EHLO", "HELO"):
            self.reply("EHLO", self.ehlo_lines())
        elif verb == "STARTTLS":
            if "STARTTLS" in self.args.replies:
                self.reply("STARTTLS", "")
                return True
            self.send(b"220 2.0.0 Ready to start TLS\r\n" + self.args.inject)
            if self.args.inject:
                self.event(f"injected {len(self.args.inject)} bytes after 220")
            self.start_tls()
        elif verb == "AUTH":
            self.auth(line)
        elif verb == "MAIL":
            self.mail(line)
        elif verb == "RCPT":
            self.reply("RCPT", "250 2.1.5 OK")
        elif verb == "DATA":
            if self.reply("DATA", "354 End data with <CR><LF>.<CR><LF>") == "354":
                raw = self.read_data()
                seq, name = self.rec.save_data(raw)
                self.rec.write({"conn": self.conn, "tls": self.tls, "kind": "data",
                                "seq": seq, "file": name, "bytes": len(raw)})
                self.reply("DOT", f"250 2.0.0 OK queued as {seq:04d}")
        elif verb == "RSET":
            self.reply("RSET", "250 2.0.0 OK")
        elif verb == "NOOP":
            self.reply("NOOP", "250 2.0.0 OK")
        elif verb == "QUIT":
            self.reply("QUIT", "221 2.0.0 Bye")
            return False
        else:
            self.send(b"500 5.5.2 Error: command not recognized\r\n")
        return True

    def auth(self, line):
        if "AUTH" in self.args.replies:
            self.reply("AUTH", "")
            return
        words = line.split()
        mechanism = words[1].upper() if len(words) > 1 else b""
        if mechanism == b"LOGIN":
            for prompt in (b"334 VXNlcm5hbWU6\r\n", b"334 UGFzc3dvcmQ6\r\n"):
                self.send(prompt)
                self.command(self.readline())
        elif mechanism == b"PLAIN" and len(words) < 3:
            self.send(b"334 \r\n")
            self.command(self.readline())
        self.send(b"235 2.7.0 Authentication successful\r\n")

    def mail(self, line):
        if self.args.size is not None:
            for word in line.split(b">", 1)[-1].split():
                key, _, value = word.partition(b"=")
                if key.upper() == b"SIZE" and value.isdigit() and int(value) > self.args.size:
                    self.send(b"552 5.3.4 Message size exceeds fixed limit\r\n")
                    return
        self.reply("MAIL", "250 2.1.0 OK")

    def start_tls(self):
        try:
            self.sock = self.ctx.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            self.event(f"tls failed: {exc}")
            raise Closed() from exc
        self.tls = True
        # RFC 3207 §6: nothing the client sent before TLS counts after it.
        self.buf = b""
        self.event("tls established")


def with_crlf(text):
    data = unescape(text) if isinstance(text, str) else text
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    recorder = Recorder(args.dir)
    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    sys.stdout.write(f"PORT {listener.getsockname()[1]}\n")
    sys.stdout.flush()

    # Bounded lifetime, whatever the client does.
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    if args.exit_on_stdin_eof:
        def watch_stdin():
            while os.read(sys.stdin.fileno(), 4096):
                pass
            os._exit(0)
        threading.Thread(target=watch_stdin, daemon=True).start()

    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(args, recorder, sock, ctx)
        threading.Thread(target=conn.run, daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
