"""Sending reminders for real (step 8 of docs/plugins.md): messages through the core's outbox.

Real deployments with the core's ``folder`` sender on e-mail and Zalo (each message becomes a
file under the deployment's ``outbox/``), time frozen by passing ``now=``.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json

import pytest
from ccch_reminders.sending import send_reminders
from click.testing import CliRunner

from ccch_core import VN_TZ, record_activity_report
from ccch_core.cli import make_cli
from ccch_core.contacts import add_contact
from ccch_core.messages import list_messages
from ccch_core.messages.delivery import Deliverer
from ccch_core.report import DataScope, Table, build_report
from ccch_core.testing import csrf_token, login

MESSAGES = {"channels": {"email": {"sender": "folder"}, "zalo": {"sender": "folder"}}}
YEN_HO, AN_DUNG, DUC_DONG, TUNG_ANH = "xa-yen-ho", "xa-an-dung", "xa-duc-dong", "xa-tung-anh"
YEN_HO_EMAIL = "vanthu@yenho.ductho.gov.vn"


def at(*args) -> dt.datetime:
    """A Vietnam wall-clock time."""
    return dt.datetime(*args, tzinfo=VN_TZ)


MONDAY = at(2024, 4, 8, 8)  # March reports fell due at the end of 5 April: overdue


@pytest.fixture
def make_dep(make_deployment):
    """A deployment where Yên Hồ has two contacts (e-mail, Zalo), An Dũng one and sent its March
    report on time, Đức Đồng only an SMS number, and every other unit none."""

    def factory(messages=MESSAGES):
        dep = make_deployment(["reminders"], messages=messages)
        add_contact(dep, YEN_HO, "email", YEN_HO_EMAIL, "Văn thư UBND xã Yên Hồ")
        add_contact(dep, YEN_HO, "zalo", "0912 345 678", "Chủ tịch UBND xã Yên Hồ")
        add_contact(dep, AN_DUNG, "email", "vanthu@andung.ductho.gov.vn", "Văn thư UBND xã An Dũng")
        add_contact(dep, DUC_DONG, "sms", "0987654321", "Văn phòng UBND xã Đức Đồng")
        record_activity_report(dep.db, dep.plan, AN_DUNG, "2024-03", [], now=at(2024, 4, 2, 9))
        return dep

    return factory


@pytest.fixture
def dep(make_dep):
    return make_dep()


def outbox(dep, **filters):
    """The reminders' messages in the outbox, oldest first."""
    return list(reversed(list_messages(dep.db, source="reminders", **filters)))


def count(dep, table: str) -> int:
    return dep.db.execute(f"select count(*) from {table}").fetchone()[0]


def test_overdue_units_get_report_overdue_one_message_per_contact(dep):
    run = send_reminders(dep, now=MONDAY)
    messages = outbox(dep)
    assert [(m.channel, m.address, m.template, m.unit_id, m.state) for m in messages] == [
        ("email", YEN_HO_EMAIL, "report_overdue", YEN_HO, "queued"),
        ("zalo", "0912345678", "report_overdue", YEN_HO, "queued"),
    ]
    assert messages[0].params == {"unit_name": "UBND xã Yên Hồ", "period_label": "tháng 3/2024",
                                  "due_date": "05/04/2024",
                                  "link": "https://cchc.example.gov.vn/bao-cao/xa-yen-ho/2024-03"}
    assert messages[0].idempotency_key == f"reminders:overdue:2024-03:{YEN_HO}:1:2024-04-08"
    assert [m.message_id for m in run.queued] == [m.id for m in messages]
    assert run.units_reminded == ["UBND xã Yên Hồ"]
    assert AN_DUNG not in {r.unit.id for r in run.reports}  # sent on time
    # February's reports fell due more than 30 days ago: the office phones about those.
    assert {str(r.period) for r in run.reports} == {"2024-03"}
    rows = list(dep.db.query("select * from reminders order by id"))
    assert [(r["unit_id"], r["period"], r["channel"], r["sent_by"], r["message_id"]) for r in rows] == [
        (YEN_HO, "2024-03", "email", "ccch (tự động)", messages[0].id),
        (YEN_HO, "2024-03", "zalo", "ccch (tự động)", messages[1].id)]
    assert rows[0]["note"] == (f"Tự động: nhắc báo cáo quá hạn (hạn 05/04/2024) qua thư điện tử tới "
                               f"v***@yenho.ductho.gov.vn (tin nhắn #{messages[0].id})")
    assert rows[1]["note"].endswith(f"qua Zalo tới 0912***678 (tin nhắn #{messages[1].id})")
    assert dt.datetime.fromisoformat(rows[0]["sent_at"]) == MONDAY
    assert not any(YEN_HO_EMAIL in r["note"] or "0912345678" in r["note"] for r in rows)  # masked only
    [entry] = dep.db.query("select * from audit_log where action = 'reminders.send'")
    assert (entry["username"], entry["target"]) == (None, "UBND xã Yên Hồ")


