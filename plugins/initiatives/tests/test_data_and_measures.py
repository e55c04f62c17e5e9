"""Personal data (erasure, retention), the plan's indicators, the command line's whole flow."""

from __future__ import annotations

import datetime as dt
import json

from ccch_initiatives.entries import get_entry
from ccch_initiatives.judging import (
    assign_judges,
    assignments,
    check_scores,
    decide_awards,
    publish_results,
    save_scores,
)
from click.testing import CliRunner
from initiatives_testing import CLOSES, EXAMPLE, docx

from ccch_core import evaluate_plan
from ccch_core.cli import make_cli
from ccch_core.periods import VN_TZ, Period
from ccch_core.privacy import erase_person, purge_expired

INDICATOR = """

[[indicators]]
code = "I10"
text = "Số sáng kiến về CCHC tham gia cuộc thi"
kind = "count"
target = 1
target_per = "year"
source = "plugin:initiatives_entries"
applies_to = ["cac-xa-thi-tran"]
period_type = "year"
"""


def test_erasure_by_email_blanks_names_contact_and_the_original(dep, call, add_entry):
    entry = add_entry("xa-an-dung", authors=[("Nguyễn Thị Hoa", "xa-an-dung")], contact_email="hoa@andung.vn",
                      document=docx("Nội dung sáng kiến về một cửa liên thông " * 5, creator="Nguyễn Thị Hoa"))
    other = add_entry("xa-yen-ho", contact_email="khac@yenho.vn")
    dry = erase_person(dep, email="hoa@andung.vn", dry_run=True, actor="cli:test")
    assert get_entry(dep.db, entry.id).author_names == ["Nguyễn Thị Hoa"]  # a dry run changes nothing
    (mine,) = [r for r in dry if r.plugin == "initiatives"]
    assert mine.count == 1 and "Bài dự thi viết sáng kiến SK-" in mine.items[0].what
    erase_person(dep, email="hoa@andung.vn", dry_run=False, actor="cli:test")
    erased = get_entry(dep.db, entry.id)
    assert erased.author_names == [] and erased.contact_email is None and erased.contact_phone is None
    assert erased.erased_at and erased.title  # the entry itself stays
    original = dep.db.execute("select original from initiative_documents where entry_id = ?", [entry.id]).fetchone()[0]
    assert "Nguyễn".encode() not in original and b"Nguy" not in original
    assert get_entry(dep.db, other.id).contact_email == "khac@yenho.vn"
    assert dep.db.execute("select count(*) from audit_log where action = 'initiatives.erase'").fetchone()[0] == 1


def test_erasure_by_phone(dep, call, add_entry):
    entry = add_entry("xa-an-dung")  # contact phone 0912 345 678
    erase_person(dep, phone="0912345678", dry_run=False, actor="cli:test")
    assert get_entry(dep.db, entry.id).contact_phone is None


def test_retention_keeps_the_names_of_published_awards_only(dep, call, add_entry, judges):
    winner = add_entry("xa-an-dung", authors=[("Người Đoạt Giải", "xa-an-dung")])
    loser = add_entry("xa-yen-ho", authors=[("Người Không Giải", "xa-yen-ho")])
    judges(["phong-tu-phap"])
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    for a in assignments(dep.db, call.id, "preliminary"):
        v = "10" if a.entry_id == winner.id else "1"
        values, overall = check_scores(call, {f"score_{c.key}": v for c in call.definition.criteria})
        save_scores(dep, call, a, values, overall, submit=True, actor="gk")
    decide_awards(dep, call, actor="tk")
    publish_results(dep, call, actor="tk")
    before = CLOSES + dt.timedelta(days=729)
    purge_expired(dep, now=before, dry_run=False, actor="cli:test")
    assert get_entry(dep.db, loser.id).author_names == ["Người Không Giải"]  # not yet
    purge_expired(dep, now=CLOSES + dt.timedelta(days=731), dry_run=False, actor="cli:test")
    assert get_entry(dep.db, loser.id).author_names == []
    kept = get_entry(dep.db, winner.id)
    assert kept.author_names == ["Người Đoạt Giải"] and kept.contact_email is None
    again = purge_expired(dep, now=CLOSES + dt.timedelta(days=800), dry_run=True, actor="x")
    assert [r.count for r in again if r.plugin == "initiatives"] == [0]  # nothing left
    assert dep.db.execute("select count(*) from audit_log where action = 'initiatives.purge'").fetchone()[0] == 1


