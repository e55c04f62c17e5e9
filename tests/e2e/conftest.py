"""End-to-end journeys in a real browser: Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` through
``executable_path``. When Chromium (or pdftoppm, used to read printed posters) is missing and the
tests run as root with apt available, the setup installs the Debian packages, so that a fresh CI
machine passes; otherwise it stops with the command to run.

Each journey runs the real server (``ccch serve``, gunicorn) on a free loopback port against a
deployment in a temporary folder: a copy of the Đức Thọ plan moved to the current year, so that a
report submitted today is on time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccch_core.periods import Period

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHOTS = Path(os.environ.get("CCCH_E2E_SHOTS", ROOT / "build" / "e2e-screenshots"))
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
PASSWORD = "mat-khau-e2e-2024"
DEBIAN_PACKAGES = {"chromium": "chromium", "pdftoppm": "poppler-utils"}


def _ensure_debian_tools() -> None:
    missing = [pkg for tool, pkg in DEBIAN_PACKAGES.items() if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    pytest.fail(f"the browser journeys need Debian packages: sudo apt-get install -y {' '.join(missing)}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    _ensure_debian_tools()
    return shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def current_year_plan(target: Path) -> Path:
    """The Đức Thọ plan with its dates moved to this year (Vietnam time)."""
    year = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).year
    text = (ROOT / "examples" / "duc-tho-2024" / "plan.toml").read_text(encoding="utf-8")
    text = re.sub(r"\b2024-(\d\d)-(\d\d)\b", lambda m: f"{year}-{m.group(1)}-{m.group(2)}", text)
    text = text.replace("year = 2024", f"year = {year}")
    target.write_text(text, encoding="utf-8")
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ccch(config: Path | None, *args: str, stdin: str | None = None) -> str:
    command = [str(BIN / "ccch"), *(["--config", str(config)] if config else []), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, input=stdin, check=False,
                            env={**os.environ, "CCCH_STRICT_PLUGINS": "1"})
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@contextlib.contextmanager
def serving(config: Path, *, workers: int = 1, wait: float = 60) -> Iterator[str]:
    """``ccch serve`` for ``config`` on a free port while the block runs (stopped after it, whatever
    happens); yields its base URL once /healthz answers."""
    base = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [str(BIN / "ccch"), "--config", str(config), "serve", "--port", base.rsplit(":", 1)[1],
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + wait
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def suggestions(page, field_id: str, typed: str) -> list[str]:
    """What a unit picker (``unit-picker.js``) suggests once ``typed`` is in the field ``field_id``:
    the datalist's options, waited for up to 10 s (the page's CSP forbids wait_for_function)."""
    page.fill(f"#{field_id}", typed)
    page.dispatch_event(f"#{field_id}", "input")
    options: list[str] = []
    deadline = time.time() + 10
    while not options and time.time() < deadline:
        page.wait_for_timeout(200)
        options = page.eval_on_selector_all(f"#{field_id}-goi-y option", "els => els.map(e => e.value)")
    return options


class Server:
    """A deployment served by ``ccch serve`` for one test module."""

    def __init__(self, folder: Path, plugins: tuple[str, ...]):
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        plan = current_year_plan(folder / "source-plan.toml")
        ccch(None, "init", folder / "deployment", "--plan", plan, "--public-base-url", self.base,
             *[x for p in plugins for x in ("--plugin", p)])
        self.config = folder / "deployment" / "ccch.toml"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "ccch"), "--config", str(self.config), "serve", "--port", str(self.port), "--workers", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def user(self, username: str, role: str, unit: str | None = None) -> tuple[str, str]:
        ccch(self.config, "users", "add", username, "--role", role, *(["--unit", unit] if unit else []),
             "--password-stdin", stdin=PASSWORD + "\n")
        return username, PASSWORD


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    plugins = getattr(request.module, "PLUGINS", ())
    server = Server(tmp_path_factory.mktemp("e2e"), tuple(plugins))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shot(request):
    """``shot(page, name)``: save a screenshot under build/e2e-screenshots/<test>/ (and return its path)."""
    folder = SHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def this_month() -> Period:
    """The current month in Vietnam time."""
    return Period.current()


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base + "/dang-nhap")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")
