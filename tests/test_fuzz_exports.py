"""Escaping everywhere: markup and spreadsheet formulas put into every input that reaches an
export or a page — unit names, report texts and notes, survey comments and placements, contest
participants, occupations and questions, reminder notes — then every report exporter, every data
table in every format, every page and every download is checked:

- CSV and XLSX: no cell starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return unless
  it is a plain number (a formula-looking text is written with a leading apostrophe); no XLSX
  formula cell;
- Markdown and HTML: markup is escaped (no ``<script>``, no ``javascript:`` link);
- DOCX and JSON: the text is there literally (data, not markup);
- HTML pages: no unescaped markup.

The exporters and data tables are listed from the deployment's registries (every installed
plugin enabled), so a format or table added later is covered without a line here — and a format
of a kind this file does not know fails until a check is added. Hypothesis adds random reports
and random rows for the same writers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import string
import sys
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccch_core import accounts, progress
from ccch_core.periods import Period
from ccch_core.plugins import installed_plugins
from ccch_core.report import (
    Column,
    DataScope,
    ExportOptions,
    Figure,
    Heading,
    Paragraph,
    Report,
    ReportRequest,
    Section,
    Table,
    call_exporter,
)
from ccch_core.testing import PASSWORD, login

VIETNAMESE = "ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐ"
SCRIPT = "<script>alert(1)</script>"
LINK = "[bấm vào đây](javascript:alert(1))"
FORMULAS = ('=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "=1+1", "-2-3")
CONTROL = "Tin\x01 bài\x1b có ký tự điều khiển"  # pasted from a PDF: XML (DOCX, XLSX) cannot hold these
PAYLOADS = (SCRIPT, LINK, *FORMULAS, CONTROL)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+([.,]\d+)?([eE][-+]?\d+)?")
NASTY = st.one_of(
    st.text(alphabet=string.printable + VIETNAMESE, max_size=40),
    st.text(max_size=20),
    st.sampled_from(PAYLOADS),
    st.tuples(st.sampled_from(PAYLOADS), st.text(alphabet=string.printable + VIETNAMESE, max_size=10)).map("".join),
    st.text(alphabet=VIETNAMESE, max_size=20).map(lambda t: unicodedata.normalize("NFD", t)),
)
SCALE = float(os.environ.get("CCCH_FUZZ_SCALE", "1"))  # e.g. 25 for a long run before a release
FUZZ = settings(max_examples=int(40 * SCALE), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
UNIT_NAMES = {  # unit id → a name that is markup or a formula (the plan loader keeps them as text)
    "xa-an-dung": '=HYPERLINK("http://x","An Dũng")',
    "xa-yen-ho": SCRIPT,
    "trung-tam-hcc": "@SUM(A1) Trung tâm HCC",
    "phong-tu-phap": "+1 Phòng Tư pháp",
    "phong-tckh": "-1+1 Phòng Tài chính",
    "xa-duc-lang": LINK,
}
MARCH = dt.datetime(2024, 3, 15, 3, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[1]


# -- the checks -------------------------------------------------------------------------------


def check_cell(value, where: str) -> None:
    """A spreadsheet cell that will not run as a formula."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        assert PLAIN_NUMBER.fullmatch(value), f"{where}: formula-like cell {value!r} not neutralised"


def check_csv(text: str, where: str) -> list[str]:
    cells = [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]
    for cell in cells:
        check_cell(cell, where)
    return cells


def check_xlsx(data: bytes, where: str) -> list[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    cells = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: formula cell {sheet.title}!{cell.coordinate} {cell.value!r}"
                if isinstance(cell.value, str):
                    check_cell(cell.value, f"{where} {sheet.title}!{cell.coordinate}")
                    cells.append(cell.value)
    return cells


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "img", "svg") and tag != "svg":
            self.problems.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"{tag} {name}={value}")

    def handle_data(self, data):
        self.text.append(data)


def check_html(text: str, where: str, *, own_scripts: bool = False) -> str:
    """No script or handler that came from data; returns the visible text."""
    parser = _Markup()
    parser.feed(text)
    problems = [p for p in parser.problems if not (own_scripts and p == "script")]
    assert not problems, f"{where}: {problems}"
    assert SCRIPT not in text and "onerror=" not in text, where
    return "".join(parser.text)


def check_markdown(text: str, where: str) -> None:
    assert "<script" not in text.lower(), f"{where}: raw markup in Markdown"
    assert not re.search(r"(?<!\\)\]\(javascript:", text), f"{where}: a link a Markdown viewer would follow"
    assert "&lt;script&gt;" in text, f"{where}: the unit named {SCRIPT!r} is missing"


