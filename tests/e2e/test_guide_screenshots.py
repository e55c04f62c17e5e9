"""The pictures of the Vietnamese guides (docs/huong-dan-*.md), taken by walking the journeys the
guides describe in Chromium (#27 part 5), so that a picture shows the pages as they are today.

Each picture is taken at the width its reader uses: 360 px where the reader is on a phone (a
citizen scanning a poster, a commune officer), 1280 px where an office works at a desk (the Culture
& Information office, the Interior office), 800 px for a tablet at a counter. Before each picture
the page is checked not to scroll sideways.

Where the pictures go: ``build/guide-images/`` (ignored by git) unless ``CCCH_GUIDE_IMAGES`` names
another folder. ``make guide-images`` runs this file with ``CCCH_GUIDE_IMAGES=docs/images`` and the
PNGs are committed: the guides are read on the repository's web page and in the built docs, where
nothing runs Chromium, so the pictures must be in the repository. Every CI run still walks every
journey (a step a guide shows that breaks fails the suite) but writes into build/, so that a clean
checkout stays clean and the committed pictures change only when someone retakes them and looks at
them (docs/web.md, "The guides' pictures", says when). tests/test_guides.py checks that
every picture a guide shows is named here (or made by scripts/report_pages.py).

The deployment is the demo's (`make run`) with the plan moved to this year, so that the dates in
the pictures agree with each other: the March figures of the demo are this year's March.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import PASSWORD, ROOT, Server, ccch, sign_in, this_month

PLUGINS = ("export", "survey", "contest")
EXAMPLE = ROOT / "examples" / "duc-tho-2024"
OUT = Path(os.environ.get("CCCH_GUIDE_IMAGES") or ROOT / "build" / "guide-images")
if not OUT.is_absolute():
    OUT = ROOT / OUT
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 800, "height": 1280}
VN = dt.timezone(dt.timedelta(hours=7))
YEAR = dt.datetime.now(VN).year
MARCH = f"{YEAR}-03"
CONTEST = "tim-hieu-cchc-2024"
PUBLIC_URL = "https://cchc.ductho.hatinh.gov.vn"
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
"""snake_case, as in plan_admin, one_stop_desk, survey_satisfaction."""

# Every picture this file writes, the guide that shows it and the width it is taken at. A picture
# a guide shows that is not here fails tests/test_guides.py.
PICTURES = {
    "don-vi-dang-nhap.png": "huong-dan-don-vi.md",
    "don-vi-bao-cao.png": "huong-dan-don-vi.md",
    "don-vi-chi-tieu.png": "huong-dan-don-vi.md",
    "don-vi-tra-lai.png": "huong-dan-don-vi.md",
    "don-vi-da-nop.png": "huong-dan-don-vi.md",
    "ke-hoach-xa-soan.png": "huong-dan-ke-hoach-xa.md",
    "ke-hoach-xa-loi.png": "huong-dan-ke-hoach-xa.md",
    "ke-hoach-xa-da-gui.png": "huong-dan-ke-hoach-xa.md",
    "ke-hoach-xa-cac-xa.png": "huong-dan-ke-hoach-xa.md",
    "vhtt-tong-quan.png": "huong-dan-phong-vhtt.md",
    "vhtt-bieu-do.png": "huong-dan-phong-vhtt.md",
    "vhtt-bang-nop.png": "huong-dan-phong-vhtt.md",
    "vhtt-tai-bao-cao.png": "huong-dan-phong-vhtt.md",
    "vhtt-tong-hop.png": "huong-dan-phong-vhtt.md",
    "vhtt-mo-lai.png": "huong-dan-phong-vhtt.md",
    "khao-sat-phieu.png": "huong-dan-khao-sat.md",
    "khao-sat-tra-lai.png": "huong-dan-khao-sat.md",
    "khao-sat-noi-dat.png": "huong-dan-khao-sat.md",
    "khao-sat-poster.png": "huong-dan-khao-sat.md",
    "khao-sat-ket-qua.png": "huong-dan-khao-sat.md",
    "khao-sat-soan.png": "huong-dan-khao-sat.md",
    "khao-sat-kiosk-mat-mang.png": "huong-dan-khao-sat.md",
    "cuoc-thi-quan-ly.png": "huong-dan-cuoc-thi.md",
    "cuoc-thi-bai-thi.png": "huong-dan-cuoc-thi.md",
    "cuoc-thi-ket-qua.png": "huong-dan-cuoc-thi.md",
    "phan-anh-gui.png": "huong-dan-phan-anh.md",
    "phan-anh-ma-theo-doi.png": "huong-dan-phan-anh.md",
    "phan-anh-danh-sach.png": "huong-dan-phan-anh.md",
    "phan-anh-giao.png": "huong-dan-phan-anh.md",
    "phan-anh-du-thao.png": "huong-dan-phan-anh.md",
    "sang-kien-nop.png": "huong-dan-sang-kien.md",
    "sang-kien-thu-ky.png": "huong-dan-sang-kien.md",
    "sang-kien-cham.png": "huong-dan-sang-kien.md",
}


def picture(page, name: str, *, element=None, full_page: bool = False) -> Path:
    """Check that the page does not scroll sideways, then save the picture ``name``."""
    assert name in PICTURES, name
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: {page.url} scrolls sideways ({width[0]} px in {width[1]} px)"
    # Words, not codes: no identifier of the code (a role, a unit kind, a setting) shows on the page.
    codes = CODE.findall(page.inner_text("body"))
    assert not codes, f"{name}: {page.url} shows codes {codes}"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    return path


def _moved_to_this_year(server, name: str) -> Path:
    moved = server.folder / name.replace("2024", str(YEAR))
    moved.write_text((EXAMPLE / "demo" / name).read_text(encoding="utf-8-sig").replace("2024-", f"{YEAR}-"),
                     encoding="utf-8")
    return moved


def _other_months(server) -> Path:
    """The demo's March reports repeated for the other months up to last month, as a district's
    year goes: most units on time, some late, a few missing (the overview's grid of reports would
    otherwise be all red but March)."""
    with (EXAMPLE / "demo" / "activity-2024-03.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    last = dt.datetime.now(VN).month - 1
    out = server.folder / "activity-other-months.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for month in (m for m in range(1, last + 1) if m != 3):
            for row in rows:
                fate = random.Random(f"{row['unit']}-{month}").random()
                if fate < 0.08:
                    continue  # not reported
                day = 9 if fate < 0.18 else 3  # the due day is the 5th of the next month
                sent = dt.date(YEAR + month // 12, month % 12 + 1, day)
                writer.writerow({**row, "period": f"{YEAR}-{month:02d}", "submitted_at": sent.isoformat()})
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo deployment (`make run`), this year, served on loopback."""
    server = Server(tmp_path_factory.mktemp("guides"), PLUGINS)
    config = server.config
    # The plan's words say this year too ("Kế hoạch … năm 2024" over March of this year would read wrong).
    plan = config.parent / "plan.toml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("năm 2024", f"năm {YEAR}").replace("/2024", f"/{YEAR}"), encoding="utf-8")
    ccch(config, "measure", "import", _moved_to_this_year(server, "measurements-2024-q1.csv"))
    ccch(config, "report-activity", "--from-csv", _moved_to_this_year(server, "activity-2024-03.csv"))
    ccch(config, "report-activity", "--from-csv", _other_months(server))
    ccch(config, "survey", "load", "--template", "sipas")
    ccch(config, "survey", "place-kind", "sipas", "one_stop_desk", "--place", "Quầy tiếp nhận hồ sơ")
    ccch(config, "contest", "load", EXAMPLE / "contest.toml", "--trial")
    ccch(config, "contest", "questions", "import", CONTEST, EXAMPLE / "questions.csv")
    ccch(config, "contest", "publish", CONTEST)
    for username, role, unit, name in (
        ("vhtt", "plan_admin", None, "Phòng Văn hóa - Thông tin"),
        ("canbo.andung", "unit_officer", "xa-an-dung", "Cán bộ xã An Dũng"),
        ("noivu", "contest_manager", None, "Phòng Nội vụ"),
    ):
        ccch(config, "users", "add", username, "--role", role, *(["--unit", unit] if unit else []),
             "--name", name, "--password-stdin", stdin=PASSWORD + "\n")
    # The address the district publishes, as on its printed posters and on the placements page
    # (the browser still reaches the server on loopback).
    config.write_text(re.sub(r'public_base_url = "[^"]*"', f'public_base_url = "{PUBLIC_URL}"',
                             config.read_text(encoding="utf-8")), encoding="utf-8")
    server.start()
    yield server
    server.stop()


