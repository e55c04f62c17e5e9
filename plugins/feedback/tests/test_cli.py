"""``ccch feedback …`` through the real command line on a real deployment."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_feedback import store
from ccch_feedback.store import Question
from ccch_feedback_testing import messages
from click.testing import CliRunner

from ccch_core.cli import make_cli
from ccch_core.periods import VN_TZ


@pytest.fixture
def cli(dep):
    path = dep.config.folder / "ccch.toml"

    def run(*args):
        return CliRunner().invoke(make_cli(path), list(args), catch_exceptions=False)

    return run


def test_leaders(cli, dep, make_user):
    make_user(dep, "unit_officer", "phong-tu-phap", "truongphong")
    make_user(dep, "plan_admin", None, "quantri")
    ok = cli("feedback", "leader", "add", "truongphong")
    assert ok.exit_code == 0 and "Phòng Tư pháp" in ok.output
    assert store.leader_unit(dep.db, "truongphong") == "phong-tu-phap"
    assert "truongphong" in cli("feedback", "leader", "list").output
    wrong = cli("feedback", "leader", "add", "quantri")
    assert wrong.exit_code != 0 and "unit_officer" in wrong.output
    other_unit = cli("feedback", "leader", "add", "truongphong", "--unit", "phong-noi-vu")
    assert other_unit.exit_code != 0
    assert cli("feedback", "leader", "remove", "truongphong").exit_code == 0
    assert store.leader_unit(dep.db, "truongphong") is None


def test_remind_and_list(cli, dep):
    item = store.ask(dep, Question(kind="question", requester="citizen", title="Hỏi về chứng thực",
                                   body="Chứng thực bản sao mất bao lâu?", field="chung-thuc"),
                     now=dt.datetime(2024, 2, 7, 9, tzinfo=VN_TZ))
    store.assign(dep, item.id, "phong-tu-phap", "vhtt")
    out = cli("feedback", "remind", "--now", "2024-02-26T08:00:00+07:00")
    assert out.exit_code == 0 and "1 quá hạn" in out.output
    assert messages(dep, "feedback.escalated")
    assert cli("feedback", "remind", "--now", "26/02/2024").exit_code != 0
    assert cli("feedback", "remind", "--now", "2024-02-26T08:00:00").exit_code != 0
    listed = cli("feedback", "list")
    assert store.format_code(item.code) in listed.output and "quá hạn" in listed.output


def test_demo_and_reindex(cli, dep):
    out = cli("feedback", "demo")
    assert out.exit_code == 0
    assert store.search(dep.db, "giay khai sinh")
    assert cli("feedback", "demo").exit_code != 0  # only once
    dep.db.execute("delete from feedback_search")
    dep.db.conn.commit()
    assert not store.search(dep.db, "giay khai sinh")
    assert "2 câu trả lời" in cli("feedback", "reindex").output
    assert store.search(dep.db, "dang ky ho kinh doanh")
