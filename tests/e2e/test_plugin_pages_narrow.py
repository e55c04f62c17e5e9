"""The plugins' unit choices at national size on a phone (#26): the generated national plan at 5 %
(1,894 units, communes of the same name in several provinces) with the contest, survey, feedback
and initiatives plugins, served by ``ccch serve`` and opened in Chromium at 360 px.

A citizen sends the feedback form naming a commune by a name that two provinces share: the form
comes back with both to choose from, nothing typed lost, and goes through once one is chosen —
JavaScript switched off, as on a cheap phone with it disabled. The officers' pages that used to
list every unit take a name instead (suggested while typing) and none scrolls sideways."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import PASSWORD, serving, sign_in, suggestions

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    import national_plugin_pages_bench as bench
    from national_plan import namesake_communes

    from ccch_core import accounts

    folder = tmp_path_factory.mktemp("national-plugins-e2e")
    dep = bench.load(folder, 0.05)
    bench.prepare(dep)
    plan = dep.plan
    accounts.create_user(dep.db, plan, "admin", PASSWORD, "system_admin")
    twins = namesake_communes(plan)
    dep.close()
    with serving(folder / "ccch.toml") as base:
        yield {"base": base, "twins": twins, "call": bench.CALL}


def sideways(page) -> int:
    """How many pixels the page is wider than the window (0: it does not scroll sideways)."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return max(0, width - inner)


def test_a_citizen_names_a_commune_two_provinces_share_without_javascript(national, browser, shot):
    first, second = national["twins"]
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(national["base"] + "/hoi-dap/gui")
        assert sideways(page) == 0
        page.fill("#i-tieu-de", "Hỏi về cấp bản sao giấy khai sinh")
        page.fill("#i-noi-dung", "Tôi cần xin cấp bản sao giấy khai sinh ở đâu và mất bao lâu?")
        page.fill("#i-don-vi", first.name)
        page.click("form button[type=submit]")
        assert "Có nhiều đơn vị khớp với" in page.content()
        assert page.input_value("#i-tieu-de") == "Hỏi về cấp bản sao giấy khai sinh"  # nothing lost
        assert sideways(page) == 0
        shot(page, "candidates")
        page.check(f'input[name="don-vi-ma"][value="{second.id}"]')
        page.click("form button[type=submit]")
        page.wait_for_url("**/theo-doi/**")
        assert sideways(page) == 0
        shot(page, "received")
    finally:
        context.close()


def test_officer_pages_take_a_name_and_fit_360px(national, browser, shot):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, national["base"], "admin")
        call = national["call"]
        wide = []
        for url in ("/cuoc-thi/quan-ly/tao", "/cuoc-thi/quan-ly/tim-hieu-cchc/thiet-lap",
                    "/cuoc-thi/quan-ly/tim-hieu-cchc/poster", "/khao-sat/sipas", "/khao-sat/sipas?don-vi=an+hung",
                    "/khao-sat/noi-dat", "/phan-anh/noi-dat", "/phan-anh/1", "/hoi-dap/?don-vi=an+hung",
                    "/sang-kien/hoi-dong/thiet-lap", f"/sang-kien/hoi-dong/{call}/thanh-vien",
                    f"/sang-kien/{call}/nop-bai"):
            response = page.goto(national["base"] + url)
            assert response.status == 200, url
            if sideways(page):
                wide.append(f"{url}: {sideways(page)} px too wide")
                shot(page, url.strip("/").replace("/", "-").replace("?", "-"))
        assert not wide, "; ".join(wide)
        # The posters page suggests names while typing (the core's unit-picker.js).
        first, _ = national["twins"]
        page.goto(national["base"] + "/phan-anh/noi-dat")
        options = suggestions(page, "i-don-vi", first.name.split()[-1])
        assert first.name in options and len(options) <= 20
        shot(page, "suggestions")
    finally:
        context.close()

