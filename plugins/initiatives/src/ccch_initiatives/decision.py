"""The decision on the awards (Quyết định công nhận và khen thưởng các sáng kiến đạt giải).

The secretary drafts it on the call's page: what the results fix (the awarded entries, the annex
listing them, the count of each award in Article 1) comes from the awards decided; what only the
office knows (the number, the date, the legal bases, the proposer, who signs, who carries it out,
who receives it) is a short form, pre-filled and saved per call so the next download keeps it. The
document itself is written by whichever plugin registered a decision writer (the export plugin:
DOCX in the Decree 30/2020 layout) through :func:`ccch_core.documents.write_document`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import attrs

from ccch_core import audit
from ccch_core.documents import Article, Decision, Signatory
from ccch_core.periods import to_local, utc_now
from ccch_core.report import Column, Table
from ccch_core.storage import write_transaction

from .calls import Call, plan_of_call
from .definition import ENTRANTS, clean_block, clean_line
from .judging import AwardRow, awards_of

SIGNERS = {
    "chairman": ("", "Chủ tịch"),
    "vice_chairman": ("KT. Chủ tịch", "Phó Chủ tịch"),
}
SIGNER_LABELS = {"chairman": "Chủ tịch ký", "vice_chairman": "Phó Chủ tịch ký thay (KT. Chủ tịch)"}
MAX_LINES = 20
MAX_LINE = 500
# The laws a district or commune award decision is based on. The Law on Organisation of Local
# Government of 2015 (amended 2019) was replaced from 1 July 2025 by the law of 16 June 2025, so
# the pre-filled basis follows the decision's date; the office checks it, as it checks every line.
_LOCAL_GOVERNMENT_2015 = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, "
                          "bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương "
                          "ngày 22 tháng 11 năm 2019")
_LOCAL_GOVERNMENT_2025 = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025"
_EMULATION_2022 = "Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022"
_NUMBER = re.compile(r"^[0-9]{1,6}$")


class DecisionFormError(ValueError):
    """A draft with problems; ``errors`` maps each form field to a Vietnamese message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@attrs.frozen
class DecisionDraft:
    """What the office fills in; everything else comes from the call and its awards."""

    number: str = ""
    day: dt.date | None = None
    bases: tuple[str, ...] = ()
    proposal: str = ""
    rewards: str = ""
    executors: str = ""
    recipients: tuple[str, ...] = ()
    signer: str = "chairman"
    signer_name: str = ""

    def as_form(self) -> dict[str, str]:
        """The draft as the form's field values."""
        return {"number": self.number, "day": self.day.isoformat() if self.day else "",
                "bases": "\n".join(self.bases), "proposal": self.proposal, "rewards": self.rewards,
                "executors": self.executors, "recipients": "\n".join(self.recipients), "signer": self.signer,
                "signer_name": self.signer_name}


def issuer_of(plan):
    """The body that issues the decision: the plan's issuing unit (the People's Committee)."""
    return plan.unit(plan.issuing_unit)


def _full_name(name: str) -> str:
    return re.sub(r"^UBND\b", "Ủy ban nhân dân", name)


def default_draft(plan, call: Call, today: dt.date | None = None) -> DecisionDraft:
    """A draft pre-filled from the plan and the call: the laws in force on ``today``, the plan and
    the call's rules as bases, the organiser's head as proposer, the chairman signing."""
    today = today or to_local(utc_now()).date()
    law = _LOCAL_GOVERNMENT_2025 if today >= dt.date(2025, 7, 1) else _LOCAL_GOVERNMENT_2015
    plan_basis = f"Căn cứ {plan.document_type} số {plan.number_and_symbol}"
    if plan.issued_on:
        plan_basis += f" ngày {plan.issued_on.day:02d}/{plan.issued_on.month:02d}/{plan.issued_on.year}"
    plan_basis += f" của {_full_name(issuer_of(plan).name)} {plan.title[:1].lower()}{plan.title[1:]}"
    organiser = plan.unit(call.definition.organiser) if call.definition.organiser and \
        plan.has_unit(call.definition.organiser) else None
    if organiser is not None and organiser.name.startswith("Phòng "):
        head = "Trưởng phòng " + organiser.name.removeprefix("Phòng ")
    elif organiser is not None:
        head = "Thủ trưởng " + organiser.name
    else:
        head = "Ban Tổ chức cuộc thi"
    executors = ", ".join(x for x in (
        head if organiser is not None else "",
        "Thủ trưởng các cơ quan, đơn vị có liên quan",
        "các tác giả, nhóm tác giả và tập thể có tên tại Điều 1",
    ) if x)
    return DecisionDraft(
        bases=(law, _EMULATION_2022, plan_basis, f"Căn cứ Thể lệ {call.title}"),
        proposal=f"Theo đề nghị của {head}",
        rewards=("Các tác giả, nhóm tác giả và tập thể có sáng kiến đạt giải nêu tại Điều 1 được cấp Giấy "
                 "chứng nhận và được khen thưởng theo Thể lệ cuộc thi."),
        executors=executors,
        recipients=("Như Điều 3", "Lưu: VT"),
    )