def check_docx(data: bytes, where: str) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]

    def cells(table):
        for row in table.rows:
            for cell in row.cells:
                parts.extend(p.text for p in cell.paragraphs)
                for inner in cell.tables:
                    cells(inner)

    for table in document.tables:
        cells(table)
    text = "\n".join(parts)
    assert SCRIPT in text, f"{where}: the unit named {SCRIPT!r} is not in the document as text"
    return text


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def check_json(data: bytes, where: str) -> list[str]:
    strings = list(_strings(json.loads(data.decode("utf-8"))))
    assert any(SCRIPT in s for s in strings), f"{where}: the text should be there literally"
    return strings


def check_svg(svg: str, where: str) -> None:
    root = ET.fromstring(svg)  # well-formed: labels were escaped
    for element in root.iter():
        assert not element.tag.endswith("script"), where
        assert not any(name.startswith("on") for name in element.attrib), where


def check_export(media_type: str, name: str, data: bytes, where: str, *, needs_payload: bool = True) -> None:
    """Check one exporter's output by its media type; an unknown kind of output fails."""
    kind = media_type.split(";")[0].strip()
    if kind.endswith("wordprocessingml.document"):
        check_docx(data, where)
    elif kind.endswith("spreadsheetml.sheet"):
        cells = check_xlsx(data, where)
        assert not needs_payload or any("HYPERLINK" in c for c in cells), f"{where}: no payload reached the sheet"
    elif kind == "application/zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            assert names and all(n.endswith(".csv") for n in names), f"{where}: {names}"
            cells = [c for n in names for c in check_csv(archive.read(n).decode("utf-8"), f"{where}/{n}")]
        assert not needs_payload or any("HYPERLINK" in c for c in cells), f"{where}: no payload reached the CSV"
    elif kind == "text/csv":
        cells = check_csv(data.decode("utf-8"), where)
        assert not needs_payload or any("HYPERLINK" in c for c in cells), f"{where}: no payload reached the CSV"
    elif kind == "application/json":
        check_json(data, where)
    elif kind == "text/markdown":
        check_markdown(data.decode("utf-8"), where)
    elif kind == "text/html":
        visible = check_html(data.decode("utf-8"), where)
        assert SCRIPT in visible, f"{where}: the unit named {SCRIPT!r} should be shown as text"
    else:
        pytest.fail(f"exporter {name!r} writes {media_type}: add a check for this kind of output to "
                    "tests/test_fuzz_exports.py")


# -- a deployment with every installed plugin and markup everywhere -----------------------------


class Fixture(tuple):
    """Fixtures and drawn reports that hypothesis reports in a few words, not pages of reprs."""

    def __repr__(self):
        return "fixture" if not self or not isinstance(self[0], Report) else repr(self[0].sections)


def _plan_with_payload_names(source) -> str:
    text = source.read_text(encoding="utf-8")
    for unit_id, name in UNIT_NAMES.items():
        block = re.search(rf'id = "{re.escape(unit_id)}"\nname = "[^"]*"', text)
        assert block, unit_id
        text = text.replace(block.group(0), f'id = "{unit_id}"\nname = {json.dumps(name, ensure_ascii=False)}', 1)
    return text


