"""Soak and fault run: the real server under concurrent citizens and officers, for a bounded time.

Serves a fresh Đức Thọ deployment (survey + export plugins, the SIPAS survey on every one-stop desk)
with ``ccch serve`` (gunicorn), and from this second process runs, concurrently:

- citizens: each with fresh cookies opens a poster's survey and submits it (only a thank-you page
  counts as acknowledged; every acknowledged submission id is remembered);
- officers: a plan admin reading the dashboard and the roll-up.

Optionally, in the middle: a backup taken under load (``--backup-at``), and the server killed with
SIGKILL and restarted (``--kill-at``). At the end it checks that every acknowledged submission is in
the database, that ``PRAGMA integrity_check`` is ok (database and backup), that the backup is
consistent (no answer without its response), that nothing but intended 429s came back, and reports
the server's memory (RSS of the gunicorn processes) sampled through the run. It stops by itself.

    .venv/bin/python bench/soak.py --minutes 2 --citizens 20 --kill-at 40 --backup-at 20
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SID = re.compile(r'name="sid" value="([^"]+)"')
REQUIRED = re.compile(r'<fieldset id="(q-[^"]+)" data-required')
PASSWORD = "mat-khau-soak-2024"


def run(*args: str, stdin: str | None = None) -> str:
    return subprocess.run([CCCH, *args], check=True, capture_output=True, text=True, input=stdin).stdout


class Server:
    def __init__(self, config: Path, port: int):
        self.config, self.port, self.process = config, port, None

    def start(self) -> None:
        self.process = subprocess.Popen([CCCH, "-c", str(self.config), "serve", "--port", str(self.port),
                                         "--workers", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("server did not start")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def rss_kib(self) -> int:
        total = 0
        try:
            pids = subprocess.run(["pgrep", "-g", str(os.getpgid(self.process.pid))], capture_output=True,
                                  text=True).stdout.split()
        except ProcessLookupError:
            return 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total


class Client:
    """A tiny cookie-keeping HTTP client on one keep-alive connection."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return None, b"", None
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, data, response.headers.get("Location")


def citizen(port, codes, stop, acknowledged, statuses, lock, index):
    i = 0
    while not stop.is_set():
        code = codes[(index + i) % len(codes)]
        i += 1
        client = Client(port)  # fresh cookies: a new phone
        status, page, _ = client.request("GET", f"/k/{code}")
        with lock:
            statuses[("citizen-get", status)] += 1
        if status != 200:
            time.sleep(0.2)
            continue
        html = page.decode()
        sid = SID.search(html).group(1)
        form = [("csrf_token", TOKEN.search(html).group(1)), ("sid", sid), ("v", re.search(r'name="v" value="(\d+)"', html).group(1))]
        form += [(name, "4") for name in REQUIRED.findall(html)]
        status, _, location = client.request("POST", f"/k/{code}", form)
        with lock:
            statuses[("citizen-post", status)] += 1
            if status == 303 and location and location.endswith("/cam-on"):
                acknowledged.add(sid)
        client.conn.close()