def test_due_soon_units_get_report_due_with_the_days_left(dep):
    """On Wednesday 3 April, March's reports are due by Friday's end (2 days left); February's
    fell due 28 days ago and are still missing."""
    run = send_reminders(dep, now=at(2024, 4, 3, 8), channels=("email",))
    by_kind = {(r.kind, str(r.period)) for r in run.reports if r.unit.id == YEN_HO}
    assert by_kind == {("overdue", "2024-02"), ("due-soon", "2024-03")}
    assert [(m.template, m.params["period_label"]) for m in outbox(dep, unit_ids=[YEN_HO])] == [
        ("report_overdue", "tháng 2/2024"), ("report_due", "tháng 3/2024")]
    assert [m.params["period_label"] for m in outbox(dep, unit_ids=[AN_DUNG])] == ["tháng 2/2024"]
    due = outbox(dep, unit_ids=[YEN_HO])[1]
    assert due.params == {"unit_name": "UBND xã Yên Hồ", "period_label": "tháng 3/2024", "due_date": "05/04/2024",
                          "days_left": "2", "link": "https://cchc.example.gov.vn/bao-cao/xa-yen-ho/2024-03"}
    assert due.idempotency_key == f"reminders:due-soon:2024-03:{YEN_HO}:1:2024-04-03"
    assert AN_DUNG not in {r.unit.id for r in run.reports if str(r.period) == "2024-03"}  # already in
    # Four days before: not yet. On the due day itself: 0 days left.
    assert [r for r in send_reminders(dep, now=at(2024, 4, 1, 23), dry_run=True).reports if r.kind == "due-soon"] == []
    [today] = [r for r in send_reminders(dep, now=at(2024, 4, 5, 16), dry_run=True).reports
               if r.kind == "due-soon" and r.unit.id == YEN_HO]
    assert today.days_left == 0


def test_twice_the_same_vietnam_day_queues_nothing_new_the_next_day_again(dep):
    first = send_reminders(dep, now=MONDAY)
    assert len(first.queued) == 2 and first.already_sent == []
    again = send_reminders(dep, now=at(2024, 4, 8, 23, 30))  # still Monday in Vietnam (16:30 UTC)
    assert again.queued == []
    assert [m.message_id for m in again.already_sent] == [m.message_id for m in first.queued]
    assert (count(dep, "messages"), count(dep, "reminders")) == (2, 2)
    assert "2 tin đã xếp gửi hôm nay trước đó, không gửi lại." in again.summary()
    tuesday = send_reminders(dep, now=at(2024, 4, 9, 0, 30))  # Monday 17:30 UTC, Tuesday in Vietnam
    assert len(tuesday.queued) == 2
    assert (count(dep, "messages"), count(dep, "reminders")) == (4, 4)


def test_a_contact_on_a_channel_without_a_sender_is_skipped_and_reported(dep, make_dep):
    run = send_reminders(dep, now=MONDAY, channels=("email", "zalo", "sms"))
    assert run.channels_unavailable == ("sms",)
    [skipped] = run.unavailable
    assert (skipped.unit_id, skipped.channel, skipped.address_masked, skipped.message_id) == (
        DUC_DONG, "sms", "0987***321", None)
    assert "UBND xã Đức Đồng" in run.units_without_contact  # nobody reachable: phone
    assert {m.unit_id for m in outbox(dep)} == {YEN_HO}
    assert count(dep, "reminders") == 2
    summary = run.summary()
    assert "Chưa cấu hình kênh Tin nhắn SMS ([messages.channels.sms] trong ccch.toml): bỏ qua 1 đầu mối." in summary
    # Zalo not configured: Yên Hồ still gets its e-mail, and is not a unit to phone.
    no_zalo = make_dep({"channels": {"email": {"sender": "folder"}}})
    run = send_reminders(no_zalo, now=MONDAY)
    assert [(m.unit_id, m.channel) for m in run.queued] == [(YEN_HO, "email")]
    assert [(m.unit_id, m.channel) for m in run.unavailable] == [(YEN_HO, "zalo")]
    assert "UBND xã Yên Hồ" not in run.units_without_contact


