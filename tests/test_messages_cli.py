"""``ccch messages …`` and ``ccch contacts …`` on a real deployment with the development folder
sender, ``ccch init``'s messages section, one deliverer at a time, and ``ccch serve``'s deliverer."""

from __future__ import annotations

import email
import email.policy
import json
import time

import pytest
from click.testing import CliRunner

from ccch_core import audit
from ccch_core.cli import make_cli
from ccch_core.config import load_config
from ccch_core.contacts import list_contacts
from ccch_core.messages import get_message, queue_message
from ccch_core.messages.delivery import Deliverer, DelivererBusy

FOLDER = {"channels": {"email": {"sender": "folder"}, "sms": {"sender": "folder", "strip_diacritics": True},
                       "zalo": {"sender": "folder"}}}


def ccch(dep, *args, input=None):
    return CliRunner().invoke(make_cli(dep.config.path), list(args), input=input)


@pytest.fixture
def dep(make_deployment):
    return make_deployment(messages=FOLDER)


def overdue(unit="UBND xã An Dũng"):
    return {"unit_name": unit, "period_label": "tháng 3/2024", "due_date": "05/04/2024",
            "link": "https://cchc.example.gov.vn/bao-cao/xa-an-dung/2024-03"}


def test_send_delivers_to_the_folder_with_the_vietnamese_text_intact(dep):
    queue_message(dep, channel="email", address="vanthu@andung.ductho.gov.vn", template="report_overdue",
                  params=overdue(), idempotency_key="k1", unit_id="xa-an-dung", source="test")
    queue_message(dep, channel="sms", address="0912345678", template="report_overdue", params=overdue(),
                  idempotency_key="k2")
    result = ccch(dep, "messages", "send", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sent"] == 2
    [eml] = (dep.config.folder / "outbox" / "email").glob("*/*-report_overdue.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Báo cáo tháng 3/2024 đã quá hạn (05/04/2024)"
    assert "Kính gửi UBND xã An Dũng," in message.get_body(("plain",)).get_content()
    [sms] = (dep.config.folder / "outbox" / "sms").glob("*/*.txt")
    assert "UBND xa An Dung: bao cao CCHC thang 3/2024 da qua han 05/04/2024" in sms.read_text(encoding="utf-8")
    again = ccch(dep, "messages", "send")
    assert again.exit_code == 0 and again.output.startswith("Đã gửi 0,")


def test_list_show_retry_and_cancel(dep):
    first = queue_message(dep, channel="email", address="vanthu@andung.ductho.gov.vn", template="report_overdue",
                          params=overdue(), idempotency_key="k1")
    dep.db.execute("update messages set state = 'failed', last_error = '550 5.1.1 unknown user' where id = ?", [first])
    dep.db.conn.commit()
    second = queue_message(dep, channel="sms", address="0912345678", template="report_overdue", params=overdue(),
                           idempotency_key="k2")
    listed = ccch(dep, "messages", "list", "--json")
    data = json.loads(listed.output)
    assert data["counts"] == {"failed": 1, "queued": 1}
    assert "vanthu@" not in listed.output and "0912345678" not in listed.output  # masked
    assert [m["id"] for m in data["messages"]] == [second, first]
    failed = ccch(dep, "messages", "list", "--state", "failed")
    assert "550 5.1.1 unknown user" in failed.output and "0912***678" not in failed.output
    shown = ccch(dep, "messages", "show", str(second))
    assert "0912***678" in shown.output and "--reveal" in shown.output and "Noi dung" not in shown.output
    revealed = ccch(dep, "messages", "show", str(second), "--reveal", "--json")
    assert json.loads(revealed.output)["text"].startswith("UBND xa An Dung")
    assert json.loads(revealed.output)["address"] == "0912345678"
    assert ccch(dep, "messages", "show", "99").exit_code == 1
    assert ccch(dep, "messages", "show", "0").exit_code == 2
    refused = ccch(dep, "messages", "retry", str(second))
    assert refused.exit_code == 1 and "only a failed or cancelled message" in refused.output
    assert ccch(dep, "messages", "retry", "--failed").exit_code == 0
    assert get_message(dep.db, first).state == "queued"
    assert ccch(dep, "messages", "cancel", str(second)).exit_code == 0
    assert get_message(dep.db, second).state == "cancelled"
    assert {e.action for e in audit.entries(dep.db)} >= {"message.retry", "message.cancel"}


def test_the_test_command_sends_at_once_and_reports_a_refusal(dep, make_deployment):
    result = ccch(dep, "messages", "test", "email", "it@ductho.gov.vn")
    assert result.exit_code == 0, result.output
    assert "Đã gửi tin nhắn thử" in result.output
    assert list((dep.config.folder / "outbox" / "email").glob("*/*-test.eml"))
    bad = ccch(dep, "messages", "test", "email", "not an address")
    assert bad.exit_code == 1 and "address" in bad.output
    without = make_deployment()
    missing = ccch(without, "messages", "test", "sms", "0912345678")
    assert missing.exit_code == 1 and "no sender for sms" in missing.output


def test_one_deliverer_at_a_time(dep):
    queue_message(dep, channel="email", address="a@ductho.gov.vn", template="test", params={"deployment": "x"},
                  idempotency_key="busy")
    holder = Deliverer(dep)
    holder.acquire()
    try:
        with pytest.raises(DelivererBusy):
            Deliverer(dep).run_once()
        result = ccch(dep, "messages", "send")
        assert result.exit_code == 0 and "Đang có một tiến trình khác gửi tin nhắn" in result.output
        assert get_message(dep.db, 1).state == "queued"
    finally:
        holder.close()
    assert Deliverer(dep).run_once().sent == 1


def test_senders_lists_what_serves_each_channel(dep, make_deployment):
    data = json.loads(ccch(dep, "messages", "senders", "--json").output)
    assert {k["name"] for k in data["senders"]} >= {"smtp", "http_sms", "zalo_zns", "folder"}
    assert data["channels"]["sms"] == {"sender": "folder", "rate_per_minute": None, "strip_diacritics": True}
    plain = ccch(make_deployment(), "messages", "senders")
    assert "zalo: not configured (messages wait)" in plain.output


def test_contacts_add_list_remove_and_import(dep, tmp_path):
    added = ccch(dep, "contacts", "add", "xa-an-dung", "email", "VanThu@AnDung.DucTho.gov.vn",
                 "--name", "Văn thư UBND xã An Dũng")
    assert added.exit_code == 0, added.output
    assert "UBND xã An Dũng" in added.output
    assert ccch(dep, "contacts", "add", "xa-khong-co", "email", "a@b.vn").exit_code == 1
    bad = ccch(dep, "contacts", "add", "xa-an-dung", "sms", "12345")
    assert bad.exit_code == 1 and "Số điện thoại không hợp lệ" in bad.output
    listed = json.loads(ccch(dep, "contacts", "list", "--json").output)
    assert listed == [{"id": 1, "unit": "xa-an-dung", "channel": "email", "address": "VanThu@andung.ductho.gov.vn",
                       "name": "Văn thư UBND xã An Dũng"}]
    csv_file = tmp_path / "dau-moi.csv"
    csv_file.write_text("unit,channel,address,name\nxa-an-dung,zalo,0912 345 678,Đ/c Lan\n"
                        "xa-khong-co,email,a@b.vn,\nxa-an-dung,sms,123,\n", encoding="utf-8")
    refused = ccch(dep, "contacts", "import", str(csv_file))
    assert refused.exit_code == 1 and "nothing was imported" in refused.output
    assert "line 3: unit" in refused.output and "line 4: address" in refused.output
    assert len(list_contacts(dep.db)) == 1
    csv_file.write_text("\ufeffunit,channel,address,name\nxa-an-dung,zalo,0912 345 678,Đ/c Lan\n", encoding="utf-8")
    assert ccch(dep, "contacts", "import", str(csv_file)).exit_code == 0
    assert [c.address for c in list_contacts(dep.db, "xa-an-dung")] == ["VanThu@andung.ductho.gov.vn", "0912345678"]
    assert ccch(dep, "contacts", "remove", "1").exit_code == 0
    assert ccch(dep, "contacts", "remove", "1").exit_code == 1
    assert "0912345678" not in json.dumps([e.target for e in audit.entries(dep.db)])


def test_erase_finds_a_contact_by_email(dep):
    ccch(dep, "contacts", "add", "xa-an-dung", "email", "lan@gmail.com")
    dry = ccch(dep, "privacy", "erase", "--email", "LAN@gmail.com", "--dry-run")
    assert dry.exit_code == 0 and "Đầu mối liên hệ #1 của UBND xã An Dũng" in dry.output
    assert ccch(dep, "privacy", "erase", "--email", "lan@gmail.com", "--yes").exit_code == 0
    assert list_contacts(dep.db) == []
    assert ccch(dep, "privacy", "erase", "--email", "not-an-email").exit_code == 2


def test_init_writes_development_senders(tmp_path, duc_tho_plan_path):
    result = CliRunner().invoke(make_cli(), ["init", str(tmp_path / "d"), "--plan", str(duc_tho_plan_path)])
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "d" / "ccch.toml")
    assert {c: t["sender"] for c, t in config.messages["channels"].items()} == {
        "email": "folder", "sms": "folder", "zalo": "folder"}
    assert config.messages["delivery"] == "server"


def test_the_server_delivers_beside_itself_and_stops_its_deliverer(dep):
    from ccch_core.web.server import message_deliverer

    queue_message(dep, channel="email", address="a@ductho.gov.vn", template="test", params={"deployment": "x"},
                  idempotency_key="served")
    with message_deliverer(dep.config) as child:
        deadline = time.time() + 30
        while time.time() < deadline and get_message(dep.db, 1).state != "sent":
            time.sleep(0.1)
        assert get_message(dep.db, 1).state == "sent"
        assert child.poll() is None
    assert child.poll() is not None  # stopped with the server
    with message_deliverer(None) as nothing:
        assert nothing is None


def test_retry_and_cancel_of_several_ids_do_the_good_ones_and_name_the_refused(dep):
    ids = [queue_message(dep, channel="email", address="a@ductho.gov.vn", template="test",
                         params={"deployment": "x"}, idempotency_key=f"k{i}") for i in range(2)]
    result = ccch(dep, "messages", "cancel", str(ids[0]), "99", str(ids[1]))
    assert result.exit_code == 1
    assert "Đã hủy 2 tin nhắn." in result.output and "no message #99" in result.output
    assert [get_message(dep.db, i).state for i in ids] == ["cancelled", "cancelled"]
