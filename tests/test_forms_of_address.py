"""One form of address per reader (docs/web.md, "Forms of address"): officers are "anh/chị",
citizens answering a survey or sending feedback to an agency "Ông/Bà", contestants "bạn", and a
page that anyone may see (an error, "busy") addresses no one. Every template of the core and of the
plugins is put in one of those groups by its path, and its text may not use another group's form;
the strings that the survey and feedback plugins show citizens from Python and JavaScript, and the
core's officer messages, are checked the same way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORMS = {
    "bạn": re.compile(r"\bbạn\b", re.IGNORECASE),
    "Ông/Bà": re.compile(r"\bông\s*/\s*bà\b", re.IGNORECASE),
    "anh/chị": re.compile(r"\banh\s*/\s*chị\b", re.IGNORECASE),
}
ALLOWED = {"officer": "anh/chị", "citizen": "Ông/Bà", "contestant": "bạn", "anyone": None}

CITIZEN = {
    # The survey a citizen answers (and its preview in the builder, which shows that same form).
    "survey/form.html", "survey/thanks.html", "survey/closed.html", "survey/throttled.html",
    "survey/too_large.html", "survey/enrol.html", "survey/_preview.html",
    # Questions and feedback to an agency (FixMyStreet's shape: the citizen writes to the body).
    "feedback/form.html", "feedback/index.html", "feedback/status.html", "feedback/refused.html",
    "feedback/lookup.html", "feedback/answer.html", "feedback/embed.html",
}
CONTESTANT = {
    # The contest's public pages, as provincial contest sites address their entrants.
    "contest/_public.html", "contest/_landing_static.html", "contest/shell.html", "contest/index.html",
    "contest/landing.html", "contest/register.html", "contest/_register_form.html", "contest/confirm.html", "contest/identify.html",
    "contest/attempt.html", "contest/result.html", "contest/review.html", "contest/mine.html",
    "contest/leaderboard.html", "contest/prizes.html", "contest/public_error.html",
    # The call for initiatives' public pages: entrants of a contest too.
    "initiatives/call.html", "initiatives/public_index.html", "initiatives/public_results.html",
    "initiatives/receipt.html", "initiatives/entry_form.html", "initiatives/lookup.html",
}
ANYONE = {"base.html", "public_base.html", "error.html", "busy.html"}
"""Layouts and the pages every visitor may meet (an error, the queue when the site is busy)."""

SOURCES = {
    "plugins/survey/src/ccch_survey/web.py": "citizen",
    "plugins/survey/src/ccch_survey/forms.py": "citizen",
    "plugins/survey/src/ccch_survey/posters.py": "citizen",
    "plugins/survey/src/ccch_survey/static/kiosk.js": "citizen",
    "plugins/feedback/src/ccch_feedback/posters.py": "citizen",
    "plugins/feedback/src/ccch_feedback/messages.py": "citizen",
    "src/ccch_core/web/auth.py": "officer",
    "src/ccch_core/web/reports.py": "officer",
    "src/ccch_core/web/dashboard.py": "officer",
    "src/ccch_core/web/plan_choice.py": "officer",
    "src/ccch_core/web/__init__.py": "anyone",  # the error pages' texts
}
"""Python and JavaScript whose visible strings have one kind of reader."""


def templates() -> list[tuple[str, Path]]:
    """(name as Flask finds it, path) of every template of the core and the plugins."""
    folders = [ROOT / "src" / "ccch_core" / "web" / "templates",
               *sorted(ROOT.glob("plugins/*/src/*/templates"))]
    return [(path.relative_to(folder).as_posix(), path)
            for folder in folders for path in sorted(folder.rglob("*.html"))]


def reader_of(name: str) -> str:
    if name in ANYONE:
        return "anyone"
    if name in CITIZEN:
        return "citizen"
    if name in CONTESTANT:
        return "contestant"
    return "officer"


def offending(text: str, reader: str) -> list[str]:
    """The lines of ``text`` that address ``reader`` in a form not theirs."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for form, pattern in FORMS.items():
            if form != ALLOWED[reader] and pattern.search(line):
                found.append(f"line {number}: “{form}” in {line.strip()[:120]!r}")
    return found


def test_templates_address_each_reader_in_one_form():
    problems = []
    for name, path in templates():
        reader = reader_of(name)
        for line in offending(path.read_text(encoding="utf-8"), reader):
            problems.append(f"{path.relative_to(ROOT)} ({reader}): {line}")
    assert not problems, "\n".join(problems)


def test_sources_address_their_reader_in_one_form():
    problems = []
    for relative, reader in SOURCES.items():
        for line in offending((ROOT / relative).read_text(encoding="utf-8"), reader):
            problems.append(f"{relative} ({reader}): {line}")
    assert not problems, "\n".join(problems)


def test_every_named_public_template_exists():
    """A template renamed or removed out of CITIZEN/CONTESTANT/ANYONE would fall into the officers'
    group silently; this keeps the lists true."""
    names = {name for name, _ in templates()}
    assert len(names) > 100  # the folders were found
    assert not (CITIZEN | CONTESTANT | ANYONE) - names


@pytest.mark.parametrize(("text", "reader", "caught"), [
    ("<h1>Cảm ơn bạn!</h1>", "citizen", "bạn"),
    ("Những gì Bạn đã nhập vẫn được giữ nguyên.", "officer", "bạn"),
    ("Mời Ông / Bà làm bài", "contestant", "Ông/Bà"),
    ("Anh/Chị vui lòng thử lại", "anyone", "anh/chị"),
    ("Cảm ơn Ông/Bà đã góp ý!", "citizen", None),
    ("Những gì anh/chị đã nhập", "officer", None),
    ("Chúc bạn làm bài tốt!", "contestant", None),
    ("Bạn đọc báo cáo", "anyone", "bạn"),
])
def test_the_check_catches_a_wrong_form(text, reader, caught):
    found = offending(text, reader)
    assert (found[0].split("“")[1].split("”")[0] if found else None) == caught
