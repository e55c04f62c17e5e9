"""Pytest fixtures for ccch and its plugins (a pytest plugin, loaded through the ``pytest11``
entry point of ccch-core, so plugin test suites get them without importing anything).

Real SQLite, real deployments in temporary folders, the real Flask app with CSRF on:

- ``fresh_db``: an in-memory database with the core's tables;
- ``duc_tho_plan_path`` / ``duc_tho_plan``: the Đức Thọ 2024 example of the ccch repository (found
  from the rootdir; outside a clone of the repository, define your own ``duc_tho_plan_path``
  fixture or pass ``plan_path=`` — only ``make_deployment()`` without ``plan_path`` asks for it);
- ``make_deployment(plugins=(), plan_path=None, messages=None, **config)``: a migrated deployment in
  a new temporary folder, with the named plugins enabled (``messages``: the ``[messages]`` table);
  they must be installed, or passed through ``available=`` as
  :class:`ccch_core.plugins.AvailablePlugin` (added to the installed plugins);
- ``make_app(deployment)``: the Flask app of a deployment (testing mode, CSRF on);
- ``make_user(deployment, role, unit_id=None)``: an account, returning (username, password);
- :func:`login` and :func:`csrf_token` helpers for Flask test clients;
- :func:`cpu_limit`: fail a block that uses more than so many seconds of CPU (a bound that makes a
  test of a CPU or memory bomb fail fast on code that does not stop it, not a benchmark);
- :func:`xlsx_file`: an XLSX written by hand, including the shapes an attacker sends (a declared
  dimension that lies, a million rows, a cell at column XFD, a monstrous number format), to test an
  importer against :mod:`ccch_core.limits`.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import shutil
import signal
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from .builtin.schema import migrations as core_migrations
from .config import load_config
from .deployment import Deployment
from .planfile import load_plan
from .plugins import AvailablePlugin, installed_plugins, make_plugin_manager
from .storage import connect

__all__ = [
    "PASSWORD",
    "CpuTimeExceeded",
    "cpu_limit",
    "csrf_token",
    "duc_tho_plan",
    "duc_tho_plan_path",
    "fresh_db",
    "login",
    "make_app",
    "make_deployment",
    "make_user",
    "to_toml",
    "xlsx_file",
]

PASSWORD = "mat-khau-thu-nghiem-2024"
"""The password of every account ``make_user`` creates."""
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_counter = itertools.count(1)


def csrf_token(client, url: str = "/dang-nhap") -> str:
    """The CSRF token of the form at ``url`` (a GET through ``client``)."""
    page = client.get(url).get_data(as_text=True)
    match = _CSRF.search(page)
    if not match:
        raise AssertionError(f"no csrf_token in {url}")
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Sign in through the real login form (with its CSRF token); returns the response."""
    return client.post("/dang-nhap", data={"csrf_token": csrf_token(client), "username": username,
                                           "password": password})


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(doc: Mapping[str, object], prefix: tuple[str, ...] = ()) -> str:
    """A small TOML writer for config documents (tables of scalars, lists and sub-tables)."""
    lines, tables = [], []
    for key, value in doc.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_value(key) if not key.replace('_', '').replace('-', '').isalnum() else key} = "
                         f"{_toml_value(value)}")
    out = []
    if prefix and (lines or not tables):
        out.append("[" + ".".join(_toml_value(p) if not p.replace("_", "").replace("-", "").isalnum() else p
                                  for p in prefix) + "]")
    out.extend(lines)
    text = "\n".join(out) + ("\n" if out else "")
    for key, value in tables:
        text += "\n" + to_toml(value, (*prefix, key))
    return text


@pytest.fixture
def fresh_db():
    """An in-memory SQLite database with the core's migrations applied."""
    db = connect(":memory:")
    core_migrations.apply(db)
    yield db
    db.close()