def test_units_without_contacts_are_listed_for_a_phone_call(dep):
    run = send_reminders(dep, now=MONDAY)
    assert "UBND xã Tùng Ảnh" in run.units_without_contact
    assert "UBND xã Yên Hồ" not in run.units_without_contact and "UBND xã An Dũng" not in run.units_without_contact
    assert len(run.units_without_contact) == 21  # 23 units owe March's report; An Dũng sent it, Yên Hồ was written to
    line = next(x for x in run.summary() if x.startswith("21 đơn vị chưa có đầu mối liên hệ, hãy gọi điện: "))
    assert "UBND xã Tùng Ảnh" in line and "UBND xã Đức Đồng" in line


def test_a_unit_whose_messages_cannot_be_queued_stores_nothing_and_is_reported(make_dep):
    """Yên Hồ's e-mail is queued, then its Zalo number (a row written before numbers were checked)
    is refused: the unit's transaction is rolled back whole, its first message too; other units go on."""
    dep = make_dep()
    add_contact(dep, TUNG_ANH, "email", "vanthu@tunganh.ductho.gov.vn")
    dep.db.execute("update unit_contacts set address = '12345' where unit_id = ? and channel = 'zalo'", [YEN_HO])
    dep.db.conn.commit()
    run = send_reminders(dep, now=MONDAY)
    assert [(m.unit_id, m.channel) for m in run.queued] == [(TUNG_ANH, "email")]
    [failure] = run.failed
    assert (failure.unit_id, failure.unit_name) == (YEN_HO, "UBND xã Yên Hồ")
    assert "Số điện thoại không hợp lệ" in failure.reason
    assert [m.unit_id for m in outbox(dep)] == [TUNG_ANH]
    assert [r[0] for r in dep.db.execute("select unit_id from reminders")] == [TUNG_ANH]
    assert dep.db.execute("select count(*) from audit_log where action = 'reminders.send'").fetchone()[0] == 1
    assert any(x.startswith("Không xếp được tin nhắn cho UBND xã Yên Hồ") for x in run.summary())


def test_when_the_days_cap_is_used_up_nothing_is_queued_and_every_unit_is_reported(make_dep):
    """The deliverer counts the messages it sends against [messages.daily_caps]; once the day's cap
    is used, queueing refuses, and the office reads which units were not reminded."""
    dep = make_dep({**MESSAGES, "daily_caps": {"report_overdue": 2}})
    dep.db.execute("insert into message_counts (day, purpose, count) values ('2024-04-08', 'report_overdue', 2)")
    dep.db.conn.commit()
    run = send_reminders(dep, now=MONDAY)
    assert run.queued == [] and [f.unit_id for f in run.failed] == [YEN_HO]
    assert "hạn mức tin nhắn trong ngày" in run.failed[0].reason
    assert outbox(dep) == [] and count(dep, "reminders") == 0
    # The next day the cap starts over.
    tuesday = send_reminders(dep, now=at(2024, 4, 9, 8))
    assert [m.unit_id for m in tuesday.queued] == [YEN_HO, YEN_HO] and tuesday.failed == []


def test_a_dry_run_changes_nothing(dep):
    before = {t: count(dep, t) for t in ("messages", "reminders", "audit_log", "message_counts")}
    run = send_reminders(dep, now=MONDAY, dry_run=True)
    assert [(m.unit_id, m.channel, m.message_id) for m in run.queued] == [(YEN_HO, "email", None), (YEN_HO, "zalo", None)]
    assert {t: count(dep, t) for t in before} == before
    assert "Chạy thử, chưa xếp tin nào: sẽ xếp 2 tin nhắn nhắc 1 đơn vị." in run.summary()
    send_reminders(dep, now=MONDAY)
    later = send_reminders(dep, now=MONDAY, dry_run=True)
    assert later.queued == [] and len(later.already_sent) == 2