def _context(browser, viewport, **kwargs):
    mobile = viewport["width"] < 800
    return browser.new_context(viewport=viewport, locale="vi-VN", device_scale_factor=1,
                               is_mobile=mobile, has_touch=mobile, **kwargs)


def _survey_code(server, unit_id: str) -> str:
    db = sqlite3.connect(server.config.parent / "ccch.db")
    try:
        return db.execute("select code from survey_placements where unit_id = ? order by id",
                          (unit_id,)).fetchone()[0]
    finally:
        db.close()


def test_unit_officer_guide(demo, browser):
    """huong-dan-don-vi.md: a commune officer on a phone signs in and files the month's report."""
    month = this_month()
    context = _context(browser, PHONE)
    page = context.new_page()
    page.goto(demo.base + "/dang-nhap")
    page.fill("#username", "canbo.andung")
    page.fill("#password", PASSWORD)
    picture(page, "don-vi-dang-nhap.png")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    page.goto(f"{demo.base}/bao-cao?period={month}")
    with page.expect_navigation():
        page.click("a:has-text('Nộp báo cáo')")
    assert page.url.endswith(f"/bao-cao/xa-an-dung/{month}")
    page.select_option("#item-0-category", "broadcast")
    page.fill("#item-0-count", "bốn")  # a count written in words: the form comes back
    page.fill("#item-0-title", "Nêu gương người tốt, việc tốt về CCHC trên trạm truyền thanh")
    page.select_option("#item-0-task", "T11")
    page.locator("legend", has_text="Hoạt động tuyên truyền trong tháng").scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('fieldset').scrollIntoView()")
    picture(page, "don-vi-bao-cao.png")
    page.fill("#m-I8-xa-an-dung", "1")
    page.check("input[name='m-I5-xa-an-dung.truyen-thanh'][value='1']")
    page.evaluate("() => document.querySelectorAll('fieldset')[1].scrollIntoView()")
    picture(page, "don-vi-chi-tieu.png")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    assert "Báo cáo chưa được nộp" in page.inner_text(".error-summary")
    assert page.input_value("#item-0-title").startswith("Nêu gương")  # nothing typed is lost
    picture(page, "don-vi-tra-lai.png")
    page.fill("#item-0-count", "4")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    assert "Đã nộp báo cáo" in page.inner_text(".flash")
    picture(page, "don-vi-da-nop.png")
    context.close()


