"""The public leaderboard is per audience: prizes are per audience and audiences answer different
numbers of questions (the example: civil servants 20, citizens 15), so a board mixing them would
rank every citizen below on raw score. The first audience is shown by default, with a switch."""

from __future__ import annotations

import pytest
from ccch_contest_testing import contest_data, load_contest, submit_people

BASE = "/cuoc-thi/tim-hieu-cchc-2024"


@pytest.fixture
def contest(dep):
    """Live boards of an open round need score_disclosure = "immediately" (see the last test)."""
    return load_contest(dep, contest_data(score_disclosure="immediately"))


@pytest.fixture
def client(dep, contest, make_app):
    people = [("Công Chức Một", "cbccvc", 0), ("Công Chức Hai", "cbccvc", 3),
              ("Người Dân Một", "nhan-dan", 0), ("Người Dân Hai", "nhan-dan", 1)]
    submit_people(dep, contest, people)
    return make_app(dep).test_client()


def names(html: str) -> list[str]:
    everyone = ("Công Chức Một", "Công Chức Hai", "Người Dân Một", "Người Dân Hai")
    return sorted((n for n in everyone if n in html), key=html.index)


@pytest.mark.parametrize("query", ["", "?doi-tuong=", "?vong=tong", "?vong=2&doi-tuong="])
def test_the_default_board_is_the_first_audience_alone(client, query):
    html = client.get(BASE + "/bang-xep-hang" + query).get_data(as_text=True)
    assert names(html) == ["Công Chức Một", "Công Chức Hai"]
    assert "<h1>Bảng xếp hạng: Cán bộ, công chức, viên chức, người lao động</h1>" in html
    if "tong" in query:  # the overall board shows what its prediction tie-break compares
        assert "Tổng chênh lệch dự đoán" in html


@pytest.mark.parametrize("query", ["?doi-tuong=nhan-dan", "?vong=tong&doi-tuong=nhan-dan"])
def test_the_switch_shows_another_audience(client, query):
    html = client.get(BASE + "/bang-xep-hang" + query).get_data(as_text=True)
    assert names(html) == ["Người Dân Một", "Người Dân Hai"]


def test_no_mixed_board_is_offered(client):
    html = client.get(BASE + "/bang-xep-hang").get_data(as_text=True)
    assert ">Tất cả<" not in html
    # Links to each audience's board, for a phone without JavaScript (one tap, no form).
    assert 'href="/cuoc-thi/tim-hieu-cchc-2024/bang-xep-hang?vong=2&amp;doi-tuong=nhan-dan"' in html
    assert client.get(BASE + "/bang-xep-hang?doi-tuong=khac").status_code == 404


@pytest.mark.parametrize("query", ["", "?vong=2", "?vong=tong", "?vong=tong&doi-tuong=nhan-dan"])
def test_by_default_no_board_shows_scores_while_a_round_is_open(dep, make_app, query):
    """score_disclosure = "after_close" (the default): provisional scores of the open round would
    tell a fleet of throwaway entries which answers are right, as a score on submission would."""
    contest = load_contest(dep, contest_data())
    assert contest.definition.score_disclosure == "after_close"
    submit_people(dep, contest, [("Công Chức Một", "cbccvc", 0), ("Người Dân Một", "nhan-dan", 0)])
    html = make_app(dep).test_client().get(BASE + "/bang-xep-hang" + query).get_data(as_text=True)
    assert names(html) == [] and "sẽ được công bố sau khi vòng thi kết thúc" in html
