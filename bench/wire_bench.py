"""Bytes on the wire, as a phone receives them: the real server (``ccch serve``) over loopback.

Counts every byte the server sends (status line, headers, body, exactly as read from the socket)
for what a phone's browser fetches on a first visit, with the headers such a browser sends
(``Accept-Encoding: gzip, deflate, br`` among them) and an empty cache:

1. **the citizen's first visit**: a poster's survey page and everything it loads (target
   ≤ 6 KB transferred);
2. **the contest attempt page** with its CSS and JavaScript, for a participant who has just
   registered and started (target ≤ 8 KB);
3. the same without ``Accept-Encoding`` (what was sent before compression), and the second visit
   (the stylesheet and script are cached for a year under their content-hashed names: only the
   page travels).

The figures do not depend on the machine's load. Also printed: the server CPU time per page with
and without gzip (the survey page is stored compressed, so it should cost nothing more).

    .venv/bin/python bench/wire_bench.py
"""

from __future__ import annotations

import gzip
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from _common import free_port, wait_until_up
from contest_bench import CANONICAL, SLUG
from contest_bench import make_deployment as contest_deployment

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
PHONE = {  # what Chrome on Android sends for a page, less the client hints
    "User-Agent": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
                  "Mobile Safari/537.36",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Encoding": "gzip, deflate, br",
    "Accept-Language": "vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7",
}
SUBRESOURCES = re.compile(rb'<link rel="stylesheet" href="([^"]+)"|<script src="([^"]+)"|<img [^>]*src="([^"]+)"')


class Phone:
    """One browser with an empty cache: raw HTTP/1.1, a new connection per request (as the sync
    workers of ``ccch serve`` close them), cookies kept, bytes counted as they arrive."""

    def __init__(self, port: int, *, gzip_ok: bool = True):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers = dict(PHONE) if gzip_ok else {k: v for k, v in PHONE.items() if k != "Accept-Encoding"}

    def fetch(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, bytes, int]:
        """(status, headers, decoded body, bytes received); ``headers["_head"]``: the status line's and
        headers' bytes."""
        body = urllib.parse.urlencode(form).encode() if form is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", *(f"{k}: {v}" for k, v in self.headers.items())]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            raw = b""
            while b"\r\n\r\n" not in raw:
                raw += sock.recv(65536)
            header_bytes, rest = raw.split(b"\r\n\r\n", 1)
            lines = header_bytes.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, value = line.split(":", 1)
                if name.lower() == "set-cookie":
                    cookie = value.strip().split(";", 1)[0]
                    self.cookies[cookie.split("=", 1)[0]] = cookie.split("=", 1)[1]
                headers[name.lower()] = value.strip()
            length = int(headers.get("content-length", 0))
            while len(rest) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
        received = len(header_bytes) + 4 + len(rest)
        headers["_head"] = str(len(header_bytes) + 4)
        decoded = gzip.decompress(rest) if headers.get("content-encoding") == "gzip" else rest
        return status, headers, decoded, received

    def visit(self, path: str, method: str = "GET", form: dict | None = None,
              cached: set[str] | None = None) -> tuple[int, list[str], bytes]:
        """A page and what it loads (minus what ``cached`` holds): bytes received, what was fetched."""
        status, headers, page, total = self.fetch(method, path, form)
        assert status == 200, (path, status, page[:300])
        fetched = [f"{path} {total:,} B (headers {headers['_head']} B; {headers.get('content-encoding', 'identity')})"]
        for match in SUBRESOURCES.finditer(page):
            url = next(g for g in match.groups() if g).decode()
            if cached is not None and url in cached:
                continue
            status, headers, _, size = self.fetch("GET", url)
            assert status == 200, (url, status)
            total += size
            fetched.append(f"{url} {size:,} B (headers {headers['_head']} B; {headers.get('content-encoding', 'identity')})")
            if cached is not None:
                cached.add(url)
        return total, fetched, page


def start_attempt(phone: Phone, slug: str, number: int) -> str:
    """Register in the audience without a code and start at once ("start now", checked on the
    form); the path of the attempt page."""
    status, _, page, _ = phone.fetch("GET", f"/cuoc-thi/{slug}/dang-ky")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    suffix = (int(time.time() * 1000) + number * 7919) % 100_000_000
    status, headers, page, _ = phone.fetch("POST", f"/cuoc-thi/{slug}/dang-ky", {
        "csrf_token": token, "full_name": "Người Dự Thi Đo Tải", "phone": f"09{suffix:08d}",
        "birth_year": "1985", "audience": "khach", "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"})
    found = CANONICAL.search(page) if status == 200 else None
    if found is None:
        location = headers.get("location", "")
        assert "/bai-thi/" in location, (status, headers, page[:300])
        return urllib.parse.urlsplit(location).path
    return urllib.parse.urlsplit(found.group(1).decode()).path


