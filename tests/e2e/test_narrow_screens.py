"""Every page at 360 px, for every role (#18 part 1): generated from the app's URL map.

The deployment is the demo's (`make run`): the example plan with every demo plugin, the SIPAS
survey on a poster at every one-stop desk and on a kiosk tablet, the example contest (round 1
closed, round 2 open), the feedback demo, the call for initiatives with its entries and panel, a
report sent to a further recipient. Signed out is a citizen: the kiosk tablet's browser, enrolled,
and a contestant's phone, with an attempt finished and one in progress. For each role (and signed
out), one Chromium process opens every GET route of the URL map — its path arguments filled from
:func:`values`, with a route family's own values (:data:`ROUTE_VALUES`); a route with an argument
that has no value fails the test — in a 360 × 740 window, and on each HTML page checks that
nothing scrolls sideways (``scrollWidth <= innerWidth``); axe-core (bundled by
axe-playwright-python, no download) checks each page once, as the first role that opens it, for
any serious or critical violation (a second a page: the sweep stays in CI time). A refusal page
(403, 404, the sign-in page a role is sent to) is checked once per role: they are the same page
whatever the route. A page that no role saw as itself, only as a refusal, fails the sweep unless
:data:`REFUSALS` says why: its data is missing from the seed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
KIOSK_PLACE = "Máy tính bảng quầy 1"
CONTESTANT = {"full_name": "Nguyễn Thị Hoa", "phone": "0912345678", "birth_year": "1990", "audience": "nhan-dan",
              "unit_id": "xa-an-dung", "occupation": "Nông dân", "consent": "1"}
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
    ccch(config, "local-plans", "demo")  # An Dũng's plan approved: its page and its documents
    ccch(config, "survey", "load", "--template", "sipas")
    ccch(config, "survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận hồ sơ")
    # A kiosk tablet at the commune's desk (enrolled by the citizen's browser in citizen_state()).
    ccch(config, "survey", "place", "sipas", "xa-an-dung.mot-cua", "--place", KIOSK_PLACE, "--kiosk")
    # Round 1 closed, round 2 open: the contestant's finished attempt can be reviewed with the answers.
    ccch(config, "contest", "load", EXAMPLE / "contest.toml", "--trial", "--open-round", "2")
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

    # The kiosk tablet's placement: the enrolled tablet (the anonymous role) sees the kiosk's form,
    # the officers see the ordinary one, and its tablets page answers for it.
    survey_code = first("select code from placements where target like 'survey:%' and mode = 'kiosk' order by id",
                        "khong-co")
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
        "entry_id": first("select id from initiative_entries order by id"),
        # The sweep's viewer is one of the judges: one of their own assignments.
        "assignment_id": first("select id from initiative_assignments where username = 'hep-viewer' order by id"),
        # Values of one route family (ROUTE_VALUES): a feedback tracking code is no poster code.
        "feedback_code": first("select code from feedback_items where published = 1 order by id", "khong-co"),
        "feedback_poster": first("select code from placements where target = 'feedback' order by id", "khong-co"),
        "answered_item": first("select id from feedback_items where published = 1 order by id"),
        "open_attempt": first("select token from contest_attempts where status = 'open' order by id", "khong-co"),
        "finished_attempt": first("select token from contest_attempts where status != 'open' order by id",
                                  "khong-co"),
        "further_unit": FURTHER_UNIT,
        "file_format": "csv",
    }
    db.close()
    return found


ROUTE_VALUES = {
    "feedback_public.status": {"code": "feedback_code"},
    "feedback_public.received": {"code": "feedback_code"},
    "feedback_public.ask_at": {"code": "feedback_poster"},
    "feedback.poster": {"code": "feedback_poster"},
    "feedback_public.answer": {"item_id": "answered_item"},
    "contest_public.attempt_view": {"token": "open_attempt"},
    "contest_public.result_view": {"token": "finished_attempt"},
    "contest_public.review_view": {"token": "finished_attempt"},
    "reports.deliveries": {"unit_id": "further_unit"},
    "contest_manage.questions_export": {"fmt": "file_format"},
    "contest_manage.template_download": {"fmt": "file_format"},
}
"""endpoint → {path argument: key of values()} where a route needs a value of its own: one
``<code>`` cannot be a survey poster, a feedback poster and a feedback tracking code at once."""


def slug_for(endpoint: str) -> str:
    return CALL if endpoint.startswith("initiatives") else CONTEST


def arguments_for(endpoint: str, found: dict[str, object]) -> dict[str, object]:
    """The path arguments of ``endpoint``'s route: values() with the route family's own values."""
    own = {argument: found[key] for argument, key in ROUTE_VALUES.get(endpoint, {}).items()}
    return dict(found, slug=slug_for(endpoint), **own)


def page_urls(app, found: dict[str, object]) -> tuple[list[tuple[str, str]], list[str]]:
    """(endpoint, path) of every GET route; and the routes whose arguments have no value."""
    adapter = app.url_map.bind("localhost")
    urls, problems = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS or rule.endpoint.endswith(".static"):
            continue
        arguments = arguments_for(rule.endpoint, found)
        missing = set(rule.arguments) - set(arguments)
        if missing:
            problems.append(f"{rule.rule}: add a value for <{'>, <'.join(sorted(missing))}> to values()")
            continue
        urls.append((rule.endpoint, adapter.build(rule.endpoint, {k: arguments[k] for k in rule.arguments})))
    return urls, problems


@pytest.fixture(scope="module")
def demo(server, browser):
    """(app, values(), citizen): the seeded demo, and the browser state of the anonymous role."""
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
    report_further(deployment)
    citizen = citizen_state(server, deployment, browser)
    app = create_app(deployment_obj=deployment, test_config={"TESTING": True})
    yield app, values(server), citizen
    deployment.close()


FURTHER_UNIT = "phong-vhtt"
"""The unit whose quarterly roll-up goes beyond ccch, to the province: its page of reports sent to
further recipients (``/bao-cao/<unit>/gui-noi-nhan-khac``) answers 404 for a unit without one."""


def report_further(deployment) -> None:
    """The unit's first quarter recorded as sent to the province, as its officer records it."""
    from ccch_core import progress, storage
    from ccch_core.web.reports import further_periods

    period, recipients = further_periods(deployment.plan, FURTHER_UNIT)[0]
    with storage.write_transaction(deployment.db):
        progress.record_report_delivery(deployment.db, deployment.plan, FURTHER_UNIT, period, recipients[0],
                                        period.end_date + dt.timedelta(days=5), reference="45/BC-VHTT",
                                        recorded_by="hep-plan-admin")