def _helpers_of(plugin: str) -> None:
    """Put a plugin's test helpers (ccch_<plugin>_testing) on the import path, as its conftest does."""
    folder = str(ROOT / "plugins" / plugin / "tests")
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _seed(dep) -> dict:
    """Markup and formulas in every input the installed plugins have, through their own functions."""
    plan, db = dep.plan, dep.db
    seeded = {}
    for i, payload in enumerate(PAYLOADS):
        code, unit = [("I7", "trung-tam-vhtt"), ("I8", "xa-an-dung"), ("I8", "xa-yen-ho")][i % 3]
        progress.record_measurement(db, plan, code, unit, f"2024-0{1 + i % 3}", 1 + i, note=payload, recorded_by="fuzz")
    for unit in ("xa-an-dung", "xa-yen-ho", "trung-tam-hcc"):
        progress.record_activity_report(db, plan, unit, "2024-03", [
            {"category": "published", "count": 1 + n, "title": payload, "link": "https://x.example/" + str(n)}
            for n, payload in enumerate(PAYLOADS)], note=SCRIPT, submitted_by="fuzz", now=MARCH)
    names = set(dep.pm.plugin_names())
    if "survey" in names:
        from ccch_survey.definition import load_definition
        from ccch_survey.store import add_placement, save_survey

        _helpers_of("survey")
        from ccch_survey_testing import SIPAS, store_response

        save_survey(db, load_definition(SIPAS))
        for n, payload in enumerate(PAYLOADS):
            placement = add_placement(db, plan, "sipas", ["xa-an-dung.mot-cua", "trung-tam-hcc", "xa-yen-ho"][n % 3],
                                      payload, now=MARCH)
            store_response(dep, placement, {"chung": "5", "tiep-can.1": "4"}, when=MARCH,
                           text={"gop-y-them": (payload,)})
        seeded["survey"] = placement.code
    if "contest" in names:
        from ccch_contest import attempts as A
        from ccch_contest import bank
        from ccch_contest.participants import register

        _helpers_of("contest")
        from ccch_contest_testing import contest_data, load_contest

        contest = load_contest(dep, contest_data(now=MARCH))
        rows = [(n + 2, {"key": f"fuzz-{n}", "type": "single", "prompt": payload, "option_a": payload,
                         "option_b": "Không", "correct": "A", "category": "Chỉ tiêu"})
                for n, payload in enumerate(PAYLOADS)]
        found, audiences, problems = bank.parse_rows(rows, contest.definition)
        assert not problems, problems
        bank.import_questions(db, contest.id, found, audiences, replace=False, username=SCRIPT)
        for n, occupation in enumerate(PAYLOADS):
            person = register(dep, contest, {
                "full_name": "-Lê Văn Tám" if n == 0 else f"Nguyễn Văn {string.ascii_uppercase[n]}",
                "phone": f"09{88_000_000 + n}",
                "birth_year": "1980", "audience": "cbccvc", "unit_id": ["xa-an-dung", "xa-yen-ho"][n % 2],
                "occupation": occupation, "citizen_id": "", "consent": "1"}, client_key=f"fuzz-{n}", now=MARCH)
            if n:  # names the registration form refuses, as an older version might have stored them
                db.execute("update contest_participants set full_name = ? where id = ?", [occupation, person.id])
            started = A.start_attempt(dep, contest, person.id, now=MARCH + dt.timedelta(minutes=n))
            A.submit_attempt(dep, contest, started.attempt, {}, float(n),
                             now=MARCH + dt.timedelta(minutes=n + 5))
        seeded["contest"] = contest.slug
    if "reminders" in names:
        from ccch_reminders.reminders import record_reminder

        for payload in PAYLOADS:
            record_reminder(dep, "xa-an-dung", "2024-03", "zalo", payload, sent_by=SCRIPT,
                            now=dt.datetime(2024, 4, 3, 2, tzinfo=dt.UTC))
    return seeded


@pytest.fixture(scope="module")
def world(tmp_path_factory, duc_tho_plan_path):
    """Every installed plugin enabled, markup in every input, a signed-in client per role."""
    from ccch_core.config import load_config
    from ccch_core.deployment import Deployment
    from ccch_core.plugins import make_plugin_manager
    from ccch_core.testing import to_toml
    from ccch_core.web import create_app

    folder = tmp_path_factory.mktemp("escaping")
    (folder / "plan.toml").write_text(_plan_with_payload_names(duc_tho_plan_path), encoding="utf-8")
    plugins = sorted(installed_plugins())
    (folder / "ccch.toml").write_text(to_toml({"deployment": {
        "name": "Thoát ký tự", "plan": "plan.toml", "database": "ccch.db", "public_base_url": "https://x.example",
        "plugins": plugins, "strict_plugins": True}}), encoding="utf-8")
    config = load_config(folder / "ccch.toml")
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    dep.pm.hook.startup(deployment=dep)
    assert dep.plan.unit("xa-yen-ho").name == SCRIPT
    seeded = _seed(dep)
    app = create_app(deployment_obj=dep, test_config={"TESTING": True})
    clients = {"anonymous": app.test_client()}
    for role, unit in (("system_admin", None), ("unit_officer", "xa-an-dung")):
        accounts.create_user(dep.db, dep.plan, role.replace("_", "-"), PASSWORD, role, unit_id=unit)
        client = app.test_client()
        assert login(client, role.replace("_", "-"), PASSWORD).status_code == 302
        clients[role] = client
    yield Fixture((dep, app, clients, seeded))
    dep.close()
    shutil.rmtree(folder, ignore_errors=True)


# -- every exporter, every data table, every page -------------------------------------------------


