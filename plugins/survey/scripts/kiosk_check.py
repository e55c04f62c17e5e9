"""Kiosk mode in a real browser: an answer given while the network is down is kept and sent once
when it returns; the form resets for the next citizen and after inactivity.

Needs Debian's Chromium (``apt-get install chromium``) and Playwright's Python package
(``pip install playwright``; it drives /usr/bin/chromium, no browser is downloaded). Not part of the
pytest run because CI machines do not have Chromium unless the project installs it.

    .venv/bin/python plugins/survey/scripts/kiosk_check.py
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from ccch_survey.definition import load_definition
from ccch_survey.store import add_placement, save_survey
from playwright.sync_api import sync_playwright
from waitress.server import create_server

from ccch_core.config import config_from_dict
from ccch_core.deployment import Deployment
from ccch_core.plugins import make_plugin_manager
from ccch_core.web import create_app

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition: bool, message: str) -> None:
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        raise SystemExit(1)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ccch-kiosk-"))
    shutil.copyfile(ROOT / "examples/duc-tho-2024/plan.toml", folder / "plan.toml")
    port = free_port()
    config = config_from_dict({
        "deployment": {"name": "Thử nghiệm kiosk", "plan": "plan.toml", "database": "ccch.db",
                       "public_base_url": f"http://127.0.0.1:{port}", "plugins": ["survey"], "strict_plugins": True},
        "plugins": {"survey": {"kiosk_idle_seconds": 15, "kiosk_thanks_seconds": 2}},
    }, folder / "ccch.toml")
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    save_survey(dep.db, load_definition(ROOT / "examples/surveys/sipas.toml"))
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Máy tính bảng quầy 1", mode="kiosk")
    app = create_app(deployment_obj=dep)
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}/k/{kiosk.code}"

    def stored() -> int:
        return dep.db.execute("select count(*) from survey_responses").fetchone()[0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        # Resource errors are expected (the favicon the browser asks for, requests made while offline).
        page.on("console", lambda m: errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)

        def wait_until(predicate, what: str, timeout: float = 20) -> None:
            # Polled from Python: the page's CSP (script-src 'self') forbids Playwright's eval-based waits.
            deadline = time.time() + timeout
            while not predicate():
                if time.time() > deadline:
                    raise SystemExit(f"FAIL timed out waiting for: {what}")
                time.sleep(0.1)

        def status_has(text: str):
            return lambda: text in (page.locator("#kiosk-status").text_content() or "")

        def checked() -> int:
            return page.locator("input[type=radio]:checked").count()

        def answer_all(score: str) -> None:
            for fieldset in page.locator("fieldset[data-required]").all():
                fieldset.locator(f"input[value='{score}']").check()

        # 1. Online: sent, the form clears for the next citizen.
        answer_all("5")
        page.click("button[type=submit]")
        wait_until(status_has("đã được gửi"), "sent message")
        check(stored() == 1, "online submission stored")
        check(page.locator("input[type=radio]:checked").count() == 0, "form cleared for the next citizen")

        # 2. A required question missing: told, nothing kept or sent.
        page.locator("fieldset[data-required]").first.locator("input[value='4']").check()
        page.click("button[type=submit]")
        wait_until(status_has("đánh dấu đỏ"), "missing-answers message")
        check(page.locator("fieldset.q-bad").count() == 11, "unanswered required questions marked")

        # 3. Offline: kept in localStorage, the citizen is told, the form clears.
        context.set_offline(True)
        answer_all("3")
        page.click("button[type=submit]")
        wait_until(status_has("lưu trên máy"), "kept-offline message")
        kept = page.evaluate("Object.keys(localStorage).map(k => JSON.parse(localStorage[k]).length)")
        check(kept == [1], f"answer kept offline ({kept})")
        check(stored() == 1, "nothing reached the server while offline")
        check(page.locator("input[type=radio]:checked").count() == 0, "form cleared while offline")

        # 4. Back online: the kept answer is sent, once.
        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        deadline = time.time() + 20
        while stored() < 2 and time.time() < deadline:
            time.sleep(0.2)
        check(stored() == 2, "kept answer sent when the network returned")
        wait_until(lambda: page.evaluate("Object.keys(localStorage).every(k => JSON.parse(localStorage[k]).length === 0)"),
                   "queue emptied")
        page.evaluate("window.dispatchEvent(new Event('online'))")
        time.sleep(1)
        check(stored() == 2, "sent exactly once")
        scores = [r[0] for r in dep.db.execute(
            "select option_key from survey_answers where question_key = 'chung' order by response_id")]
        check(scores == ["5", "3"], f"answers as given ({scores})")

        # 5. Inactivity: a half-filled form is cleared after kiosk_idle_seconds.
        page.locator("fieldset[data-required]").first.locator("input[value='2']").check()
        wait_until(lambda: checked() == 0, "idle reset", timeout=30)
        check(True, "half-filled form cleared after inactivity")
        check(not errors, f"no JavaScript errors ({errors})")
        browser.close()
    server.close()
    dep.close()
    shutil.rmtree(folder)
    print("kiosk check passed")


if __name__ == "__main__":
    sys.exit(main())
