"""Helpers shared by the benchmarks (run as scripts: ``bench/`` is on ``sys.path``)."""

from __future__ import annotations

import socket
import time
import urllib.request


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def letters(n: int) -> str:
    """0 → "A", 25 → "Z", 26 → "BA": a name part without digits (names refuse digits)."""
    out = ""
    while True:
        out = chr(ord("A") + n % 26) + out
        n //= 26
        if not n:
            return out


def wait_until_up(url: str, timeout: float = 30) -> None:
    """Wait until ``url`` answers (the server started), or stop the benchmark."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")
