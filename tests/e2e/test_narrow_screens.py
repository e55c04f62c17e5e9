"""Every page at 360 px, for every role (#18 part 1): generated from the app's URL map.

The deployment is the demo's (`make run`): the example plan with every demo plugin, the SIPAS
survey on a poster at every one-stop desk, the example contest with a registered contestant, the
feedback demo, the call for initiatives with its entries and panel. For each role (and signed
out), one Chromium process opens every GET route of the URL map — its path arguments filled from
:data:`VALUES`, a route with an argument that has no value fails the test — in a 360 × 740 window,
and on each HTML page checks that nothing scrolls sideways (``scrollWidth <= innerWidth``);
axe-core (bundled by axe-playwright-python, no download) checks each page once, as the first role
that opens it, for any serious or critical violation (a second a page: the sweep stays in CI time). A refusal page (403, 404, the sign-in page a role is sent to) is checked once per role:
they are the same page whatever the route.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator

import pytest
from playwright.sync_api import Error as PlaywrightError

from .conftest import ROOT, ccch, sign_in

PLUGINS = ("export", "survey", "contest", "feedback", "initiatives")
EXAMPLE = ROOT / "examples" / "duc-tho-2024"
CONTEST = "tim-hieu-cchc-2024"
CALL = "sang-kien-cchc-2024"
ROLES = {
    "anonymous": None,
    "system_admin": None,
    "plan_admin": None,
    "unit_officer": "xa-an-dung",
    "contest_manager": None,
    "viewer": None,
}
SKIPPED_ENDPOINTS = {"static", "health", "metrics"}
"""Not pages: the stylesheets, the health check and the Prometheus text."""


def seed(server) -> None:
    """The demo deployment, as `make run` builds it (Makefile, $(INSTANCE)/ccch.toml)."""
    config = server.config
    year = str(dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).year)  # the plan moved to this year
    for name, command in (("measurements-2024-q1.csv", ("measure", "import")),
                          ("activity-2024-03.csv", ("report-activity", "--from-csv"))):
        moved = server.folder / name.replace("2024", year)
        moved.write_text((EXAMPLE / "demo" / name).read_text(encoding="utf-8-sig").replace("2024-", f"{year}-"),
                         encoding="utf-8")
        # Strict: a demo file the import refuses would leave the dashboard and reports empty, and the
        # sweep would check pages without the figures that make them wide.
        ccch(config, *command, moved)
    ccch(config, "survey", "load", "--template", "sipas")
    ccch(config, "survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận hồ sơ")
    ccch(config, "contest", "load", EXAMPLE / "contest.toml", "--trial")
    ccch(config, "contest", "questions", "import", CONTEST, EXAMPLE / "questions.csv")
    ccch(config, "contest", "publish", CONTEST)
    ccch(config, "initiatives", "load", EXAMPLE / "initiatives.toml", "--trial")
    ccch(config, "initiatives", "entries", "load", CALL, EXAMPLE / "initiatives-entries.toml")
    ccch(config, "feedback", "demo")
    ccch(config, "feedback", "place", "trung-tam-hcc", "--place", "Quầy tiếp nhận hồ sơ")


def values(server) -> dict[str, object]:
    """A value for each path argument of the URL map: real ids from the demo data where one
    exists (a page with data is the one that overflows), else one that answers 404."""
    db = sqlite3.connect(server.config.parent / "ccch.db")

    def first(sql: str, default: object = 999999) -> object:
        try:
            row = db.execute(sql).fetchone()
        except sqlite3.Error:
            return default
        return row[0] if row and row[0] is not None else default

    survey_code = first("select p.code from placements p where p.target like 'survey:%' order by p.id", "khong-co")
    found = {
        "unit_id": "xa-an-dung",
        "period_text": first("select max(period) from activity_reports", "2024-03"),
        "survey_id": first("select key from survey_surveys order by id", "sipas"),
        "version": 1,
        "code": survey_code,
        "fmt": "svg",
        "name": "khong-co",
        "filename": "khong-co.css",
        "token": "khong-co-bai-thi",
        "pid": first("select id from contest_participants order by id"),
        "item_id": first("select id from feedback_items order by id"),
        "number": 1,
        "entry_id": first("select id from initiatives_entries order by id"),
        "assignment_id": first("select id from initiatives_assignments order by id"),
    }
    db.close()
    return found


def slug_for(endpoint: str) -> str:
    return CALL if endpoint.startswith("initiatives") else CONTEST


def page_urls(app, found: dict[str, object]) -> tuple[list[tuple[str, str]], list[str]]:
    """(endpoint, path) of every GET route; and the routes whose arguments have no value."""
    adapter = app.url_map.bind("localhost")
    urls, problems = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS or rule.endpoint.endswith(".static"):
            continue
        arguments = dict(found, slug=slug_for(rule.endpoint))
        missing = set(rule.arguments) - set(arguments)
        if missing:
            problems.append(f"{rule.rule}: add a value for <{'>, <'.join(sorted(missing))}> to values()")
            continue
        urls.append((rule.endpoint, adapter.build(rule.endpoint, {k: arguments[k] for k in rule.arguments})))
    return urls, problems


@pytest.fixture(scope="module")
def demo(server):
    seed(server)
    for role, unit in ROLES.items():
        if role != "anonymous":
            server.user(f"hep-{role.replace('_', '-')}", role, unit)
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.plugins import make_plugin_manager
    from ccch_core.web import create_app

    config = load_config(server.config)
    deployment = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    judge_the_call(server, deployment)
    app = create_app(deployment_obj=deployment, test_config={"TESTING": True})
    yield app, values(server)
    deployment.close()


JUDGES = {"hep-viewer": "phong-tckh", "giam-khao-2": "trung-tam-hcc", "giam-khao-3": "so-noi-vu"}
"""The call's judges (the sweep's viewer among them, so the judge's pages are checked) and their units,
none an entry's own."""


