"""Exports, streamed: a wide CSV of responses for officers, and the data tables offered to the
export plugin (``register_data_tables``).

Nothing is built in memory: rows come from a database cursor in batches of a few hundred
responses. CSV files are UTF-8 with a byte-order mark (Excel opens Vietnamese text correctly) and
every cell that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is prefixed with an apostrophe, so a citizen's comment can never run as
a formula on an officer's computer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from sqlite_utils import Database

from ccch_core.model import Plan
from ccch_core.periods import Period, to_local
from ccch_core.report import Column, DataScope, DataTable
from ccch_core.storage import parse_utc

from .results import all_versions, compute_results
from .settings import settings_of
from .store import (
    list_placements,
    list_surveys,
    period_days,
    placement_url,
    response_answers,
)

BATCH = 500
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHANNELS = {"poster": "Mã QR trên poster", "kiosk": "Máy tính bảng tại quầy",
            "kiosk_unenrolled": "Mã của máy tính bảng, thiết bị chưa đăng ký"}


def _flags_of(db: Database, response_ids: Sequence[int]) -> dict[int, list[str]]:
    """{response id: the labels of its flags} (only flagged responses are asked about)."""
    from .store import FLAG_KINDS

    found: dict[int, list[str]] = {}
    if response_ids:
        for rid, kind in db.execute(f"select response_id, kind from survey_flags where response_id in "
                                    f"({', '.join('?' * len(response_ids))}) order by response_id, kind",
                                    list(response_ids)):
            found.setdefault(rid, []).append(FLAG_KINDS.get(kind, kind))
    return found


def flag_text(flags: dict[int, list[str]], response: dict) -> str:
    """A response's flags as the exports write them ("" when none; kept ones say so)."""
    text = "; ".join(flags.get(response["id"], ()))
    if text and response["flag_state"] == 2:
        text += " (đã xem xét, giữ lại)"
    return text


def safe_cell(value) -> object:
    """A cell value that a spreadsheet will not evaluate as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_lines(header: Sequence[str], rows) -> Iterator[str]:
    """CSV text in pieces: the BOM and header first, then about one piece per 200 rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for i, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if i % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def local_text(instant: str) -> str:
    """A stored UTC instant as Vietnam time, "2024-03-05 08:30:00"."""
    return to_local(parse_utc(instant)).strftime("%Y-%m-%d %H:%M:%S")


def _scope_placements(db: Database, plan: Plan, survey_id: str | None, within: str | None):
    return {p.id: p for p in list_placements(db, survey_id=survey_id, plan=plan, within=within)}


def _response_batches(db: Database, survey_id: str | None, placement_ids: Sequence[int], period: Period | None,
                      include_excluded: bool = False) -> Iterator[list[dict]]:
    """Responses in batches, oldest first (keyset pagination on the id: no OFFSET, no memory growth)."""
    if not placement_ids:
        return
    conditions = [f"placement_id in ({', '.join('?' * len(placement_ids))})"]
    args: list = list(placement_ids)
    if survey_id:
        conditions.append("survey_id = ?")
        args.append(survey_id)
    if period is not None:
        conditions.append("day between ? and ?")
        args += list(period_days(period))
    if not include_excluded:
        conditions.append("excluded = 0")
    last = 0
    while True:
        batch = list(db.query(
            f"select * from survey_responses where {' and '.join(conditions)} and id > ? order by id limit {BATCH}",
            [*args, last]))
        if not batch:
            return
        yield batch
        last = batch[-1]["id"]


