"""docs/plugins.md builds this plugin step by step: its code excerpts must be the real code.

Every fenced block of the tutorial whose first line names a file of this distribution
(``# src/ccch_reminders/schema.py``, ``{# src/ccch_reminders/templates/reminders/index.html #}``)
must appear in that file, piece by piece between elision lines (``# …`` or ``{# … #}``).

This test belongs to the ccch repository (it reads the repository's docs/); delete it when you
copy this example to start a plugin of your own.
"""

from __future__ import annotations

import re
from pathlib import Path

DISTRIBUTION = Path(__file__).resolve().parents[1]  # examples/reminders
GUIDE = DISTRIBUTION.parents[1] / "docs" / "plugins.md"

FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEADER = re.compile(r"^(?:#|\{#) ((?:src|tests)/\S+|pyproject\.toml)(?: #\})?$")
ELISIONS = {"# …", "{# … #}"}


def excerpts(guide: str) -> list[tuple[str, str]]:
    """(file, piece of code) for every piece of every excerpt that names a file."""
    found = []
    for block in FENCE.findall(guide):
        lines = block.splitlines()
        header = HEADER.match(lines[0]) if lines else None
        if header is None:
            continue  # a shell session, a config snippet: not a file of the plugin
        pieces: list[list[str]] = [[]]
        for line in lines[1:]:
            if line.strip() in ELISIONS:
                pieces.append([])
            else:
                pieces[-1].append(line)
        found.extend((header.group(1), "\n".join(p).strip("\n")) for p in pieces if "".join(p).strip())
    return found


def stale_excerpts(guide: str) -> list[str]:
    """Pieces of the guide that are not, verbatim, in the file they name."""
    return [f"{path}:\n{piece}" for path, piece in excerpts(guide)
            if piece not in (DISTRIBUTION / path).read_text(encoding="utf-8")]


def test_every_excerpt_of_the_tutorial_is_the_real_code():
    stale = stale_excerpts(GUIDE.read_text(encoding="utf-8"))
    assert not stale, "docs/plugins.md shows code that is not in examples/reminders:\n\n" + "\n\n".join(stale)


def test_the_tutorial_shows_every_file_of_the_plugin():
    shown = {path for path, _ in excerpts(GUIDE.read_text(encoding="utf-8"))}
    assert shown == {
        "pyproject.toml",
        "src/ccch_reminders/plugin.py",
        "src/ccch_reminders/schema.py",
        "src/ccch_reminders/reminders.py",
        "src/ccch_reminders/cli.py",
        "src/ccch_reminders/web.py",
        "src/ccch_reminders/templates/reminders/index.html",
        "src/ccch_reminders/report.py",
        "src/ccch_reminders/sending.py",
        "tests/conftest.py",
        "tests/test_reminders.py",
        "tests/test_sending.py",
    }


def test_the_tutorial_shows_every_hook_the_plugin_implements():
    plugin_excerpts = "\n".join(piece for path, piece in excerpts(GUIDE.read_text(encoding="utf-8"))
                                if path == "src/ccch_reminders/plugin.py")
    hooks = re.findall(r"^@hookimpl\ndef (\w+)", (DISTRIBUTION / "src/ccch_reminders/plugin.py").read_text(), re.MULTILINE)
    assert len(hooks) == 6
    assert [h for h in hooks if f"def {h}(" not in plugin_excerpts] == []


def test_a_changed_excerpt_is_caught():
    guide = ("```python\n# src/ccch_reminders/schema.py\nmigrations = Migrations(\"reminders\")\n# …\n"
             "migrations = Migrations(\"hello\")\n```\n\n```sh\n$ ccch plugins\n```\n")
    assert excerpts(guide) == [("src/ccch_reminders/schema.py", 'migrations = Migrations("reminders")'),
                               ("src/ccch_reminders/schema.py", 'migrations = Migrations("hello")')]
    assert stale_excerpts(guide) == ['src/ccch_reminders/schema.py:\nmigrations = Migrations("hello")']
