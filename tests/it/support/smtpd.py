#!/usr/bin/python3
"""Scripted SMTP server for rmail's integration tests.

Built on Debian's aiosmtpd 1.4.3 (package python3-aiosmtpd); run it with /usr/bin/python3,
which is the interpreter that package installs for.

    /usr/bin/python3 tests/it/support/smtpd.py --dir OUTDIR [options]

It listens on 127.0.0.1 (a free port unless --port is given), prints exactly
"PORT <n>" on stdout once it accepts connections, and runs until killed (or, with
--exit-on-stdin-eof, until its stdin is closed, so that a crashed test leaves no orphan).

What it leaves in OUTDIR:
  NNNN.eml      the DATA bytes of each accepted message exactly as received (CRLF kept,
                dot-stuffing removed), NNNN counting 0001, 0002, ...
  NNNN.json     {"seq", "conn", "mail_from", "rcpt_tos", "mail_options", "tls", "auth_user"}.
                Written after the .eml: its presence means the message is complete. Both
                files are written under a temporary name and renamed into place.
  session.log   one line per event, in arrival order:
                  "<conn> <plain|tls> > <line the client sent>"   (commands and AUTH
                                                                    responses, not DATA content)
                  "<conn> <plain|tls> * <event>"                   (connect, greeting-code,
                                                                    drop-in-data, ...)
                <conn> numbers connections from 1; plain/tls tells whether the line travelled
                inside TLS (after STARTTLS, or always with --security tls).

See --help for the scripted behaviours (error replies, dropped connections, stalls).
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings
from base64 import b64decode

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as exc:  # pragma: no cover - environment problem, reported clearly
    sys.stderr.write(
        f"smtpd.py: cannot import aiosmtpd ({exc}); install Debian's python3-aiosmtpd "
        "and run this script with /usr/bin/python3\n"
    )
    sys.exit(69)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Scripted SMTP server for rmail's tests.")
    p.add_argument("--dir", required=True, help="where messages and session.log are written")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--security", choices=["none", "starttls", "tls"], default="none",
                   help="none: plain; starttls: offer STARTTLS and require it before MAIL; "
                        "tls: implicit TLS from the first byte")
    p.add_argument("--no-starttls", action="store_true",
                   help="plain server that does not advertise STARTTLS (same as --security none)")
    p.add_argument("--cert", help="PEM certificate (chain) for starttls/tls")
    p.add_argument("--key", help="PEM private key for starttls/tls")
    p.add_argument("--auth", metavar="USER:PASS",
                   help="require AUTH (PLAIN and LOGIN offered) with these credentials; "
                        "a wrong login gets 535")
    p.add_argument("--greeting-code", type=int, metavar="CODE",
                   help="greet with this code (e.g. 421) and close the connection")
    p.add_argument("--rcpt-reply", action="append", default=[], metavar="ADDR=CODE",
                   help="answer RCPT TO:<ADDR> with CODE (e.g. 550, 451); repeatable")
    p.add_argument("--data-reply", type=int, metavar="CODE",
                   help="answer every message's end of DATA with CODE (e.g. 552, 451)")
    p.add_argument("--drop-in-data", action="store_true",
                   help="after DATA's 354, read a line of content, then reset the connection "
                        "without replying")
    p.add_argument("--stall", action="store_true",
                   help="accept TCP connections but never send anything (not even a TLS "
                        "handshake): for client timeouts")
    p.add_argument("--fail-first", type=int, metavar="N",
                   help="apply --rcpt-reply/--data-reply/--drop-in-data only to the first N "
                        "transactions (MAIL commands) and --greeting-code only to the first N "
                        "connections; later ones succeed (for retry tests)")
    p.add_argument("--only-transaction", type=int, metavar="N",
                   help="apply --rcpt-reply/--data-reply/--drop-in-data only to transaction "
                        "(MAIL command) number N, counted from 1 over all connections")
    p.add_argument("--max-size", type=int, metavar="BYTES", default=33554432,
                   help="SIZE limit advertised and enforced (default 32 MiB)")
    p.add_argument("--xoauth2", action="store_true",
                   help="also offer AUTH XOAUTH2; the --auth password is the bearer token")
    p.add_argument("--xoauth2-introspect", metavar="URL",
                   help="offer AUTH XOAUTH2 only, and accept a bearer token only if this OAuth "
                        "2.0 introspection endpoint (RFC 7662) says it is active and has the "
                        "smtp scope; the XOAUTH2 user= is recorded as auth_user")
    p.add_argument("--introspect-client", metavar="ID:SECRET", default="smtpd:smtpd-secret",
                   help="client credentials for --xoauth2-introspect (HTTP Basic)")
    p.add_argument("--pipelining", action="store_true",
                   help="advertise PIPELINING (RFC 2920); aiosmtpd reads pipelined commands anyway")
    p.add_argument("--no-smtputf8", action="store_true",
                   help="do not offer SMTPUTF8 (RFC 6531); aiosmtpd then refuses non-ASCII "
                        "addresses and the SMTPUTF8 parameter")
    p.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="exit when stdin reaches end of file (the test harness holds a pipe)")
    args = p.parse_args(argv)

    if args.no_starttls:
        if args.security != "none":
            p.error("--no-starttls contradicts --security " + args.security)
    if args.security != "none" and not (args.cert and args.key):
        p.error(f"--security {args.security} needs --cert and --key")

    rcpt_replies = {}
    for item in args.rcpt_reply:
        addr, sep, code = item.rpartition("=")
        if not sep or not addr or not code.isdigit() or len(code) != 3:
            p.error(f"--rcpt-reply wants ADDR=CODE with a 3-digit code, got {item!r}")
        rcpt_replies[addr.lower()] = int(code)
    args.rcpt_replies = rcpt_replies

    if args.xoauth2_introspect is not None and (args.auth is not None or args.xoauth2):
        p.error("--xoauth2-introspect replaces --auth/--xoauth2")
    if args.auth is not None:
        user, sep, password = args.auth.partition(":")
        if not sep or not user:
            p.error("--auth wants USER:PASS")
        args.auth_user, args.auth_password = user, password
    return args


def reply_text(code, what):
    """A plausible reply line for a scripted CODE (the text is for humans and logs only)."""
    kind = "temporarily" if 400 <= code < 500 else "permanently"
    return f"{code} {what} {kind} rejected by the test server"


class Recorder:
    """Owns OUTDIR: numbers connections and messages, writes session.log and messages."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.conn_count = 0
        self.seq = 0
        # Unbuffered: each line is one write() so a concurrent reader sees whole lines,
        # and nothing is lost when the server is killed.
        self.log = open(os.path.join(outdir, "session.log"), "ab", buffering=0)

    def new_conn(self):
        self.conn_count += 1
        return self.conn_count

    def log_line(self, conn, tls, marker, text):
        if isinstance(text, bytes):
            text = text.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")
        state = "tls" if tls else "plain"
        self.log.write(f"{conn} {state} {marker} {text}\n".encode("utf-8", "backslashreplace"))

    def _write_atomic(self, name, data):
        tmp = os.path.join(self.outdir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.outdir, name))

    def save(self, conn, tls, auth_user, envelope):
        self.seq += 1
        stem = f"{self.seq:04d}"
        # The .eml first: the .json marks the message as complete for readers.
        self._write_atomic(f"{stem}.eml", envelope.original_content)
        meta = {
            "seq": self.seq,
            "conn": conn,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "tls": tls,
            "auth_user": auth_user,
        }
        self._write_atomic(f"{stem}.json", json.dumps(meta, indent=1).encode("utf-8"))
        return stem


