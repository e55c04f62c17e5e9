"""``ccch contest …`` through click's CliRunner on a real deployment."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from ccch_contest import attempts as A
from ccch_contest.participants import contact_phone
from ccch_contest_testing import (
    CONTEST_TOML,
    PHONES,
    QUESTIONS_CSV,
    add_participant,
    answers_for,
    contest_data,
    load_contest,
)
from click.testing import CliRunner

from ccch_core.cli import make_cli

UTC = dt.UTC


@pytest.fixture
def run(dep):
    config = str(dep.config.path)

    def invoke(*args, input=None):
        dep.close()  # the CLI opens its own connection, as a separate process would
        return CliRunner().invoke(make_cli(config), ["-c", config, *args], input=input, catch_exceptions=False)

    return invoke


def test_load_check_import_publish_show(run, dep, tmp_path):
    assert run("contest", "check", str(CONTEST_TOML)).output.startswith(f"{CONTEST_TOML}: OK")
    result = run("contest", "load", str(CONTEST_TOML))
    assert result.exit_code == 0 and "Created contest tim-hieu-cchc-2024" in result.output
    result = run("contest", "publish", "tim-hieu-cchc-2024")
    assert result.exit_code == 1 and "not ready to publish" in result.output and "chưa có câu hỏi" in result.output
    result = run("contest", "questions", "import", "tim-hieu-cchc-2024", str(QUESTIONS_CSV))
    assert result.exit_code == 0 and "Đã đọc 89 câu hỏi: thêm hoặc sửa 89" in result.output
    assert run("contest", "publish", "tim-hieu-cchc-2024").output.strip() == "tim-hieu-cchc-2024: published"
    shown = json.loads(run("contest", "show", "tim-hieu-cchc-2024", "--json").output)
    assert shown["status"] == "published" and shown["questions"]["total"] == 89
    assert [r["number"] for r in shown["rounds"]] == [1, 2, 3, 4]
    assert shown["rounds"][0]["closes"].startswith("2024-06-09T16:59:59")
    listed = json.loads(run("contest", "list", "--json").output)
    assert listed[0]["slug"] == "tim-hieu-cchc-2024"
    # Loading again updates; the definition prints back as TOML.
    assert "Updated contest" in run("contest", "load", str(CONTEST_TOML)).output
    out = tmp_path / "lai.toml"
    run("contest", "definition", "tim-hieu-cchc-2024", "-o", str(out))
    assert run("contest", "check", str(out)).exit_code == 0


def test_check_reports_problems_with_lines(run, tmp_path):
    bad = tmp_path / "sai.toml"
    bad.write_text('format = 1\n[contest]\nslug = "a-b"\ntitle = "T"\n[[rounds]]\nopens = 2024-06-03\n', encoding="utf-8")
    result = run("contest", "check", str(bad))
    assert result.exit_code == 1 and f"{bad}:5: rounds[0].closes: missing required field" in result.output


def test_questions_export_and_template(run, dep, contest, tmp_path):
    csv_path = tmp_path / "ra.csv"
    assert "Wrote 89 questions" in run("contest", "questions", "export", contest.slug, str(csv_path)).output
    assert csv_path.read_text(encoding="utf-8").startswith("\ufeffMã câu hỏi,Loại,Câu hỏi,")
    xlsx = tmp_path / "mau.xlsx"
    run("contest", "questions", "template", str(xlsx))
    assert xlsx.read_bytes()[:2] == b"PK"


def test_ranking_prizes_participation_disqualify_export(run, dep, tmp_path):
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(days=3), now - dt.timedelta(days=1))]))
    start = now - dt.timedelta(days=2)
    people = []
    for n in range(3):
        person = add_participant(dep, contest, n, name=f"Bùi Văn {'ABC'[n]}", unit_id="xa-tan-dan")
        attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
        A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=n), 2.0,
                         now=start + dt.timedelta(minutes=4))
        people.append(person)
    result = run("contest", "close-round", contest.slug, "1")
    assert "Round 1: 3 ranked entries, 1 with every answer correct; true figure of the prediction: 1" in result.output
    ranking = json.loads(run("contest", "ranking", contest.slug, "--round", "1", "--json").output)
    assert [e["full_name"] for e in ranking["entries"]] == ["Bùi Văn A", "Bùi Văn B", "Bùi Văn C"]
    assert ranking["final"] and all("***" in e["phone_masked"] for e in ranking["entries"])
    timed = run("contest", "ranking", contest.slug, "--round", "1", "--time-all").output
    assert timed.startswith("Ranked 3 entries of round 1 in ")
    prizes = json.loads(run("contest", "prizes", contest.slug, "--json").output)
    assert [(p["prize"], p["name"]) for p in prizes if p["scope"] == "round 1"] == [
        ("Giải Nhất", "Bùi Văn A"), ("Giải Nhì", "Bùi Văn B"), ("Giải Nhì", "Bùi Văn C")]
    assert next((p["name"], p["score"]) for p in prizes if p["scope"] == "collective") == ("UBND xã Tân Dân", 3)
    participation = json.loads(run("contest", "participation", contest.slug, "--json").output)
    assert {p["unit"]: p["participants"] for p in participation}["xa-tan-dan"] == 3
    result = run("contest", "disqualify", contest.slug, "--phone", PHONES[0], "--reason", "Thi hộ")
    assert "Disqualified participant" in result.output
    ranking = json.loads(run("contest", "ranking", contest.slug, "--round", "1", "--json").output)
    assert [e["full_name"] for e in ranking["entries"]] == ["Bùi Văn B", "Bùi Văn C"]
    assert ranking["truth"] == 0.0
    assert run("contest", "disqualify", contest.slug, "--phone", PHONES[1]).exit_code == 1  # no reason
    run("contest", "reinstate", contest.slug, "--participant", str(people[0].id))
    assert json.loads(run("contest", "ranking", contest.slug, "--round", "1", "--json").output)["truth"] == 1.0
    out = tmp_path / "xep-hang.csv"
    run("contest", "export", contest.slug, "rankings", str(out))
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeffCuộc thi,Vòng,Đối tượng,Hạng") and "Bùi Văn A" in text and PHONES[0] not in text
    erased = run("contest", "erase", contest.slug, "--phone", PHONES[2], "--yes")
    assert "Erased the personal data" in erased.output
    assert dep.db.execute("select count(*) from contest_participants where deleted_at is not null").fetchone()[0] == 1


def test_close_round_refuses_an_open_round(run, dep, contest):
    result = run("contest", "close-round", contest.slug, "2")
    assert result.exit_code == 1 and "it can be closed only after that" in result.output


def test_unknown_contest_and_round(run, dep, contest):
    assert "no contest 'khong-co' (contests: tim-hieu-cchc-2024)" in run("contest", "show", "khong-co").output
    assert "has no round 9" in run("contest", "ranking", contest.slug, "--round", "9").output


def test_purge_contacts_after_retention(run, dep, make_deployment):
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(days=200), now - dt.timedelta(days=100))]))
    add_participant(dep, contest, 1)
    stored = dep.db.execute("select contact_phone from contest_participants").fetchone()[0]
    assert PHONES[1] not in stored and contact_phone(dep, stored) == PHONES[1]  # sealed, not in clear
    assert run("contest", "purge-contacts").output.strip() == "Erased 1 contact phone number(s)."
    assert dep.db.execute("select contact_phone from contest_participants").fetchone()[0] is None


def test_ranking_is_printed_one_audience_at_a_time(run, dep, tmp_path):
    """Without --audience, each audience is ranked on its own: a citizen's 15/15 and a civil
    servant's 19/20 are not places of one board."""
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(days=3), now - dt.timedelta(days=1))]))
    start = now - dt.timedelta(days=2)
    for n, (audience, wrong) in enumerate([("cbccvc", 1), ("nhan-dan", 0), ("cbccvc", 0)]):
        person = add_participant(dep, contest, n, audience=audience, name=f"Bùi Văn {'ABC'[n]}")
        attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
        A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=wrong), 2.0,
                         now=start + dt.timedelta(minutes=4))
    run("contest", "close-round", contest.slug, "1")
    ranking = json.loads(run("contest", "ranking", contest.slug, "--round", "1", "--json").output)
    assert ranking["audiences"] == ["cbccvc", "nhan-dan"]
    assert [(e["audience"], e["rank"], e["full_name"]) for e in ranking["entries"]] == [
        ("cbccvc", 1, "Bùi Văn C"), ("cbccvc", 2, "Bùi Văn A"), ("nhan-dan", 1, "Bùi Văn B")]
    text = run("contest", "ranking", contest.slug, "--round", "1").output
    assert text.index("Đối tượng: Cán bộ") < text.index("Bùi Văn C") < text.index("Đối tượng: Nhân dân") < text.index("Bùi Văn B")
    only = json.loads(run("contest", "ranking", contest.slug, "--round", "1", "--audience", "nhan-dan", "--json").output)
    assert [(e["rank"], e["full_name"]) for e in only["entries"]] == [(1, "Bùi Văn B")]
    overall = json.loads(run("contest", "ranking", contest.slug, "--overall", "--json").output)
    assert sorted((r["audience"], r["rank"]) for r in overall) == [("cbccvc", 1), ("cbccvc", 2), ("nhan-dan", 1)]
    wrong = run("contest", "ranking", contest.slug, "--audience", "khong-co")
    assert wrong.exit_code == 1 and "khong-co" in wrong.output and "cbccvc" in wrong.output
