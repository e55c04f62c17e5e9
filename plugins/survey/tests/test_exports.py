"""Exports: the officers' CSV is streamed, UTF-8 with BOM, safe against formula injection and
scoped; the data tables for the export plugin stream rows and respect the scope."""

from __future__ import annotations

import csv
import inspect
import io

import pytest
from ccch_survey.exports import csv_lines, safe_cell
from ccch_survey.store import add_placement
from ccch_survey_testing import store_response

from ccch_core import accounts
from ccch_core.periods import Period
from ccch_core.report import DataScope
from ccch_core.testing import PASSWORD, login


@pytest.fixture
def filled(dep):
    own = add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy 1")
    other = add_placement(dep.db, dep.plan, "sipas", "xa-yen-ho.mot-cua", "Quầy 1")
    store_response(dep, own, {"chung": "5", "linh-vuc": "dat-dai"}, text={"gop-y-them": ("=HYPERLINK(\"x\")",)})
    store_response(dep, own, {"chung": "4"}, text={"gop-y-them": ("-1+2 ý kiến",)})
    store_response(dep, other, {"chung": "1"}, text={"gop-y-them": ("@SUM(A1)",)})
    accounts.create_user(dep.db, dep.plan, "vhtt", PASSWORD, "plan_admin")
    accounts.create_user(dep.db, dep.plan, "andung", PASSWORD, "unit_officer", unit_id="xa-an-dung")
    return own, other


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), ("+84", "'+84"), ("-x", "'-x"), ("@a", "'@a"),
                                            ("\tx", "'\tx"), ("bình thường", "bình thường"), (5, 5)])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_csv_download_is_streamed_with_bom_and_safe_cells(app, filled):
    client = app.test_client()
    login(client, "vhtt")
    response = client.get("/khao-sat/sipas/tai-ve.csv?ky=2024-03")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, data = rows[0], rows[1:]
    assert len(data) == 3
    comment = header.index("gop-y-them — Ông/Bà có góp ý gì để chúng tôi phục vụ tốt hơn?")
    assert sorted(r[comment] for r in data) == ["'-1+2 ý kiến", "'=HYPERLINK(\"x\")", "'@SUM(A1)"]
    assert data[0][header.index("linh-vuc — Ông/Bà đến giải quyết thủ tục thuộc lĩnh vực nào?")] == "Đất đai, xây dựng"
    assert data[0][header.index("chung — Nhìn chung, Ông/Bà hài lòng thế nào với sự phục vụ tại đây?")] == "Rất hài lòng"


def test_csv_download_is_scoped_to_the_officers_units(app, filled):
    client = app.test_client()
    login(client, "andung")
    rows = list(csv.reader(io.StringIO(client.get("/khao-sat/sipas/tai-ve.csv?ky=tat-ca").get_data(as_text=True))))
    assert len(rows) == 3 and all("xa-an-dung.mot-cua" in r for r in rows[1:])


def test_csv_lines_are_produced_lazily():
    produced = []

    def rows():
        for i in range(1000):
            produced.append(i)
            yield [i, "x"]

    pieces = csv_lines(["a", "b"], rows())
    assert next(pieces).startswith("\ufeffa,b")
    next(pieces)
    assert len(produced) == 200  # only the first piece's rows were read


def test_data_tables_are_registered_and_stream(dep, filled):
    tables = dep.data_tables
    assert set(tables) >= {"survey_answers", "survey_indices", "survey_placements", "survey_contacts"}
    assert tables["survey_contacts"].personal_data and "unit_officer" not in tables["survey_contacts"].roles
    rows = tables["survey_answers"].rows(dep, DataScope())
    assert inspect.isgenerator(rows)
    answers = list(rows)
    assert all(len(r) == len(tables["survey_answers"].columns) for r in answers)
    assert {r[12] for r in answers if r[9] == "chung"} == {"Rất hài lòng", "Hài lòng", "Rất không hài lòng"}
    scoped = list(tables["survey_answers"].rows(dep, DataScope(unit_id="xa-an-dung", period=Period.parse("2024-03"))))
    assert scoped and {r[4] for r in scoped} == {"xa-an-dung.mot-cua"}
    assert list(tables["survey_answers"].rows(dep, DataScope(period=Period.parse("2024-04")))) == []
    indices = list(tables["survey_indices"].rows(dep, DataScope(period=Period.parse("2024-03"))))
    overall = next(r for r in indices if r[1] == "tong-the")
    assert overall[4:7] == (3, 2, pytest.approx(100 * 2 / 3))
    placements = list(tables["survey_placements"].rows(dep, DataScope()))
    assert {r[1] for r in placements} == {p.code for p in filled}
    assert all(r[6].startswith("https://cchc.example.gov.vn/k/") for r in placements)
