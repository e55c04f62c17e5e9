"""Posters that promote a contest (issues #21 and #27): the core's shared poster with the contest's
QR code, read back by an independent decoder (zxing-cpp, from the page pypdfium2 renders)."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
import zxingcpp

from ccch_core.testing import csrf_token, login

SLUG = "tim-hieu-cchc-2024"
URL = f"/cuoc-thi/quan-ly/{SLUG}/poster"


@pytest.fixture
def manager(dep, contest, make_app, make_user):
    client = make_app(dep).test_client()
    username, password = make_user(dep, "contest_manager")
    assert login(client, username, password).status_code == 302
    return client


def post(client, data):
    return client.post(URL, data={"csrf_token": csrf_token(client, URL), **data})


def pages(data: bytes) -> list[tuple[str, list[str]]]:
    """(text, decoded QR codes) of each page."""
    found = []
    for page in pdfium.PdfDocument(data):
        codes = [r.text for r in zxingcpp.read_barcodes(page.render(scale=2).to_pil())]
        found.append((page.get_textpage().get_text_range(), codes))
    return found


def test_one_poster_for_a_unit_carries_the_contests_address(dep, contest, manager):
    page = manager.get(URL).get_data(as_text=True)
    assert "Poster cuộc thi" in page and "Mỗi đơn vị của nhóm" in page
    response = post(manager, {"where": "unit:xa-an-dung", "place": "Bộ phận một cửa", "size": "A4"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "poster-tim-hieu-cchc-2024-a4.pdf" in response.headers["Content-Disposition"]
    ((text, codes),) = pages(response.get_data())
    assert codes == [f"{dep.public_base_url}/cuoc-thi/{SLUG}"]
    assert contest.definition.title.upper() in " ".join(text.split())
    assert "UBND xã An Dũng" in text and "Bộ phận một cửa" in text and "Thi trực tuyến từ" in text
    assert "Mã nơi đặt" not in text  # it promotes a page: no placement code to print


def test_a_group_gives_one_poster_per_unit_on_a3(dep, contest, manager):
    group = next(g for g in dep.plan.unit_groups if g.id == "cac-xa-thi-tran")
    members = [u for u in dep.plan.group_members(group.id) if not u.external]
    response = post(manager, {"where": f"group:{group.id}", "size": "A3"})
    assert response.status_code == 200
    document = pdfium.PdfDocument(response.get_data())
    assert len(document) == len(members) > 1
    width, height = document[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (297, 420)
    texts = [document[i].get_textpage().get_text_range() for i in range(len(document))]
    assert all(any(u.name in t for t in texts) for u in members)


@pytest.mark.parametrize(("form", "field"), [
    ({"where": "", "size": "A4"}, "where"),
    ({"where": "unit:khong-co", "size": "A4"}, "where"),
    ({"where": "group:khong-co", "size": "A4"}, "where"),
    ({"where": "x" * 5000, "size": "A4"}, "where"),
    ({"where": "unit:xa-an-dung", "size": "A0"}, "size"),
])
def test_a_bad_choice_comes_back_named_and_filled_in(dep, contest, manager, form, field):
    response = post(manager, {"place": "Nhà văn hóa thôn", **form})
    assert response.status_code == 422 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and 'value="Nhà văn hóa thôn"' in html
