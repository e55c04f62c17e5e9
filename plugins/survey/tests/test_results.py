"""Index arithmetic on crafted responses, tallies against raw answers, periods in Vietnam time,
the plan indicator fed by the measure, the report section and the dashboard panel."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_survey.results import Score, compute_results
from ccch_survey.store import add_placement, exclude_response, retally
from ccch_survey_testing import store_response

from ccch_core import progress
from ccch_core.periods import Period
from ccch_core.report import build_report

MARCH = Period.parse("2024-03")


@pytest.fixture
def places(dep):
    return {
        "an-dung": add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.mot-cua", "Quầy tiếp nhận"),
        "an-dung-2": add_placement(dep.db, dep.plan, "sipas", "xa-an-dung.buu-dien-vh", "Bảng tin"),
        "yen-ho": add_placement(dep.db, dep.plan, "sipas", "xa-yen-ho.mot-cua", "Quầy tiếp nhận"),
        "huyen": add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", "Sảnh chờ"),
    }


def test_score_arithmetic():
    score = Score((1, 1, 1, 1, 2))  # answers 1, 2, 3, 4, 5, 5
    assert score.n == 6 and score.satisfied == 3
    assert score.index == pytest.approx(50.0)
    assert score.mean == pytest.approx(20 / 6)
    assert Score().index is None and Score().mean is None


def test_indices_per_question_unit_placement_and_section(dep, places):
    # "chung": An Dũng desk 5,4,3 ; An Dũng post 2 ; Yên Hồ 1,5 ; district centre nothing.
    for value in "543":
        store_response(dep, places["an-dung"], {"chung": value, "cong-chuc.1": "5"})
    store_response(dep, places["an-dung-2"], {"chung": "2", "cong-chuc.1": "4"})
    for value in "15":
        store_response(dep, places["yen-ho"], {"chung": value, "cong-chuc.1": "1"})
    res = compute_results(dep.db, dep.plan, "sipas", MARCH)
    chung = next(q for q in res.scale_questions if q.key == "chung")
    assert chung.score.counts == (1, 1, 1, 1, 2)
    assert chung.score.index == pytest.approx(50.0) and chung.score.mean == pytest.approx(20 / 6)
    cong_chuc = next(q for q in res.scale_questions if q.key == "cong-chuc.1")
    assert cong_chuc.score.index == pytest.approx(100 * 4 / 6)
    # A question nobody answered has no index, and says so.
    assert next(q for q in res.scale_questions if q.key == "thu-tuc.1").score.index is None
    # Sections pool their questions' answers; overall pools everything (answer-weighted).
    sections = dict(res.sections)
    assert sections["3. Công chức trực tiếp giải quyết công việc"].counts == (2, 0, 0, 1, 3)
    assert sections["6. Đánh giá chung"].index == pytest.approx(50.0)
    assert res.overall.n == 12 and res.overall.satisfied == 7
    # Units: An Dũng desk (3 responses: 5,4,3 + 5,5,5) and post point (2, 4); Yên Hồ (1,5 + 1,1).
    units = {u.id: (s, n) for u, s, n in res.units}
    assert units["xa-an-dung.mot-cua"][0].index == pytest.approx(100 * 5 / 6) and units["xa-an-dung.mot-cua"][1] == 3
    assert units["xa-yen-ho.mot-cua"][0].index == pytest.approx(25.0)
    assert units["trung-tam-hcc"] == (Score(), 0)
    # Scope: a commune officer's view includes the commune's sub-units only.
    an_dung = compute_results(dep.db, dep.plan, "sipas", MARCH, within="xa-an-dung")
    assert {u.id for u, _, _ in an_dung.units} == {"xa-an-dung.mot-cua", "xa-an-dung.buu-dien-vh"}
    assert an_dung.overall.n == 8 and an_dung.overall.satisfied == 6
    # One placement.
    one = compute_results(dep.db, dep.plan, "sipas", MARCH, placement_code=places["yen-ho"].code)
    assert one.overall.counts == (3, 0, 0, 0, 1) and one.responses == 2


def test_period_boundaries_are_vietnam_days(dep, places):
    store_response(dep, places["huyen"], {"chung": "5"}, when=dt.datetime(2024, 3, 31, 16, 59, tzinfo=dt.UTC))
    store_response(dep, places["huyen"], {"chung": "1"}, when=dt.datetime(2024, 3, 31, 17, 0, tzinfo=dt.UTC))
    assert compute_results(dep.db, dep.plan, "sipas", MARCH).overall.counts == (0, 0, 0, 0, 1)
    assert compute_results(dep.db, dep.plan, "sipas", Period.parse("2024-04")).overall.counts == (1, 0, 0, 0, 0)
    assert compute_results(dep.db, dep.plan, "sipas", Period.parse("2024-Q2")).overall.n == 1
    assert compute_results(dep.db, dep.plan, "sipas", Period.parse("2024")).overall.n == 2


def test_scans_responses_and_conversion(app, dep, places):
    for _ in range(4):  # four phones
        app.test_client().get(f"/k/{places['huyen'].code}")
    store_response(dep, places["huyen"], {"chung": "5"}, when=dt.datetime.now(dt.UTC))
    res = compute_results(dep.db, dep.plan, "sipas", Period.current())
    row = next(p for p in res.placements if p.placement.code == places["huyen"].code)
    assert (row.scans, row.responses, row.conversion) == (4, 1, 25.0)
    # A kiosk's form resets in place for each citizen: scans say nothing about it, no conversion.
    kiosk = add_placement(dep.db, dep.plan, "sipas", "xa-yen-ho.mot-cua", "Máy tính bảng", mode="kiosk")
    app.test_client().get(f"/k/{kiosk.code}")
    for value in "54":
        store_response(dep, kiosk, {"chung": value}, when=dt.datetime.now(dt.UTC))
    res = compute_results(dep.db, dep.plan, "sipas", Period.current())
    assert next(p for p in res.placements if p.placement.is_kiosk).conversion is None
    assert (res.scans, res.responses, res.conversion) == (5, 3, 25.0)


def test_excluded_responses_leave_the_figures_and_tallies_match_raw_answers(dep, places):
    ids = [store_response(dep, places["an-dung"], {"chung": v, "linh-vuc": "dat-dai"}).response_id for v in "5511"]
    exclude_response(dep.db, ids[2])
    exclude_response(dep.db, ids[2])  # twice: no double count
    res = compute_results(dep.db, dep.plan, "sipas", MARCH)
    assert res.overall.counts == (1, 0, 0, 0, 2) and res.responses == 3
    assert next(q for q in res.questions if q.key == "linh-vuc").options[1] == ("dat-dai", "Đất đai, xây dựng", 3)
    before = list(dep.db.query("select * from survey_tallies where n != 0 order by 1, 2, 3, 4, 5"))
    retally(dep.db)
    assert list(dep.db.query("select * from survey_tallies order by 1, 2, 3, 4, 5")) == before
    exclude_response(dep.db, ids[2], excluded=False)
    assert compute_results(dep.db, dep.plan, "sipas", MARCH).overall.counts == (2, 0, 0, 0, 2)


def test_measure_feeds_the_plan_indicator(dep, places):
    for value in "5555":
        store_response(dep, places["an-dung"], {"chung": value})
    for value in "5432":
        store_response(dep, places["yen-ho"], {"chung": value})
    store_response(dep, places["an-dung-2"], {"chung": "1"})  # post point: not a one-stop desk
    (result,) = [r for r in progress.evaluate_plan(dep.db, dep.plan, MARCH, measures=dep.measures, deployment=dep)
                 if r.indicator.code == "KS1"]
    values = {u.unit.id: u for u in result.units if u.value is not None}
    assert set(values) == {"xa-an-dung.mot-cua", "xa-yen-ho.mot-cua"}
    assert values["xa-an-dung.mot-cua"].value == 100.0
    assert (values["xa-yen-ho.mot-cua"].numerator, values["xa-yen-ho.mot-cua"].denominator) == (2, 4)
    assert result.value == pytest.approx(100 * 6 / 8)  # ratio: Σ satisfied / Σ answers
    assert result.status is progress.Status.BEHIND  # target 90%
    assert dep.measures["survey_responses"]


def test_report_section(dep, places):
    store_response(dep, places["an-dung"], {"chung": "5", "cong-chuc.1": "4"})
    report = build_report(dep, MARCH)
    (section,) = [s for s in report.sections if s.key == "khao_sat"]
    assert section.source == "survey"
    text = " ".join(b.text for b in section.blocks if hasattr(b, "text"))
    assert "Chỉ số hài lòng chung 100%" in text
    tables = [b for b in section.blocks if hasattr(b, "rows")]
    assert any(row[0] == "UBND xã An Dũng" or row[0].startswith("Bộ phận") for t in tables for row in t.rows)
    figure = next(b for b in section.blocks if hasattr(b, "svg"))
    assert figure.svg.startswith("<svg") and "style=" not in figure.svg
    # No answers in the period: no section at all.
    assert not [s for s in build_report(dep, Period.parse("2024-05")).sections if s.key == "khao_sat"]


def test_dashboard_panel(app, dep, places, make_user):
    from ccch_core.testing import login

    store_response(dep, places["an-dung"], {"chung": "5"})
    username, password = make_user(dep, "viewer")
    client = app.test_client()
    login(client, username, password)
    html = client.get("/?period=2024-03").get_data(as_text=True)
    assert "Khảo sát sự hài lòng" in html and "100%" in html