@pytest.fixture(scope="session")
def duc_tho_plan_path(pytestconfig) -> Path:
    """Path of examples/duc-tho-2024/plan.toml in the repository being tested."""
    for base in (pytestconfig.rootpath, *pytestconfig.rootpath.parents):
        candidate = base / "examples" / "duc-tho-2024" / "plan.toml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"examples/duc-tho-2024/plan.toml not found in {pytestconfig.rootpath} or above it: outside the ccch "
        "repository, pass make_deployment(plan_path=...) your own plan file, or define a duc_tho_plan_path "
        "fixture in your conftest.py")


@pytest.fixture(scope="session")
def duc_tho_plan(duc_tho_plan_path):
    """The Đức Thọ 2024 example plan, loaded once."""
    return load_plan(duc_tho_plan_path)


@pytest.fixture
def make_deployment(tmp_path, request) -> Iterator:
    """Factory: ``make_deployment(plugins=("survey",), plan_path=None, available=None,
    plugin_settings=None, public_base_url="https://cchc.example.gov.vn", messages=None, limits=None)`` → an
    opened, migrated :class:`Deployment` in a fresh temporary folder (closed at the end of the test).

    ``plan_path``: the plan file to copy in; without it, the ``duc_tho_plan_path`` fixture's (asked
    for only then, so a plugin's own test suite outside the repository needs no clone).
    ``available``: plugins that are not installed (a test plugin module), added to the installed
    ones, so ``make_deployment(["export", "mine"], available={"mine": ...})`` enables both.
    ``limits`` becomes the ``[limits]`` table. ``more_plans``: other plan files (another year's)
    copied in beside it and listed in ``[deployment] plans``, for pages that choose a plan."""
    opened: list[Deployment] = []

    def factory(
        plugins=(),
        *,
        plan_path: Path | None = None,
        available: Mapping[str, AvailablePlugin] | None = None,
        plugin_settings: Mapping[str, dict] | None = None,
        public_base_url: str = "https://cchc.example.gov.vn",
        web: Mapping[str, object] | None = None,
        busy_timeout_ms: int = 10_000,
        messages: Mapping[str, object] | None = None,
        limits: Mapping[str, int] | None = None,
        more_plans: Sequence[Path] = (),
    ) -> Deployment:
        folder = tmp_path / f"deployment-{next(_counter)}"
        folder.mkdir()
        if plan_path is None:
            plan_path = request.getfixturevalue("duc_tho_plan_path")
        shutil.copyfile(plan_path, folder / "plan.toml")
        more = []
        for n, path in enumerate(more_plans, start=2):
            shutil.copyfile(path, folder / f"plan-{n}.toml")
            more.append(f"plan-{n}.toml")
        doc = {
            "deployment": {"name": "Thử nghiệm", "plan": "plan.toml", "database": "ccch.db",
                           "public_base_url": public_base_url, "plugins": list(plugins), "strict_plugins": True,
                           "busy_timeout_ms": busy_timeout_ms, **({"plans": more} if more else {})},
            "plugins": {k: dict(v) for k, v in (plugin_settings or {}).items()},
            "web": dict(web or {}),
        }
        if messages is not None:
            doc["messages"] = dict(messages)
        if limits is not None:
            doc["limits"] = dict(limits)
        (folder / "ccch.toml").write_text(to_toml(doc), encoding="utf-8")  # so the CLI can open it too
        config = load_config(folder / "ccch.toml")
        pm = make_plugin_manager(config.plugins, strict=True,
                                 available=None if available is None else {**installed_plugins(), **available})
        deployment = Deployment(config, pm=pm)
        deployment.plan  # noqa: B018 - validate
        deployment.plans  # noqa: B018 - and the other plans
        deployment.migrate()
        deployment.pm.hook.startup(deployment=deployment)
        opened.append(deployment)
        return deployment

    yield factory
    for deployment in opened:
        deployment.close()


@pytest.fixture
def make_app():
    """Factory: ``make_app(deployment, **flask_config)`` → the Flask app (TESTING, CSRF on)."""
    from .web import create_app

    def factory(deployment: Deployment, **flask_config):
        return create_app(deployment_obj=deployment, test_config={"TESTING": True, **flask_config})

    return factory


