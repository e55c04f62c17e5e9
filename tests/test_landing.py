"""Where each role lands (#18 part 4): the dashboard outside the plan's span opens on the latest
month that has data, or on the plan's last month, and says which one it shows; a sign-in lands
where the role's work is."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from ccch_core import progress
from ccch_core.periods import Period
from ccch_core.testing import login
from ccch_core.web.dashboard import default_period, latest_month_with_data


@pytest.fixture
def dep(make_deployment):
    return make_deployment(["contest"])  # the example plan is 2024's; today is later


def page(client, url="/") -> str:
    return html.unescape(client.get(url).get_data(as_text=True))


def signed_in(app, dep, make_user, role, unit_id=None):
    client = app.test_client()
    username, password = make_user(dep, role, unit_id)
    response = login(client, username, password)
    assert response.status_code == 302
    return client, response.headers["Location"]


def test_after_the_plan_the_dashboard_opens_on_the_latest_month_with_data(dep, make_app, make_user):
    progress.record_measurement(dep.db, dep.plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_activity_report(dep.db, dep.plan, "xa-an-dung", "2024-05",
                                    [{"category": "broadcast", "count": 1, "title": "Phát thanh"}],
                                    now=dt.datetime(2024, 6, 2, tzinfo=dt.UTC))
    client, _ = signed_in(make_app(dep), dep, make_user, "plan_admin")
    text = page(client)
    assert "<title>Tổng quan Tháng 5/2024" in text
    assert "đang xem tháng 5/2024, kỳ gần nhất có số liệu" in text
    asked = page(client, "/?period=2024-12")  # a period asked for is shown without the note
    assert "<title>Tổng quan Tháng 12/2024" in asked and "kỳ gần nhất có số liệu" not in asked


def test_after_the_plan_without_data_the_dashboard_says_it_shows_the_last_month(dep, make_app, make_user):
    client, _ = signed_in(make_app(dep), dep, make_user, "plan_admin")
    text = page(client)
    assert "<title>Tổng quan Tháng 12/2024" in text and "chưa có số liệu; đang xem tháng 12/2024" in text


def test_default_period_rules(dep):
    plan = dep.plan
    assert latest_month_with_data(dep.db, plan) is None
    with dep.db.conn:  # a quarter's figure (another plan's indicator could be quarterly): not a month
        dep.db.execute("insert into measurements (plan_id, indicator, unit_id, period, value, recorded_at) "
                       "values (?, 'I7', 'trung-tam-vhtt', '2024-Q4', 1, '2025-01-01T00:00:00+00:00')", [plan.id])
    assert latest_month_with_data(dep.db, plan) is None
    progress.record_measurement(dep.db, plan, "I7", "trung-tam-vhtt", "2024-04", 1)
    assert latest_month_with_data(dep.db, plan) == Period.parse("2024-04")
    period, note = default_period(plan, db=dep.db)
    assert period == Period.parse("2024-04") and "kỳ gần nhất có số liệu" in note
    assert default_period(plan)[0] == Period.parse("2024-12")  # without the database: the last month


@pytest.mark.parametrize(("role", "unit_id", "landing"), [
    ("plan_admin", None, "/"),
    ("viewer", None, "/"),
    ("unit_officer", "xa-an-dung", "/bao-cao"),
    ("contest_manager", None, "/cuoc-thi/quan-ly/"),
])
def test_each_role_lands_where_its_work_is(dep, make_app, make_user, role, unit_id, landing):
    app = make_app(dep)
    client, location = signed_in(app, dep, make_user, role, unit_id)
    assert location == landing
    assert client.get(location).status_code == 200


def test_a_page_asked_for_still_wins(dep, make_app, make_user):
    app = make_app(dep)
    client = app.test_client()
    username, password = make_user(dep, "contest_manager")
    client.get("/dang-nhap?next=/don-vi")
    from ccch_core.testing import csrf_token

    response = client.post("/dang-nhap", data={"csrf_token": csrf_token(client), "username": username,
                                               "password": password, "next": "/don-vi"})
    assert response.headers["Location"] == "/don-vi"