def officer(port, stop, statuses, lock):
    client = Client(port)
    status, page, _ = client.request("GET", "/dang-nhap")
    token = TOKEN.search(page.decode()).group(1)
    client.request("POST", "/dang-nhap", [("csrf_token", token), ("username", "admin"), ("password", PASSWORD)])
    while not stop.is_set():
        for path in ("/?period=2024-03", "/tong-hop?period=2024-Q1"):
            status, _, _ = client.request("GET", path)
            with lock:
                statuses[("officer-get", status)] += 1
            if status is None:
                time.sleep(0.2)  # the server is restarting
            if status == 302:  # session lost (server restarted with the same key: should not happen)
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--citizens", type=int, default=16)
    parser.add_argument("--officers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, help="SIGKILL the server this many seconds in, then restart it")
    parser.add_argument("--backup-at", type=float, help="take a backup this many seconds in")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ccch-soak-"))
    run("init", str(folder / "d"), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml"), "--plugin", "survey",
        "--plugin", "export")
    config = folder / "d" / "ccch.toml"
    # No per-device or per-address limits: every simulated phone comes from 127.0.0.1.
    with config.open("a", encoding="utf-8") as f:
        f.write("\n[plugins.survey]\nresponses_per_device_per_day = 0\nsubmissions_per_address_per_hour = 0\n")
    run("-c", str(config), "survey", "load", str(ROOT / "examples/surveys/sipas.toml"))
    run("-c", str(config), "survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận")
    codes = re.findall(r"^([A-Z0-9]{4,})\s", run("-c", str(config), "survey", "placements"), re.M)
    run("-c", str(config), "users", "add", "admin", "--role", "plan_admin", "--password-stdin", stdin=PASSWORD + "\n")

    with socketless_port() as port:
        pass
    server = Server(config, port)
    server.start()
    stop = threading.Event()
    acknowledged: set[str] = set()
    statuses: collections.Counter = collections.Counter()
    lock = threading.Lock()
    threads = [threading.Thread(target=citizen, args=(port, codes, stop, acknowledged, statuses, lock, i))
               for i in range(args.citizens)]
    threads += [threading.Thread(target=officer, args=(port, stop, statuses, lock)) for _ in range(args.officers)]
    for t in threads:
        t.start()
    started = time.time()
    memory: list[tuple[float, int]] = []
    backup_path = folder / "backup.db"
    backup_done = kill_done = False
    acknowledged_at_kill = 0
    while time.time() - started < args.minutes * 60:
        time.sleep(1)
        elapsed = time.time() - started
        memory.append((elapsed, server.rss_kib()))
        if args.backup_at and not backup_done and elapsed >= args.backup_at:
            run("-c", str(config), "backup", str(backup_path))
            backup_done = True
        if args.kill_at and not kill_done and elapsed >= args.kill_at:
            with lock:
                acknowledged_at_kill = len(acknowledged)
            server.kill()
            server.start()
            kill_done = True
    stop.set()
    for t in threads:
        t.join(timeout=60)
    server.stop()

    db = sqlite3.connect(folder / "d" / "ccch.db")
    stored = {row[0] for row in db.execute("select submission_id from survey_responses")}
    lost = acknowledged - stored
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    # Connection failures are expected only while the killed server restarts.
    bad = {k: v for k, v in statuses.items()
           if (k[1] is None and not kill_done) or (k[1] is not None and (k[1] >= 500 or k[1] in (400, 403, 404)))}
    print(f"ran {args.minutes:g} min, {args.citizens} citizens, {args.officers} officers")
    for (kind, status), count in sorted(statuses.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        label = "connection failed (server down)" if status is None else status
        print(f"  {kind:13} {label}: {count:,}")
    print(f"acknowledged submissions: {len(acknowledged):,}; stored: {len(stored):,}; lost: {len(lost)}")
    if kill_done:
        print(f"server SIGKILLed and restarted after {args.kill_at:g} s ({acknowledged_at_kill:,} acknowledged before)")
    print(f"database integrity_check: {integrity}")
    if backup_done:
        b = sqlite3.connect(backup_path)
        orphans = b.execute("select count(*) from survey_answers a left join survey_responses r "
                            "on r.id = a.response_id where r.id is null").fetchone()[0]
        print(f"backup at {args.backup_at:g} s: integrity {b.execute('PRAGMA integrity_check').fetchone()[0]}, "
              f"{b.execute('select count(*) from survey_responses').fetchone()[0]:,} responses, "
              f"{orphans} answers without their response")
    if memory:
        steady = [m for t, m in memory if t > min(20, args.minutes * 30)] or [m for _, m in memory]
        print(f"server RSS: first {memory[0][1] / 1024:.0f} MiB, min {min(steady) / 1024:.0f}, "
              f"max {max(steady) / 1024:.0f}, last {memory[-1][1] / 1024:.0f} MiB")
    ok = not lost and integrity == "ok" and not bad
    print("RESULT:", "ok" if ok else f"PROBLEM (lost {len(lost)}, unexpected statuses {bad})")
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


class socketless_port:
    """A free loopback port (context manager for symmetry with the tests' helper)."""

    def __enter__(self):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
