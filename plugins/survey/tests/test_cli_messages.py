"""``ccch survey`` speaks Vietnamese to the officer when something is wrong (what and where), and
``forget-contact --response`` names every response id it cannot find and then deletes nothing.
The status lines scripts read ("N contact(s) deleted.", "N posters written …") stay as they were."""

from __future__ import annotations

import re

import pytest
from ccch_survey.store import add_placement, retire_placement
from ccch_survey_testing import answers, count, submit
from click.testing import CliRunner

from ccch_core.cli import make_cli


@pytest.fixture
def cli(dep):
    path = dep.config.folder / "ccch.toml"
    path.write_text(
        '[deployment]\nname = "Huyện Đức Thọ"\nplan = "plan.toml"\ndatabase = "ccch.db"\n'
        'public_base_url = "https://cchc.example.gov.vn"\nplugins = ["survey"]\n', encoding="utf-8")

    def run(*args):
        return CliRunner().invoke(make_cli(path), list(args), catch_exceptions=False)

    return run


@pytest.fixture
def with_contact(dep, app):
    """Two responses: the first left a contact, the second did not. Returns their ids."""
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    client = app.test_client()
    submit(client, f"/k/{placement.code}", {**answers(), "lien-he": "dong-y", "dien-thoai": "0912345678"})
    submit(app.test_client(), f"/k/{placement.code}", answers())
    ids = [r[0] for r in dep.db.execute("select id from survey_responses order by id")]
    assert len(ids) == 2 and count(dep.db, "survey_contacts") == 1
    return ids


# -- forget-contact --response -------------------------------------------------------------------

def test_an_unknown_response_id_is_named_and_nothing_is_deleted(cli, dep, with_contact):
    known, _ = with_contact
    result = cli("survey", "forget-contact", "--response", str(known), "--response", "999999",
                 "--response", "888888")
    assert result.exit_code == 1
    assert "--response 999999: không có phản hồi nào có mã này." in result.output
    assert "--response 888888: không có phản hồi nào có mã này." in result.output
    assert "Không có gì bị xóa." in result.output
    assert "contact(s) deleted" not in result.output
    assert count(dep.db, "survey_contacts") == 1  # the known response's contact is still there


def test_an_unknown_response_id_also_stops_the_phone(cli, dep, with_contact):
    result = cli("survey", "forget-contact", "--phone", "0912345678", "--response", "999999")
    assert result.exit_code == 1 and "999999" in result.output
    assert count(dep.db, "survey_contacts") == 1


def test_known_response_ids_are_reported_one_by_one(cli, dep, with_contact):
    known, without = with_contact
    result = cli("survey", "forget-contact", "--response", str(known), "--response", str(without))
    assert result.exit_code == 0
    assert f"Phản hồi #{known}: đã xóa thông tin liên hệ." in result.output
    assert f"Phản hồi #{without}: không có thông tin liên hệ nào để xóa." in result.output
    assert result.output.rstrip().endswith("1 contact(s) deleted.")  # the line scripts read, unchanged
    assert count(dep.db, "survey_contacts") == 0 and count(dep.db, "survey_responses") == 2


# -- Vietnamese messages -------------------------------------------------------------------------

ENGLISH = re.compile(r"\b(no survey|no placement|no unit|has problems|needs|give --|must end|"
                     r"no active placement|already retired|the place is)\b")


def error_of(result) -> str:
    assert result.exit_code != 0, result.output
    assert not ENGLISH.search(result.output), result.output
    return result.output


def test_a_bad_survey_file_is_reported_in_vietnamese(cli, tmp_path):
    bad = tmp_path / "hong.toml"
    bad.write_text('id = "hong"\ntitle = "Hỏng"\n', encoding="utf-8")
    out = error_of(cli("survey", "load", str(bad)))
    assert "Tệp khảo sát có lỗi, chưa nạp gì:" in out and "questions" in out


@pytest.mark.parametrize("args", [
    ("show", "sipaz"), ("show", "sipas", "--version", "99"), ("open", "sipaz"), ("close", "sipaz"),
    ("place", "sipaz", "trung-tam-hcc", "--place", "Sảnh"), ("results", "sipaz"), ("posters", "sipaz", "-o", "x.pdf"),
    ("export", "sipaz", "-o", "x.csv"),
])
def test_an_unknown_survey_is_reported_in_vietnamese(cli, args):
    out = error_of(cli("survey", *args))
    assert "không có khảo sát nào có mã này" in out or "không có phiên bản 99" in out
    if "sipaz" in args:
        assert "“sipaz”" in out and "Có phải: sipas?" in out


def test_placement_problems_are_reported_in_vietnamese(cli, dep, tmp_path):
    out = error_of(cli("survey", "place", "sipas", "xa-an-dug", "--place", "Sảnh"))
    assert "“xa-an-dug”: không có đơn vị nào có mã này" in out
    out = error_of(cli("survey", "place", "sipas", "trung-tam-hcc", "--place", " "))
    assert "--place: chưa ghi nơi đặt" in out
    out = error_of(cli("survey", "qr", "ZZZZZZ", "-o", str(tmp_path / "a.png")))
    assert "“ZZZZZZ”: không có nơi đặt nào có mã này." in out
    placement = add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh")
    out = error_of(cli("survey", "qr", placement.code, "-o", str(tmp_path / "a.jpg")))
    assert ".png hoặc .svg" in out and not (tmp_path / "a.jpg").exists()
    out = error_of(cli("survey", "retire", "ZZZZZZ"))
    assert "“ZZZZZZ”: không có nơi đặt nào có mã này." in out
    retire_placement(dep.db, placement.code)
    out = error_of(cli("survey", "retire", placement.code))
    assert f"“{placement.code}”: nơi đặt này đã gỡ trước đó; không có gì thay đổi." in out
    out = error_of(cli("survey", "posters", "sipas", "--create", "-o", str(tmp_path / "p.pdf")))
    assert "--create cần có --kind" in out
    out = error_of(cli("survey", "posters", "sipas", "-o", str(tmp_path / "p.pdf")))
    assert "Không có nơi đặt poster nào đang dùng" in out and not (tmp_path / "p.pdf").exists()
    out = error_of(cli("survey", "forget-contact"))
    assert "Hãy ghi --phone hoặc --response" in out