def test_commune_plan_guide(demo, browser):
    """huong-dan-ke-hoach-xa.md: a commune officer on a phone starts the commune's plan from the
    district's, commits to less than the district asks (and is told so), saves and sends; the office
    sees the communes' plans at a desk."""
    context = _context(browser, PHONE)
    page = context.new_page()
    sign_in(page, demo.base, "canbo.andung")
    page.click("nav summary")  # on a phone the menu is a "Menu" disclosure (the guide says so)
    page.click("nav a:has-text('Kế hoạch của xã')")
    with page.expect_navigation():
        page.click("button:has-text('Bắt đầu soạn kế hoạch')")
    page.locator("input[id^=ptask-][id$=-timing]").first.fill("Hằng tháng, phát vào tối thứ Sáu")
    page.evaluate("() => document.querySelector('form.form h2').scrollIntoView()")
    picture(page, "ke-hoach-xa-soan.png")
    target = page.locator("input[id^=target-]").first
    promised = target.input_value()
    target.fill("0")  # below the district's figure: refused, everything typed kept
    with page.expect_navigation():
        page.click("button:has-text('Lưu kế hoạch')")
    assert "Chưa lưu được" in page.inner_text(".error-summary")
    assert page.locator("input[id^=ptask-][id$=-timing]").first.input_value().startswith("Hằng tháng")
    picture(page, "ke-hoach-xa-loi.png")
    page.locator("input[id^=target-]").first.fill(promised)
    with page.expect_navigation():
        page.click("button:has-text('Lưu kế hoạch')")
    with page.expect_navigation():
        page.click("button:has-text('Gửi kế hoạch')")
    assert "gửi lúc" in page.content()
    picture(page, "ke-hoach-xa-da-gui.png")
    context.close()

    context = _context(browser, DESKTOP)
    page = context.new_page()
    sign_in(page, demo.base, "vhtt")
    page.goto(f"{demo.base}/ke-hoach-xa")
    assert "UBND xã An Dũng" in page.content()
    picture(page, "ke-hoach-xa-cac-xa.png")
    context.close()