class Handler:
    """aiosmtpd hooks: scripted RCPT/DATA replies and saving accepted messages."""

    def __init__(self, args, recorder):
        self.args = args
        self.recorder = recorder
        self.transactions = 0

    def scripted(self, envelope):
        """Whether the scripted failures apply to this envelope's transaction."""
        txn_no = getattr(envelope, "txn_no", 0)
        if self.args.only_transaction is not None:
            return txn_no == self.args.only_transaction
        if self.args.fail_first is None:
            return True
        return txn_no <= self.args.fail_first

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # Number transactions so --fail-first can let later ones through. Returning a
        # status means aiosmtpd leaves the envelope to us.
        self.transactions += 1
        envelope.txn_no = self.transactions
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.args.rcpt_replies.get(address.lower())
        if code is not None and self.scripted(envelope):
            return reply_text(code, f"<{address}>")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_reply is not None and self.scripted(envelope):
            return reply_text(self.args.data_reply, "message")
        auth_user = session.auth_data if session.authenticated else None
        stem = self.recorder.save(server.conn_no, server.is_tls(), auth_user, envelope)
        return f"250 2.0.0 OK queued as {stem}"


class LoggingReader:
    """Wraps the connection's StreamReader to copy the client's lines to session.log.

    aiosmtpd 1.4.3 reads command lines with readuntil() (default separator), AUTH
    responses with readline(), and DATA content with readuntil(b"\\r\\n"); only the first
    two are logged. Attribute writes are forwarded because aiosmtpd swaps the reader's
    transport in place after STARTTLS.
    """

    def __init__(self, inner, on_line):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_on_line", on_line)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        setattr(self._inner, name, value)

    async def readuntil(self, separator=b"\n"):
        line = await self._inner.readuntil(separator)
        if separator == b"\n" and line:
            self._on_line(line)
        return line

    async def readline(self):
        line = await self._inner.readline()
        if line:  # b"" is end of file, not a line
            self._on_line(line)
        return line


