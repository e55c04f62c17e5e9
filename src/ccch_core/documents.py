"""Administrative documents other than the periodic report, described once and written by a plugin.

A plugin that needs an official document (the initiatives plugin's decision on the awards) builds
it here as data, and :func:`write_document` hands it to whichever installed plugin registered a
writer for that kind and format (``register_document_writers``; the export plugin writes DOCX in the
Decree 30/2020 layout). The plugin that builds the document never imports the one that writes it.

Two kinds, as Decree 30/2020/NĐ-CP, Appendix I lays them out:

- :class:`Decision`, a "Quyết định" (cá biệt): the issuing body and the national name side by side,
  "QUYẾT ĐỊNH" and its summary ("Về việc …"), the competent authority, the legal bases ("Căn cứ
  …;"), "Theo đề nghị của …", "QUYẾT ĐỊNH:", the articles ("Điều 1. …"), then "Nơi nhận:" and the
  signature block; a list too long for an article goes in an annex ("Kèm theo Quyết định số …").
- :class:`PlanDocument`, a "Kế hoạch" (a commune's plan under the district's, built by
  :func:`ccch_core.local_plans.to_document`): the same header blocks with "Số: …/KH-UBND", "KẾ
  HOẠCH" and its summary, an opening paragraph ("Thực hiện …"), sections numbered I, II, III …
  with headings, paragraphs and tables, a closing paragraph ending "./.", "Nơi nhận:" and the
  signature block; the tasks in an annex ("PHỤ LỤC … Kèm theo Kế hoạch số …").
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

import attrs

from .model import Plan, Unit
from .report import Heading, Paragraph, Table

__all__ = ["Article", "Decision", "DocumentWriterMissing", "PlanDocument", "PlanSection", "Signatory", "document_writers",
           "write_document"]


class DocumentWriterMissing(LookupError):
    """No installed plugin writes this kind of document in this format. The message says, in
    Vietnamese, which distribution to install; the web shows it as it is."""


@attrs.frozen
class Signatory:
    """The signature block: an optional authority prefix line ("KT. CHỦ TỊCH", "TM. ỦY BAN NHÂN
    DÂN"), the signer's title ("CHỦ TỊCH", "PHÓ CHỦ TỊCH") and full name (blank: written by hand)."""

    title: str
    authority: str = ""
    name: str = ""


@attrs.frozen
class Article:
    """One article ("Điều N."): its text, which may hold several paragraphs separated by blank lines."""

    text: str


@attrs.frozen
class Decision:
    """A Decree 30 "Quyết định" (cá biệt).

    ``summary`` follows "Về việc" ("Về việc công nhận và khen thưởng …"); ``authority`` is the competent
    authority line under it ("CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN ĐỨC THỌ"); ``bases`` are the "Căn cứ …"
    lines, each a whole sentence without the final ";"; ``proposal`` the "Theo đề nghị của …" line
    without its final "."; ``recipients`` the "Nơi nhận" lines without "- " and ";" (the file copy
    "Lưu: VT, …" last). ``day`` None leaves "ngày … tháng … năm …" blank for the day it is signed,
    and ``number`` None leaves "Số: …". ``annex`` is a list attached after the signature, titled
    ``annex_title`` (the writer adds the "Kèm theo Quyết định số …" line).
    """

    plan: Plan
    issuer: Unit
    summary: str
    authority: str
    bases: tuple[str, ...] = attrs.field(converter=tuple)
    proposal: str
    articles: tuple[Article, ...] = attrs.field(converter=tuple)
    recipients: tuple[str, ...] = attrs.field(converter=tuple)
    signatory: Signatory
    day: dt.date | None = None
    number: str | None = None
    annex: Table | None = None
    annex_title: str = ""

    kind = "decision"

    def __attrs_post_init__(self):
        if not self.articles:
            raise ValueError("a decision needs at least one article")
        if self.annex is not None and not self.annex_title:
            raise ValueError("an annex needs a title")


def _blocks(blocks) -> tuple:
    blocks = tuple(blocks)
    for block in blocks:
        if not isinstance(block, (Heading, Paragraph, Table)):
            raise TypeError(f"a plan section holds headings, paragraphs and tables, not {type(block).__name__}")
    return blocks


@attrs.frozen
class PlanSection:
    """One roman-numbered section of a plan ("I. MỤC ĐÍCH, YÊU CẦU"): its title, written as in
    running text (the writer puts it in capitals and numbers it), and its blocks —
    :class:`ccch_core.report.Heading` ("1. Mục đích"), :class:`ccch_core.report.Paragraph` (a
    paragraph; one starting "- " is a bullet line) and :class:`ccch_core.report.Table`."""

    title: str
    blocks: tuple[Heading | Paragraph | Table, ...] = attrs.field(converter=_blocks)


@attrs.frozen
class PlanDocument:
    """A Decree 30 "Kế hoạch": a plan written as the administration issues it.

    ``summary`` is the line under "KẾ HOẠCH" ("Tuyên truyền cải cách hành chính năm 2024");
    ``opening`` the paragraphs before section I ("Thực hiện Kế hoạch số … của UBND huyện …, UBND xã
    … xây dựng Kế hoạch … như sau:"); ``sections`` the numbered sections; ``closing`` the last
    paragraph ("Trên đây là Kế hoạch …", the writer ends it "./."). ``place`` is the place of the
    date line ("An Dũng"; empty: the plan's place). ``recipients`` are the "Nơi nhận" lines
    without "- " and ";" (the file copy "Lưu: VT" last). ``day`` None leaves "ngày … tháng … năm
    …" blank for the day it is signed, ``number`` None leaves "Số: …". ``annex`` is the table of
    tasks on its own page, titled ``annex_title`` (the writer adds "Kèm theo Kế hoạch số …").
    ``plan`` is the plan whose units the document names (for the issuer's parent body).
    """

    plan: Plan
    issuer: Unit
    summary: str
    sections: tuple[PlanSection, ...] = attrs.field(converter=tuple)
    recipients: tuple[str, ...] = attrs.field(converter=tuple)
    signatory: Signatory
    opening: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    closing: str = ""
    place: str = ""
    day: dt.date | None = None
    number: str | None = None
    annex: Table | None = None
    annex_title: str = ""

    kind = "plan"

    def __attrs_post_init__(self):
        if not self.sections:
            raise ValueError("a plan needs at least one section")
        if self.annex is not None and not self.annex_title:
            raise ValueError("an annex needs a title")


def document_writers(deployment) -> dict[tuple[str, str], Any]:
    """The writers the enabled plugins registered, by ``(kind, extension)``. A writer has ``kind``
    ("decision", "plan"), ``extension`` ("docx"), ``media_type`` and ``write(document, stream)``. Two
    plugins registering the same pair is a :class:`ccch_core.plugins.PluginError`."""
    from .plugins import PluginError

    writers: dict[tuple[str, str], Any] = {}
    owners: dict[tuple[str, str], str] = {}
    for plugin_name, writer in deployment.pm.collect("register_document_writers"):
        key = (writer.kind, writer.extension)
        if key in writers:
            raise PluginError(f'a writer of {key[0]} documents as .{key[1]} is registered by both '
                              f'"{owners[key]}" and "{plugin_name}"')
        writers[key] = writer
        owners[key] = plugin_name
    return writers


def write_document(deployment, document: Decision | PlanDocument, stream: IO[bytes], extension: str = "docx") -> str:
    """Write ``document`` to ``stream`` with the writer an enabled plugin registered for its kind
    and ``extension``; returns the writer's media type (for a download). Raises
    :class:`DocumentWriterMissing` when no enabled plugin writes it."""
    writer = document_writers(deployment).get((document.kind, extension))
    if writer is None:
        raise DocumentWriterMissing(
            f"Chưa có plugin viết văn bản này thành tệp .{extension}: cài gói ccch-export "
            f"(pip install ccch-export) và thêm \"export\" vào plugins trong ccch.toml.")
    writer.write(document, stream)
    return writer.media_type