def test_culture_office_guide(demo, browser):
    """huong-dan-phong-vhtt.md: the Culture & Information office at a desk — the overview of March,
    the download box, the roll-up, reopening a unit's report."""
    context = _context(browser, DESKTOP)
    page = context.new_page()
    sign_in(page, demo.base, "vhtt")
    page.goto(f"{demo.base}/?period={MARCH}")
    assert "Chỉ tiêu" in page.content()
    picture(page, "vhtt-tong-quan.png")
    # The overview's pictures: progress toward the targets with the monthly trends; the year's grid
    # of reports by unit and month.
    picture(page, "vhtt-bieu-do.png", element=page.locator("section[aria-labelledby=h-indicators]"))
    picture(page, "vhtt-bang-nop.png", element=page.locator("figure.chart-wide").first)
    box = page.locator("section.panel", has=page.locator("#export-unit"))
    box.scroll_into_view_if_needed()
    picture(page, "vhtt-tai-bao-cao.png", element=box)
    page.goto(f"{demo.base}/tong-hop?period={MARCH}")
    picture(page, "vhtt-tong-hop.png")
    page.goto(f"{demo.base}/bao-cao/xa-an-dung/{MARCH}")
    reopen = page.locator("button", has_text="Mở lại báo cáo")
    assert reopen.count() == 1
    picture(page, "vhtt-mo-lai.png")
    context.close()


def _answer(page, score, skip: str | None = None) -> None:
    """Answer every required question with ``score()`` (but ``skip``)."""
    required = page.locator("fieldset[data-required]")
    for i in range(required.count()):
        name = required.nth(i).get_attribute("id")
        if name != skip:
            page.check(f"input[name='{name}'][value='{score()}']")