def test_every_report_exporter_escapes_and_neutralises(world):
    from ccch_export.plugin import export_report

    from ccch_core.report import build_report

    dep, *_ = world
    assert {"docx", "xlsx", "csv", "json", "md"} <= set(dep.exporters)  # the registry, not a list of ours
    for period, unit in (("2024-03", None), ("2024-Q1", None), ("2024-03", "ubnd-huyen")):
        report = build_report(dep, Period.parse(period), unit)
        for section in report.sections:
            for block in section.blocks:
                if isinstance(block, Figure):
                    check_svg(block.svg, f"{period} {section.key} figure")
        for name, exporter in sorted(dep.exporters.items()):
            content, filename, media_type = export_report(dep, period, unit, name)
            assert filename.endswith("." + exporter.extension)
            check_export(media_type, name, content, f"report {period} {unit or 'plan'} as {name}")


def test_every_data_table_in_every_format_neutralises(world):
    from ccch_export.plugin import DATA_FORMATS, write_data_table

    dep, *_ = world
    reached = set()
    for name, table in sorted(dep.data_tables.items()):
        for fmt, (_, media_type) in sorted(DATA_FORMATS.items()):
            buffer = io.BytesIO()
            written = write_data_table(table, table.rows(dep, DataScope()), fmt, buffer, meta={"table": name})
            where = f"data table {name} as {fmt}"
            data = buffer.getvalue()
            if fmt == "json":
                strings = list(_strings(json.loads(data)))
            elif fmt == "csv":
                strings = check_csv(data.decode("utf-8"), where)
            elif fmt == "xlsx":
                strings = check_xlsx(data, where)
            else:
                pytest.fail(f"data format {fmt!r} ({media_type}): add a check to tests/test_fuzz_exports.py")
            if written:
                reached.update(p for p in PAYLOADS if any(p.strip() in s for s in strings))
    # The payloads did reach the tables (the checks above were not vacuous).
    assert {SCRIPT, LINK, "=1+1", "@SUM(A1)"} <= reached, reached


def _route_values(dep, seeded) -> dict[str, list[str]]:
    values = {"unit_id": ["xa-an-dung", "xa-yen-ho"], "period_text": ["2024-03"], "period": ["2024-03"],
              "survey_id": ["sipas"], "version": ["1"], "code": [seeded.get("survey", "KHONGCO")],
              "slug": [seeded.get("contest", "khong-co")], "fmt": ["csv", "xlsx", "png", "svg"],
              "name": sorted({n.removeprefix("contest_") for n in dep.data_tables} | set(dep.data_tables)),
              "number": ["1", "2"], "pid": ["1", "2"], "aid": ["1", "2"]}
    return values


def _urls(app, values):
    from itertools import product

    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        names = sorted(rule.arguments)
        choices = [values.get(n, ["1" if "id" in n else "khong-co"]) for n in names]
        for combo in product(*choices):
            yield rule, app.url_map.bind("localhost").build(rule.endpoint, dict(zip(names, combo)))


def test_every_page_escapes_and_every_download_neutralises(world):
    """Walk the URL map (every installed plugin), for an anonymous visitor, an admin and a unit
    officer, with the periods the data is in: no 500, no unescaped markup on any page, no
    formula in any CSV or XLSX download."""
    dep, app, clients, seeded = world
    values = _route_values(dep, seeded)
    problems, pages, downloads = [], 0, 0
    for rule, url in _urls(app, values):
        if rule.endpoint in ("auth.logout",):
            continue
        for who, client in clients.items():
            for query in ({"ky": "2024-03", "period": "2024-03"}, {"ky": "2024-Q1", "vong": "tong", "format": "xlsx",
                                                                  "period": "2024-Q1"}):
                response = client.get(url, query_string=query)
                if response.status_code >= 500:
                    problems.append(f"GET {url} as {who}: {response.status_code}")
                    continue
                if response.status_code != 200:
                    continue
                kind = response.mimetype
                where = f"GET {url}?{query} as {who}"
                try:
                    if kind == "text/html":
                        check_html(response.get_data(as_text=True), where, own_scripts=True)
                        pages += 1
                    elif kind == "text/csv":
                        check_csv(response.get_data(as_text=True), where)
                        downloads += 1
                    elif kind.endswith("spreadsheetml.sheet"):
                        check_xlsx(response.get_data(), where)
                        downloads += 1
                    elif kind == "image/svg+xml":
                        check_svg(response.get_data(as_text=True), where)
                except AssertionError as exc:
                    problems.append(str(exc))
    assert not problems, "\n".join(problems[:30])
    assert pages > 30 and downloads > 5, (pages, downloads)


# -- random reports and rows through the same writers -------------------------------------------

