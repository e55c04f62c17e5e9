"""Reports the officer writes (báo cáo do cán bộ hoàn thiện): draft, final, frozen.

The narrative (:mod:`ccch_core.narrative`) is drafted from the data; the officer writes the
sections that need judgement (direction given, assessment, next tasks, proposals) on the web page,
saves drafts, and marks the report final. A final report is *frozen*: the narrative with the
figures it was written from (``ccch.narrative/1`` JSON) and the DOCX exactly as it was produced,
both stored. A later correction of the data never changes it; the page shows the correction as a
difference between the frozen figures and today's.

Table ``written_reports`` (migration set ``export``): one row per plan, period and scope (``unit_id``
is ``""`` for the whole plan).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Mapping
from typing import Any

import attrs
from sqlite_utils.migrations import Migrations

from ccch_core import audit
from ccch_core.narrative import (
    Narrative,
    Suggestion,
    draft_narrative,
    load_template,
    narrative_report,
    number_vi,
)
from ccch_core.periods import Period
from ccch_core.report import build_report, call_exporter, lower_first
from ccch_core.storage import parse_utc, utc_now_iso, write_transaction

migrations = Migrations("export")

EDITABLE_SECTIONS = ("chi_dao", "danh_gia", "phuong_huong", "de_xuat")
"""The sections the officer writes, in the order of the default template."""

MAX_TEXT = 20_000
"""The longest text one section may hold (characters): a report, not a file store."""


@migrations()
def m001_written_reports(db):
    """The reports the officers write: texts, state, and what a final report froze."""
    db["written_reports"].create(
        {"id": int, "plan_id": str, "period": str, "unit_id": str, "status": str, "texts": str,
         "revision": int, "updated_at": str, "updated_by": str, "finalised_at": str, "finalised_by": str,
         "frozen": str, "document": bytes},
        pk="id", not_null=("plan_id", "period", "unit_id", "status", "texts", "revision", "updated_at"),
        defaults={"status": "draft", "revision": 1, "unit_id": ""},
    )
    db["written_reports"].create_index(["plan_id", "period", "unit_id"], unique=True)


class WrittenReportError(ValueError):
    """A refused change to a written report; ``field`` names the section or action, the message
    is Vietnamese (it is shown on the page as it is)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@attrs.frozen
class WrittenReport:
    """The officer's texts for a report, its state (``draft`` or ``final``) and, once final, the
    frozen narrative and document."""

    period: Period
    unit_id: str | None
    status: str
    texts: Mapping[str, str]
    revision: int
    updated_at: dt.datetime
    updated_by: str | None
    finalised_at: dt.datetime | None = None
    finalised_by: str | None = None
    frozen: Mapping[str, Any] | None = None
    document: bytes | None = None

    @property
    def final(self) -> bool:
        """Whether the report was marked final (and so frozen)."""
        return self.status == "final"


@attrs.frozen
class Difference:
    """A drafted sentence that reads differently today than in the frozen report."""

    key: str
    before: str | None
    """The frozen sentence; None when the sentence did not exist then."""
    after: str | None
    """Today's sentence; None when its data is gone."""


def get_written(db, plan, period: Period, unit_id: str | None) -> WrittenReport | None:
    """The written report of ``plan`` for ``period`` and scope, or None."""
    row = next(db.query("select * from written_reports where plan_id = ? and period = ? and unit_id = ?",
                        [plan.id, str(period), unit_id or ""]), None)
    if row is None:
        return None
    return WrittenReport(
        period=period, unit_id=unit_id, status=row["status"], texts=json.loads(row["texts"]),
        revision=row["revision"], updated_at=parse_utc(row["updated_at"]), updated_by=row["updated_by"],
        finalised_at=parse_utc(row["finalised_at"]) if row["finalised_at"] else None,
        finalised_by=row["finalised_by"], frozen=json.loads(row["frozen"]) if row["frozen"] else None,
        document=row["document"],
    )