class ScriptedSMTP(SMTP):
    """aiosmtpd's SMTP protocol plus logging, greeting codes and dropped DATA."""

    def __init__(self, handler, args, recorder, implicit_tls, **kwargs):
        self.args = args
        self.recorder = recorder
        self.implicit_tls = implicit_tls
        self.conn_no = None
        self.inner_reader = None
        super().__init__(handler, **kwargs)

    def is_tls(self):
        return self.implicit_tls or self._tls_protocol is not None

    def log(self, marker, text):
        self.recorder.log_line(self.conn_no, self.is_tls(), marker, text)

    def connection_made(self, transport):
        # Called a second time on the same object after STARTTLS: number only the first.
        first = self.conn_no is None
        if first:
            self.conn_no = self.recorder.new_conn()
        super().connection_made(transport)
        if first:
            self.log("*", "connect")
        else:
            self.log("*", "tls established")

    def connection_lost(self, error):
        self.log("*", "closed")
        super().connection_lost(error)

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        self.inner_reader = reader
        self._reader = LoggingReader(reader, lambda line: self.log(">", line))

    async def _handle_client(self):
        code = self.args.greeting_code
        if code is not None and (self.args.fail_first is None
                                 or self.conn_no <= self.args.fail_first):
            self.log("*", f"greeting-code {code}")
            await self.push(f"{code} localhost Service not available, closing channel (test)")
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg):
        if not (self.args.drop_in_data and self.event_handler.scripted(self.envelope)):
            return await super().smtp_DATA(arg)
        # Same preconditions as aiosmtpd's smtp_DATA, then cut the line mid-message.
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            return await self.push("503 Error: need RCPT command")
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            # Read one line so the client is surely in the middle of sending content.
            await asyncio.wait_for(self.inner_reader.readuntil(b"\r\n"), timeout=10)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        self.log("*", "drop-in-data: connection reset")
        # abort(), not close(): no reply, no TLS close_notify, unread data makes it an RST.
        self.transport.abort()
        # Park here: connection_lost() cancels this coroutine. Returning would let
        # _handle_client read the rest of the buffered content as commands.
        await asyncio.get_running_loop().create_future()


class StallProtocol(asyncio.Protocol):
    """--stall: hold connections open, never answer (not even a TLS handshake)."""

    def __init__(self, recorder):
        self.recorder = recorder
        self.conn_no = None

    def connection_made(self, transport):
        self.transport = transport
        self.conn_no = self.recorder.new_conn()
        self.recorder.log_line(self.conn_no, False, "*", "connect (stall)")

    def data_received(self, data):
        pass  # ignore whatever the client sends

    def connection_lost(self, exc):
        self.recorder.log_line(self.conn_no, False, "*", "closed")


def tls_context(args):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