def test_the_messages_arrive_in_the_folder_with_their_vietnamese_text(dep):
    send_reminders(dep, now=MONDAY)
    deliverer = Deliverer(dep)
    try:
        report = deliverer.run_once()
    finally:
        deliverer.close()
    assert report.sent == 2
    assert [m.state for m in outbox(dep)] == ["sent", "sent"]
    folder = dep.config.path.parent / "outbox"
    [eml] = folder.glob("email/*/*-report_overdue.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == YEN_HO_EMAIL
    assert message["Subject"] == "Báo cáo tháng 3/2024 đã quá hạn (05/04/2024)"
    body = message.get_body(("plain",)).get_content()
    assert "Kính gửi UBND xã Yên Hồ," in body
    assert "chưa gửi báo cáo kết quả tuyên truyền cải cách hành chính tháng 3/2024" in body
    assert "https://cchc.example.gov.vn/bao-cao/xa-yen-ho/2024-03" in body
    [zalo] = folder.glob("zalo/*/*-report_overdue.txt")
    text = zalo.read_text(encoding="utf-8")
    assert '"unit_name": "UBND xã Yên Hồ"' in text and "0912***678" in text


def test_the_log_report_and_data_table_show_the_automatic_reminders(dep):
    send_reminders(dep, now=MONDAY)
    [section] = [s for s in build_report(dep, "2024-04").sections if s.key == "nhac_bao_cao"]
    [table] = [b for b in section.blocks if isinstance(b, Table)]
    assert [row[:3] + row[4:5] for row in table.rows] == [
        ("UBND xã Yên Hồ", "Tháng 3/2024", "Thư điện tử", "ccch (tự động)"),
        ("UBND xã Yên Hồ", "Tháng 3/2024", "Zalo", "ccch (tự động)")]
    rows = list(dep.data_tables["reminders"].rows(dep, DataScope()))
    assert [r[4] for r in rows] == ["Thư điện tử", "Zalo"]


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def frozen(monkeypatch):
    """The command line and the page send "now": Monday 8 April 2024, 08:00 in Vietnam."""
    monkeypatch.setattr("ccch_reminders.sending.utc_now", lambda: MONDAY.astimezone(dt.UTC))


def ccch(dep, *args):
    return CliRunner().invoke(make_cli(dep.config.path), list(args))


def test_ccch_reminders_send_prints_a_vietnamese_summary(dep, frozen):
    result = ccch(dep, "reminders", "send", "--channel", "email", "--channel", "zalo", "--by", "phong-vhtt")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Nhắc báo cáo ngày 08/04/2024: 22 báo cáo quá hạn, 0 báo cáo sắp đến hạn." in out
    assert "Đã xếp 2 tin nhắn vào hộp thư đi, nhắc 1 đơn vị." in out
    assert "UBND xã Yên Hồ" in out and "v***@yenho.ductho.gov.vn" in out and YEN_HO_EMAIL not in out
    assert "21 đơn vị chưa có đầu mối liên hệ, hãy gọi điện: " in out and "UBND xã Tùng Ảnh" in out
    assert "`ccch messages send`" in out  # it only queues
    assert {r[0] for r in dep.db.execute("select sent_by from reminders")} == {"phong-vhtt"}
    again = ccch(dep, "reminders", "send")
    assert "Không có tin nhắn mới nào được xếp." in again.output
    assert "2 tin đã xếp gửi hôm nay trước đó, không gửi lại." in again.output


def test_ccch_reminders_send_json_and_dry_run(dep, frozen):
    result = ccch(dep, "reminders", "send", "--dry-run", "--json", "--due-within", "5")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["day"], data["dry_run"], data["channels"]) == ("2024-04-08", True, ["email", "zalo"])
    assert [(m["unit_id"], m["channel"], m["address_masked"], m["message_id"]) for m in data["queued"]] == [
        (YEN_HO, "email", "v***@yenho.ductho.gov.vn", None), (YEN_HO, "zalo", "0912***678", None)]
    assert {r["unit"] for r in data["no_contact"]} >= {TUNG_ANH, DUC_DONG}
    assert data["summary"][1] == "Chạy thử, chưa xếp tin nào: sẽ xếp 2 tin nhắn nhắc 1 đơn vị."
    assert count(dep, "messages") == 0 and count(dep, "reminders") == 0