def wide_rows(db: Database, plan: Plan, survey_id: str, period: Period | None, within: str | None):
    """(header, rows) of the officers' CSV: one row per response, one column per question of any
    version (current order first); answers as labels of the version the citizen answered."""
    versions = all_versions(db, survey_id)
    keys: list[str] = [q.key for q in versions[-1].questions]
    prompts = {q.key: q.prompt for q in versions[-1].questions}
    for version in reversed(versions):
        for q in version.questions:
            if q.key not in prompts:
                keys.append(q.key)
                prompts[q.key] = q.prompt
    header = ["Mã phản hồi", "Thời điểm (giờ Việt Nam)", "Phiên bản", "Mã đơn vị", "Đơn vị", "Mã nơi đặt", "Nơi đặt",
              "Kênh", "Đáng ngờ"] + [f"{k} — {prompts[k]}" for k in keys]
    placements = _scope_placements(db, plan, survey_id, within)

    def rows():
        for batch in _response_batches(db, survey_id, list(placements), period):
            answers = response_answers(db, [r["id"] for r in batch])
            flags = _flags_of(db, [r["id"] for r in batch if r["flag_state"]])
            for r in batch:
                definition = versions[r["version"] - 1]
                mine = answers.get(r["id"], {})
                cells = []
                for key in keys:
                    values = mine.get(key)
                    if not values:
                        cells.append("")
                    elif definition.has_question(key) and definition.question(key).type.has_options:
                        q = definition.question(key)
                        cells.append("; ".join(q.option(v).label for v in values))
                    else:
                        cells.append(values[0])
                p = placements[r["placement_id"]]
                unit = plan.unit(r["unit_id"]).name if plan.has_unit(r["unit_id"]) else r["unit_id"]
                yield [r["id"], local_text(r["submitted_at"]), r["version"], r["unit_id"], unit, p.code, p.place,
                       CHANNELS.get(r["channel"], r["channel"]), flag_text(flags, r), *cells]

    return header, rows()


# -- data tables for the export plugin ---------------------------------------------------------

ANSWER_COLUMNS = (
    Column("response_id", "Mã phản hồi", "integer"), Column("submitted_at", "Thời điểm", "datetime"),
    Column("survey", "Khảo sát"), Column("version", "Phiên bản", "integer"), Column("unit_id", "Mã đơn vị"),
    Column("unit", "Đơn vị"), Column("placement", "Mã nơi đặt"), Column("place", "Nơi đặt"),
    Column("channel", "Kênh"), Column("question_key", "Mã câu hỏi"), Column("question", "Câu hỏi"),
    Column("answer_key", "Mã trả lời"), Column("answer", "Trả lời"), Column("score", "Điểm (1–5)", "integer"),
    Column("flags", "Đáng ngờ"),
)


def answer_rows(deployment, scope: DataScope) -> Iterator[tuple]:
    """One row per answer (long format), labels from the version each citizen answered."""
    db, plan = deployment.db, deployment.plan
    for survey in list_surveys(db):
        versions = all_versions(db, survey.id)
        placements = _scope_placements(db, plan, survey.id, scope.unit_id)
        for batch in _response_batches(db, survey.id, list(placements), scope.period):
            answers = response_answers(db, [r["id"] for r in batch])
            flags = _flags_of(db, [r["id"] for r in batch if r["flag_state"]])
            for r in batch:
                definition = versions[r["version"] - 1]
                flagged = flag_text(flags, r) or None
                p = placements[r["placement_id"]]
                unit = plan.unit(r["unit_id"]).name if plan.has_unit(r["unit_id"]) else r["unit_id"]
                when = parse_utc(r["submitted_at"])
                for key, values in answers.get(r["id"], {}).items():
                    q = definition.question(key) if definition.has_question(key) else None
                    for value in values:
                        if q is not None and q.type.has_options:
                            label = q.option(value).label
                            score = int(value) if q.type.value == "scale5" else None
                            yield (r["id"], when, survey.id, r["version"], r["unit_id"], unit, p.code, p.place,
                                   r["channel"], key, q.prompt, value, label, score, flagged)
                        else:
                            yield (r["id"], when, survey.id, r["version"], r["unit_id"], unit, p.code, p.place,
                                   r["channel"], key, q.prompt if q else key, None, value, None, flagged)


INDEX_COLUMNS = (
    Column("survey", "Khảo sát"), Column("level", "Cấp"), Column("key", "Mã"), Column("name", "Tiêu chí / đơn vị"),
    Column("answers", "Số câu trả lời", "integer"), Column("satisfied", "Số hài lòng (4–5)", "integer"),
    Column("index", "Chỉ số hài lòng", "percent"), Column("mean", "Điểm trung bình", "number"),
)