def judge_the_call(server, deployment) -> None:
    """The call judged as its panel would judge it, its awards given and published: without
    awards the decision page (``/quyet-dinh``), the certificates and the public results answer 404
    and the sweep would check only the refusal."""
    from ccch_initiatives.calls import get_call
    from ccch_initiatives.judging import assignments, check_scores, get_assignment, save_scores

    for username, unit in JUDGES.items():
        if username != "hep-viewer":
            server.user(username, "viewer")
        ccch(server.config, "initiatives", "panel", "add", CALL, username, "--role", "judge", "--unit", unit)
    ccch(server.config, "initiatives", "assign", CALL)
    call = get_call(deployment.db, CALL)
    for n, a in enumerate(assignments(deployment.db, call.id, call.stage)):
        score = str(6 + n % 4)
        values, overall = check_scores(call, {f"score_{c.key}": score for c in call.definition.criteria})
        save_scores(deployment, call, get_assignment(deployment.db, a.id), values, overall, submit=True,
                    actor=a.username)
    ccch(server.config, "initiatives", "awards", CALL, "--publish")


ADDED_PAGES = {
    "account.index", "account.second_factor", "contest_manage.poster", "export_written.write",
    "initiatives_panel.decision", "local_plans.index", "local_plans.page", "survey.builder_new", "survey.builder_edit",
}
"""Pages added in session 7 that must be checked as themselves by at least one role, not only as
the refusal or "not found" page that data missing from the seed would give."""


def checked_pages(page, base: str, urls: list[tuple[str, str]],
                  rendered: set[str] | None = None) -> Iterator[tuple[str, str]]:
    """Open each URL; yield (endpoint, url) of the pages worth checking (HTML; a refusal or the
    sign-in page once). ``rendered`` collects the endpoints shown as themselves (not a refusal)."""
    seen_refusals: set[object] = set()
    for endpoint, path in urls:
        try:
            response = page.goto(base + path, wait_until="load")
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                continue  # a file (TOML, CSV, PDF, XLSX): not a page
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        kind = ("sign-in" if "/dang-nhap" in page.url and endpoint != "auth.login"
                else response.status if response.status in (401, 403, 404, 405) else None)
        if kind is not None:
            if kind in seen_refusals:
                continue
            seen_refusals.add(kind)
        elif rendered is not None:
            rendered.add(endpoint)
        yield endpoint, path


