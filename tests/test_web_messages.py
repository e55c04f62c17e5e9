"""The messages pages: ``/tin-nhan`` (the outbox of the user's scope, failures first, retry and
cancel for admins) and ``/tin-nhan/dau-moi`` (the units' contacts).

Real SQLite, the real plugin manager, the real outbox and Flask's test client; failures are made
by delivering through a sender that answers as a gateway does, or by setting a row's state.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from ccch_core import audit, contacts
from ccch_core.messages import get_message, queue_message
from ccch_core.storage import write_transaction
from ccch_core.testing import csrf_token, login

MESSAGES = {"channels": {"email": {"sender": "folder"}, "sms": {"sender": "folder"}}}
OWN = "xa-an-dung"
OWN_SUB = "xa-an-dung.mot-cua"
OTHER = "xa-yen-ho"
CSRF_MESSAGE = "Biểu mẫu đã hết hạn hoặc không hợp lệ (mã bảo vệ CSRF)"


@pytest.fixture
def dep(make_deployment):
    return make_deployment(messages=MESSAGES)


@pytest.fixture
def app(dep, make_app):
    return make_app(dep)


@pytest.fixture
def client_as(dep, app, make_user):
    """``client_as(role, unit_id=None)`` → (a signed-in test client, its username)."""

    def factory(role, unit_id=None):
        client = app.test_client()
        username, password = make_user(dep, role, unit_id)
        assert login(client, username, password).status_code == 302
        return client, username

    return factory


_serial = iter(range(1, 1_000_000))


def queue(dep, unit_id, *, channel="email", address=None, source="reminders", template="report_overdue"):
    """Queue one message about ``unit_id``; returns (id, the clear address)."""
    n = next(_serial)
    address = address or (f"vanthu{n}@andung.ductho.gov.vn" if channel == "email" else f"09123456{n % 100:02d}")
    name = dep.plan.unit(unit_id).name if unit_id else "Người dự thi"
    params = {"unit_name": name, "period_label": "tháng 3/2024", "due_date": "05/04/2024",
              "link": f"https://cchc.example.gov.vn/bao-cao/bi-mat-{n}"}
    if template == "test":
        params = {"deployment": "Thử nghiệm"}
    message_id = queue_message(dep, channel=channel, address=address, template=template, params=params,
                               unit_id=unit_id, source=source)
    return message_id, address


def set_state(dep, message_id, state, error=None):
    with write_transaction(dep.db):
        dep.db.execute("update messages set state = ?, last_error = ?, failed_at = case when ? = 'failed' "
                       "then '2024-04-06T02:30:00+00:00' end, sent_at = case when ? = 'sent' "
                       "then '2024-04-06T02:00:00+00:00' end where id = ?",
                       [state, error, state, state, message_id])


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def section(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def post(client, url, data=None, token_from="/tin-nhan"):
    return client.post(url, data={"csrf_token": csrf_token(client, token_from), **(data or {})})


# -- /tin-nhan: what each role sees ---------------------------------------------------------------


def test_admin_sees_failures_first_with_the_gateways_reason(dep, client_as):
    failed, failed_address = queue(dep, OWN)
    set_state(dep, failed, "failed", f"550 5.1.1 <{failed_address}>: Recipient address rejected: User unknown")
    sent, _ = queue(dep, OTHER, channel="sms")
    set_state(dep, sent, "sent")
    queue(dep, OTHER)
    client, _ = client_as("plan_admin")
    response = client.get("/tin-nhan")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index("Gửi không được (1)") < html.index("Tất cả tin nhắn")
    box = text_of(section(html, 'id="that-bai"', 'id="danh-sach"'))
    assert "Nhắc báo cáo quá hạn — UBND xã An Dũng" in box
    assert "Thư điện tử" in box and "v***@andung.ductho.gov.vn" in box
    assert "06/04/2024 09:30" in box  # Vietnam time
    # The gateway's reason as given, its recipient masked.
    assert "550 5.1.1 <v***@andung.ductho.gov.vn>: Recipient address rejected: User unknown" in box
    assert "Gửi lại" in box
    counts = text_of(section(html, 'aria-label="Số tin nhắn theo trạng thái"', "</ul>"))
    assert "Đang chờ gửi 1" in counts and "Đã gửi 1" in counts and "Gửi không được 1" in counts
    assert "Đã hủy 0" in counts
    listing = text_of(section(html, "<tbody>", "</tbody>"))
    assert listing.count("Nhắc báo cáo quá hạn") == 3
    assert "UBND xã Yên Hồ" in listing and "Tin nhắn SMS" in listing


def test_a_failure_recorded_by_the_deliverer_shows_its_reason(dep, client_as):
    from ccch_core.messages import SendResult
    from ccch_core.messages.delivery import Deliverer

    message_id, address = queue(dep, OWN, channel="sms", address="0912345678")
    deliverer = Deliverer(dep)
    try:
        row = deliverer.claim(["sms"])
        assert row["id"] == message_id
        # What a brandname gateway answers for a number that is not a subscriber's.
        deliverer.record(row, SendResult.failed("CodeResult 99: Thue bao 0912345678 khong ton tai"))
    finally:
        deliverer.close()
    assert get_message(dep.db, message_id).state == "failed"
    client, _ = client_as("system_admin")
    box = text_of(section(client.get("/tin-nhan").get_data(as_text=True), 'id="that-bai"', 'id="danh-sach"'))
    assert "Nhắc báo cáo quá hạn — UBND xã An Dũng" in box and "Tin nhắn SMS" in box
    assert "CodeResult 99: Thue bao 0912***678 khong ton tai" in box
    assert address not in box


def test_the_page_never_shows_a_clear_address_nor_the_text(dep, client_as):
    email_id, email = queue(dep, OWN)
    sms_id, _ = queue(dep, OWN, channel="sms", address="0912 345 678")
    set_state(dep, email_id, "failed", f"mailbox {email} full; also tried {email.upper()}")
    set_state(dep, sms_id, "failed", "Thuê bao 84912345678 không tồn tại (+84 912 345 678)")
    queue(dep, OWN, address="chanh.vanphong@andung.ductho.gov.vn")
    for role, unit in (("system_admin", None), ("plan_admin", None), ("unit_officer", OWN)):
        client, _ = client_as(role, unit)
        html = client.get("/tin-nhan").get_data(as_text=True)
        flat = text_of(html)
        for clear in (email, email.upper(), "chanh.vanphong@", "0912345678", "84912345678", "912 345 678"):
            assert clear not in html and clear not in flat, (role, clear)
        assert "0912***678" in flat
        assert "bi-mat-" not in html  # the message's text (its parameters) is not shown
        assert "Thuê bao 0912***678 không tồn tại" in flat


def test_a_unit_officer_sees_their_unit_and_its_sub_units_only(dep, client_as):
    queue(dep, OWN, address="a@andung.gov.vn")
    sub_failed, _ = queue(dep, OWN_SUB, address="motcua@andung.gov.vn")
    set_state(dep, sub_failed, "failed", "timeout")
    other_failed, _ = queue(dep, OTHER, address="y@yenho.gov.vn")
    set_state(dep, other_failed, "failed", "550 rejected")
    queue(dep, None, address="z@example.com", source="core")
    client, _ = client_as("unit_officer", OWN)
    response = client.get("/tin-nhan")
    assert response.status_code == 200
    flat = text_of(response.get_data(as_text=True))
    assert "a***@andung.gov.vn" in flat and "m***@andung.gov.vn" in flat
    assert "Bộ phận tiếp nhận và trả kết quả xã An Dũng" in flat
    assert "y***@yenho.gov.vn" not in flat and "Yên Hồ" not in flat and "550 rejected" not in flat
    assert "z***@example.com" not in flat
    assert "Gửi không được (1)" in flat and "2 tin nhắn" in flat
    html = response.get_data(as_text=True)
    assert "/gui-lai" not in html and "/huy" not in html and ">Gửi lại</button>" not in html  # see, cannot act
    # Another commune's officer sees none of An Dũng's.
    other, _ = client_as("unit_officer", OTHER)
    flat = text_of(other.get("/tin-nhan").get_data(as_text=True))
    assert "y***@yenho.gov.vn" in flat and "a***@andung.gov.vn" not in flat and "An Dũng" not in flat


def test_a_contest_manager_sees_the_contests_messages_only(dep, client_as):
    queue(dep, None, channel="sms", address="0987654321", source="contest", template="test")
    queue(dep, OWN, address="a@andung.gov.vn", source="reminders")
    client, _ = client_as("contest_manager")
    html = client.get("/tin-nhan").get_data(as_text=True)
    flat = text_of(html)
    assert "0987***321" in flat and "Tin nhắn thử" in flat
    assert "a***@andung.gov.vn" not in flat and "1 tin nhắn" in flat
    assert "Đầu mối liên hệ" not in flat and "/gui-lai" not in html and "/huy" not in html


def test_menu_and_access(dep, client_as, app):
    for role, unit in (("system_admin", None), ("plan_admin", None), ("unit_officer", OWN),
                       ("contest_manager", None)):
        client, _ = client_as(role, unit)
        nav = section(client.get("/").get_data(as_text=True), 'aria-label="Điều hướng chính"', "</nav>")
        assert 'href="/tin-nhan">Tin nhắn</a>' in nav, role
        assert client.get("/tin-nhan").status_code == 200
    viewer, _ = client_as("viewer")
    assert "/tin-nhan" not in section(viewer.get("/").get_data(as_text=True), 'aria-label="Điều hướng chính"',
                                      "</nav>")
    assert viewer.get("/tin-nhan").status_code == 403
    assert viewer.get("/tin-nhan/dau-moi").status_code == 403
    anonymous = app.test_client().get("/tin-nhan")
    assert anonymous.status_code == 302 and "/dang-nhap" in anonymous.headers["Location"]


# -- paging and filters --------------------------------------------------------------------------


def test_paging_fifty_a_page_and_the_state_filter(dep, client_as):
    ids = [queue(dep, OWN)[0] for _ in range(55)]
    set_state(dep, ids[0], "cancelled")
    client, _ = client_as("plan_admin")
    first = client.get("/tin-nhan").get_data(as_text=True)
    assert section(first, "<tbody>", "</tbody>").count("<tr>") == 50
    assert "trang 1/2" in first and "?trang=2" in first
    second = client.get("/tin-nhan?trang=2").get_data(as_text=True)
    assert section(second, "<tbody>", "</tbody>").count("<tr>") == 5
    cancelled = client.get("/tin-nhan?trang-thai=cancelled").get_data(as_text=True)
    assert section(cancelled, "<tbody>", "</tbody>").count("<tr>") == 1
    assert "1 tin nhắn “Đã hủy”" in text_of(cancelled)
    assert '<option value="cancelled" selected>Đã hủy</option>' in cancelled


@pytest.mark.parametrize("query, status", [
    ("trang=abc", 400), ("trang=0", 400), ("trang=-1", 400), ("trang=1.5", 400), ("trang=%00", 400),
    ("trang=2", 200), ("trang=" + "9" * 5000, 200), ("trang=99999999999999999999", 200),
    ("trang-thai=khong-co", 400), ("trang-thai=%27%20or%201%3D1", 400), ("trang-thai=", 200),
    ("trang-thai=failed&trang=7", 200),
])
def test_bad_page_and_state_parameters_never_give_500(dep, client_as, query, status):
    queue(dep, OWN)
    client, _ = client_as("plan_admin")
    response = client.get("/tin-nhan?" + query)
    assert response.status_code == status
    if status == 200:  # past the last page: the last page
        assert "Tin nhắn" in response.get_data(as_text=True)


# -- retry and cancel ----------------------------------------------------------------------------


def test_plan_admin_retries_a_failed_message(dep, client_as):
    message_id, _ = queue(dep, OWN)
    set_state(dep, message_id, "failed", "550 unknown")
    client, username = client_as("plan_admin")
    response = post(client, f"/tin-nhan/{message_id}/gui-lai", {"trang-thai": "failed"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/tin-nhan?trang-thai=failed")
    assert get_message(dep.db, message_id).state == "queued"
    [entry] = [e for e in audit.entries(dep.db) if e.action == "message.retry"]
    assert entry.username == username
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Đã đưa tin nhắn “Nhắc báo cáo quá hạn” (UBND xã An Dũng, Thư điện tử, v***@andung.ductho.gov.vn) " \
           "vào hàng chờ gửi lại." in page
    # Again: it is queued now, so it is refused with a word, not an error page.
    again = post(client, f"/tin-nhan/{message_id}/gui-lai")
    assert again.status_code == 303
    assert "đang ở trạng thái “Đang chờ gửi”" in text_of(client.get("/tin-nhan").get_data(as_text=True))


def test_plan_admin_cancels_a_queued_message(dep, client_as):
    message_id, _ = queue(dep, OWN)
    client, username = client_as("plan_admin")
    page = client.get("/tin-nhan").get_data(as_text=True)
    assert f'action="/tin-nhan/{message_id}/huy"' in page
    response = post(client, f"/tin-nhan/{message_id}/huy", {"trang": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/tin-nhan")
    assert get_message(dep.db, message_id).state == "cancelled"
    assert [e.username for e in audit.entries(dep.db) if e.action == "message.cancel"] == [username]
    assert "tin nhắn sẽ không được gửi" in text_of(client.get("/tin-nhan").get_data(as_text=True))


def test_others_may_not_retry_or_cancel(dep, client_as):
    failed, _ = queue(dep, OWN)
    set_state(dep, failed, "failed", "550 unknown")
    queued, _ = queue(dep, OWN, source="contest")
    for role, unit in (("unit_officer", OWN), ("contest_manager", None), ("viewer", None)):
        client, _ = client_as(role, unit)
        assert post(client, f"/tin-nhan/{failed}/gui-lai", token_from="/dang-nhap").status_code == 403
        assert post(client, f"/tin-nhan/{queued}/huy", token_from="/dang-nhap").status_code == 403
    assert get_message(dep.db, failed).state == "failed"
    assert get_message(dep.db, queued).state == "queued"
    assert not [e for e in audit.entries(dep.db) if e.action.startswith("message.")]


def test_retry_and_cancel_need_the_csrf_token(dep, client_as):
    failed, _ = queue(dep, OWN)
    set_state(dep, failed, "failed", "550 unknown")
    queued, _ = queue(dep, OWN)
    client, _ = client_as("system_admin")
    for url in (f"/tin-nhan/{failed}/gui-lai", f"/tin-nhan/{queued}/huy"):
        response = client.post(url, data={})
        assert response.status_code == 400 and CSRF_MESSAGE in response.get_data(as_text=True)
        assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert get_message(dep.db, failed).state == "failed"
    assert get_message(dep.db, queued).state == "queued"


def test_retry_of_a_missing_message_is_404(dep, client_as):
    client, _ = client_as("plan_admin")
    assert post(client, "/tin-nhan/999999/gui-lai").status_code == 404
    assert post(client, "/tin-nhan/" + "9" * 30 + "/huy").status_code == 404


def test_an_erased_address_cannot_be_sent_again(dep, client_as):
    message_id, _ = queue(dep, OWN)
    set_state(dep, message_id, "failed", "550 unknown")
    with write_transaction(dep.db):
        dep.db.execute("update messages set address = null, params = null where id = ?", [message_id])
    client, _ = client_as("plan_admin")
    html = client.get("/tin-nhan").get_data(as_text=True)
    assert "không gửi lại được" in text_of(html) and ">Gửi lại</button>" not in html
    response = post(client, f"/tin-nhan/{message_id}/gui-lai")
    assert response.status_code == 303
    assert get_message(dep.db, message_id).state == "failed"
    assert "đã được xóa theo quy định bảo vệ dữ liệu cá nhân" in text_of(client.get("/tin-nhan").get_data(
        as_text=True))


# -- /tin-nhan/dau-moi ----------------------------------------------------------------------------


def test_contacts_add_shows_it_under_its_unit(dep, client_as):
    client, username = client_as("plan_admin")
    page = client.get("/tin-nhan/dau-moi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<option value="xa-an-dung">UBND xã An Dũng</option>' in html
    assert '<option value="sms">Tin nhắn SMS</option>' in html
    response = post(client, "/tin-nhan/dau-moi", {"unit": OWN, "channel": "email",
                                                  "address": " VanThu@AnDung.DucTho.gov.vn ", "name": "Văn thư xã"},
                    token_from="/tin-nhan/dau-moi")
    assert response.status_code == 303
    [contact] = contacts.list_contacts(dep.db)
    assert (contact.unit_id, contact.channel, contact.address, contact.name) == (
        OWN, "email", "VanThu@andung.ductho.gov.vn", "Văn thư xã")
    html = client.get("/tin-nhan/dau-moi").get_data(as_text=True)
    listing = text_of(section(html, 'id="danh-sach"', "</table>"))
    assert "UBND xã An Dũng VanThu@andung.ductho.gov.vn Thư điện tử Văn thư xã" in listing
    assert "Đã thêm đầu mối VanThu@andung.ductho.gov.vn (Thư điện tử) cho UBND xã An Dũng." in text_of(html)
    assert [e.username for e in audit.entries(dep.db) if e.action == "contact.add"] == [username]


def test_contacts_grouped_by_unit_in_plan_order(dep, client_as):
    contacts.add_contact(dep, OTHER, "sms", "0912345678", "Văn phòng")
    contacts.add_contact(dep, OWN, "email", "vanthu@andung.gov.vn")
    contacts.add_contact(dep, "phong-vhtt", "email", "vhtt@ductho.gov.vn")
    client, _ = client_as("system_admin")
    html = client.get("/tin-nhan/dau-moi").get_data(as_text=True)
    groups = re.findall(r'<th scope="rowgroup" colspan="3">([^<]+)</th>', html)
    assert groups == ["Phòng Văn hóa - Thông tin", "UBND xã An Dũng", "UBND xã Yên Hồ"]


def test_an_invalid_contact_comes_back_filled_in_with_its_errors(dep, client_as):
    client, _ = client_as("plan_admin")
    response = post(client, "/tin-nhan/dau-moi", {"unit": OWN, "channel": "email", "address": "vanthu@@andung",
                                                  "name": "Văn thư xã"}, token_from="/tin-nhan/dau-moi")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="vanthu@@andung"' in html and 'value="Văn thư xã"' in html
    assert '<option value="xa-an-dung" selected>UBND xã An Dũng</option>' in html
    assert '<option value="email" selected>Thư điện tử</option>' in html
    assert 'id="address" name="address"' in html and 'aria-invalid="true" aria-describedby="address-error"' in html
    assert "Địa chỉ thư điện tử không hợp lệ" in text_of(html)
    assert contacts.list_contacts(dep.db) == []
    # Every field's problem at once, in Vietnamese.
    response = post(client, "/tin-nhan/dau-moi", {"unit": "", "channel": "sms", "address": "12345",
                                                  "name": "x" * 201}, token_from="/tin-nhan/dau-moi")
    assert response.status_code == 422
    flat = text_of(response.get_data(as_text=True))
    assert "Vui lòng chọn đơn vị." in flat
    assert "Số điện thoại không hợp lệ" in flat
    assert "Tên dài quá 200 ký tự" in flat
    assert "Có 3 mục cần sửa" in flat
    response = post(client, "/tin-nhan/dau-moi", {"unit": "khong-co", "channel": "fax", "address": "x"},
                    token_from="/tin-nhan/dau-moi")
    assert response.status_code == 422
    flat = text_of(response.get_data(as_text=True))
    assert "Đơn vị này không có trong kế hoạch." in flat and "Kênh liên lạc không hợp lệ." in flat
    for english in ("missing", "no unit", "is not a channel", "characters, at most"):
        assert english not in flat


def test_contacts_delete(dep, client_as):
    contact = contacts.add_contact(dep, OWN, "zalo", "0912345678", "Chủ tịch xã")
    client, username = client_as("plan_admin")
    html = client.get("/tin-nhan/dau-moi").get_data(as_text=True)
    assert f'action="/tin-nhan/dau-moi/{contact.id}/xoa"' in html
    response = post(client, f"/tin-nhan/dau-moi/{contact.id}/xoa", token_from="/tin-nhan/dau-moi")
    assert response.status_code == 303
    assert contacts.list_contacts(dep.db) == []
    assert "Đã xóa đầu mối 0912345678 (Zalo (ZNS)) của UBND xã An Dũng." in text_of(
        client.get("/tin-nhan/dau-moi").get_data(as_text=True))
    assert [e.username for e in audit.entries(dep.db) if e.action == "contact.remove"] == [username]
    assert post(client, f"/tin-nhan/dau-moi/{contact.id}/xoa", token_from="/tin-nhan/dau-moi").status_code == 404


def test_contacts_are_for_admins_only(dep, client_as):
    contact = contacts.add_contact(dep, OWN, "email", "vanthu@andung.gov.vn")
    for role, unit in (("unit_officer", OWN), ("contest_manager", None), ("viewer", None)):
        client, _ = client_as(role, unit)
        assert client.get("/tin-nhan/dau-moi").status_code == 403
        assert post(client, "/tin-nhan/dau-moi", {"unit": OWN, "channel": "email", "address": "x@andung.gov.vn"},
                    token_from="/dang-nhap").status_code == 403
        assert post(client, f"/tin-nhan/dau-moi/{contact.id}/xoa", token_from="/dang-nhap").status_code == 403
    assert [c.address for c in contacts.list_contacts(dep.db)] == ["vanthu@andung.gov.vn"]
    admin, _ = client_as("system_admin")
    assert admin.post("/tin-nhan/dau-moi", data={"unit": OWN, "channel": "email",
                                                 "address": "x@andung.gov.vn"}).status_code == 400


def test_units_without_contacts_are_listed(dep, client_as):
    client, _ = client_as("plan_admin")
    flat = text_of(client.get("/tin-nhan/dau-moi").get_data(as_text=True))
    missing = flat.split("Chưa có đầu mối", 1)[1].split("Tin nhắc báo cáo", 1)[0]
    assert "UBND xã An Dũng" in missing and "UBND xã Yên Hồ" in missing and "Phòng Nội vụ" in missing
    assert "Thủ tướng" not in missing  # outside the plan's authority: not whom the office asks
    contacts.add_contact(dep, OWN, "email", "vanthu@andung.gov.vn")
    flat = text_of(client.get("/tin-nhan/dau-moi").get_data(as_text=True))
    missing = flat.split("Chưa có đầu mối", 1)[1].split("Tin nhắc báo cáo", 1)[0]
    assert "UBND xã An Dũng" not in missing and "UBND xã Yên Hồ" in missing


# -- phones ----------------------------------------------------------------------------------------


def test_scrollable_tables_can_be_reached_by_keyboard(dep, client_as):
    queue(dep, OWN)
    contacts.add_contact(dep, OWN, "email", "vanthu@andung.gov.vn")
    client, _ = client_as("plan_admin")
    for url in ("/tin-nhan", "/tin-nhan/dau-moi"):
        html = client.get(url).get_data(as_text=True)
        wraps = re.findall(r'<div class="table-wrap"[^>]*>', html)
        assert wraps, url
        for tag in wraps:
            assert 'tabindex="0"' in tag and 'aria-label="' in tag and 'role="region"' in tag