def citizen_state(server, deployment, browser) -> dict:
    """The anonymous role's browser as a citizen's: the commune desk's kiosk tablet, enrolled with an
    officer's one-time code; and a registered contestant with an attempt finished in round 1 (closed:
    its review shows the answers) and one in progress in round 2. Without them the kiosk, attempt,
    result, review and "mine" pages answer only with a refusal. Returns the browser's storage state."""

    from ccch_contest import attempts
    from ccch_contest.contests import get_contest
    from ccch_contest.participants import register_verified, validate_registration

    # Round 1's attempt first, at a time inside round 1: the first page that opens the contest closes
    # the round for good (its figures are computed), and no attempt starts in it after that.
    contest = get_contest(deployment, CONTEST)
    then = contest.round(1).opens + dt.timedelta(hours=2)
    participant, _ = register_verified(deployment, contest, validate_registration(deployment, contest, CONTESTANT, then),
                                       verified_by="sms", client_key="e2e", now=then)
    attempt = attempts.start_attempt(deployment, contest, participant.id, now=then).attempt
    bank = attempts.bank_for(deployment, contest, attempt)
    answers = {str(n): [bank.questions[qid].options[0][0]] for n, (qid, _) in enumerate(attempt.questions, start=1)}
    attempts.submit_attempt(deployment, contest, attempt, answers, 3, now=then + dt.timedelta(minutes=9))

    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    # The tablet: the officer's enrolment code typed on the kiosk placement's enrolment page.
    kiosk = first_row(server, "select code from placements where target like 'survey:%' and mode = 'kiosk'")
    said = ccch(server.config, "survey", "kiosk", "enrol", kiosk, "--label", KIOSK_PLACE)
    page.goto(f"{server.base}/k/{kiosk}/dang-ky")
    page.fill("#i-ma", re.search(r"type the code (\S+)", said).group(1))
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.locator("#kiosk").count() == 1, "the tablet was not enrolled"
    # The contestant on this phone: "Tiếp tục dự thi" with the code sent to the number, then the
    # round open now started from the contest's page.
    page.goto(f"{server.base}/cuoc-thi/{CONTEST}/tiep-tuc")
    page.fill("input[name=phone]", CONTESTANT["phone"])
    with page.expect_navigation():
        page.click("form:has(input[name=phone]) button[type=submit]")
    otp = first_row(server, "select params from messages where template = 'otp' order by id desc")
    page.fill("input[name=ma]", json.loads(otp)["code"])
    with page.expect_navigation():
        page.click("form button:has-text('Xác nhận')")
    with page.expect_navigation():
        page.click(f"form[action$='/{CONTEST}/bat-dau'] button[type=submit]")
    assert "/bai-thi/" in page.url, page.url
    state = context.storage_state()
    context.close()
    return state


