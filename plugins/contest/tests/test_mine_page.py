"""The participant's "Của tôi" page tells, before erasing, what erasing does not undo: the number
stays blocked for a round the person entered until that round closes (the erasure marker, see
docs/contest.md, "Erasure does not give a second attempt")."""

from __future__ import annotations

from ccch_contest_testing import PHONES, csrf_from

BASE = "/cuoc-thi/tim-hieu-cchc-2024"
RULE = ("Nếu bạn đã làm bài trong một vòng thi đang mở, sau khi xóa bạn không thể dùng lại số điện thoại "
        "hoặc số căn cước này để đăng ký thi lại vòng đó cho đến khi vòng thi kết thúc.")


def test_the_erase_section_says_the_number_stays_blocked_until_the_round_closes(dep, contest, make_app):
    client = make_app(dep).test_client()
    token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
    registered = client.post(BASE + "/dang-ky", data={
        "csrf_token": token, "full_name": "Trần Thị Mai", "phone": PHONES[4], "birth_year": "1988",
        "audience": "cbccvc", "unit_id": "xa-an-dung", "occupation": "", "consent": "1"})
    assert registered.status_code == 303
    html = client.get(BASE + "/cua-toi").get_data(as_text=True)
    erase = html[html.index("<h2>Xóa dữ liệu cá nhân</h2>"):html.index("Xóa dữ liệu của tôi</button>")]
    assert RULE in erase


def test_a_resident_reads_where_they_live_and_a_civil_servant_where_they_work(dep, contest, make_app):
    """A resident registered for the commune they live in ("xã An Dũng", as the registration form
    offered it), not its People's Committee, which is where civil servants work."""
    for n, audience, label, place in ((5, "nhan-dan", "Nơi cư trú", "xã An Dũng"),
                                      (6, "cbccvc", "Đơn vị công tác", "UBND xã An Dũng")):
        client = make_app(dep).test_client()
        token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
        registered = client.post(BASE + "/dang-ky", data={
            "csrf_token": token, "full_name": "Trần Thị Mai", "phone": PHONES[n], "birth_year": "1988",
            "audience": audience, "unit_id": "xa-an-dung", "occupation": "", "consent": "1"})
        assert registered.status_code == 303, registered.get_data(as_text=True)[:2000]
        html = client.get(BASE + "/cua-toi").get_data(as_text=True)
        assert f"<dt>{label}</dt><dd>{place}</dd>" in html
