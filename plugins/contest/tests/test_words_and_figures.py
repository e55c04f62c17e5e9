"""#18 on the contest: the right figures (participation over every unit registration offers, the
result page's board of the contestant's own audience), words instead of codes, residents choosing
where they live, and units in Vietnamese alphabetical order."""

from __future__ import annotations

import html
import re

import pytest
from ccch_contest import attempts as A
from ccch_contest.definition import all_unit_choices, residence_label, unit_choices
from ccch_contest.ranking import participation
from ccch_contest_testing import add_participant, answers_for, csrf_from

from ccch_core import audit
from ccch_core.text import sort_key

BASE = "/cuoc-thi/tim-hieu-cchc-2024"
MANAGE = "/cuoc-thi/quan-ly/tim-hieu-cchc-2024"


def submit(dep, contest, n, *, audience="cbccvc", unit_id="xa-an-dung"):
    person = add_participant(dep, contest, n, audience=audience, unit_id=unit_id)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 3.0)
    assert result.outcome == "accepted"
    return person, attempt


@pytest.fixture
def app(dep, contest, make_app):
    return make_app(dep)


def manager(app, dep, make_user):
    from ccch_core.testing import login

    client = app.test_client()
    username, password = make_user(dep, "contest_manager")
    assert login(client, username, password).status_code == 302
    return client


def test_participation_counts_every_unit_registration_offers(dep, contest):
    submit(dep, contest, 1, unit_id="ban-tuyen-giao")
    submit(dep, contest, 2, unit_id="xa-an-dung")
    submit(dep, contest, 3, unit_id="mttq-huyen")
    units = {u.unit_id: u.participants for u in participation(dep, contest)}
    assert units["ban-tuyen-giao"] == 1 and units["mttq-huyen"] == 1 and units["xa-an-dung"] == 1
    assert "doan-the-huyen" in units  # offered to civil servants, so counted (0 so far)
    assert sum(units.values()) == 3  # was 1: Ban Tuyên giáo and MTTQ were not in the list
    # The citizens' prizes count only the citizens' units.
    citizens = {u.unit_id for u in participation(dep, contest, audience="nhan-dan")}
    assert "ban-tuyen-giao" not in citizens and "xa-an-dung" in citizens


def test_participation_page_total_counts_everyone(app, dep, contest, make_user):
    submit(dep, contest, 1, unit_id="ban-tuyen-giao")
    submit(dep, contest, 2, unit_id="xa-an-dung")
    text = html.unescape(manager(app, dep, make_user).get(MANAGE + "/tham-gia").get_data(as_text=True))
    assert "Ban Tuyên giáo Huyện ủy" in text and "Ủy ban MTTQ huyện" in text
    assert re.search(r"Tổng[^0-9]*2 người dự thi", text), re.findall(r"Tổng.{0,40}", text)


def test_result_page_links_to_the_contestants_own_board(app, dep, contest):
    client = app.test_client()
    token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
    from ccch_contest_testing import PHONES

    response = client.post(BASE + "/dang-ky", data={
        "csrf_token": token, "full_name": "Lê Văn Dân", "phone": PHONES[4], "birth_year": "1970",
        "audience": "nhan-dan", "unit_id": "xa-an-dung", "consent": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    token = csrf_from(client.get(BASE).get_data(as_text=True))
    url = client.post(BASE + "/bat-dau", data={"csrf_token": token}).headers["Location"]
    attempt = A.get_attempt(dep.db, url.rstrip("/").rsplit("/", 1)[-1])
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "du_doan": "7", **answers_for(dep, contest, attempt)}
    result = html.unescape(client.post(url + "/nop", data=data).get_data(as_text=True))
    links = re.findall(r'href="([^"]*bang-xep-hang[^"]*)"[^>]*>Bảng xếp hạng', result)
    button = [link for link in links if "vong=" in link]  # the result's button (the menu has another)
    assert button and all("doi-tuong=nhan-dan" in link for link in button), links


def test_residents_choose_the_commune_civil_servants_the_body(app, dep, contest):
    text = html.unescape(app.test_client().get(BASE + "/dang-ky").get_data(as_text=True))
    groups = dict(re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', text, re.DOTALL))
    citizens = re.findall(r">([^<]+)</option>", groups["Nhân dân"])
    servants = re.findall(r">([^<]+)</option>", groups["Cán bộ, công chức, viên chức, người lao động"])
    assert "xã An Dũng" in citizens and "thị trấn Đức Thọ" in citizens
    assert not any(name.startswith("UBND") for name in citizens)
    assert "UBND xã An Dũng" in servants
    assert citizens == sorted(citizens, key=sort_key) and servants == sorted(servants, key=sort_key)


def test_residence_label():
    class U:
        def __init__(self, name, kind):
            self.name, self.kind = name, kind

    assert residence_label(U("UBND xã An Dũng", "commune")) == "xã An Dũng"
    assert residence_label(U("Ủy ban nhân dân thị trấn Đức Thọ", "town")) == "thị trấn Đức Thọ"
    assert residence_label(U("Phòng Nội vụ", "department")) == "Phòng Nội vụ"


def test_unit_choices_in_vietnamese_order(dep, contest):
    d = contest.definition
    names = [u.name for u in all_unit_choices(d, dep.plan)]
    assert names == sorted(names, key=sort_key)
    for audience in d.audiences:
        chosen = [u.name for u in unit_choices(d, audience, dep.plan)]
        assert chosen == sorted(chosen, key=sort_key)
    # "Đức…" is not after "Yên Hồ", as it was by code point.
    communes = [n for n in names if n.startswith("UBND")]
    assert communes.index("UBND thị trấn Đức Thọ") < communes.index("UBND xã An Dũng")


def test_manager_pages_show_names_not_codes(app, dep, contest, make_user):
    person, _ = submit(dep, contest, 1, audience="nhan-dan")
    with dep.db.conn:
        dep.db.execute("insert into contest_log (contest_id, at, username, action) values (?, ?, ?, ?)",
                       [contest.id, "2024-06-01T00:00:00+00:00", audit.cli_actor(), "publish"])
    client = manager(app, dep, make_user)
    listing = html.unescape(client.get(MANAGE + "/thi-sinh").get_data(as_text=True))
    assert "Nhân dân" in listing and ">nhan-dan<" not in listing
    one = html.unescape(client.get(f"{MANAGE}/thi-sinh/{person.id}").get_data(as_text=True))
    assert "<dd>Nhân dân</dd>" in one
    log = html.unescape(client.get(MANAGE + "/nhat-ky").get_data(as_text=True))
    assert "cli:" not in log and "Lệnh trên máy chủ" in log
    index = html.unescape(client.get("/cuoc-thi/quan-ly/").get_data(as_text=True))
    assert "slug" not in index and ".toml" not in index.split("accept=")[0].rsplit("<label", 1)[-1]
