"""Posters for the question form, made by the core's shared placements and posters: the poster's
QR code, read by an independent decoder (zxing-cpp, from the page pypdfium2 renders), is the form's
URL, and a question asked through it is attributed to the placement."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from ccch_feedback import store
from ccch_feedback_testing import TOKEN_RE, code_of, form_data, open_form
from click.testing import CliRunner

from ccch_core import placements
from ccch_core.cli import make_cli
from ccch_core.testing import login

BASE = "https://cchc.example.gov.vn"


@pytest.fixture
def cli(dep):
    def run(*args):
        return CliRunner().invoke(make_cli(dep.config.folder / "ccch.toml"), list(args), catch_exceptions=False)

    return run


def decode_pdf(data: bytes) -> list[str]:
    texts = []
    for page in pdfium.PdfDocument(data):
        texts += [r.text for r in zxingcpp.read_barcodes(page.render(scale=2).to_pil())]
    return texts


def test_poster_qr_decodes_to_the_form_and_attributes_the_question(cli, dep, app, tmp_path):
    made = cli("feedback", "place", "xa-an-dung.mot-cua", "--place", "Quầy tiếp nhận hồ sơ")
    assert made.exit_code == 0, made.output
    code = made.output.split()[0]
    url = f"{BASE}/hoi-dap/gui/{code}"
    assert url in made.output
    out = tmp_path / "posters.pdf"
    printed = cli("feedback", "posters", "--out", str(out))
    assert printed.exit_code == 0 and "1 poster" in printed.output
    assert decode_pdf(out.read_bytes()) == [url]
    text = pdfium.PdfDocument(out.read_bytes())[0].get_textpage().get_text_range()
    assert "HỎI ĐÁP THỦ TỤC HÀNH CHÍNH" in text and "Quầy tiếp nhận hồ sơ" in text

    # A citizen scans it: the form says where it is, and the question is attributed to the poster.
    client = app.test_client()
    path = url[len(BASE):]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Quầy tiếp nhận hồ sơ" in html and f'action="{path}"' in html
    assert 'value="xa-an-dung.mot-cua" selected' in html
    token, sid = open_form(client, path)
    item = store.item_by_code(dep.db, code_of(client.post(path, data={"csrf_token": token, "sid": sid,
                                                                      **form_data()})))
    assert item.placement == code
    listed = cli("feedback", "placements")
    assert code in listed.output and re.search(rf"{code}.*\b1\b", listed.output)


def test_admin_downloads_the_poster(dep, app, make_user):
    placement = placements.add_placement(dep.db, dep.plan, "feedback", "trung-tam-hcc", "Sảnh chờ")
    admin = app.test_client()
    login(admin, make_user(dep, "plan_admin")[0])
    response = admin.get(f"/phan-anh/noi-dat/{placement.code}/poster.pdf?kho=A3")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert decode_pdf(response.data) == [f"{BASE}/hoi-dap/gui/{placement.code}"]
    assert admin.get(f"/phan-anh/noi-dat/{placement.code}/poster.pdf?kho=A0").status_code == 400
    assert admin.get("/phan-anh/noi-dat/ZZZZZZ/poster.pdf").status_code == 404
    officer = app.test_client()
    login(officer, make_user(dep, "unit_officer", "trung-tam-hcc")[0])
    assert officer.get(f"/phan-anh/noi-dat/{placement.code}/poster.pdf").status_code == 403


def test_codes_of_other_pages_retired_posters_and_tokens(dep, app):
    client = app.test_client()
    survey_code = placements.add_placement(dep.db, dep.plan, "survey:sipas", "trung-tam-hcc", "Sảnh").code
    assert client.get(f"/hoi-dap/gui/{survey_code}").status_code == 404  # another page's poster
    assert client.get("/hoi-dap/gui/" + "Đ" * 3000).status_code == 404
    poster = placements.add_placement(dep.db, dep.plan, "feedback", "trung-tam-hcc", "Sảnh")
    # A token of the ordinary form is not good for a poster's form (nor the other way round).
    token, sid = open_form(client)
    wrong = client.post(f"/hoi-dap/gui/{poster.code}", data={"csrf_token": token, "sid": sid, **form_data()})
    assert wrong.status_code == 400
    # A refused form through a poster comes back to the poster's form.
    token, sid = open_form(client, f"/hoi-dap/gui/{poster.code}")
    refused = client.post(f"/hoi-dap/gui/{poster.code}", data={"csrf_token": token, "sid": sid,
                                                               **form_data(**{"tieu-de": ""})})
    assert refused.status_code == 422 and f'action="/hoi-dap/gui/{poster.code}"' in refused.get_data(as_text=True)
    assert TOKEN_RE.search(refused.get_data(as_text=True))
    placements.retire_placement(dep.db, poster.code)
    gone = client.get(f"/hoi-dap/gui/{poster.code}")
    assert gone.status_code == 303 and gone.headers["Location"].endswith("/hoi-dap/gui")


def test_unknown_poster_codes_are_limited(feedback_deployment, make_app):
    dep = feedback_deployment(lookups_per_address_per_hour=2)
    client = make_app(dep).test_client()
    poster = placements.add_placement(dep.db, dep.plan, "feedback", "trung-tam-hcc", "Sảnh")
    for _ in range(3):
        assert client.get("/hoi-dap/gui/ZZZZZZ").status_code == 404
    assert client.get(f"/hoi-dap/gui/{poster.code}").status_code == 429


def test_posters_refuse_a_local_address(feedback_deployment, tmp_path):
    dep = feedback_deployment()
    text = (dep.config.folder / "ccch.toml").read_text(encoding="utf-8")
    (dep.config.folder / "ccch.toml").write_text(text.replace(BASE, "http://127.0.0.1:8000"), encoding="utf-8")
    placements.add_placement(dep.db, dep.plan, "feedback", "trung-tam-hcc", "Sảnh")
    result = CliRunner().invoke(make_cli(dep.config.folder / "ccch.toml"),
                                ["feedback", "posters", "--out", str(tmp_path / "p.pdf")])
    assert result.exit_code != 0 and "trang gửi câu hỏi" in result.output
    assert not (tmp_path / "p.pdf").exists()


def test_placements_page(dep, app, make_user):
    from ccch_core import audit

    admin = app.test_client()
    login(admin, make_user(dep, "plan_admin", None, "quantri")[0])
    page = admin.get("/phan-anh/noi-dat")
    assert page.status_code == 200 and "Chưa có poster nào" in page.get_data(as_text=True)
    token = TOKEN_RE.search(page.get_data(as_text=True)).group(1)
    made = admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "don-vi": "xa-an-dung.mot-cua",
                                                 "noi-dat": "Quầy tiếp nhận hồ sơ"})
    assert made.status_code == 303
    (placement,) = placements.list_placements(dep.db, target="feedback")
    html = admin.get("/phan-anh/noi-dat").get_data(as_text=True)
    assert placement.code in html and "Quầy tiếp nhận hồ sơ" in html
    bad = admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "don-vi": "khong-co", "noi-dat": "Quầy"})
    assert bad.status_code == 422 and "không có trong kế hoạch" in bad.get_data(as_text=True)
    long_place = admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "don-vi": "trung-tam-hcc",
                                                       "noi-dat": "x" * 300})
    assert long_place.status_code == 422 and "x" * 200 in long_place.get_data(as_text=True)
    assert admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "go": "ZZZZZZ"}).status_code == 422
    assert admin.post("/phan-anh/noi-dat", data={"csrf_token": token, "go": placement.code}).status_code == 303
    assert not placements.get_placement(dep.db, placement.id).active
    actions = [e.action for e in audit.entries(dep.db, limit=20)]
    assert "feedback.place" in actions and "feedback.retire" in actions
    officer = app.test_client()
    login(officer, make_user(dep, "unit_officer", "phong-vhtt")[0])
    assert officer.get("/phan-anh/noi-dat").status_code == 403