def ccch(config: Path, *args: str) -> str:
    return subprocess.run([CCCH, "-c", str(config), *args], check=True, capture_output=True, text=True).stdout


def make_deployment(folder: Path) -> tuple[Path, str]:
    """The contest benchmark's deployment (a published contest, a round open now) with the survey
    plugin and the SIPAS template placed at the district centre; returns its config and a code."""
    config = contest_deployment(folder, 2000, 0, limits_open=True)  # the contest benchmark's bank
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"plugins = \[(.*)\]", r'plugins = ["survey", \1]', text, count=1)
    config.write_text(text, encoding="utf-8")
    ccch(config, "survey", "load", "--template", "sipas")
    ccch(config, "survey", "place", "sipas", "trung-tam-hcc", "--place", "Sảnh chờ")
    code = re.findall(r"^([2-9A-Z]{6})\s", ccch(config, "survey", "placements"), re.MULTILINE)[0]
    return config, code


def server_cpu(pgid: int) -> float:
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[2]) == pgid:
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_per_page(port: int, pgid: int, path: str, gzip_ok: bool, count: int) -> float:
    """Server CPU ms per GET of ``path`` (``count`` requests, new phone each: no cookies)."""
    before = server_cpu(pgid)
    for _ in range(count):
        Phone(port, gzip_ok=gzip_ok).fetch("GET", path)
    return (server_cpu(pgid) - before) / count * 1000


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-requests", type=int, default=2000, help="requests per CPU-time figure (0: skip)")
    parser.add_argument("--show-headers", action="store_true", help="print the headers of the attempt page")
    parser.add_argument("--save", type=Path, help="keep the pages (decoded) in this folder")
    parser.add_argument("--attempts", type=int, default=15, help="attempts measured (each draws its own questions)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ccch-wire-bench-"))
    config, code = make_deployment(folder)
    port = free_port()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f}; ccch serve (defaults) on loopback")
    server = subprocess.Popen([CCCH, "-c", str(config), "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        for gzip_ok in (True, False):
            label = "gzip" if gzip_ok else "no Accept-Encoding"
            phone = Phone(port, gzip_ok=gzip_ok)
            cache: set[str] = set()
            total, fetched, _ = phone.visit(f"/k/{code}", cached=cache)
            verdict = (" (target <= 6,144 B: " + ("met" if total <= 6144 else "NOT met") + ")") if gzip_ok else ""
            print(f"citizen's first visit, {label}: {total:,} B in {len(fetched)} requests{verdict}")
            for line in fetched:
                print(f"    {line}")
            again, fetched, _ = Phone(port, gzip_ok=gzip_ok).visit(f"/k/{code}", cached=cache)
            print(f"  a second citizen on the same phone (stylesheet cached): {again:,} B in {len(fetched)} request")

            totals = []
            for number in range(args.attempts):
                phone = Phone(port, gzip_ok=gzip_ok)
                slug = SLUG
                attempt_path = start_attempt(phone, slug, number)
                if args.show_headers and gzip_ok and not number:
                    print({k: v for k, v in phone.fetch("GET", attempt_path)[1].items() if k != "_head"})
                cache = set()
                total, fetched, page = phone.visit(attempt_path, cached=cache)
                totals.append(total)
            totals.sort()
            median = totals[len(totals) // 2]
            verdict = (" (target <= 8,192 B: " + ("met" if median <= 8192 else "NOT met") + ")") if gzip_ok else ""
            print(f"contest attempt page with its CSS and JS, {label}: median {median:,} B, smallest {totals[0]:,}, "
                  f"largest {totals[-1]:,} over {len(totals)} attempts (each its own draw of questions){verdict}; "
                  f"{page.count(b'<fieldset')} questions; the last one:")
            for line in fetched:
                print(f"    {line}")
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / "attempt.html").write_bytes(page)
            again, fetched, _ = phone.visit(attempt_path, cached=cache)
            print(f"  the same page again (CSS and JS cached): {again:,} B")
        if args.cpu_requests:
            for path in (f"/k/{code}", f"/cuoc-thi/{slug}/dang-ky"):
                for gzip_ok in (False, True, False, True):
                    ms = cpu_per_page(port, server.pid, path, gzip_ok, args.cpu_requests)
                    print(f"server CPU a GET {path} {'gzip' if gzip_ok else 'identity'}: {ms:.3f} ms")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