def test_survey_guide(demo, browser, tmp_path):
    """huong-dan-khao-sat.md: a citizen answers on a phone (and is sent back once), a commune officer
    adds a placement on a phone, the poster as printed, the office's results and the builder at a
    desk, a counter's tablet that keeps an answer while the network is down."""
    code = _survey_code(demo, "xa-an-dung.mot-cua")
    # Eight citizens, each on a phone of their own, answer as people do: differently, and slower
    # than reading the questions takes (a faster or identical answer is flagged, and the office's
    # picture would show a warning instead of the results).
    chosen = random.Random(27)
    phones = []
    for i in range(8):
        context = _context(browser, PHONE)
        page = context.new_page()
        page.goto(f"{demo.base}/k/{code}")
        phones.append((context, page))
        if i == 0:
            picture(page, "khao-sat-phieu.png")
            _answer(page, lambda: "4", skip="q-chung")
            page.fill("#i-q-gop-y-them", "Cán bộ hướng dẫn tận tình; mong có thêm ghế chờ.")
            with page.expect_navigation():
                page.click("form button[type=submit]")
            problem = page.locator("#q-chung")
            assert "q-bad" in (problem.get_attribute("class") or "")
            assert page.input_value("#i-q-gop-y-them").startswith("Cán bộ hướng dẫn")  # kept
            page.evaluate("() => document.getElementById('q-chung').scrollIntoView()")
            picture(page, "khao-sat-tra-lai.png")
            page.check("input[name='q-chung'][value='5']")
        else:
            _answer(page, lambda: chosen.choice("2334444555"))
    time.sleep(20)
    for context, page in phones:
        with page.expect_navigation():
            page.click("form button[type=submit]")
        assert "cảm ơn" in page.content().lower()
        context.close()

    # The commune officer adds a poster on a phone.
    context = _context(browser, PHONE)
    page = context.new_page()
    sign_in(page, demo.base, "canbo.andung")
    page.goto(f"{demo.base}/khao-sat/noi-dat")
    page.select_option("select[name=unit_id]", "xa-an-dung.mot-cua")
    page.fill("input[name=place]", "Bảng tin trước trụ sở")
    page.check("input[name=mode][value=poster]")
    with page.expect_navigation():
        page.click("form button[type=submit]:has-text('Tạo nơi đặt')")
    assert "Đã tạo nơi đặt" in page.inner_text(".flash")
    picture(page, "khao-sat-noi-dat.png")
    context.close()

    # The poster as it prints.
    pdf = tmp_path / "poster.pdf"
    ccch(demo.config, "survey", "posters", "sipas", "--code", code, "-o", pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf), str(tmp_path / "poster")], check=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "khao-sat-poster.png").write_bytes((tmp_path / "poster.png").read_bytes())

    # The office reads the results and opens the builder at a desk.
    context = _context(browser, DESKTOP)
    page = context.new_page()
    sign_in(page, demo.base, "vhtt")
    page.goto(f"{demo.base}/khao-sat/sipas?period={this_month()}")
    assert "Theo tiêu chí" in page.content()
    assert "đáng ngờ chưa xem xét" not in page.content()
    page.locator("h1").scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('h1').scrollIntoView()")
    page.set_viewport_size({"width": 1280, "height": 1100})
    picture(page, "khao-sat-ket-qua.png")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{demo.base}/khao-sat/sipas/soan")
    assert page.locator("text=Thêm câu hỏi").count()
    picture(page, "khao-sat-soan.png")
    context.close()

    # A counter's tablet, enrolled by the commune officer, loses its network: the answer is kept.
    kiosk = ccch(demo.config, "survey", "place", "sipas", "xa-an-dung.mot-cua", "--place", "Máy tính bảng quầy 1",
                 "--kiosk").split()[0]
    officer = _context(browser, PHONE).new_page()
    sign_in(officer, demo.base, "canbo.andung")
    officer.goto(f"{demo.base}/khao-sat/noi-dat/{kiosk}/may-tinh-bang")
    officer.fill("input[name=ten]", "Máy tính bảng quầy 1")
    officer.click("form.form button[type=submit]")
    enrolment = officer.locator("p.lead code").inner_text()
    tablet = _context(browser, TABLET)
    page = tablet.new_page()
    page.goto(f"{demo.base}/k/{kiosk}/dang-ky")
    page.fill("#i-ma", enrolment)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{demo.base}/k/{kiosk}")
    tablet.set_offline(True)
    _answer(page, lambda: "5")
    page.click("form button[type=submit]")
    status = page.locator("#kiosk-status")
    status.filter(has_text="đã được lưu trên máy này").wait_for(timeout=10_000)
    page.evaluate("() => document.getElementById('kiosk-status').scrollIntoView({block: 'center'})")
    picture(page, "khao-sat-kiosk-mat-mang.png")
    tablet.close()


