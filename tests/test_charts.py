"""The dashboard's pictures (#18 part 3): the year's reporting grid, progress toward each target,
each indicator's trend; server-rendered SVG that passes the CSP, with words for screen readers."""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET

import pytest

from ccch_core import charts, progress
from ccch_core.periods import Period
from ccch_core.testing import login

SVG = "{http://www.w3.org/2000/svg}"
NOW = dt.datetime(2024, 4, 20, tzinfo=dt.UTC)


@pytest.fixture
def dep(make_deployment):
    dep = make_deployment([])
    plan, db = dep.plan, dep.db
    progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", "2024-01", 1)
    progress.record_measurement(db, plan, "I7", "trung-tam-vhtt", "2024-03", 2)
    progress.record_activity_report(db, plan, "xa-an-dung", "2024-03", [{"category": "broadcast", "count": 1,
                                    "title": "Phát thanh"}], now=dt.datetime(2024, 4, 2, tzinfo=dt.UTC))
    progress.record_activity_report(db, plan, "xa-yen-ho", "2024-03", [{"category": "broadcast", "count": 1,
                                    "title": "Phát thanh"}], now=dt.datetime(2024, 4, 15, tzinfo=dt.UTC))
    return dep


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == SVG + "svg" and root.get("role") == "img" and root.get("width") == "100%"
    assert "style" not in svg  # presentation attributes only: the CSP allows no inline style
    assert root.find(SVG + "title").text and root.find(SVG + "desc").text
    return root


def months_of(year: int) -> list[Period]:
    return list(Period.year_of(year).months())


def test_report_grid_colours_each_units_month_by_state(dep):
    completeness = progress.reporting_completeness(dep.db, dep.plan, Period.year_of(2024), now=NOW)
    root = parse(charts.report_grid_chart(completeness, months_of(2024), title="Báo cáo năm 2024"))
    cells = {c.find(SVG + "title").text: c.get("fill") for c in root.iter(SVG + "rect")
             if c.find(SVG + "title") is not None}
    assert cells["UBND xã An Dũng, tháng 3/2024: đúng hạn"] == charts.REPORT_STATE_COLOURS[progress.ReportState.ON_TIME]
    assert cells["UBND xã Yên Hồ, tháng 3/2024: trễ hạn"] == charts.REPORT_STATE_COLOURS[progress.ReportState.LATE]
    assert cells["UBND xã An Dũng, tháng 2/2024: chưa nộp (quá hạn)"] == "#b3261e"
    assert cells["UBND xã An Dũng, tháng 5/2024: chưa đến hạn"] == "#c9ced6"
    desc = root.find(SVG + "desc").text
    assert "1 trễ hạn" in desc and "tháng" in desc
    legend = [t.text for t in root.iter(SVG + "text")]
    assert {"Đúng hạn", "Trễ hạn", "Chưa nộp (quá hạn)", "Chưa đến hạn"} <= set(legend)


def test_trend_and_progress_say_words_and_figures(dep):
    results = progress.evaluate_plan(dep.db, dep.plan, "2024-03", now=NOW)
    i7 = next(r for r in results if r.indicator.code == "I7")
    points = [charts.TrendPoint(Period.parse(f"2024-0{m}"), v) for m, v in ((1, 1.0), (2, None), (3, 2.0))]
    root = parse(charts.trend_chart(i7, points, ident="t"))
    desc = root.find(SVG + "desc").text
    assert "Tháng 1/2024: 1" in desc and "Tháng 2/2024: –" in desc and "Mục tiêu 1,25" in desc
    assert any("mục tiêu" in (t.text or "") for t in root.iter(SVG + "text"))
    bars = [r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    assert [b.get("fill") for b in bars] == ["#d08c00", "#1e7a3c"]  # 1 misses 1,25; 2 meets it
    progress_root = parse(charts.progress_chart(results, title="Tiến độ"))
    labels = [t.text for t in progress_root.iter(SVG + "text")]
    assert not any(re.fullmatch(r"[IQ]\d+", label or "") for label in labels)  # words, not codes
    assert "2 / 1,25" in labels


def test_a_name_with_markup_is_escaped():
    from ccch_core.model import Comparison

    class Indicator:
        label, is_percentage, kind = "<b>A & B</b>", False, type("K", (), {"value": "count"})()
        comparison = Comparison.AT_LEAST

    result = type("R", (), {"indicator": Indicator, "target": 2.0, "value": 1.0, "progress": 50.0})()
    svg = charts.trend_chart(result, [charts.TrendPoint(Period.parse("2024-01"), 1.0)], ident="x")
    parse(svg)
    assert "<b>" not in svg and "&lt;b&gt;A &amp; B&lt;/b&gt;" in svg


def test_dashboard_shows_the_three_charts(dep, make_app, make_user):
    client = make_app(dep).test_client()
    username, password = make_user(dep, "plan_admin")
    login(client, username, password)
    text = client.get("/?period=2024-03").get_data(as_text=True)
    svgs = re.findall(r"<svg .*?</svg>", text, re.DOTALL)
    titles = [html.unescape(re.search(r"<title[^>]*>(.*?)</title>", s).group(1)) for s in svgs]
    assert "Báo cáo hằng tháng của các đơn vị năm 2024" in titles
    assert "Tiến độ đạt mục tiêu — Tháng 3/2024" in titles
    assert any(t.endswith("xu hướng theo kỳ") for t in titles)
    for svg in svgs:
        parse(svg)


def test_charts_are_kept_until_anything_changes(dep, make_app, make_user):
    client = make_app(dep).test_client()
    username, password = make_user(dep, "plan_admin")
    login(client, username, password)
    first = client.get("/?period=2024-03").get_data(as_text=True)
    assert client.get("/?period=2024-03").get_data(as_text=True).count("<svg") == first.count("<svg")
    before = re.search(r'<svg[^>]*aria-labelledby="luoi-bao-cao-t.*?</svg>', first, re.DOTALL).group(0)
    assert "UBND xã Đức Lạng, tháng 3/2024: đúng hạn" not in html.unescape(before)
    progress.record_activity_report(dep.db, dep.plan, "xa-duc-lang", "2024-03", [{"category": "broadcast",
                                    "count": 1, "title": "Phát thanh"}], now=dt.datetime(2024, 4, 3, tzinfo=dt.UTC))
    after = client.get("/?period=2024-03").get_data(as_text=True)
    assert "UBND xã Đức Lạng, tháng 3/2024: đúng hạn" in html.unescape(after)  # the write was seen


def test_trend_grid_holds_every_indicator_in_one_picture(dep):
    results = progress.evaluate_plan(dep.db, dep.plan, "2024-03", now=NOW)
    months = [Period.parse(f"2024-0{m}") for m in (1, 2, 3)]
    by_month = [progress.evaluate_plan(dep.db, dep.plan, m, now=NOW) for m in months]
    trends = [(r, [charts.TrendPoint(m, e[i].value) for m, e in zip(months, by_month, strict=True)])
              for i, r in enumerate(results) if r.indicator.kind.value != "yes_no"]
    root = parse(charts.trend_grid_chart(trends, title="Xu hướng"))
    inner = root.findall(SVG + "svg")
    assert len(inner) == len(trends) == 8
    assert "Số chuyên mục CCHC phát sóng: Tháng 1/2024 1, Tháng 2/2024 –, Tháng 3/2024 2." in \
        root.find(SVG + "desc").text
