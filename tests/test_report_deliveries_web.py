"""Reports sent to a further recipient, from the web (#19 part 3): Phòng VH-TT's quarterly roll-up
goes to UBND huyện (the report in ccch) and UBND tỉnh ("báo cáo UBND huyện, tỉnh"); the form
records the second. Rights of each role, bad input coming back as typed with the reason in words
and nothing stored, the audit row, the completeness the dashboard counts. Flask's test client on the
Đức Thọ deployment, real SQLite."""

from __future__ import annotations

import pytest

from ccch_core import progress
from ccch_core.testing import csrf_token

UNIT = "phong-vhtt"
URL = f"/bao-cao/{UNIT}/gui-noi-nhan-khac"


@pytest.fixture
def dep(make_deployment):
    return make_deployment()


def post(client, data):
    return client.post(URL, data={"csrf_token": csrf_token(client, URL), **data})


def stored(dep):
    return list(dep.db.query("select unit_id, period, recipient, sent_on, reference, recorded_by "
                             "from report_deliveries order by id"))


def test_the_form_lists_every_period_owed_and_records_one(dep, client_as):
    officer = client_as("unit_officer", UNIT)
    page = officer.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Quarters, halves and the year go to the province as well; the monthly report does not.
    for label in ("Quý I/2024", "Quý IV/2024", "6 tháng đầu năm 2024", "Năm 2024"):
        assert label in html
    assert "Tháng 3/2024" not in html
    assert '<option value="ubnd-tinh"' in html and dep.plan.unit("ubnd-tinh").name in html
    assert html.count("Chưa ghi nhận") == 7  # 4 quarters, 2 halves, the year
    response = post(officer, {"period": "2024-Q1", "recipient": "ubnd-tinh", "sent_on": "2024-04-08",
                              "reference": " 45/BC-VHTT "})
    assert response.status_code == 303 and response.headers["Location"].endswith(URL)
    assert stored(dep) == [{"unit_id": UNIT, "period": "2024-Q1", "recipient": "ubnd-tinh", "sent_on": "2024-04-08",
                            "reference": "45/BC-VHTT", "recorded_by": stored(dep)[0]["recorded_by"]}]
    after = officer.get(URL).get_data(as_text=True)
    assert "08/04/2024" in after and "45/BC-VHTT" in after and after.count("Chưa ghi nhận") == 6
    audit = list(dep.db.query("select action, target, detail from audit_log where action = 'report.deliver'"))
    unit_name, province = dep.plan.unit(UNIT).name, dep.plan.unit("ubnd-tinh").name
    assert audit == [{"action": "report.deliver", "target": f"{unit_name} — Quý I/2024",
                      "detail": f"gửi {province} ngày 08/04/2024, số 45/BC-VHTT"}]
    # The completeness the dashboard counts now has the province's copy of Q1 sent.
    completeness = progress.reporting_completeness(dep.db, dep.plan, "2024-Q1")
    row = next(r for r in completeness.reports if r.unit.id == UNIT and r.recipient == "ubnd-tinh")
    assert row.submitted_at is not None and row.state.value != "missing"
    # Recording again (a corrected date, typed the Vietnamese way) replaces the record.
    assert post(officer, {"period": "2024-Q1", "recipient": "ubnd-tinh", "sent_on": "09/04/2024"}).status_code == 303
    assert [(r["sent_on"], r["reference"]) for r in stored(dep)] == [("2024-04-09", None)]


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"period": "", "sent_on": "2024-04-08"}, "period", "Chọn kỳ báo cáo trong danh sách."),
    ({"period": "2024-03", "sent_on": "2024-04-08"}, "period", "Chọn kỳ báo cáo trong danh sách."),  # monthly: none owed
    ({"period": "2025-Q1", "sent_on": "2025-04-08"}, "period", "Chọn kỳ báo cáo trong danh sách."),
    ({"recipient": "ubnd-huyen"}, "recipient", "Chọn nơi nhận trong danh sách."),  # the report in ccch serves it
    ({"recipient": "<script>x</script>"}, "recipient", "Chọn nơi nhận trong danh sách."),
    ({"sent_on": ""}, "sent_on", "Vui lòng nhập ngày gửi."),
    ({"sent_on": "hôm qua"}, "sent_on", "“hôm qua” không phải một ngày"),
    ({"sent_on": "2024-02-30"}, "sent_on", "Ngày 30/02/2024 không có trên lịch."),
    ({"sent_on": "31/04/2024"}, "sent_on", "Ngày 31/04/2024 không có trên lịch."),
    ({"period": "2024-Q2", "sent_on": "2024-03-31"}, "sent_on", "trước khi Quý II/2024 bắt đầu (01/04/2024)"),
    ({"sent_on": "2099-01-01"}, "sent_on", "Ngày gửi 01/01/2099 chưa tới"),
    ({"reference": "x" * 201}, "reference", "dài quá 200 ký tự"),
])
def test_bad_input_comes_back_as_typed_with_the_reason_and_nothing_is_stored(dep, client_as, data, field, message):
    officer = client_as("unit_officer", UNIT)
    form = {"period": "2024-Q1", "recipient": "ubnd-tinh", "sent_on": "2024-04-08", "reference": "45/BC-VHTT", **data}
    response = post(officer, form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    # What was typed is back in the form (escaped), so nothing has to be typed again.
    typed = form["reference"][:200] if field != "reference" else form["reference"]
    assert f'value="{typed}"' in html
    if field != "sent_on":
        assert f'value="{form["sent_on"]}"' in html
    assert "<script>x</script>" not in html
    assert stored(dep) == []
    assert dep.db.execute("select count(*) from audit_log where action = 'report.deliver'").fetchone()[0] == 0


def test_rights_of_each_role(dep, client_as):
    data = {"period": "2024-Q1", "recipient": "ubnd-tinh", "sent_on": "2024-04-08"}
    assert post(client_as("plan_admin"), data).status_code == 303  # the plan office records for any unit
    other = client_as("unit_officer", "phong-tu-phap")
    assert other.get(URL).status_code == 403  # another office
    viewer = client_as("viewer")
    assert viewer.get(URL).status_code == 403
    # A unit that owes nothing to a further recipient has no such page.
    assert client_as("unit_officer", "xa-an-dung").get("/bao-cao/xa-an-dung/gui-noi-nhan-khac").status_code == 404
    assert client_as("plan_admin").get("/bao-cao/khong-co/gui-noi-nhan-khac").status_code in (403, 404)
    assert len(stored(dep)) == 1


def test_the_reports_page_links_to_it_for_those_who_record(dep, client_as):
    html = client_as("unit_officer", UNIT).get("/bao-cao").get_data(as_text=True)
    assert f'href="{URL}"' in html and "Báo cáo gửi nơi nhận khác" in html
    commune = client_as("unit_officer", "xa-an-dung").get("/bao-cao").get_data(as_text=True)
    assert "gui-noi-nhan-khac" not in commune
