"""Tests of the reminders plugin, in the order of the tutorial in docs/plugins.md.

Only the fixtures of ccch_core.testing are used: real deployments in temporary folders, the real
Flask app with CSRF on, the real command line.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import json
import unicodedata

import pytest
from ccch_reminders.reminders import default_month, record_reminder
from click.testing import CliRunner

from ccch_core import VN_TZ, Period, record_activity_report
from ccch_core.cli import make_cli
from ccch_core.report import DataScope, Paragraph, Table, build_report
from ccch_core.testing import csrf_token, login

MONTH = "2024-03"  # reports due by the end of 5 April 2024, Vietnam time
ON_TIME, LATE, MISSING = "xa-an-dung", "xa-duc-dong", "xa-yen-ho"


def at(*args) -> dt.datetime:
    """A Vietnam wall-clock time."""
    return dt.datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def dep(make_deployment):
    """Đức Thọ 2024 with the plugin enabled; An Dũng sent its March report on time, Đức Đồng late,
    Yên Hồ (and every other unit) not at all."""
    deployment = make_deployment(["reminders"])
    record_activity_report(deployment.db, deployment.plan, ON_TIME, MONTH, [], now=at(2024, 4, 3, 9))
    record_activity_report(deployment.db, deployment.plan, LATE, MONTH, [], now=at(2024, 4, 12, 9))
    return deployment


@pytest.fixture
def client_as(dep, make_app, make_user):
    """``client_as(role, unit_id=None)`` → (a test client signed in with a new account, its username)."""
    app = make_app(dep)

    def factory(role, unit_id=None):
        client = app.test_client()
        username, password = make_user(dep, role, unit_id)
        assert login(client, username, password).status_code == 302
        return client, username

    return factory


def ccch(dep, *args):
    """Run the ``ccch`` command line on the deployment's ccch.toml."""
    return CliRunner().invoke(make_cli(dep.config.path), list(args))


def row_of(page: str, unit_id: str) -> str:
    """The table row of a unit on the reminders page ('' when the unit is not listed)."""
    start = page.find(f'<tr id="don-vi-{unit_id}">')
    return "" if start < 0 else page[start:page.index("</tr>", start)]


def overdue_count(dep) -> int:
    """Units owing a March report, but An Dũng (on time)."""
    return len(dep.plan.expected_reporters(Period.parse(MONTH))) - 1


# -- step 2: the migration ---------------------------------------------------------------------


def test_migration_creates_the_reminders_table(dep, make_deployment):
    table = dep.db["reminders"]
    assert table.columns_dict == {"id": int, "unit_id": str, "period": str, "channel": str, "note": str,
                                  "sent_by": str, "sent_at": str, "message_id": int, "message_key": str}
    assert table.pks == ["id"]
    assert {tuple(index.columns) for index in table.indexes} == {("period", "unit_id"), ("sent_at",),
                                                                 ("message_key",)}
    applied = [r["name"] for r in dep.db.query("select name from _sqlite_migrations where migration_set = ?",
                                                ["reminders"])]
    assert applied == ["m001_reminders", "m002_messages"]
    assert not make_deployment([]).db["reminders"].exists()  # not enabled: no table


# -- step 3: the command line ------------------------------------------------------------------


def test_ccch_reminders_record(dep):
    result = ccch(dep, "reminders", "record", MISSING, MONTH, "--channel", "điện thoại",
                  "--note", "Gọi văn phòng UBND xã", "--by", "phong-vhtt")
    assert result.exit_code == 0, result.output
    assert "UBND xã Yên Hồ, báo cáo tháng 3/2024, qua Điện thoại" in result.output
    [row] = dep.db.query("select * from reminders")
    assert (row["unit_id"], row["period"], row["channel"], row["note"], row["sent_by"]) == (
        MISSING, MONTH, "dien-thoai", "Gọi văn phòng UBND xã", "phong-vhtt")
    assert dt.datetime.fromisoformat(row["sent_at"]).utcoffset() == dt.timedelta(0)  # stored in UTC