def parse_form(form) -> DecisionDraft:
    """A draft from the form's fields, every field bounded; :class:`DecisionFormError` naming each
    field with a problem (the page shows the form again, filled in)."""
    errors: dict[str, str] = {}

    def line(name: str, limit: int = MAX_LINE) -> str:
        value = clean_line(str(form.get(name) or ""))
        if len(value) > limit:
            errors[name] = f"Dài {len(value)} ký tự, tối đa {limit}."
        return value

    def lines(name: str) -> tuple[str, ...]:
        found = [clean_line(x) for x in clean_block(str(form.get(name) or "")[:MAX_LINES * MAX_LINE * 2]).split("\n")]
        found = [x for x in found if x]
        if len(found) > MAX_LINES:
            errors[name] = f"{len(found)} dòng, tối đa {MAX_LINES}."
        elif any(len(x) > MAX_LINE for x in found):
            errors[name] = f"Có dòng dài quá {MAX_LINE} ký tự."
        return tuple(found)

    number = line("number", 20)
    if number and not _NUMBER.match(number):
        errors["number"] = f"Số quyết định “{number}” chỉ gồm chữ số (để trống nếu chưa có số)."
    day = None
    raw_day = line("day", 20)
    if raw_day:
        try:
            day = dt.date.fromisoformat(raw_day)
            if not 2000 <= day.year <= 2100:
                raise ValueError
        except ValueError:
            errors["day"] = f"Ngày “{raw_day}” không hợp lệ (dạng 2024-12-20; để trống nếu chưa ký)."
            day = None
    signer = str(form.get("signer") or "chairman")
    if signer not in SIGNERS:
        errors["signer"] = "Chọn người ký trong danh sách."
        signer = "chairman"
    draft = DecisionDraft(number=number, day=day, bases=lines("bases"), proposal=line("proposal"),
                          rewards=line("rewards", 2000), executors=line("executors", 2000),
                          recipients=lines("recipients"), signer=signer, signer_name=line("signer_name", 100))
    for name, value, what in (("rewards", draft.rewards, "hình thức khen thưởng (Điều 2)"),
                              ("executors", draft.executors, "những ai chịu trách nhiệm thi hành (Điều 3)")):
        if not value and name not in errors:
            errors[name] = f"Cần ghi {what}."
    if errors:
        raise DecisionFormError(errors)
    return draft


def saved_draft(db, plan, call: Call) -> DecisionDraft:
    """The draft saved for ``call``, or the default one."""
    row = db.execute("select fields from initiative_decisions where call_id = ?", [call.id]).fetchone()
    if row is None:
        return default_draft(plan, call)
    data: dict[str, Any] = json.loads(row[0])
    day = dt.date.fromisoformat(data["day"]) if data.get("day") else None
    return DecisionDraft(number=data.get("number", ""), day=day, bases=tuple(data.get("bases", ())),
                         proposal=data.get("proposal", ""), rewards=data.get("rewards", ""),
                         executors=data.get("executors", ""), recipients=tuple(data.get("recipients", ())),
                         signer=data.get("signer", "chairman") if data.get("signer") in SIGNERS else "chairman",
                         signer_name=data.get("signer_name", ""))