def first_row(server, sql: str) -> object:
    db = sqlite3.connect(server.config.parent / "ccch.db")
    try:
        row = db.execute(sql).fetchone()
    finally:
        db.close()
    assert row is not None, sql
    return row[0]


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


AXE_EXCEPTIONS = {
    ("survey_public.thanks", "meta-refresh"):
        "the kiosk tablet's thank-you page goes back to a fresh form after kiosk_thanks_seconds (a "
        "button does it at once): the answers are stored, nothing is lost, and a counter's shared "
        "tablet must be ready for the next citizen — WCAG 2.2.1's essential exception",
}
"""(endpoint, axe rule) violations that are the page's purpose, and why."""

REFUSALS = {
    "survey_public.token": "a kiosk script's request for a form token (?sid=), text when it is one",
    "contest_manage.export_csv": "files; the sweep's name fits none of them",
    "export.data_download": "files; the sweep's name fits none of them",
    "feedback.photo": "a photo; the demo's questions have none",
    "export.download_report": "a file, asked for with ?period= (the sweep fills only the path)",
}
"""Pages that answer every role of the sweep with a refusal by design, and why. Any other page that
no role saw as itself fails the sweep: its data is missing from the seed (or its value from
values()), and only the refusal page was checked at 360 px."""


def checked_pages(page, base: str, urls: list[tuple[str, str]], rendered: set[str] | None = None,
                  answered: dict[str, list[int]] | None = None,
                  files: set[str] | None = None) -> Iterator[tuple[str, str]]:
    """Open each URL; yield (endpoint, url) of the pages worth checking (HTML; a refusal or the
    sign-in page once). ``rendered`` collects the endpoints shown as themselves (not a refusal),
    ``answered`` every endpoint that answered with an HTML page (with the statuses, a role each),
    ``files`` those that answered with a file (a download, JSON, an image: a refusal is the only
    page they have)."""
    seen_refusals: set[object] = set()
    for endpoint, path in urls:
        try:
            response = page.goto(base + path, wait_until="load")
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                if files is not None:
                    files.add(endpoint)
                continue  # a file (TOML, CSV, PDF, XLSX): not a page
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            if files is not None and response is not None and response.status < 400:
                files.add(endpoint)
            continue
        if answered is not None:
            answered.setdefault(endpoint, []).append(response.status)
        kind = ("sign-in" if "/dang-nhap" in page.url and endpoint != "auth.login"
                else response.status if response.status in (401, 403, 404, 405) else None)
        if kind is not None:
            if kind in seen_refusals:
                continue
            seen_refusals.add(kind)
        elif rendered is not None and response.status < 400:  # a 400, 410 or 429 page is a refusal too
            rendered.add(endpoint)
        yield endpoint, path