def test_ccch_reminders_record_refuses_bad_input_and_stores_nothing(dep):
    result = ccch(dep, "reminders", "record", "xa-khong-co", "2024-13", "--channel", "bồ câu")
    assert result.exit_code == 1
    assert "Không có đơn vị “xa-khong-co”" in result.output
    assert "Kỳ “2024-13” không hợp lệ" in result.output
    assert "Không có hình thức nhắc “bồ câu”" in result.output
    result = ccch(dep, "reminders", "record", MISSING, "2024-Q1", "--channel", "zalo")
    assert result.exit_code == 1 and "không phải một tháng" in result.output
    assert dep.db["reminders"].count == 0


def test_ccch_reminders_list_json(dep):
    record_reminder(dep, MISSING, MONTH, "Zalo", sent_by="phong-vhtt", now=at(2024, 4, 8, 8))
    record_reminder(dep, MISSING, MONTH, "cong van", sent_by="phong-vhtt", now=at(2024, 4, 9, 8, 30))
    result = ccch(dep, "reminders", "list", "--period", MONTH, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"] == MONTH
    by_unit = {r["unit"]: r for r in data["overdue"]}
    assert len(by_unit) == overdue_count(dep)
    assert ON_TIME not in by_unit
    assert by_unit[MISSING] == {
        "unit": MISSING, "unit_name": "UBND xã Yên Hồ", "state": "missing", "state_vi": "Chưa nộp (quá hạn)",
        "due_at": "2024-04-05T17:00:00+00:00", "submitted_at": None, "reminders": 2,
        "last_reminder_at": "2024-04-09T01:30:00+00:00",
    }
    assert (by_unit[LATE]["state"], by_unit[LATE]["reminders"]) == ("late", 0)


def test_ccch_reminders_list_text_and_a_bad_month(dep):
    result = ccch(dep, "reminders", "list", "-p", MONTH)
    assert result.exit_code == 0, result.output
    assert f"{overdue_count(dep)} đơn vị quá hạn hoặc trễ hạn" in result.output
    assert "UBND xã Yên Hồ" in result.output and "UBND xã An Dũng" not in result.output
    result = ccch(dep, "reminders", "list", "--period", "2025-01")
    assert result.exit_code == 2 and "nằm ngoài thời gian của kế hoạch" in result.output


# -- step 4: the web page ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["plan_admin", "system_admin"])
def test_page_lists_the_units_whose_report_is_overdue(client_as, dep, role):
    client, _ = client_as(role)
    response = client.get("/nhac-bao-cao?period=2024-03")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{overdue_count(dep)} đơn vị quá hạn hoặc trễ hạn báo cáo tháng 3/2024" in page
    assert "Chưa nộp (quá hạn)" in row_of(page, MISSING) and "Chưa nhắc" in row_of(page, MISSING)
    assert "Trễ hạn" in row_of(page, LATE)
    assert row_of(page, ON_TIME) == "" and "UBND xã An Dũng" not in page  # reported on time
    assert '<a href="/nhac-bao-cao" aria-current="page">Nhắc báo cáo</a>' in page  # the menu item


def test_recording_a_reminder_through_the_form(client_as, dep):
    client, username = client_as("plan_admin")
    token = csrf_token(client, "/nhac-bao-cao?period=2024-03")
    typed = unicodedata.normalize("NFD", "Đã nhắn đ/c Hòa, văn phòng UBND xã")  # another input method
    response = client.post("/nhac-bao-cao", data={"csrf_token": token, "period": MONTH, "unit": MISSING,
                                                  "channel": "zalo", "note": typed})
    assert response.status_code == 303
    assert response.headers["Location"] == "/nhac-bao-cao?period=2024-03"
    [row] = dep.db.query("select * from reminders")
    assert (row["unit_id"], row["period"], row["channel"], row["sent_by"]) == (MISSING, MONTH, "zalo", username)
    assert row["note"] == "Đã nhắn đ/c Hòa, văn phòng UBND xã" == unicodedata.normalize("NFC", typed)
    page = client.get("/nhac-bao-cao?period=2024-03").get_data(as_text=True)
    assert "Đã ghi lượt nhắc UBND xã Yên Hồ qua Zalo." in page
    assert "Zalo — Đã nhắn đ/c Hòa, văn phòng UBND xã" in row_of(page, MISSING)


def test_a_form_without_its_csrf_token_is_refused(client_as, dep):
    client, _ = client_as("plan_admin")
    response = client.post("/nhac-bao-cao", data={"period": MONTH, "unit": MISSING, "channel": "zalo"})
    assert response.status_code == 400
    assert dep.db["reminders"].count == 0


def test_a_rejected_form_comes_back_with_what_was_typed(client_as, dep):
    client, _ = client_as("plan_admin")
    token = csrf_token(client, "/nhac-bao-cao?period=2024-03")
    response = client.post("/nhac-bao-cao", data={"csrf_token": token, "period": MONTH, "unit": MISSING,
                                                  "channel": "", "note": "Gọi lần hai <chưa ai nghe máy>"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Hình thức nhắc: Vui lòng chọn hình thức nhắc." in page
    assert '<select id="reminder-channel" name="channel" aria-invalid="true"' in page
    assert f'<option value="{MISSING}" selected>' in page
    assert "Gọi lần hai &lt;chưa ai nghe máy&gt;</textarea>" in page  # kept, and escaped

    response = client.post("/nhac-bao-cao", data={"csrf_token": token, "period": MONTH, "unit": "",
                                                  "channel": "cong-van", "note": "x" * 501})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vui lòng chọn đơn vị được nhắc." in page and "quá 500 ký tự" in page
    assert '<option value="cong-van" selected>' in page and "x" * 501 in page
    assert dep.db["reminders"].count == 0


@pytest.mark.parametrize("role, unit_id", [("unit_officer", MISSING), ("viewer", None)])
def test_unit_officers_and_viewers_get_403(client_as, dep, role, unit_id):
    client, _ = client_as(role, unit_id)
    assert client.get("/nhac-bao-cao?period=2024-03").status_code == 403
    token = csrf_token(client, "/")  # the dashboard's logout form carries one
    response = client.post("/nhac-bao-cao", data={"csrf_token": token, "period": MONTH, "unit": MISSING,
                                                  "channel": "zalo"})
    assert response.status_code == 403
    assert dep.db["reminders"].count == 0
    assert "Nhắc báo cáo" not in client.get("/").get_data(as_text=True)  # and no menu item


def test_the_month_shown_by_default_and_a_bad_month(client_as, dep):
    assert str(default_month(dep.plan, now=at(2024, 4, 10))) == MONTH  # last month: its reports fell due
    assert str(default_month(dep.plan, now=at(2026, 1, 5))) == "2024-12"  # kept within the plan
    assert str(default_month(dep.plan, now=at(2023, 6, 1))) == "2024-01"
    client, _ = client_as("plan_admin")
    response = client.get("/nhac-bao-cao?period=2024-Q1")
    assert response.status_code == 400
    assert "Quý I/2024 không phải một tháng" in response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_the_login_page(dep, make_app):
    response = make_app(dep).test_client().get("/nhac-bao-cao")
    assert response.status_code == 302 and response.headers["Location"].startswith("/dang-nhap")


# -- step 5: the report section and the data table -------------------------------------------


def record_three(dep):
    """Two reminders about March sent in April, one about February sent on 31 March (Vietnam)."""
    record_reminder(dep, MISSING, MONTH, "zalo", "Lần 1", sent_by="phong-vhtt", now=at(2024, 4, 8, 9))
    record_reminder(dep, LATE, MONTH, "cong-van", "Công văn số 45/VHTT", sent_by="phong-vhtt",
                    now=at(2024, 4, 9, 9))
    record_reminder(dep, MISSING, "2024-02", "dien-thoai", sent_by="phong-vhtt", now=at(2024, 3, 31, 23, 30))


def reminder_section(report):
    """(the paragraph's text, the table or None) of the section "Nhắc nhở báo cáo"."""
    [section] = [s for s in report.sections if s.key == "nhac_bao_cao"]
    assert (section.title, section.source) == ("Nhắc nhở báo cáo", "reminders")
    [paragraph] = [b for b in section.blocks if isinstance(b, Paragraph)]
    tables = [b for b in section.blocks if isinstance(b, Table)]
    return paragraph.text, (tables[0] if tables else None)


def test_report_section_lists_the_reminders_sent_in_the_period_and_scope(dep):
    record_three(dep)
    text, table = reminder_section(build_report(dep, "2024-04"))
    assert text == "Trong tháng 4/2024, đã nhắc báo cáo 2 lượt tới 2 đơn vị."
    assert table.rows == (
        ("UBND xã Yên Hồ", "Tháng 3/2024", "Zalo", "Lần 1", "phong-vhtt", at(2024, 4, 8, 9)),
        ("UBND xã Đức Đồng", "Tháng 3/2024", "Công văn", "Công văn số 45/VHTT", "phong-vhtt", at(2024, 4, 9, 9)),
    )
    _, march = reminder_section(build_report(dep, "2024-03"))  # 23:30 on 31 March in Hà Tĩnh is March
    assert [row[:3] for row in march.rows] == [("UBND xã Yên Hồ", "Tháng 2/2024", "Điện thoại")]
    _, scoped = reminder_section(build_report(dep, "2024-Q2", unit_id=MISSING))
    assert [row[0] for row in scoped.rows] == ["UBND xã Yên Hồ"]
    text, table = reminder_section(build_report(dep, "2024-05"))
    assert text == "Trong tháng 5/2024, không có lượt nhắc báo cáo nào." and table is None


def test_no_report_section_without_the_plugin(make_deployment):
    report = build_report(make_deployment([]), "2024-04")
    assert "nhac_bao_cao" not in {s.key for s in report.sections}
    assert "chi_tieu" in {s.key for s in report.sections}  # the core's sections are there


def test_data_table_streams_rows_within_the_scope(dep):
    record_three(dep)
    table = dep.data_tables["reminders"]
    assert table.roles == ("system_admin", "plan_admin")
    rows = table.rows(dep, DataScope())
    assert inspect.isgenerator(rows)  # streamed, never a list in memory
    first = next(rows)
    assert len(first) == len(table.columns)
    assert first[1:] == ("2024-02", MISSING, "UBND xã Yên Hồ", "Điện thoại", None, "phong-vhtt",
                         "2024-03-31T16:30:00+00:00")
    assert len(list(rows)) == 2
    assert [r[2] for r in table.rows(dep, DataScope(unit_id=MISSING))] == [MISSING, MISSING]
    assert list(table.rows(dep, DataScope(unit_id=ON_TIME))) == []
    assert [r[1] for r in table.rows(dep, DataScope(period=Period.parse(MONTH)))] == [MONTH, MONTH]
    assert len(list(table.rows(dep, DataScope(period=Period.parse("2024-Q1"))))) == 3
    assert table.count(dep, DataScope(period=Period.parse(MONTH))) == 2


def test_ccch_export_reminders(make_deployment, tmp_path):
    dep = make_deployment(["export", "reminders"])
    record_reminder(dep, MISSING, MONTH, "zalo", "Lần 1", sent_by="phong-vhtt", now=at(2024, 4, 8, 9))
    out = tmp_path / "nhac.csv"
    result = ccch(dep, "export", "reminders", "--format", "csv", "--period", MONTH, "-o", str(out))
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["STT", "Báo cáo tháng", "Mã đơn vị", "Đơn vị", "Hình thức", "Ghi chú", "Người nhắc",
                      "Thời điểm nhắc"]
    assert rows == [["1", MONTH, MISSING, "UBND xã Yên Hồ", "Zalo", "Lần 1", "phong-vhtt", "2024-04-08 09:00:00"]]


# -- step 7: installed and enabled -------------------------------------------------------------


def test_ccch_plugins_lists_the_plugin_and_its_hooks(dep):
    result = ccch(dep, "plugins", "--json")
    assert result.exit_code == 0, result.output
    [plugin] = [p for p in json.loads(result.output)["loaded"] if p["name"] == "reminders"]
    assert plugin["hooks"] == ["navigation_items", "register_blueprints", "register_commands",
                               "register_data_tables", "register_migrations", "report_sections"]
    assert ccch(dep, "db", "migrate").output.strip() == "Database is up to date."