def test_contest_guide(demo, browser):
    """huong-dan-cuoc-thi.md: the Interior office's overview of its contest at a desk; a citizen on
    a phone registers, types the code the phone received, and takes the attempt with the countdown
    running; the result page as the default settings show it (the score waits for the round's end)."""
    phone = _context(browser, PHONE)
    page = phone.new_page()
    page.goto(f"{demo.base}/cuoc-thi/{CONTEST}")
    with page.expect_navigation():
        page.click("a:has-text('Đăng ký dự thi')")
    page.fill("input[name=full_name]", "Nguyễn Thị Hoa")
    page.fill("input[name=phone]", "0912 345 678")
    page.fill("input[name=birth_year]", "1990")
    page.check("input[name=audience][value=nhan-dan]")
    page.select_option("select[name=unit_id]", "xa-an-dung")
    if page.locator("input[name=occupation]").count():
        page.fill("input[name=occupation]", "Nông dân")
    page.check("input[name=consent]")
    if not page.is_checked("input[name=start_now]"):
        page.check("input[name=start_now]")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/xac-nhan" in page.url
    db = sqlite3.connect(demo.config.parent / "ccch.db")
    otp = json.loads(db.execute("select params from messages where template = 'otp' order by id desc").fetchone()[0])
    db.close()
    page.fill("input[name=ma]", otp["code"])
    with page.expect_navigation():
        page.click("form button:has-text('Xác nhận')")
    assert "/bai-thi/" in page.url
    timer = page.locator("#dem-nguoc")
    assert timer.is_visible() and "Thời gian còn lại" in timer.inner_text()  # the countdown runs
    names = sorted(set(page.eval_on_selector_all("#bai-thi input[type=radio], #bai-thi input[type=checkbox]",
                                                  "els => els.map(e => e.name)")))
    page.locator(f"#bai-thi input[name='{names[0]}']").first.check()
    page.evaluate("() => window.scrollTo(0, 0)")
    picture(page, "cuoc-thi-bai-thi.png")
    for name in names[1:]:
        page.locator(f"#bai-thi input[name='{name}']").first.check()
    if page.locator("#du_doan").count():
        page.fill("#du_doan", "12")
    time.sleep(30)  # a person's pace, not a robot's: the result page says how long the attempt took
    with page.expect_navigation():
        page.click("#bai-thi button[type=submit]:not([formaction])")
    assert "Bài thi đã được ghi nhận" in page.content()
    picture(page, "cuoc-thi-ket-qua.png")
    phone.close()

    context = _context(browser, DESKTOP)
    page = context.new_page()
    sign_in(page, demo.base, "noivu")
    page.goto(f"{demo.base}/cuoc-thi/quan-ly/{CONTEST}")
    assert "Các vòng thi" in page.content()
    picture(page, "cuoc-thi-quan-ly.png")
    context.close()


@pytest.fixture(scope="module")
def feedback_demo(tmp_path_factory):
    """The demo deployment with questions and feedback (`ccch feedback demo`): its own server, so
    that the other guides' menus stay the ones their pictures show."""
    server = Server(tmp_path_factory.mktemp("guides-feedback"), ("feedback",))
    config = server.config
    plan = config.parent / "plan.toml"  # this year in the plan's words too, as in demo()
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("năm 2024", f"năm {YEAR}").replace("/2024", f"/{YEAR}"), encoding="utf-8")
    ccch(config, "feedback", "demo")
    for username, role, unit, name in (
        ("vhtt", "plan_admin", None, "Phòng Văn hóa - Thông tin"),
        ("canbo.andung", "unit_officer", "xa-an-dung", "Cán bộ xã An Dũng"),
    ):
        ccch(config, "users", "add", username, "--role", role, *(["--unit", unit] if unit else []),
             "--name", name, "--password-stdin", stdin=PASSWORD + "\n")
    server.start()
    yield server
    server.stop()