KIND_VALUES = {
    "text": st.one_of(st.none(), NASTY),
    "integer": st.one_of(st.none(), st.integers(-(2**53), 2**53)),
    "number": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**12), 10**12)),
    "percent": st.one_of(st.none(), st.floats(-1000, 1000, allow_nan=False)),
    "date": st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
    "datetime": st.one_of(st.none(), st.datetimes(dt.datetime(1971, 1, 1), dt.datetime(2100, 1, 1),
                                                  timezones=st.just(dt.UTC)),
                          st.sampled_from(["2024-03-05T01:02:03+00:00", "khong-phai-ngay", "", "2024-13-45"])),
}


@st.composite
def tables(draw, key="bang"):
    columns = draw(st.lists(st.sampled_from(list(KIND_VALUES)), min_size=1, max_size=5))
    cols = [Column(f"c{i}", draw(NASTY) or f"Cột {i}", kind) for i, kind in enumerate(columns)]
    rows = draw(st.lists(st.tuples(*[KIND_VALUES[c.kind] for c in cols]), max_size=5))
    return Table(key, draw(NASTY) or "Bảng", cols, rows)


@st.composite
def reports(draw, plan):
    sections = []
    for n in range(draw(st.integers(1, 3))):
        blocks = [Paragraph(SCRIPT), Table("tt", "Bảng", [Column("x", "Đơn vị")], [('=HYPERLINK("http://x")',)])]
        for _ in range(draw(st.integers(0, 3))):
            blocks.append(draw(st.one_of(st.builds(Heading, NASTY, st.integers(1, 3)), st.builds(Paragraph, NASTY),
                                         tables(f"bang{n}"))))
        sections.append(Section(f"phan{n}", draw(NASTY) or "Phần", draw(st.permutations(blocks))))
    request = ReportRequest(deployment=None, plan=plan, period=Period.parse("2024-03"), now=MARCH)
    return Fixture((Report(request, draw(NASTY) or "Báo cáo", tuple(sections)),))


@FUZZ
@given(data=st.data())
def test_every_exporter_on_random_reports(world, data):
    dep, *_ = world
    (report,) = data.draw(reports(dep.plan))
    for name, exporter in sorted(dep.exporters.items()):
        buffer = io.BytesIO()
        call_exporter(exporter, report, buffer, ExportOptions(dep))
        check_export(exporter.media_type, name, buffer.getvalue(), f"random report as {name}")


@FUZZ
@given(data=st.data())
def test_every_data_table_format_on_random_rows(world, data):
    """Each registered table's own columns, filled with random values of their kinds."""
    from ccch_export.plugin import DATA_FORMATS, write_data_table

    dep, *_ = world
    table = dep.data_tables[data.draw(st.sampled_from(sorted(dep.data_tables)))]
    rows = data.draw(st.lists(st.tuples(*[KIND_VALUES[c.kind] for c in table.columns]), max_size=6))
    for fmt in sorted(DATA_FORMATS):
        buffer = io.BytesIO()
        assert write_data_table(table, iter(rows), fmt, buffer, meta={}) == len(rows)
        where = f"{table.name} as {fmt}"
        if fmt == "csv":
            check_csv(buffer.getvalue().decode("utf-8"), where)
        elif fmt == "xlsx":
            check_xlsx(buffer.getvalue(), where)
        else:
            assert len(json.loads(buffer.getvalue())["rows"]) == len(rows)


@FUZZ
@given(rows=st.lists(st.lists(st.one_of(NASTY, st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
                              min_size=3,
                              max_size=3), max_size=6))
def test_plugins_own_csv_and_xlsx_writers(world, rows):
    """The survey's wide CSV, the contest manager's CSV and the question bank's CSV and XLSX."""
    dep, *_ = world
    names = set(dep.pm.plugin_names())
    if "survey" in names:
        from ccch_survey.exports import csv_lines

        check_csv("".join(csv_lines(["a", "=b", "c"], rows)), "survey wide CSV")
    if "contest" in names:
        from ccch_contest import bank
        from ccch_contest.exports import stream_csv

        check_csv("".join(stream_csv([Column("a", "A"), Column("b", "B"), Column("c", "C")], rows)), "contest CSV")
        bank_rows = [{"key": "k", "prompt": str(r[0]), "option_a": str(r[1]), "category": str(r[2])} for r in rows]
        out = io.StringIO()
        bank.write_csv(bank_rows, out)
        check_csv(out.getvalue(), "question bank CSV")
        buffer = io.BytesIO()
        bank.write_xlsx(bank_rows, buffer, with_help=False)
        check_xlsx(buffer.getvalue(), "question bank XLSX")