def test_every_page_fits_360px_and_passes_axe(server, demo, browser, shot):
    from axe_playwright_python.sync_playwright import Axe

    app, found, citizen = demo
    urls, problems = page_urls(app, found)
    assert not problems, "\n".join(problems)
    axe = Axe()
    failures: list[str] = []
    checked = 0
    audited: set[str] = set()  # axe runs once per page (its first role): it takes a second a page
    rendered: set[str] = set()
    answered: dict[str, list[int]] = {}
    files: set[str] = set()
    for role in ROLES:
        # Signed out is the citizen: the kiosk tablet's browser, and the contestant's phone.
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                      storage_state=citizen if role == "anonymous" else None)
        page = context.new_page()
        if role != "anonymous":
            sign_in(page, server.base, f"hep-{role.replace('_', '-')}")
        for endpoint, path in checked_pages(page, server.base, urls, rendered, answered, files):
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
                if violation["impact"] in ("serious", "critical") and (endpoint, violation["id"]) not in AXE_EXCEPTIONS:
                    targets = "; ".join(" ".join(n["target"]) for n in violation["nodes"][:3])
                    failures.append(f"{where}: axe {violation['impact']} {violation['id']} ({targets})")
        context.close()
    checked += check_second_factor_page(server, browser, axe, failures, shot)
    rendered.add("auth.second_factor")
    assert checked > 60, f"only {checked} pages were checked"
    assert not ADDED_PAGES - rendered, f"never shown as themselves (seed their data): {sorted(ADDED_PAGES - rendered)}"
    failures += [f"{endpoint}: shown to every role only as a refusal {answered[endpoint]} (seed its data)"
                 for endpoint in sorted(set(answered) - rendered - files - set(REFUSALS))]
    failures += [f"{endpoint}: shown as itself now, take it out of REFUSALS" for endpoint in sorted(set(REFUSALS) & rendered)]
    assert not failures, f"{len(failures)} problems on {checked} pages:\n" + "\n".join(failures)


def check_second_factor_page(server, browser, axe, failures: list[str], shot) -> int:
    """The sign-in's second step at 360 px, seen by an officer who has a second factor (no role of
    the sweep has one, and the step is only reachable between a password and a code): it fits, axe
    finds nothing serious, and the code from the officer's app signs them in. Returns 1 (pages checked)."""

    from ccch_core import totp

    username = "hep-hai-lop"
    server.user(username, "plan_admin")
    output = ccch(server.config, "users", "totp", "enable", username, "--no-qr")
    match = re.search(r"Key:\s+((?:[A-Z2-7]{4} ?){8})", output)
    assert match, output
    secret = match.group(1).replace(" ", "")
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, server.base, username)
        where = f"{username} {page.url} (auth.second_factor)"
        if "/dang-nhap/ma-xac-thuc" not in page.url:
            failures.append(f"{where}: the password did not lead to the code step")
            return 1
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            failures.append(f"{where}: {width} px wide at {inner}")
            shot(page, "second-factor")
        for violation in axe.run(page).response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                failures.append(f"{where}: axe {violation['impact']} {violation['id']}")
        code_field = page.locator("form input[name=code]")
        code_field.fill(totp.code_at(secret, totp.current_step()))
        with page.expect_navigation():
            page.locator("form button[type=submit]").first.click()
        if "/dang-nhap" in page.url:
            failures.append(f"{where}: the app's code did not sign the officer in ({page.url})")
    finally:
        context.close()
    return 1


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