def test_entries_feed_the_plans_indicator_by_unit_and_vietnam_year(make_deployment, duc_tho_plan_path, tmp_path,
                                                                    clock):
    plan = tmp_path / "plan.toml"
    plan.write_text(duc_tho_plan_path.read_text(encoding="utf-8") + INDICATOR, encoding="utf-8")
    dep = make_deployment(["initiatives"], plan_path=plan)
    from ccch_initiatives.calls import save_call
    from ccch_initiatives.documents import check_document
    from ccch_initiatives.entries import check_form, submit_entry
    from initiatives_testing import entry_form

    call = save_call(dep, EXAMPLE.read_text(encoding="utf-8"), actor="t")[0]
    for unit, instant in (("xa-an-dung", dt.datetime(2024, 8, 1, 9, tzinfo=VN_TZ)),
                          ("xa-an-dung", dt.datetime(2024, 9, 2, 9, tzinfo=VN_TZ)),
                          ("xa-yen-ho", dt.datetime(2024, 9, 30, 16, 59, tzinfo=VN_TZ))):
        fields = check_form(dep.plan, call, entry_form(unit_id=unit, author_unit_1=unit))
        submit_entry(dep, call, fields, check_document(docx()), now=instant)
    result = next(r for r in evaluate_plan(dep.db, dep.plan, Period.parse("2024"), measures=dep.measures, deployment=dep) if r.indicator.code == "I10")
    values = {u.unit.id: u.value for u in result.units}
    assert values["xa-an-dung"] == 2 and values["xa-yen-ho"] == 1 and values["xa-duc-dong"] == 0
    result = next(r for r in evaluate_plan(dep.db, dep.plan, Period.parse("2023"), measures=dep.measures, deployment=dep) if r.indicator.code == "I10")
    assert all(u.value == 0 for u in result.units)
    from ccch_initiatives.measures import units_measure

    from ccch_core import MeasureContext

    indicator = dep.plan.indicator("I10")
    units = dep.plan.resolve(["cac-xa-thi-tran"])
    took_part = units_measure(MeasureContext(dep, indicator, Period.parse("2024-Q3"), units))
    assert took_part["xa-an-dung"].value == 1 and took_part["xa-yen-ho"].numerator == 1
    assert took_part["xa-duc-dong"].value == 0 and took_part["xa-duc-dong"].denominator == 1


def test_the_command_line_runs_a_call_end_to_end(dep, tmp_path, monkeypatch, make_user):
    from ccch_initiatives import entries as entries_mod
    from initiatives_testing import DURING

    monkeypatch.setattr(entries_mod, "clock", lambda: DURING.astimezone(dt.UTC))
    runner = CliRunner()

    def ccch(*args):
        result = runner.invoke(make_cli(dep.config.path), [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.output

    examples = EXAMPLE.parent
    ccch("initiatives", "load", EXAMPLE)
    out = ccch("initiatives", "entries", "load", "sang-kien-cchc-2024", examples / "initiatives-entries.toml")
    # One line per entry, each starting with its code (a code's random part may itself hold "SK-").
    assert sum(line.startswith("SK-") for line in out.splitlines()) == 4
    for unit in ("phong-tckh", "trung-tam-hcc", "vp-hdnd-ubnd", "phong-noi-vu"):
        username, _ = make_user(dep, "viewer")
        ccch("initiatives", "panel", "add", "sang-kien-cchc-2024", username, "--role", "judge", "--unit", unit)
    out = ccch("initiatives", "assign", "sang-kien-cchc-2024")
    assert "12 lượt phân công mới" in out
    data = json.loads(ccch("initiatives", "results", "sang-kien-cchc-2024", "--json"))
    assert len(data["results"]) == 4 and all(r["score"] is None for r in data["results"])
    # The demo's third entry names its author in the text: flagged for the secretary.
    found = dep.db.execute("select names_found from initiative_documents d join initiative_entries e on "
                           "e.id = d.entry_id where e.unit_id = 'phong-tu-phap'").fetchone()[0]
    assert json.loads(found) == ["pham minh duc"]


def test_the_periodic_report_has_a_section_on_the_contest(dep, call, add_entry, judges):
    from ccch_core.report import build_report

    add_entry("xa-an-dung", authors=[("Nguyễn Thị Hoa", "xa-an-dung")])
    add_entry("xa-an-dung")
    add_entry("xa-yen-ho")
    report = build_report(dep, "2024-08")
    (section,) = [s for s in report.sections if s.key == "sang_kien"]
    assert section.blocks[0].text == "Trong tháng 8/2024, 2 đơn vị gửi 3 sáng kiến dự thi viết sáng kiến về CCHC."
    assert section.blocks[1].rows == (("UBND xã An Dũng", 2), ("UBND xã Yên Hồ", 1))
    scoped = build_report(dep, "2024-08", unit_id="xa-yen-ho")
    (section,) = [s for s in scoped.sections if s.key == "sang_kien"]
    assert section.blocks[1].rows == (("UBND xã Yên Hồ", 1),)
    assert not [s for s in build_report(dep, "2024-07").sections if s.key == "sang_kien"]  # nothing in July


def test_the_entries_table_exports_without_personal_data(dep, call, add_entry):
    from ccch_core.report import DataScope

    a = add_entry("xa-an-dung", authors=[("Nguyễn Thị Hoa", "xa-an-dung")])
    add_entry("xa-yen-ho")
    table = dep.data_tables["initiatives_entries"]  # registered through the hook
    rows = list(table.rows(dep, DataScope()))
    assert len(rows) == 2 and len(rows[0]) == len(table.columns)
    assert rows[0][0] == a.id and rows[0][5] == "xa-an-dung" and rows[0][6] == "UBND xã An Dũng"
    flat = " ".join(str(v) for r in rows for v in r)
    assert "Nguyễn" not in flat and "@" not in flat and "SK-" not in flat
    assert [r[5] for r in table.rows(dep, DataScope(unit_id="xa-yen-ho"))] == ["xa-yen-ho"]
    assert list(table.rows(dep, DataScope(period=Period.parse("2024-07")))) == []
