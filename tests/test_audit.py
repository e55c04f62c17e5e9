"""The audit log (nhật ký thao tác): the table and its migration, ``audit.record`` in the caller's
transaction, the core's recorded actions (accounts, reports, figures), the page for admins (access,
filters, pages, Vietnam time) and ``ccch audit``."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import pytest
from click.testing import CliRunner

from ccch_core import audit
from ccch_core.cli import make_cli
from ccch_core.storage import write_transaction
from ccch_core.testing import csrf_token, login

UTC = dt.UTC


@pytest.fixture
def dep(make_deployment):
    return make_deployment()


@pytest.fixture
def client_as(dep, make_app, make_user):
    """``client_as(role, unit_id=None)`` → (a signed-in test client, its username)."""
    app = make_app(dep)

    def factory(role, unit_id=None):
        client = app.test_client()
        username, password = make_user(dep, role, unit_id)
        assert login(client, username, password).status_code == 302
        return client, username

    return factory


def ccch(dep, *args, input=None):
    dep.close()  # the command opens its own connection, as a separate process would
    return CliRunner().invoke(make_cli(dep.config.path), list(args), input=input)


def page_rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [[unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.DOTALL)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)]


# -- the table and record() --------------------------------------------------------------------


def test_migration_creates_the_audit_table(fresh_db):
    assert fresh_db["audit_log"].columns_dict == {"id": int, "at": str, "username": str, "action": str, "label": str,
                                                  "target": str, "detail": str, "request_id": str}
    assert {tuple(i.columns) for i in fresh_db["audit_log"].indexes} == {("username", "id"), ("action", "id")}
    applied = [r["name"] for r in fresh_db.query("select name from _sqlite_migrations where migration_set = 'core'")]
    assert "m004_audit_log" in applied


def test_record_writes_one_row_with_the_core_label(fresh_db):
    at = dt.datetime(2024, 3, 5, 2, 30, tzinfo=UTC)
    audit.record(fresh_db, "vhtt", "report.reopen", "UBND xã An Dũng — Tháng 3/2024", now=at)
    [row] = audit.entries(fresh_db)
    assert (row.at, row.username, row.action, row.label, row.target, row.detail) == (
        "2024-03-05T02:30:00+00:00", "vhtt", "report.reopen", "Mở lại báo cáo đơn vị", "UBND xã An Dũng — Tháng 3/2024",
        None)


def test_record_joins_the_callers_transaction(fresh_db):
    with pytest.raises(RuntimeError), write_transaction(fresh_db):
        audit.record(fresh_db, "a", "user.create", "x")
        raise RuntimeError("the action failed")
    assert audit.count(fresh_db) == 0  # rolled back with the action
    with write_transaction(fresh_db):
        audit.record(fresh_db, "a", "user.create", "x")
    assert audit.count(fresh_db) == 1


@pytest.mark.parametrize("action", ["", "create", "User.create", "user create", "user.", ".create", "user.créer"])
def test_record_refuses_malformed_action_codes(fresh_db, action):
    with pytest.raises(ValueError, match="<area>.<verb>"):
        audit.record(fresh_db, "a", action)
    assert audit.count(fresh_db) == 0


def test_long_texts_are_cut_and_a_plugin_label_is_kept(fresh_db):
    audit.record(fresh_db, None, "reminders.send", "x" * 5000, "dòng 1\n\tdòng 2", label="Nhắc báo cáo")
    [row] = audit.entries(fresh_db)
    assert len(row.target) == audit.MAX_TEXT and row.target.endswith("…")
    assert row.detail == "dòng 1 dòng 2" and row.label == "Nhắc báo cáo" and row.username is None


def test_entries_filter_and_page_newest_first(fresh_db):
    for i in range(7):
        audit.record(fresh_db, "a" if i % 2 else "b", "user.create" if i < 4 else "user.disable", f"u{i}")
    audit.record(fresh_db, None, "privacy.purge", "tự động")
    assert [e.target for e in audit.entries(fresh_db, limit=3)] == ["tự động", "u6", "u5"]
    assert [e.target for e in audit.entries(fresh_db, limit=3, offset=3)] == ["u4", "u3", "u2"]
    assert [e.target for e in audit.entries(fresh_db, username="a")] == ["u5", "u3", "u1"]
    assert [e.target for e in audit.entries(fresh_db, username="b", action="user.create")] == ["u2", "u0"]
    assert [e.target for e in audit.entries(fresh_db, username="")] == ["tự động"]
    assert audit.count(fresh_db, action="user.disable") == 3
    assert audit.usernames(fresh_db) == ["a", "b"]
    assert audit.actions(fresh_db) == [("privacy.purge", "Xóa dữ liệu cá nhân hết thời hạn lưu trữ"),
                                       ("user.create", "Tạo tài khoản"), ("user.disable", "Khóa tài khoản")]


def test_cli_actor_names_the_system_user(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "thu")
    assert audit.cli_actor() == "cli:thu"
    monkeypatch.delenv("SUDO_USER")
    assert audit.cli_actor().startswith("cli")


# -- the core's actions ---------------------------------------------------------------------------


def test_account_commands_are_recorded(dep, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "thu")
    assert ccch(dep, "users", "add", "canbo.andung", "--role", "unit_officer", "--unit", "xa-an-dung",
                "--generate-password").exit_code == 0
    assert ccch(dep, "users", "set-role", "canbo.andung", "viewer").exit_code == 0
    assert ccch(dep, "users", "disable", "canbo.andung").exit_code == 0
    assert ccch(dep, "users", "enable", "canbo.andung").exit_code == 0
    assert ccch(dep, "users", "passwd", "canbo.andung", "--generate-password").exit_code == 0
    assert ccch(dep, "users", "add", "x", "--role", "viewer", "--generate-password").exit_code == 1  # bad name
    rows = audit.entries(dep.db, username="cli:thu")
    assert [(r.action, r.target, r.detail) for r in rows] == [
        ("user.password", "canbo.andung", None),
        ("user.enable", "canbo.andung", None),
        ("user.disable", "canbo.andung", None),
        ("user.role", "canbo.andung", "vai trò unit_officer, đơn vị xa-an-dung → vai trò viewer"),
        ("user.create", "canbo.andung", "vai trò unit_officer, đơn vị xa-an-dung"),
    ]
    assert all(dt.datetime.fromisoformat(r.at).tzinfo is not None for r in rows)
    assert "password_hash" not in str(dep.db.execute("select * from audit_log").fetchall())


def test_measure_and_report_commands_are_recorded(dep, monkeypatch, tmp_path):
    monkeypatch.setenv("SUDO_USER", "thu")
    assert ccch(dep, "measure", "record", "I8", "tt-duc-tho", "2024-03", "1").exit_code == 0
    assert ccch(dep, "measure", "record", "I8", "tt-duc-tho", "2024-03", "nhiều").exit_code == 1  # refused
    assert ccch(dep, "report-activity", "xa-an-dung", "2024-03", "--item", "broadcast=4|Tin CCHC").exit_code == 0
    csv_file = tmp_path / "so-lieu.csv"
    csv_file.write_text("indicator,unit,period,value\nI8,xa-an-dung,2024-03,1\n", encoding="utf-8")
    assert ccch(dep, "measure", "import", str(csv_file)).exit_code == 0
    rows = audit.entries(dep.db, username="cli:thu")
    assert [(r.action, r.target) for r in rows] == [
        ("measurement.import", "so-lieu.csv"),
        ("report.submit", "UBND xã An Dũng — Tháng 3/2024"),
        ("measurement.record", "I8 — UBND thị trấn Đức Thọ — Tháng 3/2024"),
    ]
    assert rows[2].detail == "giá trị 1; người ghi: cli" and "1 hoạt động" in rows[1].detail
    assert rows[0].detail == "1 giá trị; người ghi: import"


def test_web_report_submission_and_reopening_are_recorded(dep, client_as):
    officer, officer_name = client_as("unit_officer", "xa-an-dung")
    url = "/bao-cao/xa-an-dung/2024-03"
    response = officer.post(url, data={"csrf_token": csrf_token(officer, url), "item-0-category": "broadcast",
                                       "item-0-count": "3", "item-0-title": "Tin CCHC"})
    assert response.status_code == 303
    admin, admin_name = client_as("plan_admin")
    assert admin.post(url + "/mo-lai", data={"csrf_token": csrf_token(admin, url)}).status_code == 303
    assert admin.post("/bao-cao/xa-yen-ho/2024-03/mo-lai",
                      data={"csrf_token": csrf_token(admin, url)}).status_code == 404  # nothing to reopen
    [submitted] = audit.entries(dep.db, username=officer_name)
    assert (submitted.action, submitted.target) == ("report.submit", "UBND xã An Dũng — Tháng 3/2024")
    assert submitted.detail.startswith("lần 1, 1 hoạt động")
    assert [(r.action, r.target) for r in audit.entries(dep.db, username=admin_name)] == [
        ("report.reopen", "UBND xã An Dũng — Tháng 3/2024")]


def test_a_rejected_report_form_records_nothing(dep, client_as):
    officer, _ = client_as("unit_officer", "xa-an-dung")
    url = "/bao-cao/xa-an-dung/2024-03"
    before = audit.count(dep.db)
    response = officer.post(url, data={"csrf_token": csrf_token(officer, url), "item-0-category": "broadcast",
                                       "item-0-count": "nhiều"})
    assert response.status_code == 422 and audit.count(dep.db) == before


# -- the page -------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(dep, make_app):
    response = make_app(dep).test_client().get("/nhat-ky-thao-tac")
    assert response.status_code == 302 and "/dang-nhap?next=/nhat-ky-thao-tac" in response.headers["Location"]


@pytest.mark.parametrize("role, unit_id", [("unit_officer", "xa-an-dung"), ("viewer", None), ("contest_manager", None)])
def test_other_roles_get_403_and_no_menu_item(client_as, role, unit_id):
    client, _ = client_as(role, unit_id)
    assert client.get("/nhat-ky-thao-tac").status_code == 403
    assert "Nhật ký thao tác" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["plan_admin", "system_admin"])
def test_admins_read_the_log_in_vietnam_time(dep, client_as, role):
    audit.record(dep.db, "canbo.vhtt", "report.reopen", "UBND xã Yên Hồ — Tháng 3/2024",
                 now=dt.datetime(2024, 4, 5, 17, 30, tzinfo=UTC))
    client, _ = client_as(role)
    response = client.get("/nhat-ky-thao-tac")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>Nhật ký thao tác</h1>" in html
    assert page_rows(html)[1] == ["06/04/2024 00:30", "canbo.vhtt", "Mở lại báo cáo đơn vị",
                                  "UBND xã Yên Hồ — Tháng 3/2024", ""]  # after the signed-in account's creation
    assert '<a href="/nhat-ky-thao-tac" aria-current="page">Nhật ký thao tác</a>' in html
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_filters_by_user_and_action_and_pages_newest_first(dep, client_as):
    for i in range(60):
        audit.record(dep.db, "a" if i % 3 else "b", "user.create", f"tk-{i}")
    audit.record(dep.db, None, "privacy.purge", "12 bản ghi")
    client, _ = client_as("plan_admin")  # adds its own "user.create" row (by no one)
    first = page_rows(client.get("/nhat-ky-thao-tac").get_data(as_text=True))
    assert len(first) == 50 and first[0][1:3] == ["Tự động / người dân", "Tạo tài khoản"]
    assert first[1][2:4] == ["Xóa dữ liệu cá nhân hết thời hạn lưu trữ", "12 bản ghi"] and first[2][3] == "tk-59"
    html = client.get("/nhat-ky-thao-tac?trang=2").get_data(as_text=True)
    second = page_rows(html)
    assert len(second) == 12 and second[-1][3] == "tk-0"
    assert "62 dòng · trang 2/2" in html and "← Mới hơn" in html and "Cũ hơn →" not in html
    by_b = page_rows(client.get("/nhat-ky-thao-tac?nguoi=b").get_data(as_text=True))
    assert [r[3] for r in by_b] == [f"tk-{i}" for i in range(57, -1, -3)]
    purges = client.get("/nhat-ky-thao-tac?thao-tac=privacy.purge").get_data(as_text=True)
    assert [r[2:4] for r in page_rows(purges)] == [["Xóa dữ liệu cá nhân hết thời hạn lưu trữ", "12 bản ghi"]]
    assert '<option value="privacy.purge" selected>' in purges
    nobody = page_rows(client.get("/nhat-ky-thao-tac?nguoi=-").get_data(as_text=True))
    assert {r[1] for r in nobody} == {"Tự động / người dân"} and len(nobody) == 2
    empty = client.get("/nhat-ky-thao-tac?nguoi=khong-ai").get_data(as_text=True)
    assert "Chưa có thao tác nào khớp với bộ lọc." in empty


@pytest.mark.parametrize("query", ["trang=0", "trang=3", "trang=-1", "trang=٣", "trang=²", "trang=" + "9" * 5000])
def test_pages_out_of_range_are_404(dep, client_as, query):
    client, _ = client_as("system_admin")
    assert client.get(f"/nhat-ky-thao-tac?{query}").status_code == 404


def test_html_in_the_log_is_escaped(dep, client_as):
    audit.record(dep.db, "x", "report.reopen", "<script>alert(1)</script>")
    client, _ = client_as("system_admin")
    html = client.get("/nhat-ky-thao-tac").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- ccch audit -----------------------------------------------------------------------------------


def test_audit_command(dep):
    audit.record(dep.db, "vhtt", "report.reopen", "UBND xã Yên Hồ — Tháng 3/2024",
                 now=dt.datetime(2024, 4, 5, 17, 30, tzinfo=UTC))
    audit.record(dep.db, "khac", "user.disable", "canbo.x")
    text = ccch(dep, "audit", "--user", "vhtt")
    assert text.exit_code == 0 and "06/04/2024 00:30:00" in text.output and "Mở lại báo cáo đơn vị" in text.output
    assert "canbo.x" not in text.output
    data = json.loads(ccch(dep, "audit", "--json", "--limit", "1").output)
    assert len(data) == 1 and data[0]["action"] == "user.disable" and data[0]["username"] == "khac"
