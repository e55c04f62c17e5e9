"""Pages sized for people (#26 part 3) on a generated national plan at a small scale.

The plan comes from ``bench/national_plan.py`` (``--scale 0.05``: 17 provinces, 166 communes,
1,894 units) with three months of data, loaded by ``bench/national_pages_bench.py``. Each role
sees the level below its scope, aggregated, with a way down; tables are paginated; the unit
picker is searched; bad page numbers, search texts and units answer 400/404, never 500; and no
page grows with the number of units.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from ccch_core import accounts, levels
from ccch_core.testing import PASSWORD, login
from ccch_core.web import create_app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import national_pages_bench

PAGE_LIMIT = 200 * 1024


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    folder = tmp_path_factory.mktemp("national")
    dep = national_pages_bench.load(folder, 0.05, months=3)
    plan = dep.plan
    provinces = [u for u in plan.units if u.kind == "province"]
    communes = [u for u in plan.descendants(provinces[0].id) if u.kind == "commune"]
    other_commune = next(u for u in plan.descendants(provinces[1].id) if u.kind == "commune")
    for username, role, unit in (("admin", "plan_admin", None), ("tinh", "unit_officer", provinces[0].id),
                                 ("xa", "unit_officer", communes[0].id), ("xem", "viewer", None)):
        accounts.create_user(dep.db, plan, username, PASSWORD, role, unit_id=unit)
    app = create_app(deployment_obj=dep, test_config={"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield {"dep": dep, "app": app, "plan": plan, "provinces": provinces, "communes": communes,
           "other_commune": other_commune}
    dep.close()


@pytest.fixture(scope="module")
def clients(national):
    made = {}
    for username in ("admin", "tinh", "xa", "xem"):
        client = national["app"].test_client()
        assert login(client, username, PASSWORD).status_code == 302
        made[username] = client
    return made


def get(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert len(response.get_data()) < PAGE_LIMIT, (url, len(response.get_data()))
    return response.get_data(as_text=True)


def report_rows(html: str) -> list[str]:
    body = html[html.index('class="stack completeness"'):]
    body = body[:body.index("</table>")]
    return re.findall(r"<tr[ >].*?</tr>", body[body.index("<tbody>"):], re.DOTALL)


def test_admin_at_the_root_sees_provinces_counted_and_goes_down(national, clients):
    plan, provinces = national["plan"], national["provinces"]
    html = get(clients["admin"], "/?period=2024-03")
    rows = report_rows(html)
    assert len(rows) == len(provinces)  # one row per province, not one per commune
    assert all("UBND" in r for r in rows)
    first = provinces[0]
    assert f'href="/?period=2024-03&amp;unit={first.id}"' in html
    assert national["communes"][0].name not in html.split('class="stack completeness"')[1].split("</table>")[0]
    assert "Cây đơn vị" not in html and html.count("<li>") < 50  # the unit tree is not on the page
    # Down one level: the province's communes, each report with its state and form link.
    html = get(clients["admin"], f"/?period=2024-03&unit={first.id}")
    communes = national["communes"]
    rows = report_rows(html)
    assert len(rows) == len([c for c in communes if c in plan.expected_reporters(levels_month())])
    assert f"/bao-cao/{communes[0].id}/2024-03" in html
    assert "Toàn kế hoạch</a>" in html and f"<strong>{first.name}</strong>" in html  # breadcrumbs


def levels_month():
    from ccch_core.periods import Period

    return Period.parse("2024-03")


def test_province_officer_sees_their_communes_not_the_country(national, clients):
    html = get(clients["tinh"], "/?period=2024-03")
    rows = report_rows(html)
    names = {c.name for c in national["communes"]}
    assert rows and all(any(n in r for n in names) for r in rows)
    assert national["other_commune"].name not in "".join(rows)
    # Another province, or a commune of it, is not theirs to look at.
    assert clients["tinh"].get(f"/?period=2024-03&unit={national['provinces'][1].id}").status_code == 403
    assert clients["tinh"].get(f"/?unit={national['other_commune'].id}").status_code == 403


def test_commune_officer_sees_their_own_report(national, clients):
    own = national["communes"][0]
    html = get(clients["xa"], "/?period=2024-03")
    rows = report_rows(html)
    assert len(rows) == 1 and own.name in rows[0] and f"/bao-cao/{own.id}/2024-03" in rows[0]
    assert clients["xa"].get(f"/?unit={national['communes'][1].id}").status_code == 403


def test_viewer_sees_the_aggregate_and_may_go_down_without_form_links(national, clients):
    html = get(clients["xem"], "/?period=2024-03")
    assert len(report_rows(html)) == len(national["provinces"])
    html = get(clients["xem"], f"/?period=2024-03&unit={national['provinces'][0].id}")
    assert report_rows(html) and "/bao-cao/" not in html


def test_search_and_state_filter_pick_reports_in_scope(national, clients):
    own = national["communes"][0]
    word = own.name.split()[-1]
    html = get(clients["admin"], f"/?period=2024-03&q={word}")
    rows = report_rows(html)
    assert rows and any(own.name in r for r in rows) and len(rows) <= levels.LIST_PAGE_SIZE
    html = get(clients["admin"], "/?period=2024-03&state=late")
    assert all("Trễ hạn" in r for r in report_rows(html))
    # The province officer's search never reaches beyond their province.
    other = national["other_commune"]
    html = get(clients["tinh"], f"/?period=2024-03&q={other.name}")
    assert "Không có báo cáo nào khớp" in html and 'class="stack completeness"' not in html


@pytest.mark.parametrize("url", ["/", "/don-vi", "/bao-cao", "/tong-hop", "/xuat/bao-cao/chon-don-vi?period=2024-03",
                                 "/don-vi/tim.json"])
@pytest.mark.parametrize("query, status", [
    ("trang=-1", 400), ("trang=" + "9" * 30, 400), ("trang=abc", 400), ("q=" + "x" * 5000, 400),
    ("trang=99999", 200),  # past the last page: the last page
])
def test_bad_page_and_search_input_is_refused_in_words_never_500(national, clients, url, query, status):
    separator = "&" if "?" in url else "?"
    if url == "/don-vi/tim.json" and query.startswith("trang"):
        status = 200  # the suggestions take no page
    response = clients["admin"].get(f"{url}{separator}{query}")
    assert response.status_code == status
    if status == 400:
        assert "không hợp lệ" in response.get_data(as_text=True) or "dài quá" in response.get_data(as_text=True)


@pytest.mark.parametrize("query, status", [("unit=khong-co", 404), ("unit=" + "x" * 5000, 404),
                                           ("state=moi-xoa", 400)])
def test_unknown_units_and_states(national, clients, query, status):
    assert clients["admin"].get(f"/?period=2024-03&{query}").status_code == status


def test_pagination_of_a_long_list(national, clients):
    html = get(clients["admin"], "/bao-cao?period=2024-03")
    assert html.count('class="button"') == levels.PAGE_SIZE
    assert 'rel="next"' in html and "Trang 1/" in html
    last = get(clients["admin"], "/bao-cao?period=2024-03&trang=99999")
    assert 'rel="next"' not in last and 'rel="prev"' in last
    assert 0 < last.count('class="button"') <= levels.PAGE_SIZE


def test_units_page_is_browsed_one_level_at_a_time(national, clients):
    plan, province = national["plan"], national["provinces"][0]
    html = get(clients["xa"], "/don-vi")
    assert len(plan.units) > 300 and html.count("<li>") <= levels.PAGE_SIZE + 12  # + the menu
    html = get(clients["xa"], f"/don-vi?unit={province.id}")
    assert national["communes"][0].name in html and national["other_commune"].name not in html
    html = get(clients["xa"], "/don-vi?q=" + national["communes"][0].name.split()[-1])
    assert national["communes"][0].name in html
    assert clients["xa"].get("/don-vi?unit=khong-co").status_code == 404


def test_export_panel_is_a_search_box_and_its_picker_answers_without_javascript(national, clients):
    html = get(clients["admin"], "/?period=2024-03")
    assert html.count("<option") < 40  # periods and formats, never a unit per option
    assert 'action="/xuat/bao-cao/chon-don-vi"' in html and "data-unit-search=" in html
    own = national["communes"][0]
    # Typed exactly (tones and case aside): straight to the download.
    response = clients["admin"].get(f"/xuat/bao-cao/chon-don-vi?period=2024-03&format=md&q={own.name.upper()}")
    assert response.status_code == 302 and f"unit={own.id}" in response.headers["Location"]
    # A part of many names: a list of download links, paginated.
    html = get(clients["admin"], "/xuat/bao-cao/chon-don-vi?period=2024-03&format=md&q=UBND")
    assert "/xuat/bao-cao?period=2024-03&amp;unit=" in html
    assert html.count('href="/xuat/bao-cao?period=2024-03&amp;unit=') == levels.PAGE_SIZE
    # The province officer finds only their communes.
    other = national["other_commune"]
    html = get(clients["tinh"], f"/xuat/bao-cao/chon-don-vi?period=2024-03&q={other.name}")
    assert "Không có đơn vị nào" in html


def test_suggestions_json_is_bounded_and_scoped(national, clients):
    found = json.loads(get(clients["admin"], "/don-vi/tim.json?q=ubnd"))["units"]
    assert 0 < len(found) <= 20 and {"id", "name", "in"} <= set(found[0])
    mine = json.loads(get(clients["xa"], "/don-vi/tim.json?q=ubnd&scope=mine"))["units"]
    assert [u["id"] for u in mine] == [national["communes"][0].id]
    assert json.loads(get(clients["xa"], "/don-vi/tim.json?q=u"))["units"] == []  # one letter: nothing yet


def test_no_page_grows_with_the_plan(national, clients):
    # Every page any role reaches here is a bounded number of rows, whatever the plan's size.
    for username, urls in {"admin": ["/?period=2024", "/tong-hop?period=2024-Q1", "/bao-cao?period=2024-03"],
                           "tinh": ["/?period=2024", "/bao-cao?period=2024-03"],
                           "xa": ["/?period=2024"], "xem": ["/?period=2024", "/don-vi"]}.items():
        for url in urls:
            html = get(clients[username], url)
            assert html.count("<tr") <= 2 * levels.LIST_PAGE_SIZE, (username, url)


def test_rollup_sums_activities_per_province(national, clients):
    html = get(clients["admin"], "/tong-hop?period=2024-Q1")
    activity = html[html.index('id="h-activity"'):]
    activity = activity[:activity.index("</table>")]
    names = re.findall(r'<th scope="row">(.*?)</th>', activity)
    assert names[:-1] == [p.name for p in national["provinces"]] and names[-1] == "Tổng cộng"
    # One province down: its communes.
    html = get(clients["admin"], f"/tong-hop?period=2024-Q1&unit={national['provinces'][0].id}")
    activity = html[html.index('id="h-activity"'):]
    assert national["communes"][0].name in activity[:activity.index("</table>")]


def test_contacts_page_picks_a_unit_by_name_not_from_every_unit(national, clients):
    html = get(clients["admin"], "/tin-nhan/dau-moi")
    assert html.count("<option") < 20 and 'name="unit"' in html and "data-unit-search=" in html
    commune = national["communes"][0]
    typed = commune.name.lower()  # typed, not chosen: case aside, the unit's own name
    response = clients["admin"].post("/tin-nhan/dau-moi", data={"unit": typed, "channel": "email",
                                                                "address": "vanthu@xa.gov.vn", "name": "Văn thư"})
    assert response.status_code == 303
    from ccch_core import contacts

    assert [c.address for c in contacts.list_contacts(national["dep"].db, commune.id)] == ["vanthu@xa.gov.vn"]
    # A part of many names is refused in words, with what was typed kept.
    response = clients["admin"].post("/tin-nhan/dau-moi", data={"unit": "UBND", "channel": "email",
                                                                "address": "a@b.gov.vn", "name": ""})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Có nhiều đơn vị tên khớp với “UBND”" in text and 'value="UBND"' in text
    assert len(response.get_data()) < PAGE_LIMIT
