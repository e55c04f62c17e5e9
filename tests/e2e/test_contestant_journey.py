"""Journey 3: a citizen registers for the contest (with consent), types the code the phone
received, starts an attempt, sees the countdown, answers, submits and sees the time (the score
waits for the round's end); a second tab cannot submit the same attempt again; after the round
closes, the result shows the score and the review the correct answers."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import time

from .conftest import ROOT, ccch

PLUGINS = ("contest",)
VN = dt.timezone(dt.timedelta(hours=7))
SLUG = "tim-hieu-cchc-2024"
ROUND_SECONDS = 45


def contest_file(path, closes: dt.datetime):
    """The example contest with one round open now and closing in ROUND_SECONDS, 5 questions."""
    text = (ROOT / "examples" / "duc-tho-2024" / "contest.toml").read_text(encoding="utf-8")
    text = re.sub(r"questions_per_attempt = \d+", "questions_per_attempt = 5", text)
    text = re.sub(r"^quotas = .*$", "", text, flags=re.MULTILINE)
    opens = (closes - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    one_round = (f'[[rounds]]\nnumber = 1\nname = "Vòng thử"\nopens = {opens}\n'
                 f'closes = {closes.strftime("%Y-%m-%dT%H:%M:%S")}\n\n')
    start, end = text.index("[[rounds]]"), text.index("[[collective_prizes]]")
    path.write_text(text[:start] + one_round + text[end:], encoding="utf-8")
    return path


def test_contestant_journey(server, browser, shot, tmp_path):
    closes = dt.datetime.now(VN).replace(tzinfo=None, microsecond=0) + dt.timedelta(seconds=ROUND_SECONDS)
    ccch(server.config, "contest", "load", contest_file(tmp_path / "contest.toml", closes))
    ccch(server.config, "contest", "questions", "import", SLUG, ROOT / "examples" / "duc-tho-2024" / "questions.csv")
    ccch(server.config, "contest", "publish", SLUG)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = phone.new_page()
    page.goto(f"{server.base}/cuoc-thi/{SLUG}")
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
    # An audience with prizes verifies: the code goes to the phone (the development sender writes it
    # to the outbox folder); the person types it.
    assert "/xac-nhan" in page.url and "*******678" in page.content(), page.content()[:1500]
    shot(page, "0-code")
    db = sqlite3.connect(server.config.parent / "ccch.db")
    otp = json.loads(db.execute("select params from messages where template = 'otp' order by id desc").fetchone()[0])
    db.close()
    page.fill("input[name=ma]", otp["code"])
    with page.expect_navigation():
        page.click("form button:has-text('Xác nhận')")
    # The attempt page answers the code's POST; the script puts its own address in the bar.
    assert "/bai-thi/" in page.url, page.content()[:2000]
    attempt_url = page.url
    timer = page.locator("#dem-nguoc")
    assert timer.is_visible() and "Thời gian còn lại" in timer.inner_text()  # the JavaScript countdown
    html = page.content()
    # Nothing tells the answer (the review page's marker is "— đáp án đúng"; a prompt may itself say
    # "chọn tất cả các đáp án đúng").
    assert "— đáp án đúng" not in html and "is-correct" not in html

    names = sorted(set(page.eval_on_selector_all("#bai-thi input[type=radio], #bai-thi input[type=checkbox]",
                                                  "els => els.map(e => e.name)")))
    assert len(names) == 5
    for name in names:
        page.locator(f"#bai-thi input[name='{name}']").first.check()
    if page.locator("#du_doan").count():
        page.fill("#du_doan", "3")
    shot(page, "1-attempt")

    second = phone.new_page()  # a second tab on the same attempt
    second.goto(attempt_url)
    with page.expect_navigation():
        page.click("#bai-thi button[type=submit]:not([formaction])")
    result = page.content()
    assert "Thời gian làm bài" in result and "Bài thi đã được ghi nhận" in result
    assert not re.search(r"\d+\s*/\s*5", page.inner_text("main"))  # the score after the round (the default)
    assert "/ket-qua/" in page.url  # so that reloading the result shows it again, without re-sending
    page.reload()
    assert "Thời gian làm bài" in page.content()
    shot(page, "2-result")
    for name in names:
        second.locator(f"#bai-thi input[name='{name}']").first.check()
    with second.expect_navigation():
        second.click("#bai-thi button[type=submit]:not([formaction])")
    db = sqlite3.connect(server.config.parent / "ccch.db")
    submitted = db.execute("select count(*) from contest_attempts where submitted_at is not null").fetchone()[0]
    assert submitted == 1  # the second tab's submission did not count again

    # After the round closes, the review shows the correct answers.
    wait = (closes - dt.datetime.now(VN).replace(tzinfo=None)).total_seconds() + 2
    if wait > 0:
        time.sleep(wait)
    review = attempt_url.replace("/bai-thi/", "/xem-lai/")
    page.goto(attempt_url.replace("/bai-thi/", "/ket-qua/"))
    assert re.search(r"\d+\s*/\s*5", page.inner_text("main"))  # now the score shows
    page.goto(review)
    assert "đáp án đúng" in page.content()
    shot(page, "3-review")
    phone.close()