def check_texts(texts: Mapping[str, Any]) -> dict[str, str]:
    """The officer's texts, cleaned: known sections only, line ends normalised, each bounded."""
    cleaned = {}
    for key, value in texts.items():
        if key not in EDITABLE_SECTIONS:
            raise WrittenReportError(key, f"Mục “{key}” không phải mục cán bộ viết.")
        text = str(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        if len(text) > MAX_TEXT:
            raise WrittenReportError(key, f"Mục quá dài: {number_vi(len(text))} ký tự, tối đa {number_vi(MAX_TEXT)}.")
        if text:
            cleaned[key] = text
    return cleaned


def template_of(deployment):
    """The deployment's narrative template (``[plugins.export] template``) or the default."""
    name = deployment.plugin_settings("export").get("template")
    return load_template(deployment.config.folder / name if name else None)


def month_material(deployment, period: Period, unit_id: str | None) -> dict[str, list[Suggestion]]:
    """For a quarter, half-year or year: what the final reports of its months said, by section,
    offered as material for the roll-up (each line attributed to its month)."""
    if period.type.months == 1:
        return {}
    material: dict[str, list[Suggestion]] = {}
    for month in period.months():
        written = get_written(deployment.db, deployment.plan, month, unit_id)
        if written is None or not written.final:
            continue
        for key, text in written.texts.items():
            lines = [line.strip().lstrip("- ").strip() for line in text.split("\n") if line.strip()]
            if lines:
                material.setdefault(key, []).append(
                    Suggestion(f"Báo cáo {lower_first(month.label_vi)} (đã hoàn thành)", lines))
    return material


def draft(deployment, period: Period, unit_id: str | None, *, texts: Mapping[str, str] | None = None,
          now: dt.datetime | None = None) -> Narrative:
    """Today's narrative of the report with the officer's texts (saved ones unless ``texts``)."""
    if texts is None:
        written = get_written(deployment.db, deployment.plan, period, unit_id)
        texts = written.texts if written else {}
    return draft_narrative(deployment, period, unit_id, now=now, template=template_of(deployment), texts=texts,
                           material=month_material(deployment, period, unit_id))


def narrative_document(deployment, narrative: Narrative, exporter, *, use_suggestions: bool = True) -> bytes:
    """The narrative written by ``exporter`` (DOCX…), with the indicator table as an appendix."""
    from .plugin import report_options

    data = build_report(deployment, narrative.period, narrative.unit_id, now=narrative.drafted_at)
    appendix = [t for t in data.tables() if t.key == "chi_tieu"]
    report = narrative_report(narrative, deployment, appendix=appendix, use_suggestions=use_suggestions)
    buffer = io.BytesIO()
    call_exporter(exporter, report, buffer, report_options(deployment, report))
    return buffer.getvalue()


def save(deployment, period: Period, unit_id: str | None, texts: Mapping[str, Any], *, by: str | None,
         final: bool = False, now: dt.datetime | None = None) -> WrittenReport:
    """Save the officer's texts as a draft, or (``final``) mark the report final and freeze it.

    A final report is not changed again: saving raises :class:`WrittenReportError`.
    """
    db, plan = deployment.db, deployment.plan
    cleaned = check_texts(texts)
    stamp = utc_now_iso(now)
    frozen = document = None
    if final:
        narrative = draft_narrative(deployment, period, unit_id, now=now or parse_utc(stamp),
                                    template=template_of(deployment), texts=cleaned,
                                    material=month_material(deployment, period, unit_id))
        frozen = json.dumps(narrative.to_dict(), ensure_ascii=False, default=str)
        # The final document holds what the officer wrote, not the suggestions.
        document = narrative_document(deployment, narrative, deployment.exporters["docx"], use_suggestions=False)
    target = f"{period}/{unit_id or plan.id}"
    with write_transaction(db):
        row = db.execute("select id, status, revision from written_reports where plan_id = ? and period = ? "
                         "and unit_id = ?", [plan.id, str(period), unit_id or ""]).fetchone()
        if row and row[1] == "final":
            raise WrittenReportError("status", "Báo cáo đã hoàn thành và được chốt số liệu; không sửa được nữa.")
        values = {"texts": json.dumps(cleaned, ensure_ascii=False), "updated_at": stamp, "updated_by": by,
                  "status": "final" if final else "draft"}
        if final:
            values.update(finalised_at=stamp, finalised_by=by, frozen=frozen, document=document)
        if row:
            db["written_reports"].update(row[0], {**values, "revision": row[2] + 1})
        else:
            db["written_reports"].insert({"plan_id": plan.id, "period": str(period), "unit_id": unit_id or "",
                                          "revision": 1, **values})
        audit.record(db, by, "export.report_final" if final else "export.report_draft", target,
                     "hoàn thành, chốt số liệu" if final else "lưu bản nháp", now=now)
    return get_written(db, plan, period, unit_id)


def differences(frozen: Mapping[str, Any], today: Narrative) -> list[Difference]:
    """The drafted sentences whose text changed since ``frozen`` was made (a data correction
    shows here; the frozen report itself stays as it was sent)."""
    before = {s["key"]: s["text"] for section in frozen.get("sections", [])
              for s in [*section.get("sentences", []), *(x for p in section.get("parts", []) for x in p["sentences"])]}
    after = {k: s.text for k, s in today.sentences().items()}
    keys = list(before) + [k for k in after if k not in before]
    return [Difference(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]
