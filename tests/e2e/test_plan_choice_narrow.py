"""The plan/year chooser at 360 px (#19 part 1): with two plans in the deployment, every page that
offers the chooser — the dashboard, the reports list, the roll-up, the units page, the commune
plans, the export plugin's pages and the survey results — opened on the other year's plan in
Chromium on a phone's width: no sideways scroll, the chooser shows the chosen year, and choosing
the other year from it (no JavaScript: a GET form) opens that year's page."""

from __future__ import annotations

import pytest

from .conftest import ROOT, ccch, sign_in

PLUGINS = ("export", "survey")
OTHER = "duc-tho-2025"  # the server's default plan is moved to this year; 2025's is added beside it

PAGES = [
    f"/?plan={OTHER}",
    f"/bao-cao?plan={OTHER}",
    f"/tong-hop?plan={OTHER}&period=2025",
    f"/don-vi?plan={OTHER}",
    f"/don-vi?plan={OTHER}&q=an+dung",
    f"/don-vi?plan={OTHER}&unit=xa-an-dung",
    f"/ke-hoach-xa?plan={OTHER}",
    f"/xuat/viet?plan={OTHER}&period=2025-03",
    f"/xuat/bao-cao/chon-don-vi?plan={OTHER}&period=2025-03&q=xa&format=docx",
    f"/khao-sat/?plan={OTHER}",
    f"/khao-sat/sipas?plan={OTHER}&ky=2025-Q1",
]


@pytest.fixture(scope="module")
def two_plans(server):
    ccch(server.config, "plan", "add", ROOT / "examples" / "duc-tho-2025" / "plan.toml")
    ccch(server.config, "survey", "load", "--template", "sipas")
    server.user("hep-plan-admin", "plan_admin")
    server.stop()  # the plans are read at start-up
    server.start()
    return server


def test_the_chooser_fits_360px_and_switches_the_year(two_plans, browser, shot):
    server = two_plans
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    sign_in(page, server.base, "hep-plan-admin")
    failures = []
    for path in PAGES:
        response = page.goto(server.base + path, wait_until="load")
        if response.status != 200:
            failures.append(f"{path}: {response.status}")
            continue
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            failures.append(f"{path}: {width} px wide at {inner}")
        chooser = page.locator("#plan-choice")
        if chooser.count() != 1 or chooser.input_value() != OTHER:
            failures.append(f"{path}: no chooser showing {OTHER}")
        shot(page, path.strip("/").split("?")[0].replace("/", "-") or "dashboard")
    assert not failures, "\n".join(failures)

    # Choosing this year's plan from the roll-up's chooser opens this year's roll-up.
    page.goto(server.base + f"/tong-hop?plan={OTHER}&period=2025")
    default = page.locator("#plan-choice option").first.get_attribute("value")
    page.select_option("#plan-choice", default)
    with page.expect_navigation():
        page.click("form.period-form button[type=submit] >> nth=0")
    assert f"plan={default}" in page.url
    assert "năm 2025" not in page.locator("p.hint").first.inner_text()
    context.close()
