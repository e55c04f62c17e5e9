"""The shared placements (ccch_core.placements) and posters (ccch_core.posters): codes unique
across every public page, ids kept when a plugin moves its placements here, retiring, and the
poster and QR helpers (which import their libraries only when used)."""

from __future__ import annotations

import pytest

from ccch_core import placements
from ccch_core.placements import PlacementError


def test_add_find_list_retire(fresh_db, duc_tho_plan):
    db, plan = fresh_db, duc_tho_plan
    a = placements.add_placement(db, plan, "feedback", "xa-an-dung.mot-cua", "  Quầy   tiếp nhận ")
    b = placements.add_placement(db, plan, "survey:sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận", mode="kiosk")
    assert a.code != b.code and a.place == "Quầy tiếp nhận" and b.is_kiosk and a.active
    assert placements.placement_by_code(db, f" {a.code.lower()} ") == a
    assert placements.placement_by_code(db, a.code, target="feedback") == a
    assert placements.placement_by_code(db, a.code, target="survey:sipas") is None
    assert placements.placement_by_code(db, "0OIL11") is None and placements.placement_by_code(db, "x" * 5000) is None
    assert [p.code for p in placements.list_placements(db, target="feedback")] == [a.code]
    assert len(placements.list_placements(db, plan=plan, within="xa-an-dung")) == 2
    assert placements.list_placements(db, plan=plan, within="xa-duc-dong") == []
    retired = placements.retire_placement(db, a.code)
    assert not retired.active and placements.list_placements(db, target="feedback", active_only=True) == []
    with pytest.raises(PlacementError, match="đã gỡ"):
        placements.retire_placement(db, a.code)
    with pytest.raises(PlacementError, match="không có nơi đặt"):
        placements.retire_placement(db, "ZZZZZZ")


def test_a_plugin_keeps_its_ids(fresh_db, duc_tho_plan):
    p = placements.add_placement(fresh_db, duc_tho_plan, "survey:sipas", "trung-tam-hcc", "Sảnh", placement_id=41)
    assert p.id == 41 and placements.get_placement(fresh_db, 41) == p


@pytest.mark.parametrize(("args", "words"), [
    (("feedback", "khong-co", "Quầy"), "không có trong kế hoạch"),
    (("feedback", "trung-tam-hcc", "  "), "chưa ghi nơi đặt"),
    (("feedback", "trung-tam-hcc", "x" * 201), "tối đa 200"),
    (("Feedback!", "trung-tam-hcc", "Quầy"), "trang đích"),
])
def test_refusals(fresh_db, duc_tho_plan, args, words):
    with pytest.raises(PlacementError, match=words):
        placements.add_placement(fresh_db, duc_tho_plan, *args)
    with pytest.raises(PlacementError, match="poster hoặc kiosk"):
        placements.add_placement(fresh_db, duc_tho_plan, "feedback", "trung-tam-hcc", "Quầy", mode="banner")


def test_placement_url():
    assert placements.placement_url("https://x.example/", "/hoi-dap/gui/", "ABC234") == \
        "https://x.example/hoi-dap/gui/ABC234"


def test_public_url_problem_names_the_page():
    from ccch_core.posters import public_url_problem

    assert "trang gửi câu hỏi" in public_url_problem("http://127.0.0.1:8000", "trang gửi câu hỏi").message
    assert public_url_problem("https://cchc.ductho.hatinh.gov.vn") is None
    assert not public_url_problem("http://cchc.ductho.hatinh.gov.vn").blocking


def test_qr_and_poster_when_the_libraries_are_installed():
    pytest.importorskip("qrcode")
    pytest.importorskip("fpdf")
    pytest.importorskip("fontpkg_be_vietnam_pro")
    from ccch_core.posters import PosterItem, PosterText, posters_pdf, qr_matrix, qr_svg

    matrix = qr_matrix("https://x.example/hoi-dap/gui/ABC234")
    assert len(matrix) == len(matrix[0]) >= 21
    assert qr_svg("https://x.example/k/ABC234").startswith("<?xml")
    pdf = posters_pdf([PosterItem("https://x.example/hoi-dap/gui/ABC234", "ABC234", "UBND xã An Dũng", "Quầy")],
                      PosterText("UBND huyện Đức Thọ", title="HỎI ĐÁP THỦ TỤC HÀNH CHÍNH"), "A4", workers=0)
    assert pdf.startswith(b"%PDF") and b"ccch" in pdf
