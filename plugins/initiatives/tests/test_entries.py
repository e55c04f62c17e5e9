"""Entries through the public pages: the form, the receipt, refusals with the form kept, the close."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from ccch_initiatives.entries import entry_by_code
from initiatives_testing import CLOSES, OPENS, SLUG, docx, entry_form, pdf, post_public

FORM_URL = f"/sang-kien/{SLUG}/nop-bai"


def send(client, document: bytes | None, filename="sang-kien.docx", **changes):
    data = entry_form(**changes)
    if document is not None:
        data["document"] = (io.BytesIO(document), filename)
    return post_public(client, FORM_URL, data, content_type="multipart/form-data")


def code_of(page: str) -> str:
    return re.search(r"SK-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", page).group(0)


def test_an_entry_is_received_with_a_tracking_code(dep, call, client_for):
    client = client_for()
    assert "Gửi bài dự thi" in client.get(f"/sang-kien/{SLUG}").get_data(as_text=True)
    response = send(client, docx(creator="Nguyễn Thị Hoa"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Đã nhận bài dự thi" in page
    entry = entry_by_code(dep.db, code_of(page))
    assert entry.title == "Tổ hỗ trợ dịch vụ công trực tuyến" and entry.author_names == ["Nguyễn Thị Hoa"]
    assert entry.contact_phone == "0912345678"  # normalised
    assert entry.submitted_at == "2024-08-15T02:30:00+00:00"  # 09:30 Vietnam time, stored in UTC
    assert dep.db.execute("select action from audit_log order by id desc limit 1").fetchone()[0] == \
        "initiatives.entry_submit"


def test_a_pdf_entry_is_received(call, client_for):
    response = send(client_for(), pdf("Giai phap mot cua lien thong cho nguoi dan o xa " * 3), "bai.pdf")
    assert response.status_code == 200 and "PDF" in response.get_data(as_text=True)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": ""}, "title", "Tên sáng kiến: vui lòng nhập."),
    ({"category": "khong-co"}, "category", "Lĩnh vực: vui lòng chọn"),
    ({"unit_id": "chinh-phu"}, "unit_id", "Đơn vị: vui lòng chọn"),
    ({"contact_email": "khong-phai-thu"}, "contact_email", "Thư điện tử: địa chỉ không hợp lệ"),
    ({"contact_phone": "12345"}, "contact_phone", "Số điện thoại: không hợp lệ"),
    ({"consent": None}, "consent", "Đồng ý xử lý dữ liệu cá nhân"),
    ({"entrant_kind": "group"}, "author_2", "nhóm tác giả cần từ hai người"),
    ({"title": "x" * 5000}, "title", "dài quá 300 ký tự"),
])
def test_a_bad_field_comes_back_named_with_the_form_kept(dep, call, client_for, changes, field, message):
    response = send(client_for(), docx(), **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert f'id="f-{field}"' in page and 'aria-invalid="true"' in page
    assert 'value="hoa@andung.ductho.gov.vn"' in page or field == "contact_email"  # what was typed is kept
    assert dep.db.execute("select count(*) from initiative_entries").fetchone()[0] == 0


@pytest.mark.parametrize(("document", "filename", "message"), [
    (None, "x", "Chưa chọn tệp tài liệu"),
    (b"GIF89a" + b"\0" * 2000, "sang-kien.docx", "Tài liệu: Tệp không phải văn bản Word (DOCX) hay PDF"),
    (b"\xd0\xcf\x11\xe0" + b"\0" * 2000, "sang-kien.doc", "Tài liệu: Đây là tệp Word đời cũ (.doc)"),
])
def test_a_bad_document_is_refused_with_a_clear_message(dep, call, client_for, document, filename, message):
    response = send(client_for(), document, filename)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert 'value="Tổ hỗ trợ dịch vụ công trực tuyến"' in page


def test_a_docx_zip_bomb_is_refused_through_the_form(dep, call, client_for):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b" " * 150_000_000)
    response = send(client_for(), buffer.getvalue())
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tài liệu: Tệp DOCX bất thường" in page and "tỷ lệ nén" in page
    assert dep.db.execute("select count(*) from initiative_entries").fetchone()[0] == 0


def test_a_document_over_the_calls_limit_is_refused(dep, clock, client_for):
    from ccch_initiatives.calls import save_call
    from initiatives_testing import example_text

    save_call(dep, example_text(max_document_mb="0.1"), actor="test")
    client = client_for()
    big = docx("Nội dung sáng kiến " * 20) + b"\0" * 120_000  # a valid zip with junk after: over 100 KB
    response = send(client, big)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tài liệu nặng hơn 100 KB, giới hạn của cuộc thi" in page
    huge = b"%PDF-1.4\n" + b"0" * 400_000  # past the request's own bound: the body is not even parsed
    response = send(client, huge, "bai.pdf")
    assert response.status_code == 413
    assert "tệp quá lớn; giới hạn 0,1 MB" in response.get_data(as_text=True)
    assert dep.db.execute("select count(*) from initiative_entries").fetchone()[0] == 0


@pytest.mark.parametrize("instant", [
    CLOSES,
    CLOSES + dt.timedelta(microseconds=1),
    CLOSES + dt.timedelta(seconds=1),
    CLOSES + dt.timedelta(days=400),
])
def test_a_closed_call_refuses_entries_whatever_the_instant(dep, call, clock, client_for, instant):
    clock.at(instant)
    response = send(client_for(), docx())
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Cuộc thi đã hết hạn nhận bài lúc 17:00 ngày 30/09/2024 (giờ Việt Nam)" in page
    assert dep.db.execute("select count(*) from initiative_entries").fetchone()[0] == 0


@pytest.mark.parametrize("instant", [CLOSES - dt.timedelta(microseconds=1), OPENS])
def test_the_last_instant_before_the_close_and_the_opening_instant_are_accepted(dep, call, clock, client_for,
                                                                                   instant):
    clock.at(instant)
    assert send(client_for(), docx()).status_code == 200


def test_a_call_not_yet_open_refuses_entries(dep, call, clock, client_for):
    clock.at(OPENS - dt.timedelta(seconds=1))
    response = send(client_for(), docx())
    assert response.status_code == 422
    assert "Cuộc thi chưa mở nhận bài; nhận bài từ 07:00 ngày 01/07/2024" in response.get_data(as_text=True)


def test_an_entry_is_replaced_before_the_close_and_not_after(dep, call, clock, client_for):
    client = client_for()
    code = code_of(send(client, docx()).get_data(as_text=True))
    url = f"/sang-kien/{SLUG}/tra-cuu"
    page = post_public(client, url, {"code": code.lower().replace("-", " ")}).get_data(as_text=True)
    assert 'value="Tổ hỗ trợ dịch vụ công trực tuyến"' in page and "Lưu thay đổi" in page
    replacement = docx("Bản sửa: " + "giải pháp mới về một cửa liên thông " * 5)
    data = {**entry_form(title="Tên đã sửa"), "code": code, "action": "replace",
            "document": (io.BytesIO(replacement), "ban-sua.docx")}
    response = post_public(client, url, data, token_url=f"/sang-kien/{SLUG}/nop-bai", content_type="multipart/form-data")
    assert response.status_code == 200 and "Đã cập nhật bài dự thi" in response.get_data(as_text=True)
    entry = entry_by_code(dep.db, code)
    assert entry.title == "Tên đã sửa"
    text = dep.db.execute("select text from initiative_documents where entry_id = ?", [entry.id]).fetchone()[0]
    assert text.startswith("Bản sửa:")
    clock.at(CLOSES)
    page = post_public(client, url, {"code": code}).get_data(as_text=True)  # after the close: the receipt, no form
    assert "Tên đã sửa" in page and code in page and "Lưu thay đổi" not in page
    data = {**entry_form(title="Sửa sau hạn"), "code": code, "action": "replace"}
    response = post_public(client, url, data, token_url=f"/sang-kien/{SLUG}/nop-bai")
    assert response.status_code == 422 and "hết hạn nhận bài" in response.get_data(as_text=True)
    assert entry_by_code(dep.db, code).title == "Tên đã sửa"


def test_an_unknown_tracking_code_finds_nothing_and_lookups_are_limited(dep, call, client_for):
    client = client_for()
    url = f"/sang-kien/{SLUG}/tra-cuu"
    response = post_public(client, url, {"code": "SK-2222-3333-4444"})
    assert response.status_code == 404 and "Không tìm thấy bài dự thi" in response.get_data(as_text=True)
    for _ in range(25):
        response = post_public(client, url, {"code": "x" * 5000})
    assert response.status_code == 429


def test_the_public_results_page_waits_for_publication(call, client_for):
    assert client_for().get(f"/sang-kien/{SLUG}/ket-qua").status_code == 404
    assert client_for().get("/sang-kien/khong-co").status_code == 404
    assert client_for().get("/sang-kien/" + "x" * 5000).status_code == 404


def test_a_document_larger_than_the_apps_request_limit_but_within_the_calls_is_received(dep, call, client_for):
    import os

    buffer = io.BytesIO(docx())
    with zipfile.ZipFile(buffer, "a") as archive:  # a photo: 1.5 MB that does not compress
        archive.writestr("word/media/image1.jpeg", os.urandom(1_500_000), zipfile.ZIP_STORED)
    assert len(buffer.getvalue()) > dep.config.web.get("max_request_bytes", 1_000_000)
    response = send(client_for(), buffer.getvalue())
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


def test_an_entry_without_its_form_token_is_refused(dep, call, client_for):
    data = {**entry_form(), "document": (io.BytesIO(docx()), "a.docx")}
    response = client_for().post(FORM_URL, data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert dep.db.execute("select count(*) from initiative_entries").fetchone()[0] == 0


def test_near_identical_entries_are_flagged_for_the_secretary(dep, call, add_entry):
    from ccch_initiatives.entries import similar_pairs

    long_text = " ".join(f"Bước {i}: công chức một cửa tiếp nhận hồ sơ số {i * 37} và trả kết quả đúng hẹn."
                         for i in range(60))
    first = add_entry("xa-an-dung", document=docx(long_text))
    copy = add_entry("xa-yen-ho", document=docx(long_text.replace("Bước 7:", "Bước bảy:")))
    add_entry("xa-duc-dong", document=docx(" ".join(f"Đoạn {i} bàn về loa truyền thanh, bản tin số {i * 11}."
                                                    for i in range(60))))
    pairs = similar_pairs(dep.db, call.id)
    assert [(a, b) for a, b, _ in pairs] == [(first.id, copy.id)]
    assert pairs[0][2] > 0.8


def test_the_author_gets_a_receipt_and_a_notice_of_each_change_by_email(make_deployment, clock, client_for):
    from ccch_initiatives.calls import save_call
    from initiatives_testing import example_text

    from ccch_core.messages import list_messages

    dep = make_deployment(["initiatives"], messages={"channels": {"email": {"sender": "folder"}}})
    save_call(dep, example_text(), actor="t")
    from ccch_core.web import create_app

    client = create_app(deployment_obj=dep, test_config={"TESTING": True}).test_client()
    code = code_of(send(client, docx()).get_data(as_text=True))
    (receipt,) = list_messages(dep.db)
    assert receipt.template == "initiatives.receipt" and receipt.address == "hoa@andung.ductho.gov.vn"
    data = {**entry_form(contact_email="moi@andung.ductho.gov.vn"), "code": code, "action": "replace"}
    response = post_public(client, f"/sang-kien/{SLUG}/tra-cuu", data, token_url=FORM_URL)
    assert response.status_code == 200
    notices = [m for m in list_messages(dep.db) if m.template == "initiatives.changed"]
    assert sorted(m.address for m in notices) == ["hoa@andung.ductho.gov.vn", "moi@andung.ductho.gov.vn"]


def test_a_group_of_seven_authors_is_entered_in_the_form(dep, call, client_for):
    client = client_for()
    page = client.get(FORM_URL).get_data(as_text=True)
    assert 'name="author_10"' in page  # every row is there, no script needed
    names = {f"author_{i}": f"Tác Giả Số {i}" for i in range(1, 8)}
    response = send(client, docx(), entrant_kind="group", **names)
    assert response.status_code == 200, response.get_data(as_text=True)[-500:]
    entry = entry_by_code(dep.db, code_of(response.get_data(as_text=True)))
    assert entry.author_names == [f"Tác Giả Số {i}" for i in range(1, 8)]
