#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, like a person at a terminal, and script the dialogue.

    terminal.py [--timeout SECS] [--expect REGEX | --send TEXT | --sleep SECS]... -- CMD [ARG...]

Steps run in order: --expect waits until REGEX appears in what the command printed (after
the previous match), --send types TEXT (Python escapes: "y\\n", "\\x04" is Ctrl-D, "\\x03"
Ctrl-C, which the terminal turns into SIGINT), --sleep waits. Afterwards the output is
read until the command exits. Stdout gets the whole transcript (the command's stdout and
stderr, as a terminal shows them); the exit status is the command's (128+N if signal N
killed it), 124 if a step or the command timed out. Standard library only.
"""
import argparse
import codecs
import os
import pty
import re
import select
import signal
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--expect", action="append", dest="steps", type=lambda s: ("expect", s))
    p.add_argument("--send", action="append", dest="steps", type=lambda s: ("send", s))
    p.add_argument("--sleep", action="append", dest="steps", type=lambda s: ("sleep", s))
    p.add_argument("command", nargs="+")
    args = p.parse_args()
    deadline = time.monotonic() + args.timeout

    pid, fd = pty.fork()
    if pid == 0:
        try:
            # As a login shell would: Ctrl-C reaches the command even when this driver was
            # started with SIGINT ignored (a background job of a non-interactive shell).
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execvp(args.command[0], args.command)
        finally:
            os._exit(127)

    out = bytearray()
    seen = 0  # where the next --expect starts looking
    eof = False

    def read_some(until):
        nonlocal eof
        wait = max(0.0, min(until, deadline) - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if chunk:
            out.extend(chunk)
        else:
            eof = True

    def give_up(why):
        sys.stdout.write(out.decode("utf-8", "replace"))
        sys.stderr.write(f"terminal.py: {why}\n")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        sys.exit(124)

    for kind, value in args.steps or []:
        if kind == "expect":
            pattern = re.compile(value.encode())
            while True:
                m = pattern.search(out, seen)
                if m:
                    seen = m.end()
                    break
                if eof or time.monotonic() > deadline:
                    give_up(f"never saw {value!r}")
                read_some(time.monotonic() + 0.2)
        elif kind == "send":
            os.write(fd, codecs.decode(value, "unicode_escape").encode("latin-1"))
        else:
            end = time.monotonic() + float(value)
            while time.monotonic() < end and not eof:
                read_some(end)

    while not eof:
        if time.monotonic() > deadline:
            give_up("the command did not finish in time")
        read_some(time.monotonic() + 0.2)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode("utf-8", "replace"))
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
