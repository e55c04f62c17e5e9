"""``ccch privacy erase`` and ``ccch privacy purge`` across every plugin that holds personal data
(the contest and the survey plugins together, on a real deployment), and their error paths."""

from __future__ import annotations

import secrets

import pytest
from ccch_testing import ROOT
from click.testing import CliRunner

from ccch_core import audit
from ccch_core.cli import make_cli

PHONE = "0912345678"


@pytest.fixture
def both(make_deployment):
    """Contest and survey enabled; the same person registered for the example contest and left
    their contact details with a survey answer; someone else did both too."""
    from ccch_contest import bank
    from ccch_contest.contests import save_definition
    from ccch_contest.definition import load_definition as load_contest
    from ccch_contest.participants import register
    from ccch_survey.definition import load_definition as load_survey
    from ccch_survey.settings import SurveySettings
    from ccch_survey.store import (
        Contact,
        Entry,
        Submission,
        add_placement,
        get_version,
        save_survey,
        store_submission,
    )

    dep = make_deployment(["contest", "survey"])
    contest, _ = save_definition(dep, load_contest(ROOT / "examples" / "duc-tho-2024" / "contest.toml", dep.plan))
    rows = bank.read_question_file(ROOT / "examples" / "duc-tho-2024" / "questions.csv")
    found, audiences, _ = bank.parse_rows(rows, contest.definition)
    bank.import_questions(dep.db, contest.id, found, audiences, replace=True)
    save_survey(dep.db, load_survey(ROOT / "examples" / "surveys" / "sipas.toml"))
    placement = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận hồ sơ")
    entry = Entry(placement, "open", 1, get_version(dep.db, "sipas", 1))
    settings = SurveySettings(responses_per_device_per_day=0, submissions_per_address_per_hour=0)
    for n, phone in enumerate((PHONE, "0987654321")):
        register(dep, contest, {"full_name": f"Phạm Thị {'AB'[n]}", "phone": phone, "birth_year": "1985",
                                "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1"}, client_key=f"k{n}")
        store_submission(dep.db, settings, Submission(entry, {"chung": ("4",), "tiep-can.1": ("5",)},
                                                      secrets.token_urlsafe(18), None, "t", Contact(None, phone)))
    return dep


def ccch(dep, *args, input=None):
    dep.close()
    return CliRunner().invoke(make_cli(dep.config.path), list(args), input=input)


def figures(dep):
    """What must survive an erasure: participant rows with their unit, responses, answers, tallies."""
    return [dep.db.execute(sql).fetchall() for sql in (
        "select id, unit_id, audience from contest_participants order by id",
        "select id from survey_responses order by id",
        "select count(*) from survey_answers",
        "select sum(n) from survey_tallies")]


def personal(dep):
    return [dep.db.execute(sql).fetchall() for sql in (
        "select full_name, phone_hash, contact_phone from contest_participants order by id",
        "select response_id, phone from survey_contacts order by response_id")]