@pytest.fixture
def make_user():
    """Factory: ``make_user(deployment, role, unit_id=None, username=None)`` → (username, password)."""
    from . import accounts

    def factory(deployment: Deployment, role: str, unit_id: str | None = None, username: str | None = None):
        name = username or f"{role.replace('_', '-')}-{next(_counter)}"
        accounts.create_user(deployment.db, deployment.plan, name, PASSWORD, role, unit_id=unit_id)
        return name, PASSWORD

    return factory


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/></Relationships>'),
}


def _column_name(index: int) -> str:
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xlsx_file(path: str | Path, rows=(), *, dimension: str | None = None, number_format: str | None = None,
              sheet_data: Iterable[bytes] = ()) -> Path:
    """Write a minimal XLSX by hand (streamed, so a million rows take seconds) and return its path.

    ``rows``: an iterable of rows, each a list of cells (``None`` leaves the cell out, a ``str`` is
    an inline string, an ``int`` or ``float`` a number) or a ``(row number, cells)`` pair to place a
    row anywhere below the previous one. ``dimension``: the ``<dimension ref=…>`` the sheet
    declares (a lie, if you like: ``"A1:XFD1048576"``). ``number_format``: a custom format that
    every number cell carries. ``sheet_data``: chunks of raw ``<row>`` XML written after ``rows``
    (rows and cells may leave out their ``r`` numbers, as the format allows: the fastest way to a
    million rows)."""
    import zipfile
    from xml.sax.saxutils import escape

    path = Path(path)
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
    if number_format is not None:
        styles += f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{escape(number_format, {chr(34): "&quot;"})}"/></numFmts>'
    styles += ('<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
               '<fills count="2"><fill><patternFill patternType="none"/></fill>'
               '<fill><patternFill patternType="gray125"/></fill></fills>'
               '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
               '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
               '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
               f'<xf numFmtId="{164 if number_format is not None else 0}" fontId="0" fillId="0" borderId="0" xfId="0" '
               'applyNumberFormat="1"/></cellXfs></styleSheet>')
    number_style = ' s="1"' if number_format is not None else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/styles.xml", styles)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            if dimension:
                head += f'<dimension ref="{dimension}"/>'
            sheet.write((head + "<sheetData>").encode())
            number = 0
            chunk: list[str] = []
            for row in rows:
                if isinstance(row, tuple):
                    number, cells = row
                else:
                    number, cells = number + 1, row
                parts = [f'<row r="{number}">']
                for index, value in enumerate(cells, start=1):
                    if value is None:
                        continue
                    ref = f"{_column_name(index)}{number}"
                    if isinstance(value, str):
                        parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
                    else:
                        parts.append(f'<c r="{ref}"{number_style}><v>{value!r}</v></c>')
                parts.append("</row>")
                chunk.append("".join(parts))
                if len(chunk) >= 10_000:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            sheet.write("".join(chunk).encode())
            for raw in sheet_data:
                sheet.write(raw)
            sheet.write(b"</sheetData></worksheet>")
    return path


class CpuTimeExceeded(AssertionError):
    """A block of a test used more CPU than :func:`cpu_limit` allowed."""


@contextlib.contextmanager
def cpu_limit(seconds: float, what: str = "the block"):
    """Fail with :class:`CpuTimeExceeded` once the block has used ``seconds`` of CPU time.

    Where the platform has ``SIGPROF`` (Linux, macOS), the block is interrupted when the time is
    up, so a test of a bomb fails in seconds on code that would otherwise run for minutes or eat
    the machine's memory; elsewhere the time is checked when the block ends. Call it from the main
    thread (signals are delivered there). A bound, not a benchmark: keep it generous."""
    start = time.process_time()
    interrupt = hasattr(signal, "setitimer") and hasattr(signal, "SIGPROF")

    def expired(_signum, _frame):
        raise CpuTimeExceeded(f"{what} used more than {seconds} s of CPU")

    if interrupt:
        previous = signal.signal(signal.SIGPROF, expired)
        signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        if interrupt:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous)
        # Checked even when the block raised: code under test may have caught the interruption
        # and raised something else (a broad ``except Exception``).
        used = time.process_time() - start
        if used > seconds:
            raise CpuTimeExceeded(f"{what} used {used:.2f} s of CPU, more than {seconds} s")
