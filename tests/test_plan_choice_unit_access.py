"""A unit's data under another year's plan (#19's ``?plan=``) is checked in that year's tree:
units are merged, renamed and moved between years, so checking the unit against the default
plan let an officer open a unit the chosen year no longer puts under them, refused a unit only
the chosen year has, and answered 500 for a unit only the default year has (or an officer's own
unit the chosen year does not have). Flask's test client on the Đức Thọ 2024 plan (default) and
a 2025 plan in which Đức Đồng's id is ``xa-duc-dong-moi`` and An Dũng's one-stop desk is moved
under it."""

from __future__ import annotations

import pytest
from test_plan_years import plan_2025, with_plan_2025

from ccch_core.testing import csrf_token

DESK = "xa-an-dung.mot-cua"


@pytest.fixture
def dep(make_deployment, duc_tho_plan_path):
    first = make_deployment(("export",))
    text = plan_2025(duc_tho_plan_path.read_text(encoding="utf-8")).replace("xa-duc-dong", "xa-duc-dong-moi")
    moved = text.replace(f'id = "{DESK}"\nname = "Bộ phận tiếp nhận và trả kết quả xã An Dũng"\n'
                         'kind = "one_stop_desk"\nparent = "xa-an-dung"',
                         f'id = "{DESK}"\nname = "Bộ phận tiếp nhận và trả kết quả xã An Dũng"\n'
                         'kind = "one_stop_desk"\nparent = "xa-duc-dong-moi"', 1)
    assert moved != text
    dep = with_plan_2025(first, moved)
    assert dep.plan_by_id("duc-tho-2025").unit(DESK).parent == "xa-duc-dong-moi"
    assert dep.plan.unit(DESK).parent == "xa-an-dung"
    yield dep
    dep.close()


WRITE = "/xuat/viet?plan=duc-tho-2025&period=2025-03"
DOWNLOAD = "/xuat/bao-cao?plan=duc-tho-2025&period=2025-03&format=docx"


def status(client, url):
    return client.get(url).status_code


def test_a_unit_only_the_chosen_year_has_opens_and_one_only_the_default_has_is_a_404(client_as):
    admin = client_as("plan_admin")
    page = admin.get(WRITE + "&unit=xa-duc-dong-moi")
    assert page.status_code == 200  # was a 404: checked in 2024's plan, which has no such unit
    assert "Đức Đồng" in page.get_data(as_text=True)
    assert status(admin, DOWNLOAD + "&unit=xa-duc-dong-moi") == 200
    # 2024's id is not a unit of 2025's plan: a 404, not a 500 from looking it up in 2025's tree.
    assert status(admin, WRITE + "&unit=xa-duc-dong") == 404
    assert status(admin, DOWNLOAD + "&unit=xa-duc-dong") == 404
    # The default plan is unchanged.
    assert status(admin, "/xuat/viet?period=2024-03&unit=xa-duc-dong") == 200
    assert status(admin, "/xuat/viet?period=2024-03&unit=xa-duc-dong-moi") == 404


def test_an_officer_sees_a_unit_by_the_chosen_year_s_tree(client_as):
    an_dung = client_as("unit_officer", "xa-an-dung")
    # 2024: the desk is An Dũng's; 2025: Đức Đồng's. An Dũng's officer must not open its 2025 data.
    assert status(an_dung, f"/xuat/viet?period=2024-03&unit={DESK}") == 200
    assert status(an_dung, f"{WRITE}&unit={DESK}") == 403
    assert status(an_dung, f"{DOWNLOAD}&unit={DESK}") == 403
    duc_dong = client_as("unit_officer", "xa-duc-dong")
    assert status(duc_dong, f"/xuat/viet?period=2024-03&unit={DESK}") == 403


def test_an_officer_whose_unit_the_chosen_year_does_not_have_gets_a_404_in_words(client_as):
    officer = client_as("unit_officer", "xa-duc-dong")
    for url in (WRITE, DOWNLOAD):
        response = officer.get(url)
        assert response.status_code == 404, url  # was a 500 (their unit looked up in 2025's tree)
        assert "Đơn vị của anh/chị không có trong" in response.get_data(as_text=True)
    assert status(officer, "/xuat/viet?period=2024-03") == 200


