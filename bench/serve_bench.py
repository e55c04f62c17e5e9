"""Throughput of the web shell under gunicorn and waitress, measured with wrk from a second process.

Builds a throw-away Đức Thọ deployment in a temporary folder, starts ``ccch serve`` with each
server, and runs wrk (Debian package ``wrk``) against a rendered page (the login form, a Jinja
template with the CSRF token: the cost of a typical small page) and a static file. Prints
requests/s per configuration and the ratio gunicorn / waitress.

    .venv/bin/python bench/serve_bench.py [--seconds 10] [--connections 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{non_2xx.group(1)} error responses from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    folder = Path(tempfile.mkdtemp(prefix="ccch-bench-"))
    subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml")],
                   check=True, capture_output=True)
    config = str(folder / "ccch.toml")
    configs = [
        ("gunicorn, 4 sync workers", ["--server", "gunicorn", "--workers", "4"]),
        ("gunicorn, 2 workers x 4 threads", ["--server", "gunicorn", "--workers", "2", "--threads", "4"]),
        ("gunicorn, 4 workers x 4 threads", ["--server", "gunicorn", "--workers", "4", "--threads", "4"]),
        ("waitress, 1 process, 4 threads", ["--server", "waitress", "--threads", "4"]),
    ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s")
    results: dict[tuple[str, str], float] = {}
    for label, options in configs:
        port = free_port()
        server = subprocess.Popen([CCCH, "-c", config, "serve", "--port", str(port), *options],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/dang-nhap")
            for page, path in (("login page (template)", "/dang-nhap"), ("static file", "/static/app.css")):
                rate = wrk(base + path, args.seconds, args.connections)
                results[(label, page)] = rate
                print(f"{label:32} {page:24} {rate:10,.0f} requests/s")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    for page in ("login page (template)", "static file"):
        ratio = max(results[(c[0], page)] for c in configs[:-1]) / results[(configs[-1][0], page)]
        print(f"ratio best gunicorn / waitress, {page}: {ratio:.2f}")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
