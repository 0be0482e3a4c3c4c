#!/usr/bin/env python3
"""Drives an interactive program through a pty, as an operator at a terminal would.

Usage: drive.py STEP... -- COMMAND ARG...
Each STEP is typed once the program's output has been quiet for a moment:
  keys with Python escapes (`\\x1b`, `\\r`), or
  `@sh:CMD` to run a shell command (as the caller) at that point, or
  `@sleep:SECONDS`.
Everything the program wrote is printed, then `EXIT=N` (128+N for a signal).
"""
import codecs
import os
import pty
import select
import subprocess
import sys
import time


def drain(fd, out, quiet=0.5, limit=8.0):
    """Reads until nothing came for `quiet` seconds (or `limit` passed, or EOF)."""
    start = last = time.monotonic()
    while time.monotonic() - start < limit:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            out.extend(chunk)
            last = time.monotonic()
        elif time.monotonic() - last >= quiet:
            return True
    return True


def main():
    split = sys.argv.index("--")
    steps, command = sys.argv[1:split], sys.argv[split + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    out = bytearray()
    drain(fd, out, quiet=1.0)
    for step in steps:
        if step.startswith("@sh:"):
            subprocess.run(step[4:], shell=True, check=False)
        elif step.startswith("@sleep:"):
            time.sleep(float(step[7:]))
        else:
            os.write(fd, codecs.decode(step, "unicode_escape").encode("latin-1"))
        drain(fd, out)
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        drain(fd, out, quiet=0.2, limit=0.5)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    drain(fd, out, quiet=0.2, limit=1.0)
    sys.stdout.write(out.decode("latin-1"))
    code = os.waitstatus_to_exitcode(status)
    print(f"\nEXIT={code if code >= 0 else 128 - code}")


main()