def test_every_page_fits_360px_and_passes_axe(server, demo, browser, shot):
    from axe_playwright_python.sync_playwright import Axe

    app, found = demo
    urls, problems = page_urls(app, found)
    assert not problems, "\n".join(problems)
    axe = Axe()
    failures: list[str] = []
    checked = 0
    audited: set[str] = set()  # axe runs once per page (its first role): it takes a second a page
    rendered: set[str] = set()
    for role in ROLES:
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        page = context.new_page()
        if role != "anonymous":
            sign_in(page, server.base, f"hep-{role.replace('_', '-')}")
        for endpoint, path in checked_pages(page, server.base, urls, rendered):
            checked += 1
            where = f"{role} {path} ({endpoint})"
            width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if width > inner:
                wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
                    .filter(e => !e.closest('.table-wrap'))
                    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                    + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')""")
                failures.append(f"{where}: {width} px wide at {inner} ({', '.join(wide)})")
                shot(page, f"{role}-{endpoint}".replace(".", "-"))
            if role != "anonymous" and page.locator("header.top nav").count():
                # The menu is one row on a phone: the header took 510 of 844 px for an admin.
                header = page.evaluate("document.querySelector('header.top').getBoundingClientRect().height")
                if header > 200:
                    failures.append(f"{where}: the header is {header:.0f} px high")
            if endpoint == "reports.index" and role == "unit_officer":
                # Each unit's button whole on screen ("Nộp báo cáo" showed as "N b c").
                buttons = page.locator("table.stack a.button")
                if not buttons.count():
                    failures.append(f"{where}: no unit's report to open")
                for i in range(buttons.count()):
                    box = buttons.nth(i).bounding_box()
                    if box is None or box["x"] < 0 or box["x"] + box["width"] > inner:
                        failures.append(f"{where}: the button {buttons.nth(i).inner_text()!r} is cut off")
            if endpoint in audited:
                continue
            audited.add(endpoint)
            result = axe.run(page)
            for violation in result.response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    targets = "; ".join(" ".join(n["target"]) for n in violation["nodes"][:3])
                    failures.append(f"{where}: axe {violation['impact']} {violation['id']} ({targets})")
        context.close()
    assert checked > 60, f"only {checked} pages were checked"
    assert not ADDED_PAGES - rendered, f"never shown as themselves (seed their data): {sorted(ADDED_PAGES - rendered)}"
    assert not failures, f"{len(failures)} problems on {checked} pages:\n" + "\n".join(failures)


MENU_WIDTHS = {360: 740, 1280: 800}
"""A phone and a desk (#18: officers use phones)."""


def test_every_menu_item_reachable_at_360_and_1280(server, demo, browser, shot):
    """The menu of every role fits the window with no item hidden (#18): at 360 px a "Menu"
    disclosure (no JavaScript) opens the whole list, wrapped onto lines; at 1280 px the list shows
    without it. Each item is on screen, inside the window's width, not covered by anything and not in
    a box that scrolls sideways; the page the officer is on is marked (and named on the closed menu)."""
    failures: list[str] = []
    for role in ROLES:
        if role == "anonymous":
            continue
        for width, height in MENU_WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
            page = context.new_page()
            sign_in(page, server.base, f"hep-{role.replace('_', '-')}")
            where = f"{role} at {width} px"
            links = page.locator("header.top nav a")
            labels = [(links.nth(i).text_content() or "").strip() for i in range(links.count())]
            if len(labels) < 2 or not all(labels):
                failures.append(f"{where}: {len(labels)} menu items")
                context.close()
                continue
            # The page of the menu's last item, so that the marked item is not simply the first.
            page.goto(server.base + links.nth(len(labels) - 1).get_attribute("href"))
            summary = page.locator("header.top nav summary")
            if width < 768:
                if not summary.is_visible():
                    failures.append(f"{where}: no Menu button")
                    context.close()
                    continue
                if labels[-1] not in summary.inner_text():
                    failures.append(f"{where}: the closed menu does not name the page ({summary.inner_text()!r})")
                if any(links.nth(i).is_visible() for i in range(links.count())):
                    failures.append(f"{where}: the menu is open before it is asked for")
                summary.click()
            elif summary.is_visible():
                failures.append(f"{where}: a Menu button where the list fits")
            for i, label in enumerate(labels):
                link = links.nth(i)
                link.scroll_into_view_if_needed()
                box = link.bounding_box()
                if not link.is_visible() or box is None:
                    failures.append(f"{where}: {label!r} is hidden")
                    continue
                if box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
                    failures.append(f"{where}: {label!r} is cut off ({box['x']:.0f}–{box['x'] + box['width']:.0f} px)")
                on_top = page.evaluate(
                    """([a, x, y]) => document.elementFromPoint(x, y)?.closest('a') === a""",
                    [link.element_handle(), box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
                )
                if not on_top:
                    failures.append(f"{where}: {label!r} is covered by something else")
            list_width, list_box = page.evaluate(
                "(() => { const u = document.querySelector('header.top nav ul'); return [u.scrollWidth, u.clientWidth]; })()")
            if list_width > list_box:
                failures.append(f"{where}: the menu scrolls sideways ({list_width} px in {list_box})")
            page_width = page.evaluate("document.documentElement.scrollWidth")
            if page_width > width:
                failures.append(f"{where}: the page is {page_width} px wide")
            marked = page.locator("header.top nav a[aria-current=page]")
            if marked.count() != 1 or (marked.first.text_content() or "").strip() != labels[-1]:
                failures.append(f"{where}: the page's item {labels[-1]!r} is not the one marked")
            shot(page, f"menu-{role}-{width}")
            context.close()
    assert not failures, "\n".join(failures)
