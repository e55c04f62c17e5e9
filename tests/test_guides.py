"""The Vietnamese guides name the pages' own words: every menu item, button, tab or field a guide
tells an officer to press, choose or open (“bấm **…**”, “chọn **…**”, “vào **…**”, a path
“**Cuộc thi → Nạp tệp định nghĩa**”) exists in a template or in the code that writes the page, so a
renamed button cannot leave a guide pointing at nothing (issue #27)."""

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