def test_a_month_s_report_form_checks_the_unit_in_that_month_s_plan(client_as):
    admin = client_as("plan_admin")
    assert status(admin, "/bao-cao/xa-duc-dong/2024-03") == 200
    assert status(admin, "/bao-cao/xa-duc-dong/2025-03") == 404  # was a 500: 2025 has no such unit
    assert status(admin, "/bao-cao/xa-duc-dong-moi/2025-03") == 200  # was a 404: checked in 2024's plan
    assert status(admin, "/bao-cao/xa-duc-dong-moi/2024-03") == 404
    an_dung = client_as("unit_officer", "xa-an-dung")
    assert status(an_dung, "/bao-cao/xa-an-dung/2025-03") == 200
    assert status(an_dung, "/bao-cao/xa-duc-dong-moi/2025-03") == 403


def test_a_raw_table_checks_the_unit_in_the_default_plan_whatever_plan_a_link_carries(client_as):
    """/xuat/du-lieu is not per plan (every year's rows): a ``?plan=`` carried by a link from a
    chosen year's page does not change whose unit it is."""
    admin = client_as("plan_admin")
    table = "/xuat/du-lieu/activity_items"
    assert status(admin, f"{table}?unit=xa-duc-dong") == 200
    assert status(admin, f"{table}?unit=xa-duc-dong&plan=duc-tho-2025") == 200
    assert status(admin, f"{table}?unit=xa-duc-dong-moi&plan=duc-tho-2025") == 404


def test_the_messages_page_scopes_an_officer_by_the_default_plan_whatever_plan_is_asked(client_as):
    """/tin-nhan is not per plan: an officer's own scope comes from the plan the page reads (the
    default), not from a ``?plan=`` that names a year without their unit."""
    officer = client_as("unit_officer", "xa-duc-dong")
    assert status(officer, "/tin-nhan") == 200
    assert status(officer, "/tin-nhan?plan=duc-tho-2025") == 200


def test_reopening_a_report_checks_the_unit_in_that_month_s_plan(dep, client_as):
    from ccch_core import progress

    progress.record_activity_report(dep.db, dep.plan_by_id("duc-tho-2025"), "xa-duc-dong-moi", "2025-03",
                                    [{"category": "broadcast", "count": 2}])
    admin = client_as("plan_admin")
    form = admin.get("/bao-cao/xa-duc-dong-moi/2025-03").get_data(as_text=True)
    assert 'action="/bao-cao/xa-duc-dong-moi/2025-03/mo-lai' in form
    token = {"csrf_token": csrf_token(admin, "/bao-cao/xa-duc-dong-moi/2025-03")}
    for url in ("/bao-cao/xa-duc-dong-moi/2025-03/mo-lai", "/bao-cao/xa-duc-dong-moi/2025-03/mo-lai?plan=duc-tho-2025"):
        assert admin.post(url, data=token).status_code == 303, url  # was a 404 (checked in 2024's plan), a 500
        assert progress.get_activity_report(dep.db, "xa-duc-dong-moi", "2025-03").status == "reopened"
    assert admin.post("/bao-cao/xa-duc-dong/2025-03/mo-lai", data=token).status_code == 404


def test_a_large_plan_s_pages_for_an_officer_whose_unit_the_chosen_year_lacks(client_as, monkeypatch):
    """A plan too large to list every report opens a unit officer's pages at their own unit: in a
    year whose plan lacks it, a 404 in words, not a 500 (the size is lowered to Đức Thọ's here)."""
    from ccch_core import levels

    monkeypatch.setattr(levels, "LIST_LIMIT", 1)
    officer = client_as("unit_officer", "xa-duc-dong")
    assert status(officer, "/?period=2024-03") == 200
    response = officer.get("/?plan=duc-tho-2025&period=2025-03")
    assert response.status_code == 404  # was a 500
    assert "Đơn vị của anh/chị không có trong" in response.get_data(as_text=True)
    # The reports list lists only what they may see: none of that year's units.
    assert "An Dũng" not in officer.get("/bao-cao?plan=duc-tho-2025&period=2025-03").get_data(as_text=True)
