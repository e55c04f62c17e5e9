"""Take the documentation screenshots of the web shell with headless Chromium.

Uses Debian's chromium (``apt-get install chromium``) through Playwright's ``executable_path``;
Playwright never downloads a browser here. Builds a throw-away deployment of the Đức Thọ example
with its demo data in a temporary folder, serves it with waitress in a thread, signs in and saves
PNGs to docs/images/.

    .venv/bin/pip install playwright
    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import sync_playwright
from waitress.server import create_server

from ccch_core.cli import make_cli
from ccch_core.web import create_app

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
PASSWORD = "mat-khau-demo-2024"


def ccch(config: Path | None, *args: str) -> None:
    result = CliRunner().invoke(make_cli(config), [str(a) for a in args], input=PASSWORD + "\n")
    if result.exit_code != 0:
        sys.exit(result.output)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ccch-shots-"))
    example = ROOT / "examples" / "duc-tho-2024"
    ccch(None, "init", folder, "--plan", example / "plan.toml")
    config = folder / "ccch.toml"
    ccch(config, "measure", "import", example / "demo" / "measurements-2024-q1.csv")
    ccch(config, "report-activity", "--from-csv", example / "demo" / "activity-2024-03.csv")
    ccch(config, "users", "add", "admin", "--role", "plan_admin", "--name", "Phòng Văn hóa - Thông tin", "--password-stdin")
    ccch(config, "users", "add", "canbo.yenho", "--role", "unit_officer", "--unit", "xa-yen-ho",
         "--name", "Cán bộ xã Yên Hồ", "--password-stdin")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(create_app(config), host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for name, width, height in (("phone", 390, 844), ("desktop", 1280, 900)):
            for user, pages in (
                ("admin", [("dashboard", "/?period=2024-03")]),
                ("canbo.yenho", [("report-form", "/bao-cao/xa-yen-ho/2024-04")]),
            ):
                context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
                page = context.new_page()
                page.goto(base + "/dang-nhap")
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                with page.expect_navigation():
                    page.click("button[type=submit]")
                for shot, path in pages:
                    page.goto(base + path)
                    page.screenshot(path=str(OUT / f"{shot}-{name}.png"), full_page=False)
                    if shot == "dashboard":
                        # The dashboard's pictures (#18): progress toward the targets with the
                        # monthly trends, and the year's reporting grid.
                        page.locator("section[aria-labelledby=h-indicators]").screenshot(
                            path=str(OUT / f"dashboard-charts-{name}.png"))
                        page.locator("figure.chart-wide").screenshot(path=str(OUT / f"dashboard-grid-{name}.png"))
                if user == "canbo.yenho":
                    # The rejected form: a bad count, everything typed kept, the field marked.
                    page.select_option("#item-0-category", "broadcast")
                    page.fill("#item-0-count", "mười hai")
                    page.fill("#item-0-title", "Nêu gương người tốt, việc tốt về cải cách hành chính")
                    with page.expect_navigation():
                        page.click("form.report-form button[type=submit]")
                    page.wait_for_load_state("load")
                    page.screenshot(path=str(OUT / f"report-form-rejected-{name}.png"), full_page=False)
                context.close()
        browser.close()
    server.close()
    shutil.rmtree(folder)
    print(f"screenshots written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