def save_draft(deployment, call: Call, draft: DecisionDraft, *, actor: str | None) -> None:
    """Keep ``draft`` for ``call`` (audited: who changed the decision's text, when)."""
    fields = draft.as_form()
    fields["bases"] = list(draft.bases)
    fields["recipients"] = list(draft.recipients)
    db = deployment.db
    with write_transaction(db):
        db.execute("insert into initiative_decisions (call_id, fields, updated_at, updated_by) values (?, ?, ?, ?) "
                   "on conflict (call_id) do update set fields = excluded.fields, updated_at = excluded.updated_at, "
                   "updated_by = excluded.updated_by",
                   [call.id, json.dumps(fields, ensure_ascii=False), utc_now().isoformat(), actor])
        audit.record(db, actor, "initiatives.decision", call.title,
                     label="Soạn quyết định khen thưởng sáng kiến đạt giải")


def _counted(names: list[str]) -> str:
    parts = [f"{count:02d} {name}" if count < 10 else f"{count} {name}" for name, count in _counts(names)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " và " + parts[-1]


def _counts(names: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return list(counts.items())


def _awarded_in_order(call: Call, awards: list[AwardRow]) -> list[AwardRow]:
    order = {a.key: i for i, a in enumerate(call.definition.awards)}
    categories = {c.key: i for i, c in enumerate(call.definition.categories)}
    return sorted(awards, key=lambda r: (order.get(r.award, 99), categories.get(r.category, 99), r.rank))


def counts_of(call: Call, awards: list[AwardRow]) -> list[tuple[str, int]]:
    """How many of each award, in the call's order of awards."""
    return _counts([r.award_name for r in _awarded_in_order(call, awards)])


def annex_table(plan, call: Call, awards: list[AwardRow]) -> Table:
    """The annex: one row per awarded entry, by award then field then rank."""
    categories = {c.key: c.name for c in call.definition.categories}
    rows = []
    for i, row in enumerate(_awarded_in_order(call, awards), 1):
        entry = row.entry
        unit = plan.unit(entry.unit_id).name if plan.has_unit(entry.unit_id) else entry.unit_id
        authors = ", ".join(entry.author_names) or ENTRANTS.get(entry.entrant_kind, "")
        rows.append((i, entry.title, authors, unit, categories.get(row.category, row.category), row.award_name,
                     round(row.score, 2)))
    return Table("sang_kien_dat_giai", "", [
        Column("stt", "STT", "integer"), Column("title", "Tên sáng kiến"), Column("authors", "Tác giả"),
        Column("unit", "Đơn vị"), Column("category", "Lĩnh vực"), Column("award", "Giải"),
        Column("score", "Điểm", "number")], rows)


def build_decision(plan, call: Call, awards: list[AwardRow], draft: DecisionDraft) -> Decision:
    """The decision for ``awards`` (not empty) with the office's ``draft``."""
    if not awards:
        raise ValueError("no awards decided yet")
    issuer = issuer_of(plan)
    issuer_name = _full_name(issuer.name)
    in_order = _awarded_in_order(call, awards)
    article_1 = (f"Công nhận và khen thưởng {len(awards):02d} sáng kiến đạt giải {call.title}, gồm: "
                 f"{_counted([r.award_name for r in in_order])} (có danh sách kèm theo).")
    article_3 = f"Quyết định này có hiệu lực kể từ ngày ký.\n\n{draft.executors} chịu trách nhiệm thi hành Quyết định này."
    prefix, title = SIGNERS[draft.signer]
    return Decision(
        plan=plan, issuer=issuer,
        summary=f"công nhận và khen thưởng các sáng kiến đạt giải {call.title}",
        authority=f"Chủ tịch {issuer_name}",
        bases=draft.bases, proposal=draft.proposal,
        articles=[Article(article_1), Article(draft.rewards), Article(article_3)],
        recipients=draft.recipients, signatory=Signatory(title=title, authority=prefix, name=draft.signer_name),
        day=draft.day, number=draft.number or None,
        annex=annex_table(plan, call, awards), annex_title="Danh sách sáng kiến đạt giải")


def decision_for(deployment, call: Call, draft: DecisionDraft | None = None) -> Decision:
    """The decision on ``call``'s awards with ``draft`` (default: the saved one); ValueError when no
    award is decided yet."""
    db = deployment.db
    plan = plan_of_call(deployment, call)
    return build_decision(plan, call, awards_of(db, call), draft or saved_draft(db, plan, call))
