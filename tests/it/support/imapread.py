#!/usr/bin/python3
"""Independent IMAP reader for rmail's integration tests (Python's imaplib, not rmail's client).

    /usr/bin/python3 tests/it/support/imapread.py --port P --user U --password PW \
        [--ca CA.pem] [--mailbox NAME]

Connects to 127.0.0.1:P with implicit TLS (when --ca is given, verifying the server against
that CA) or plain IMAP, logs in, and prints one JSON object on stdout:

  {"mailboxes": [{"name": "<decoded name>", "raw": "<name as sent>", "flags": ["\\Sent", ...]}],
   "messages":  [{"flags": ["\\Seen"], "internaldate": "01-Dec-2026 09:00:00 +0000",
                  "raw": "<base64 of the exact message bytes>"}]}

"messages" is the content of --mailbox (its decoded UTF-8 name; default INBOX), read with
BODY.PEEK[] so that reading does not set \\Seen. Exit 0 on success; any failure is printed on
stderr with exit 1.
"""

import argparse
import base64
import imaplib
import json
import re
import ssl
import sys

LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def decode_mutf7(name: str) -> str:
    """RFC 3501 modified UTF-7 → str."""
    out, i = [], 0
    while i < len(name):
        if name[i] == "&":
            end = name.index("-", i)
            chunk = name[i + 1:end]
            if chunk == "":
                out.append("&")
            else:
                b64 = chunk.replace(",", "/")
                b64 += "=" * (-len(b64) % 4)
                out.append(base64.b64decode(b64).decode("utf-16-be"))
            i = end + 1
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def encode_mutf7(name: str) -> str:
    """str → RFC 3501 modified UTF-7."""
    out, pending = [], []

    def flush():
        if pending:
            b64 = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def unquote(raw: bytes) -> str:
    text = raw.decode("ascii")
    if text.startswith('"'):
        text = re.sub(r'\\(.)', r'\1', text[1:-1])
    return text


def quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--ca", help="verify implicit TLS against this CA (else plain IMAP)")
    p.add_argument("--mailbox", default="INBOX")
    args = p.parse_args()

    if args.ca:
        ctx = ssl.create_default_context(cafile=args.ca)
        imap = imaplib.IMAP4_SSL("127.0.0.1", args.port, ssl_context=ctx, timeout=10)
    else:
        imap = imaplib.IMAP4("127.0.0.1", args.port, timeout=10)
    imap.login(args.user, args.password)

    mailboxes = []
    typ, lines = imap.list()
    if typ != "OK":
        raise SystemExit(f"LIST failed: {lines}")
    for line in lines:
        if isinstance(line, tuple):  # a literal name: not used by these tests' servers
            continue
        m = LIST_LINE.match(line)
        if not m:
            raise SystemExit(f"cannot parse LIST line {line!r}")
        raw = unquote(m.group("name"))
        mailboxes.append({"name": decode_mutf7(raw), "raw": raw,
                          "flags": m.group("flags").decode("ascii").split()})

    messages = []
    typ, data = imap.select(quote(encode_mutf7(args.mailbox)), readonly=True)
    if typ != "OK":
        raise SystemExit(f"SELECT {args.mailbox} failed: {data}")
    count = int(data[0])
    if count:
        typ, data = imap.fetch(f"1:{count}", "(FLAGS INTERNALDATE BODY.PEEK[])")
        if typ != "OK":
            raise SystemExit(f"FETCH failed: {data}")
        for item in data:
            if not isinstance(item, tuple):
                continue  # the closing ")" of each FETCH response
            meta, body = item
            flags = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split()
            date = re.search(rb'INTERNALDATE "([^"]*)"', meta).group(1).decode()
            messages.append({"flags": flags, "internaldate": date,
                             "raw": base64.b64encode(body).decode("ascii")})
    imap.logout()
    json.dump({"mailboxes": mailboxes, "messages": messages}, sys.stdout)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # one clear line for the test's panic message
        sys.stderr.write(f"imapread.py: {type(exc).__name__}: {exc}\n")
        sys.exit(1)
