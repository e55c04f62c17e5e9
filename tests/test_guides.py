"""The Vietnamese guides name the pages' own words: every menu item, button, tab or field a guide
tells an officer to press, choose or open (“bấm **…**”, “chọn **…**”, “vào **…**”, a path
“**Cuộc thi → Nạp tệp định nghĩa**”) exists in a template or in the code that writes the page, so a
renamed button cannot leave a guide pointing at nothing (issue #27).

Also (#27 part 5): every picture a guide shows exists and is one the test suite takes
(tests/e2e/test_guide_screenshots.py), and every picture taken is shown; every ``ccch …`` command
and option a guide names exists in the CLI of a deployment with every plugin; every page address a
guide names (`/xuat/viet?…`, `cchc.ductho.hatinh.gov.vn/k/…`) is a route of the app."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDES = sorted((ROOT / "docs").glob("huong-dan-*.md"))
# A name the officer acts on: after one of these words, in bold.
ACTION = re.compile(r"(?:bấm|chọn|vào|nút|mục|trang|menu|thẻ|ô|bảng)\s+\*\*([^*]{2,80})\*\*")


def _page_words() -> str:
    sources = [p for p in [*ROOT.glob("src/**/templates/**/*.html"), *ROOT.glob("plugins/*/src/**/templates/**/*.html"),
                           *ROOT.glob("src/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py")]
               if "build" not in p.relative_to(ROOT).parts]
    return unicodedata.normalize("NFC", "\n".join(p.read_text(encoding="utf-8") for p in sources))


PAGE_WORDS = _page_words()


@pytest.mark.parametrize("guide", GUIDES, ids=[g.name for g in GUIDES])
def test_every_name_a_guide_points_at_is_on_the_pages(guide):
    text = unicodedata.normalize("NFC", guide.read_text(encoding="utf-8"))
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}
    missing = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in ACTION.finditer(line):
            for name in re.split(r"\s*(?:→|>)\s*", match.group(1).strip().rstrip(".:")):
                if name and name not in PAGE_WORDS and name not in headings:
                    missing.append(f"{guide.name}:{number}: “{name}”")
    assert not missing, ("a guide names what no page shows (rename it as the page says, or the page as "
                         "the guide says):\n" + "\n".join(missing))


def test_the_check_finds_a_renamed_button():
    assert "Lưu và tải quyết định (Word)" in PAGE_WORDS
    assert "Lưu và tải quyết định bản Word" not in PAGE_WORDS
    assert ACTION.search("bấm **Lưu và tải quyết định bản Word**").group(1) == "Lưu và tải quyết định bản Word"


# -- pictures, commands and addresses (#27 part 5) -------------------------------------------------

IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
SCREENSHOT_TEST = ROOT / "tests" / "e2e" / "test_guide_screenshots.py"
REPORT_PAGES = ROOT / "scripts" / "report_pages.py"
"""The written report's first pages: a DOCX rendered by LibreOffice, not a page in a browser."""
PLUGINS = ("export", "survey", "contest", "feedback", "initiatives")


def _guide_texts():
    for guide in GUIDES:
        yield guide, unicodedata.normalize("NFC", guide.read_text(encoding="utf-8"))


@pytest.mark.parametrize("guide", GUIDES, ids=[g.name for g in GUIDES])
def test_every_picture_a_guide_shows_exists_and_is_taken_by_the_suite(guide):
    text = guide.read_text(encoding="utf-8")
    taken = SCREENSHOT_TEST.read_text(encoding="utf-8") + REPORT_PAGES.read_text(encoding="utf-8")
    missing, untaken = [], []
    for number, line in enumerate(text.splitlines(), 1):
        for target in IMAGE.findall(line):
            path = (guide.parent / target).resolve()
            if not path.is_file():
                missing.append(f"{guide.name}:{number}: {target}")
            elif f'"{path.name}"' not in taken:
                untaken.append(f"{guide.name}:{number}: {target}")
    assert not missing, "a guide shows a picture that is not in docs/images/:\n" + "\n".join(missing)
    assert not untaken, ("a guide shows a picture the test suite does not take (add it to PICTURES in "
                         "tests/e2e/test_guide_screenshots.py and `make guide-images`):\n" + "\n".join(untaken))


def test_every_picture_the_suite_takes_is_shown_by_its_guide():
    source = SCREENSHOT_TEST.read_text(encoding="utf-8")
    pictures = dict(re.findall(r'^\s+"([\w-]+\.png)": "(huong-dan-[\w-]+\.md)",$', source, re.MULTILINE))
    assert len(pictures) >= 15
    shown = [(name, guide) for name, guide in pictures.items()
             if f"images/{name}" not in (ROOT / "docs" / guide).read_text(encoding="utf-8")]
    assert not shown, f"pictures taken for a guide that does not show them: {shown}"