def test_dry_run_lists_what_each_plugin_holds_and_changes_nothing(both):
    before, kept = personal(both), figures(both)
    result = ccch(both, "privacy", "erase", "--phone", "091 234 5678", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Dữ liệu cá nhân của SĐT 0912***678:"
    # (the contest keeps only the last 3 digits beside the keyed hash: issue #16)
    assert lines[1].startswith("  [contest] Người dự thi #1 cuộc thi") and "số điện thoại *******678" in lines[1]
    assert lines[2].startswith("  [survey] Thông tin liên hệ kèm phản hồi #1 khảo sát")
    assert lines[-1] == "Chạy thử (--dry-run): chưa xóa gì."
    assert personal(both) == before and figures(both) == kept
    assert audit.count(both.db, action="privacy.erase") == 0


def test_erase_removes_the_person_from_every_plugin_and_keeps_anonymous_figures(both, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "thu")
    kept = figures(both)
    result = ccch(both, "privacy", "erase", "--phone", PHONE, "--yes")
    assert result.exit_code == 0, result.output
    assert "Đã xóa:" in result.output and "[contest]" in result.output and "[survey]" in result.output
    contest_rows, contacts = personal(both)
    assert contest_rows[0] == (None, None, None) and contest_rows[1][0] == "Phạm Thị B"
    assert [c[0] for c in contacts] == [2]  # the other person's contact stays
    assert figures(both) == kept
    [row] = audit.entries(both.db, action="privacy.erase")
    assert row.username == "cli:thu" and row.target == "SĐT 0912***678"
    assert "contest: Người dự thi #1" in row.detail and "survey: Thông tin liên hệ kèm phản hồi #1" in row.detail
    # Asked again: nothing is left to find.
    again = ccch(both, "privacy", "erase", "--phone", PHONE, "--yes")
    assert again.exit_code == 1 and "Không tìm thấy dữ liệu cá nhân nào của SĐT 0912***678" in again.output


def test_the_confirmation_can_be_refused(both):
    before = personal(both)
    result = ccch(both, "privacy", "erase", "--phone", PHONE, input="n\n")
    assert result.exit_code == 1 and "Xóa vĩnh viễn các dữ liệu cá nhân trên?" in result.output
    assert personal(both) == before


def test_an_unknown_person_gets_a_clear_message(both):
    result = ccch(both, "privacy", "erase", "--phone", "0901234567", "--citizen-id", "001203004567")
    assert result.exit_code == 1
    assert ("Không tìm thấy dữ liệu cá nhân nào của SĐT 0901***567, CCCD ********4567 "
            "(đã tìm trong: tin nhắn và đầu mối liên hệ, contest, survey). Không có gì bị xóa.") in result.output


def test_a_deployment_without_such_plugins_says_so(make_deployment):
    dep = make_deployment()
    result = ccch(dep, "privacy", "erase", "--phone", PHONE)
    assert result.exit_code == 1 and "(đã tìm trong: tin nhắn và đầu mối liên hệ)" in result.output
    purge = ccch(dep, "privacy", "purge")
    assert purge.exit_code == 0 and purge.output.strip() == "Không có dữ liệu cá nhân nào quá thời hạn lưu trữ."
    assert audit.count(dep.db, action="privacy.purge") == 0  # nothing erased, nothing recorded


@pytest.mark.parametrize("args, message", [
    ((), "give --phone, --citizen-id or --email (or several)"),
    (("--phone", "12345"), "Số điện thoại không hợp lệ"),
    (("--citizen-id", "12345"), "Số căn cước công dân phải gồm đúng 12 chữ số."),
])
def test_bad_arguments_are_usage_errors(both, args, message):
    result = ccch(both, "privacy", "erase", *args)
    assert result.exit_code == 2 and message in result.output
    assert personal(both)[0][0][0] == "Phạm Thị A"


def test_purge_erases_the_expired_contest_and_keeps_fresh_survey_contacts(both):
    """The example contest's last round closed on 30 June 2024, long past 365 days; the survey
    contacts were given today."""
    before, kept = personal(both), figures(both)
    dry = ccch(both, "privacy", "purge", "--dry-run")
    assert dry.exit_code == 0 and dry.output.startswith("Sẽ xóa (chạy thử, chưa xóa gì):\n  [contest] ")
    assert "của 2 người dự thi cuộc thi" in dry.output and "(30/06/2024)" in dry.output
    assert "[survey]" not in dry.output and personal(both) == before
    done = ccch(both, "privacy", "purge")
    assert done.exit_code == 0 and "Đã xóa dữ liệu cá nhân quá thời hạn lưu trữ:" in done.output
    contest_rows, contacts = personal(both)
    assert contest_rows == [(None, None, None), (None, None, None)] and contacts == before[1]
    assert figures(both) == kept
    [row] = audit.entries(both.db, action="privacy.purge")
    assert row.target == "2 bản ghi" and row.username.startswith("cli")