def test_ccch_reminders_send_exits_1_when_a_unit_could_not_be_queued(make_dep, frozen):
    dep = make_dep()
    dep.db.execute("update unit_contacts set address = '12345' where unit_id = ? and channel = 'zalo'", [YEN_HO])
    dep.db.conn.commit()
    result = ccch(dep, "reminders", "send")
    assert result.exit_code == 1
    assert "Không xếp được tin nhắn cho UBND xã Yên Hồ" in result.output
    assert count(dep, "reminders") == 0
    wrong = ccch(dep, "reminders", "send", "--channel", "fax")
    assert wrong.exit_code == 2 and "'fax' is not one of 'email', 'zalo', 'sms'" in wrong.output


def test_ccch_reminders_send_help_says_it_only_queues(dep):
    result = ccch(dep, "reminders", "send", "--help")
    assert result.exit_code == 0
    assert "ccch messages send" in result.output and "It only queues" in result.output


# -- the page -----------------------------------------------------------------------------------------


@pytest.fixture
def client_as(dep, make_app, make_user):
    app = make_app(dep)

    def factory(role, unit_id=None):
        client = app.test_client()
        username, password = make_user(dep, role, unit_id)
        assert login(client, username, password).status_code == 302
        return client, username

    return factory


def test_the_send_button_queues_and_flashes_the_summary(client_as, dep, frozen):
    client, username = client_as("plan_admin")
    page = client.get("/nhac-bao-cao?period=2024-03").get_data(as_text=True)
    assert '<button type="submit">Gửi nhắc qua thư điện tử / Zalo</button>' in page
    assert "Hôm nay có 22 báo cáo quá hạn và 0 báo cáo sắp đến hạn" in page
    assert "Kênh gửi được: Thư điện tử, Zalo." in page
    token = csrf_token(client, "/nhac-bao-cao?period=2024-03")
    response = client.post("/nhac-bao-cao/gui", data={"csrf_token": token, "period": "2024-03"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/nhac-bao-cao?period=2024-03"
    assert len(outbox(dep)) == 2
    assert {r[0] for r in dep.db.execute("select sent_by from reminders")} == {username}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã xếp 2 tin nhắn vào hộp thư đi, nhắc 1 đơn vị." in page
    assert "21 đơn vị chưa có đầu mối liên hệ, hãy gọi điện: " in page and "UBND xã Tùng Ảnh" in page
    start = page.index('<tr id="don-vi-xa-yen-ho">')
    row = page[start:page.index("</tr>", start)]
    assert ("Thư điện tử — Tự động: nhắc báo cáo quá hạn (hạn 05/04/2024) qua thư điện tử tới "
            "v***@yenho.ductho.gov.vn") in row
    assert "Zalo — Tự động: nhắc báo cáo quá hạn" in row and f"({username})" in row
    assert YEN_HO_EMAIL not in page and "0912345678" not in page


def test_the_send_button_without_a_channel_says_so(make_deployment, make_app, make_user, frozen):
    dep = make_deployment(["reminders"])  # no [messages] at all
    add_contact(dep, YEN_HO, "email", YEN_HO_EMAIL)
    client = make_app(dep).test_client()
    username, password = make_user(dep, "system_admin")
    login(client, username, password)
    assert "Chưa cấu hình kênh gửi thư điện tử hay Zalo" in client.get("/nhac-bao-cao").get_data(as_text=True)
    token = csrf_token(client, "/nhac-bao-cao")
    response = client.post("/nhac-bao-cao/gui", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Chưa cấu hình kênh Thư điện tử ([messages.channels.email] trong ccch.toml): bỏ qua 1 đầu mối." in page
    assert count(dep, "messages") == 0 and count(dep, "reminders") == 0


def test_the_send_button_is_refused_to_unit_officers_and_without_a_csrf_token(client_as, dep, frozen):
    officer, _ = client_as("unit_officer", YEN_HO)
    token = csrf_token(officer, "/")
    assert officer.post("/nhac-bao-cao/gui", data={"csrf_token": token}).status_code == 403
    admin, _ = client_as("plan_admin")
    assert admin.post("/nhac-bao-cao/gui", data={"period": "2024-03"}).status_code == 400
    assert count(dep, "messages") == 0 and count(dep, "reminders") == 0