def test_feedback_guide(feedback_demo, browser):
    """huong-dan-phan-anh.md: a citizen asks on a phone and gets a tracking code; the Culture &
    Information office at a desk sees it waiting for triage and gives it to the commune; the
    commune's officer, on a phone, drafts the answer for the leader."""
    base = feedback_demo.base
    phone = _context(browser, PHONE)
    page = phone.new_page()
    page.goto(f"{base}/hoi-dap/gui")
    page.select_option("#i-linh-vuc", "ho-tich")
    page.select_option("#i-don-vi", "xa-an-dung")
    page.fill("#i-tieu-de", "Đăng ký khai sinh cho con khi cha mẹ chưa đăng ký kết hôn")
    page.fill("#i-noi-dung", "Con tôi sinh tháng 3, cha mẹ chưa đăng ký kết hôn. Xin hỏi cần giấy tờ gì để "
                             "đăng ký khai sinh, nộp ở UBND xã An Dũng hay ở huyện?")
    page.evaluate("() => document.querySelector('main form').scrollIntoView()")
    picture(page, "phan-anh-gui.png")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    text = page.inner_text("main")
    code = re.search(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b", text)
    assert code, text
    picture(page, "phan-anh-ma-theo-doi.png")
    phone.close()

    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    sign_in(page, base, "vhtt")
    page.click("nav a:has-text('Phản ánh, kiến nghị')")
    page.click("a:has-text('Chờ phân loại')")
    assert code.group(0) in page.inner_text("main")
    picture(page, "phan-anh-danh-sach.png")
    with page.expect_navigation():
        page.click(f"a:has-text('{code.group(0)}')")
    page.select_option("#i-giao", "xa-an-dung")
    page.evaluate("() => document.querySelector('#f-giao').scrollIntoView({block: 'center'})")
    picture(page, "phan-anh-giao.png")
    with page.expect_navigation():
        page.click("#f-giao button[type=submit]")
    desk.close()

    phone = _context(browser, PHONE)
    page = phone.new_page()
    sign_in(page, base, "canbo.andung")
    page.click("nav summary")
    page.click("nav a:has-text('Phản ánh, kiến nghị')")
    with page.expect_navigation():
        page.click(f"a:has-text('{code.group(0)}')")
    page.fill("#i-tra-loi", "Chào Ông/Bà, hồ sơ gồm: tờ khai đăng ký khai sinh, giấy chứng sinh và giấy tờ "
                            "tùy thân của người đi đăng ký; nộp tại UBND xã An Dũng nơi cư trú của cha hoặc mẹ.")
    page.evaluate("() => document.querySelector('#i-tra-loi').scrollIntoView({block: 'center'})")
    picture(page, "phan-anh-du-thao.png")
    with page.expect_navigation():
        page.click("#f-du-thao button[type=submit]")
    assert "chờ lãnh đạo đơn vị duyệt" in page.inner_text("main")
    phone.close()


CALL = "sang-kien-cchc-2024"


@pytest.fixture(scope="module")
def initiatives_demo(tmp_path_factory):
    """The demo's call for initiatives (`make run`): its entries, a secretary and three judges from
    units none of the entries comes from, the entries assigned. Its own server, as feedback_demo."""
    server = Server(tmp_path_factory.mktemp("guides-initiatives"), ("initiatives",))
    config = server.config
    plan = config.parent / "plan.toml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("năm 2024", f"năm {YEAR}").replace("/2024", f"/{YEAR}"), encoding="utf-8")
    ccch(config, "initiatives", "load", EXAMPLE / "initiatives.toml", "--trial")
    ccch(config, "initiatives", "entries", "load", CALL, EXAMPLE / "initiatives-entries.toml")
    ccch(config, "users", "add", "thuky", "--role", "viewer", "--name", "Thư ký hội đồng",
         "--password-stdin", stdin=PASSWORD + "\n")
    ccch(config, "initiatives", "panel", "add", CALL, "thuky", "--role", "secretary")
    for unit in ("phong-tckh", "trung-tam-hcc", "vp-hdnd-ubnd"):
        ccch(config, "users", "add", f"giamkhao.{unit}", "--role", "viewer", "--name", "Giám khảo",
             "--password-stdin", stdin=PASSWORD + "\n")
        ccch(config, "initiatives", "panel", "add", CALL, f"giamkhao.{unit}", "--role", "judge", "--unit", unit)
    ccch(config, "initiatives", "assign", CALL)
    server.start()
    yield server
    server.stop()


def test_initiatives_guide(initiatives_demo, browser):
    """huong-dan-sang-kien.md: an author opens the call's form on a phone; the panel's secretary
    follows the entries at a desk; a judge scores an entry, blind, at a desk."""
    base = initiatives_demo.base
    phone = _context(browser, PHONE)
    page = phone.new_page()
    page.goto(f"{base}/sang-kien/{CALL}")
    with page.expect_navigation():
        page.click("a:has-text('Gửi bài dự thi')")
    assert page.locator("input[type=file]").count()
    picture(page, "sang-kien-nop.png")
    phone.close()

    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    sign_in(page, base, "thuky")
    page.goto(f"{base}/sang-kien/hoi-dong/{CALL}")
    assert "Phân công giám khảo" in page.content()
    picture(page, "sang-kien-thu-ky.png")
    desk.close()

    desk = _context(browser, DESKTOP)
    page = desk.new_page()
    sign_in(page, base, "giamkhao.phong-tckh")
    page.goto(f"{base}/sang-kien/hoi-dong/{CALL}/cham")
    with page.expect_navigation():
        page.locator("main a[href*='/cham/']").first.click()
    assert page.locator("form input, form select").count()
    picture(page, "sang-kien-cham.png")
    desk.close()