def _commands(text: str) -> list[tuple[int, str]]:
    """Every ``ccch …`` command line a guide names: in code blocks and in `inline code`."""
    found = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block and line.strip().startswith("ccch "):
            found.append((number, line.strip()))
    prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    for match in re.finditer(r"`(ccch [^`]+)`", prose):
        found.append((prose.count("\n", 0, match.start()) + 1, " ".join(match.group(1).split())))
    return found


@pytest.fixture(scope="module")
def full_deployment(tmp_path_factory):
    from ccch_testing import make_deployment_folder

    return make_deployment_folder(tmp_path_factory.mktemp("guides") / "deployment", plugins=PLUGINS)


def _command_problems(root, line: str) -> list[str]:
    """What in ``line`` (``ccch …``) the CLI does not have: a command or an option."""
    import shlex

    import click

    command, path, ctx, problems = root, ["ccch"], click.Context(root), []
    for word in shlex.split(line)[1:]:
        if word.startswith(("<", "…")):
            break  # a placeholder the reader fills in
        if word.startswith("--"):
            option = word.split("=", 1)[0]
            if not any(option in p.opts or option in p.secondary_opts for p in command.params):
                problems.append(f"“{' '.join(path)}” has no option {option}")
            continue
        if isinstance(command, click.Group):
            sub = command.get_command(ctx, word)
            if sub is None:
                problems.append(f"“{' '.join(path)}” has no command {word}")
                break
            command, path = sub, [*path, word]
            ctx = click.Context(command, parent=ctx)
    return problems


@pytest.fixture(scope="module")
def cli(full_deployment):
    from ccch_core.cli import make_cli

    return make_cli(full_deployment)


def test_every_command_a_guide_names_exists(cli):
    wrong = [f"{guide.name}:{number}: {line}: {problem}"
             for guide, text in _guide_texts() for number, line in _commands(text)
             for problem in _command_problems(cli, line)]
    assert not wrong, "a guide names a command or option that does not exist:\n" + "\n".join(wrong)


def _addresses(text: str) -> list[tuple[int, str]]:
    """Every page address a guide names in `inline code`: a path (`/xuat/viet?period=…`) or an
    address on the example host (`cchc.ductho.hatinh.gov.vn/k/7KQ2MX`)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for code in re.findall(r"`([^`\s]+)`", line):
            path = re.sub(r"^(?:https?://)?(?:<[^>]+>|[\w.-]+\.gov\.vn|[\w.-]+\.example)", "", code)
            if (path != code or code.startswith("/")) and path.startswith("/") and not path.startswith("//"):
                found.append((number, path))
    return found


def test_every_address_a_guide_names_is_a_page(full_deployment):
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    from ccch_core.web import create_app

    adapter = create_app(full_deployment).url_map.bind("cchc.example.gov.vn")
    wrong, seen = [], 0
    for guide, text in _guide_texts():
        for number, address in _addresses(text):
            path = re.sub(r"<[^>]+>", "x", address).split("?", 1)[0].split("#", 1)[0]
            seen += 1
            try:
                adapter.match(path, method="GET")
            except (RequestRedirect, MethodNotAllowed):
                pass  # the page exists (with a trailing slash, or for a form's POST)
            except NotFound:
                wrong.append(f"{guide.name}:{number}: {address}")
    assert seen >= 5
    assert not wrong, "a guide names an address no page answers:\n" + "\n".join(wrong)


def test_the_command_check_finds_a_wrong_command_and_option(cli):
    assert _command_problems(cli, "ccch survey posters sipas --kind one_stop_desk -o a.pdf") == []
    assert _command_problems(cli, "ccch survey poster sipas") == ["“ccch survey” has no command poster"]
    assert _command_problems(cli, "ccch users add a --rol x") == ["“ccch users add” has no option --rol"]
    text = "Chạy `ccch survey posters sipas --kind one_stop_desk` rồi `ccch survey poster` và\n```sh\nccch users add a --rol x\n```\n"
    assert [c for _, c in _commands(text)] == ["ccch users add a --rol x",
                                               "ccch survey posters sipas --kind one_stop_desk",
                                               "ccch survey poster"]
    assert _addresses("mở `/xuat/viet?period=2024-03` hoặc `cchc.ductho.hatinh.gov.vn/k/7KQ2MX`, không phải `ccch.toml`") == [
        (1, "/xuat/viet?period=2024-03"), (1, "/k/7KQ2MX")]
