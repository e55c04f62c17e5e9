"""The public Q&A: answered questions found without diacritics ("giay khai sinh" finds "giấy khai
sinh", "dang ky" finds "Đăng ký", đ as d), browsing by field and unit, "most asked", the Atom feed
and the embeddable list."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from ccch_feedback import store
from ccch_feedback.store import Question, fold_text, match_expression

ANSWERED = [
    ("ho-tich", "phong-tu-phap", "Cấp lại giấy khai sinh bị mất", "Tôi làm mất giấy khai sinh, xin cấp lại thế nào?",
     "Nộp tờ khai đăng ký lại khai sinh tại UBND xã nơi cư trú."),
    ("dang-ky-kinh-doanh", "phong-tckh", "Đăng ký hộ kinh doanh", "Thủ tục Đăng ký hộ kinh doanh cần gì?",
     "Nộp giấy đề nghị đăng ký hộ kinh doanh tại Bộ phận một cửa huyện."),
    ("dat-dai", "phong-tu-phap", "Chuyển nhượng quyền sử dụng đất", "Công chứng hợp đồng chuyển nhượng ở đâu?",
     "Tại tổ chức hành nghề công chứng hoặc UBND xã (chứng thực)."),
]


def answer_one(dep, field, unit, title, body, answer, *, requester="citizen"):
    item = store.ask(dep, Question(kind="question", requester=requester, title=title, body=body, field=field))
    store.assign(dep, item.id, unit, "vhtt")
    store.save_draft(dep, item.id, answer, "canbo")
    return store.approve(dep, item.id, "lanhdao")


@pytest.fixture
def answered(dep):
    return [answer_one(dep, *row) for row in ANSWERED]


def titles(rows):
    return [r["public_title"] for r in rows]


@pytest.mark.parametrize(("query", "expected"), [
    ("giay khai sinh", "Cấp lại giấy khai sinh bị mất"),
    ("giấy khai sinh", "Cấp lại giấy khai sinh bị mất"),
    ("GIAY KHAI SINH", "Cấp lại giấy khai sinh bị mất"),
    ("dang ky", "Đăng ký hộ kinh doanh"),
    ("Đăng ký hộ kinh", "Đăng ký hộ kinh doanh"),
    ("dat dai", None),
    ("quyen su dung dat", "Chuyển nhượng quyền sử dụng đất"),
    ("cong chu", "Chuyển nhượng quyền sử dụng đất"),  # the last word may be the start of one
])
def test_search_without_diacritics(dep, answered, query, expected):
    found = titles(store.search(dep.db, query))
    if expected is None:
        assert found == []
    else:
        assert expected in found


def test_dang_ky_finds_both_spellings_and_ranks(dep, answered):
    found = titles(store.search(dep.db, "dang ky"))
    assert set(found) == {"Cấp lại giấy khai sinh bị mất", "Đăng ký hộ kinh doanh"}
    assert found[0] == "Đăng ký hộ kinh doanh"  # in its title, body and answer


def test_folding():
    assert fold_text("Đăng ký Giấy KHAI SINH đ Ð") == "dang ky giay khai sinh d d"
    assert match_expression("giấy  khai-sinh!!") == '"giay" "khai" "sinh"*'
    assert match_expression('" OR * NEAR(') == '"or" "near"*'
    assert match_expression("!!! ???") is None
    assert match_expression("x" * 10_000).count('"') == 2


def test_odd_queries_do_not_break_fts(dep, answered):
    for query in ('"', "AND", "OR NOT", "*", "giay*", "(", "NEAR(a b)", "a:b", "\x00", "🙂", "^giay"):
        store.search(dep.db, query)  # no FTS5 syntax error


def test_unpublished_items_are_not_found(dep, answered):
    item = store.ask(dep, Question(kind="question", requester="citizen", title="Giấy khai sinh chưa trả lời",
                                   body="Chưa có câu trả lời nào cả.", field="ho-tich"))
    assert item.title not in titles(store.search(dep.db, "giay khai sinh"))


def test_browse_by_field_unit_and_most_asked(dep, answered):
    assert titles(store.search(dep.db, None, field="dat-dai")) == ["Chuyển nhượng quyền sử dụng đất"]
    assert set(titles(store.search(dep.db, None, unit_id="phong-tu-phap"))) == {
        "Cấp lại giấy khai sinh bị mất", "Chuyển nhượng quyền sử dụng đất"}
    dup = store.ask(dep, Question(kind="question", requester="citizen", title="Mất giấy khai sinh",
                                  body="Xin cấp lại giấy khai sinh.", field="ho-tich"))
    store.merge(dep, dup.id, answered[2].id, "vhtt")
    assert titles(store.search(dep.db, None, order="most"))[0] == "Chuyển nhượng quyền sử dụng đất"


def test_public_pages(app, dep, answered):
    client = app.test_client()
    page = client.get("/hoi-dap/?q=giay+khai+sinh")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Cấp lại giấy khai sinh bị mất" in html and "Đăng ký hộ kinh doanh" not in html
    assert len(page.data) < 30_000
    home = client.get("/hoi-dap/").get_data(as_text=True)
    assert "Được hỏi nhiều nhất" in home
    by_field = client.get("/hoi-dap/?linh-vuc=dang-ky-kinh-doanh").get_data(as_text=True)
    assert "Đăng ký hộ kinh doanh" in by_field and "Chuyển nhượng" not in by_field
    by_unit = client.get("/hoi-dap/?don-vi=phong-tckh").get_data(as_text=True)
    assert "Đăng ký hộ kinh doanh" in by_unit and "Chuyển nhượng" not in by_unit
    one = client.get(f"/hoi-dap/{answered[0].id}")
    assert one.status_code == 200 and "Nộp tờ khai" in one.get_data(as_text=True)


def test_atom_feed(app, dep, answered):
    response = app.test_client().get("/hoi-dap/atom.xml")
    assert response.status_code == 200 and response.content_type.startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(response.data)
    entries = root.findall("a:entry", ns)
    assert len(entries) == 3
    links = [e.find("a:link", ns).get("href") for e in entries]
    assert all(link.startswith("https://cchc.example.gov.vn/hoi-dap/") for link in links)
    assert {e.find("a:title", ns).text for e in entries} == {row[2] for row in ANSWERED}


def test_embeddable_list(feedback_deployment, make_app):
    dep = feedback_deployment(embed_origins=["https://ductho.hatinh.gov.vn"])
    answer_one(dep, *ANSWERED[0])
    response = make_app(dep).test_client().get("/hoi-dap/nhung")
    assert response.status_code == 200
    assert "frame-ancestors https://ductho.hatinh.gov.vn" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] != "DENY"
    html = response.get_data(as_text=True)
    assert "Cấp lại giấy khai sinh bị mất" in html and 'target="_top"' in html


def test_embed_refuses_framing_without_origins(app):
    response = app.test_client().get("/hoi-dap/nhung")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_of_results(app, dep):
    for n in range(21):
        answer_one(dep, "ho-tich", "phong-tu-phap", f"Khai sinh số {n}", "Hỏi về khai sinh cho con.", "Trả lời.")
    client = app.test_client()
    first = client.get("/hoi-dap/?q=khai+sinh").get_data(as_text=True)
    assert first.count("<article>") == 20 and "Trang sau" in first and "Trang trước" not in first
    link = re.search(r'href="([^"]*trang=2[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert second.count("<article>") == 1 and "Trang trước" in second and "Trang sau" not in second
    assert "q=khai+sinh" in link or "q=khai%20sinh" in link