async def serve(args):
    loop = asyncio.get_running_loop()
    os.makedirs(args.dir, exist_ok=True)
    recorder = Recorder(args.dir)
    if args.xoauth2_introspect:
        handler = IntrospectingXOAuth2Handler(args, recorder)
    else:
        handler = (XOAuth2Handler if args.xoauth2 else Handler)(args, recorder)

    ctx = tls_context(args) if args.security != "none" else None
    listen_ssl = None
    if args.stall:
        factory = lambda: StallProtocol(recorder)  # noqa: E731
    else:
        implicit = args.security == "tls"
        listen_ssl = ctx if implicit else None
        smtp_kwargs = dict(
            hostname="localhost",  # the default, getfqdn(), may wait on DNS
            ident="rmail-test-smtpd",
            loop=loop,
            enable_SMTPUTF8=not args.no_smtputf8,
            data_size_limit=args.max_size,
            timeout=120,
        )
        if args.security == "starttls":
            smtp_kwargs.update(tls_context=ctx, require_starttls=True)
        if args.xoauth2_introspect:
            smtp_kwargs.update(
                # No password mechanism: the only way in is a token the provider vouches for.
                authenticator=lambda *_: AuthResult(success=False, handled=False),
                auth_exclude_mechanism=["PLAIN", "LOGIN"],
                auth_required=True,
                auth_require_tls=args.security == "starttls",
            )
        elif args.auth is not None:
            smtp_kwargs.update(
                authenticator=make_authenticator(args.auth_user, args.auth_password),
                auth_required=True,
                # aiosmtpd only counts STARTTLS as TLS: with implicit TLS (or none) its
                # auth_require_tls would refuse AUTH on an encrypted connection.
                auth_require_tls=args.security == "starttls",
            )
        factory = lambda: ScriptedSMTP(handler, args, recorder, implicit, **smtp_kwargs)  # noqa: E731

    server = await loop.create_server(factory, host="127.0.0.1", port=args.port, ssl=listen_ssl)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()

    stop = loop.create_future()

    def request_stop(*_):
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    if args.exit_on_stdin_eof:
        def on_stdin():
            try:
                data = os.read(sys.stdin.fileno(), 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(sys.stdin.fileno())
                request_stop()
        loop.add_reader(sys.stdin.fileno(), on_stdin)

    await stop
    server.close()


class XOAuth2Handler(Handler):
    """Handler that also offers AUTH XOAUTH2 (as Gmail and Microsoft 365 do)."""

    async def auth_XOAUTH2(self, server, args):
        # Initial response: base64("user=" USER ^A "auth=Bearer " TOKEN ^A ^A).
        try:
            fields = b64decode(args[1]).decode().split("\x01")
            user = fields[0].removeprefix("user=")
            token = fields[1].removeprefix("auth=Bearer ")
        except Exception:
            return AuthResult(success=False, handled=False)
        if (user, token) == (self.args.auth_user, self.args.auth_password):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)


class IntrospectingXOAuth2Handler(Handler):
    """AUTH XOAUTH2 against a real authorization server: a token is good if the provider's
    introspection endpoint says it is active (not expired, not revoked) and carries the
    smtp scope. Each decision is logged as "* xoauth2 <user> active|inactive" (never the token).
    """

    def introspect(self, token):
        import urllib.parse
        import urllib.request
        from base64 import b64encode

        credentials = b64encode(self.args.introspect_client.encode()).decode()
        request = urllib.request.Request(
            self.args.xoauth2_introspect,
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {credentials}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        return bool(answer.get("active")) and "smtp" in answer.get("scope", "").split()

    async def auth_XOAUTH2(self, server, args):
        try:
            fields = b64decode(args[1]).decode().split("\x01")
            user = fields[0].removeprefix("user=")
            token = fields[1].removeprefix("auth=Bearer ")
        except Exception:
            return AuthResult(success=False, handled=False)
        loop = asyncio.get_running_loop()
        try:
            active = await loop.run_in_executor(None, self.introspect, token)
        except Exception as exc:  # the provider is part of the test: say why it failed
            server.log("*", f"xoauth2 introspection failed: {exc}")
            active = False
        server.log("*", f"xoauth2 {user} {'active' if active else 'inactive'}")
        if active:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)


def make_authenticator(user, password):
    expected = (user.encode("utf-8"), password.encode("utf-8"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == expected:
            return AuthResult(success=True, auth_data=user)
        # handled=False makes aiosmtpd send "535 5.7.8 Authentication credentials invalid";
        # with the default handled=True it sends nothing and the client hangs.
        return AuthResult(success=False, handled=False)

    return authenticator


def main(argv):
    args = parse_args(argv)
    # stderr is for real trouble (tracebacks, failed TLS handshakes): silence aiosmtpd's
    # per-session deprecation chatter and its warning about AUTH without TLS, which the
    # tests ask for on purpose.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    asyncio.run(serve(args))
    # Skip interpreter teardown: open client connections may still hold tasks.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