def index_rows(deployment, scope: DataScope) -> Iterator[tuple]:
    """Indices per survey: overall, per section, per question and per unit, for the scope's period
    (all time when none)."""
    db, plan = deployment.db, deployment.plan
    for survey in list_surveys(db):
        results = compute_results(db, plan, survey.id, scope.period, within=scope.unit_id)
        s = results.overall
        yield (survey.id, "tong-the", "", results.title, s.n, s.satisfied, s.index, s.mean)
        for title, score in results.sections:
            yield (survey.id, "nhom", "", title, score.n, score.satisfied, score.index, score.mean)
        for q in results.scale_questions:
            yield (survey.id, "cau-hoi", q.key, q.prompt, q.score.n, q.score.satisfied, q.score.index, q.score.mean)
        for unit, score, _ in results.units:
            yield (survey.id, "don-vi", unit.id, unit.name, score.n, score.satisfied, score.index, score.mean)


PLACEMENT_COLUMNS = (
    Column("survey", "Khảo sát"), Column("code", "Mã nơi đặt"), Column("unit_id", "Mã đơn vị"), Column("unit", "Đơn vị"),
    Column("place", "Nơi đặt"), Column("mode", "Loại"), Column("url", "Đường dẫn"), Column("active", "Đang dùng"),
    Column("scans", "Lượt quét", "integer"), Column("responses", "Phản hồi", "integer"),
    Column("conversion", "Tỷ lệ phản hồi/lượt quét", "percent"),
)


def placement_rows(deployment, scope: DataScope) -> Iterator[tuple]:
    """Every placement with scans, responses and conversion in the scope's period."""
    db, plan = deployment.db, deployment.plan
    settings = settings_of(deployment)
    for survey in list_surveys(db):
        results = compute_results(db, plan, survey.id, scope.period, within=scope.unit_id)
        for pr in results.placements:
            p = pr.placement
            unit = plan.unit(p.unit_id).name if plan.has_unit(p.unit_id) else p.unit_id
            yield (survey.id, p.code, p.unit_id, unit, p.place, p.mode,
                   placement_url(deployment.public_base_url, settings, p.code), "có" if p.active else "không",
                   pr.scans, pr.responses, pr.conversion)


CONTACT_COLUMNS = (
    Column("response_id", "Mã phản hồi", "integer"), Column("submitted_at", "Thời điểm", "datetime"),
    Column("survey", "Khảo sát"), Column("unit", "Đơn vị"), Column("name", "Họ tên"), Column("phone", "Số điện thoại"),
    Column("consent_at", "Thời điểm đồng ý", "datetime"),
)


def contact_rows(deployment, scope: DataScope) -> Iterator[tuple]:
    """Contact details that citizens left with consent (personal data)."""
    db, plan = deployment.db, deployment.plan
    sql = ("select c.response_id, r.submitted_at, r.survey_id, r.unit_id, c.name, c.phone, c.consent_at "
           "from survey_contacts c join survey_responses r on r.id = c.response_id")
    args: list = []
    if scope.period is not None:
        sql += " where r.day between ? and ?"
        args += list(period_days(scope.period))
    for row in db.execute(sql + " order by c.response_id", args):
        rid, submitted, survey_id, unit_id, name, phone, consent = row
        if scope.unit_id and not (plan.has_unit(unit_id) and plan.is_within(unit_id, scope.unit_id)):
            continue
        unit = plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id
        yield (rid, parse_utc(submitted), survey_id, unit, name, phone, parse_utc(consent))


DATA_TABLES = (
    DataTable("survey_answers", "Khảo sát: từng câu trả lời", ANSWER_COLUMNS, answer_rows,
              roles=("system_admin", "plan_admin", "unit_officer")),
    DataTable("survey_indices", "Khảo sát: chỉ số hài lòng", INDEX_COLUMNS, index_rows,
              roles=("system_admin", "plan_admin", "unit_officer")),
    DataTable("survey_placements", "Khảo sát: nơi đặt poster, lượt quét và phản hồi", PLACEMENT_COLUMNS,
              placement_rows, roles=("system_admin", "plan_admin", "unit_officer")),
    DataTable("survey_contacts", "Khảo sát: thông tin liên hệ người dân để lại (có đồng ý)", CONTACT_COLUMNS,
              contact_rows, roles=("system_admin", "plan_admin"), personal_data=True),
)
