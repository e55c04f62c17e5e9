"""The contest manager's rankings page is per audience, like the public leaderboard: prizes are per
audience and audiences answer different numbers of questions (the example: civil servants 20,
citizens 15), so a board mixing them would rank every citizen below on raw score. The first
audience is shown by default, the others one link away; there is no mixed board."""

from __future__ import annotations

import pytest
from ccch_contest_testing import submit_people

from ccch_core.testing import login

SLUG = "tim-hieu-cchc-2024"
BASE = f"/cuoc-thi/quan-ly/{SLUG}/xep-hang"
EVERYONE = ("Công Chức Một", "Công Chức Hai", "Người Dân Một", "Người Dân Hai")


@pytest.fixture
def client(dep, contest, make_app, make_user):
    # The citizens answer everything right, the civil servants miss some: a mixed board would put
    # a citizen first on raw score although the audiences do not compete with each other.
    people = [("Công Chức Một", "cbccvc", 1), ("Công Chức Hai", "cbccvc", 3),
              ("Người Dân Một", "nhan-dan", 0), ("Người Dân Hai", "nhan-dan", 2)]
    submit_people(dep, contest, people)
    app = make_app(dep)
    client = app.test_client()
    username, password = make_user(dep, "contest_manager", None)
    assert login(client, username, password).status_code == 302
    return client


def names(html: str) -> list[str]:
    return sorted((n for n in EVERYONE if n in html), key=html.index)


@pytest.mark.parametrize("query", ["", "?doi-tuong=", "?vong=2", "?vong=tong", "?vong=2&doi-tuong=&trang=1"])
def test_the_default_board_is_the_first_audience_alone(client, query):
    response = client.get(BASE + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert names(html) == ["Công Chức Một", "Công Chức Hai"]
    assert "<h1>Xếp hạng: Cán bộ, công chức, viên chức, người lao động</h1>" in html


@pytest.mark.parametrize("query", ["?doi-tuong=nhan-dan", "?vong=tong&doi-tuong=nhan-dan"])
def test_another_audience_is_one_link_away(client, query):
    html = client.get(BASE + query).get_data(as_text=True)
    assert names(html) == ["Người Dân Một", "Người Dân Hai"]
    assert "<h1>Xếp hạng: Nhân dân</h1>" in html


def test_no_mixed_board_and_links_to_each_audience(client):
    html = client.get(BASE + "?vong=2").get_data(as_text=True)
    assert ">Tất cả<" not in html
    assert "giải thưởng xét riêng từng đối tượng" in html
    assert f'href="{BASE}?vong=2&amp;doi-tuong=nhan-dan"' in html
    # Paging keeps the audience shown.
    assert client.get(BASE + "?doi-tuong=khac").status_code == 404
