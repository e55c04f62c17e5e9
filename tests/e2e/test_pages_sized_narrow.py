"""The pages sized for people (#26 part 3) on a phone: a generated national plan at 5 % (17
provinces, 166 communes) served by ``ccch serve``, opened in Chromium at 360 px for the
administrator at the root, a province's officer and a commune's officer. No page scrolls
sideways, and the unit picker suggests names while typing (its JavaScript) and still answers
without it (tests/test_pages_sized.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import PASSWORD, serving, sign_in, suggestions

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    import national_pages_bench

    from ccch_core import accounts

    folder = tmp_path_factory.mktemp("national-e2e")
    dep = national_pages_bench.load(folder, 0.05, months=3)
    plan = dep.plan
    province = next(u for u in plan.units if u.kind == "province")
    commune = next(u for u in plan.descendants(province.id) if u.kind == "commune")
    for username, role, unit in (("admin", "plan_admin", None), ("tinh", "unit_officer", province.id),
                                 ("xa", "unit_officer", commune.id)):
        accounts.create_user(dep.db, plan, username, PASSWORD, role, unit_id=unit)
    dep.close()
    with serving(folder / "ccch.toml") as base:
        yield {"base": base, "province": province, "commune": commune}


def pages_for(national) -> dict[str, list[str]]:
    province = national["province"].id
    common = ["/?period=2024-03", "/?period=2024", "/don-vi", f"/don-vi?unit={province}", "/don-vi?q=xa",
              "/bao-cao?period=2024-03", "/bao-cao?period=2024-03&state=late"]
    return {
        "admin": [*common, f"/?period=2024-03&unit={province}", "/?period=2024-03&q=xa&state=late",
                  "/tong-hop?period=2024-Q1", "/xuat/bao-cao/chon-don-vi?period=2024-03&q=UBND"],
        "tinh": [*common, "/xuat/bao-cao/chon-don-vi?period=2024-03&q=xa"],
        "xa": common,
    }


@pytest.mark.parametrize("username", ["admin", "tinh", "xa"])
def test_no_page_scrolls_sideways_at_360px(national, browser, username, shot):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, national["base"], username)
        wide = []
        for url in pages_for(national)[username]:
            response = page.goto(national["base"] + url)
            assert response.status == 200, url
            width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if width > inner:
                wide.append(f"{url}: {width} px")
        shot(page, f"{username}-last")
        assert not wide, "pages wider than the 360 px window: " + "; ".join(wide)
    finally:
        context.close()


def test_unit_picker_suggests_names_while_typing(national, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        sign_in(page, national["base"], "admin")
        page.goto(national["base"] + "/?period=2024-03")
        name = national["commune"].name
        options = suggestions(page, "export-unit-q", name.split()[-1])
        assert name in options and len(options) <= 20
        # Choosing the suggestion and submitting downloads that unit's report.
        page.fill("#export-unit-q", name)
        page.select_option("#export-format-q", "md")
        with page.expect_download() as download:
            page.click("text=Tìm và tải về")
        assert download.value.suggested_filename.endswith(".md")
    finally:
        context.close()
