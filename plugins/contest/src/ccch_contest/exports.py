"""The contest's raw tables for export (``register_data_tables``) and the manager's direct CSV.

Each table streams rows from a database cursor (a million attempts never sit in memory) and is
restricted by the export scope: ``scope.unit_id`` keeps the participants who chose that unit or a
unit below it, ``scope.period`` the attempts submitted in that period (Vietnam time). Phone numbers
and citizen ID numbers appear only masked. The export plugin writes these tables to CSV, XLSX and
JSON; :func:`stream_csv` writes one as CSV directly (UTF-8 with BOM, formula-safe cells).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from ccch_core.periods import to_local
from ccch_core.report import Column, DataScope, DataTable
from ccch_core.storage import parse_utc, utc_now_iso

from .bank import safe_cell
from .sql import query

ROLES = ("system_admin", "contest_manager")
ROLES_WITH_PLAN_ADMIN = ("system_admin", "plan_admin", "contest_manager")


def _units_in_scope(deployment, scope: DataScope) -> set[str] | None:
    if not scope or not scope.unit_id:
        return None
    plan = deployment.plan
    return {scope.unit_id, *(u.id for u in plan.descendants(scope.unit_id))}


def _period_bounds(scope: DataScope) -> tuple[str, str] | None:
    if not scope or not scope.period:
        return None
    return utc_now_iso(scope.period.start_utc), utc_now_iso(scope.period.end_utc)


def _contests(deployment) -> dict[int, Any]:
    return {r["id"]: r for r in query(deployment.db, "select id, slug, title from contest_contests")}


def _local(text: str | None) -> dt.datetime | None:
    return to_local(parse_utc(text)).replace(tzinfo=None) if text else None


def participant_rows(deployment, scope: DataScope, contest_id: int | None = None) -> Iterator[tuple]:
    """Participants (masked): contest, id, name, phone, citizen ID, birth year, unit, audience, …"""
    units = _units_in_scope(deployment, scope)
    contests = _contests(deployment)
    plan = deployment.plan
    sql = "select * from contest_participants"
    params: list[Any] = []
    if contest_id is not None:
        sql += " where contest_id = ?"
        params.append(contest_id)
    for row in query(deployment.db, sql + " order by contest_id, id", params):
        if units is not None and row["unit_id"] not in units:
            continue
        yield (contests[row["contest_id"]]["slug"], row["id"], row["full_name"] or "(đã xóa)", row["phone_masked"],
               row["citizen_id_masked"], row["birth_year"], row["unit_id"],
               plan.unit(row["unit_id"]).name if row["unit_id"] and plan.has_unit(row["unit_id"]) else None,
               row["audience"], row["occupation"], _local(row["created_at"]),
               "có" if row["disqualified"] else "", row["disqualified_reason"], _local(row["deleted_at"]))


PARTICIPANT_COLUMNS = (
    Column("cuoc_thi", "Cuộc thi"), Column("ma", "Mã người dự thi", "integer"), Column("ho_ten", "Họ và tên"),
    Column("dien_thoai", "Số điện thoại (đã che)"), Column("cccd", "Số CCCD (đã che)"),
    Column("nam_sinh", "Năm sinh", "integer"), Column("ma_don_vi", "Mã đơn vị"), Column("don_vi", "Đơn vị"),
    Column("doi_tuong", "Đối tượng"), Column("nghe_nghiep", "Nghề nghiệp, chức vụ"),
    Column("dang_ky_luc", "Đăng ký lúc", "datetime"), Column("bi_loai", "Bị loại"), Column("ly_do", "Lý do loại"),
    Column("xoa_luc", "Xóa dữ liệu lúc", "datetime"),
)


def attempt_rows(deployment, scope: DataScope, contest_id: int | None = None) -> Iterator[tuple]:
    """Attempts: contest, round, participant, audience, unit, status, times, score, prediction, flags."""
    units = _units_in_scope(deployment, scope)
    bounds = _period_bounds(scope)
    contests = _contests(deployment)
    rounds = {r["id"]: r["number"] for r in query(deployment.db, "select id, number from contest_rounds")}
    sql = ("select id, contest_id, round_id, participant_id, audience, unit_id, attempt_no, status, started_at, "
           "submitted_at, duration_ms, finish, score, total, prediction, counted, disqualified, disqualified_reason "
           "from contest_attempts where 1 = 1")
    params: list[Any] = []
    if contest_id is not None:
        sql += " and contest_id = ?"
        params.append(contest_id)
    if bounds:
        sql += " and submitted_at >= ? and submitted_at < ?"
        params.extend(bounds)
    for row in deployment.db.execute(sql + " order by id", params):
        (aid, cid, rid, pid, audience, unit_id, no, status, started, submitted, duration, finish, score, total,
         prediction, counted, disq, reason) = row
        if units is not None and unit_id not in units:
            continue
        yield (contests[cid]["slug"], rounds.get(rid), aid, pid, audience, unit_id, no,
               {"open": "đang làm", "submitted": "đã nộp", "abandoned": "hủy (quá giờ)"}[status],
               _local(started), _local(submitted), round(duration / 1000, 3) if duration is not None else None,
               {"participant": "người dự thi nộp", "overdue": "tự nộp khi hết giờ"}.get(finish or "", ""),
               score, total, prediction, "có" if counted else "", "có" if disq else "", reason)


ATTEMPT_COLUMNS = (
    Column("cuoc_thi", "Cuộc thi"), Column("vong", "Vòng", "integer"), Column("ma_luot", "Mã lượt thi", "integer"),
    Column("ma_nguoi_du_thi", "Mã người dự thi", "integer"), Column("doi_tuong", "Đối tượng"),
    Column("ma_don_vi", "Mã đơn vị"), Column("lan", "Lần thi", "integer"), Column("trang_thai", "Trạng thái"),
    Column("bat_dau", "Bắt đầu", "datetime"), Column("nop_bai", "Nộp bài", "datetime"),
    Column("thoi_gian_s", "Thời gian làm bài (giây)", "number"), Column("cach_nop", "Cách nộp"),
    Column("diem", "Số câu đúng", "integer"), Column("so_cau", "Số câu", "integer"),
    Column("du_doan", "Dự đoán", "number"), Column("duoc_tinh", "Lượt được tính"), Column("bi_loai", "Bị loại"),
    Column("ly_do", "Lý do loại"),
)


def _contest_objects(deployment, contest_id: int | None):
    from .contests import get_contest_by_id, list_contests
    from .ranking import ensure_closed

    contests = [get_contest_by_id(deployment, contest_id)] if contest_id else list_contests(deployment)
    return [ensure_closed(deployment, c) for c in contests if c]


def ranking_rows(deployment, scope: DataScope, contest_id: int | None = None) -> Iterator[tuple]:
    """Every round's ranking per audience (masked phones)."""
    from .ranking import entries

    units = _units_in_scope(deployment, scope)
    plan = deployment.plan
    for contest in _contest_objects(deployment, contest_id):
        for round_state in contest.rounds:
            if scope and scope.period and not (scope.period.start_utc <= round_state.closes < scope.period.end_utc):
                continue
            for audience in contest.definition.audiences:
                for e in entries(deployment.db, contest, round_state, audience.key):
                    if units is not None and e.unit_id not in units:
                        continue
                    yield (contest.slug, round_state.number, audience.key, e.rank, e.full_name, e.phone_masked, e.unit_id,
                           plan.unit(e.unit_id).name if e.unit_id and plan.has_unit(e.unit_id) else None, e.score,
                           e.total, e.prediction, e.distance, round(e.duration_ms / 1000, 3), _local(e.submitted_at),
                           "tạm tính" if not round_state.truth_at else "chính thức")


RANKING_COLUMNS = (
    Column("cuoc_thi", "Cuộc thi"), Column("vong", "Vòng", "integer"), Column("doi_tuong", "Đối tượng"),
    Column("hang", "Hạng", "integer"), Column("ho_ten", "Họ và tên"), Column("dien_thoai", "Số điện thoại (đã che)"),
    Column("ma_don_vi", "Mã đơn vị"), Column("don_vi", "Đơn vị"), Column("diem", "Số câu đúng", "integer"),
    Column("so_cau", "Số câu", "integer"), Column("du_doan", "Dự đoán", "number"),
    Column("chenh_lech", "Chênh lệch dự đoán", "number"), Column("thoi_gian_s", "Thời gian làm bài (giây)", "number"),
    Column("nop_bai", "Nộp bài", "datetime"), Column("tinh_trang", "Tình trạng xếp hạng"),
)


def prize_rows(deployment, scope: DataScope, contest_id: int | None = None) -> Iterator[tuple]:
    """Individual prizes of closed rounds and of the whole contest, and collective prizes. An
    entry with a detection flag nobody has reviewed is listed in its place, marked "chờ xem xét"
    (the prize is not yet given)."""
    from .ranking import collective_winners, overall_prize_list, prize_list

    units = _units_in_scope(deployment, scope)
    plan = deployment.plan

    def unit_name(unit_id):
        return plan.unit(unit_id).name if unit_id and plan.has_unit(unit_id) else None

    for contest in _contest_objects(deployment, contest_id):
        for round_state in contest.rounds:
            if scope and scope.period and not (scope.period.start_utc <= round_state.closes < scope.period.end_utc):
                continue
            for audience in contest.definition.audiences:
                for w in prize_list(deployment, contest, round_state, audience.key):
                    e = w.entry
                    if units is not None and e.unit_id not in units:
                        continue
                    yield (contest.slug, f"Vòng {round_state.number}", audience.name, w.prize, w.value, e.rank,
                           e.full_name, e.phone_masked, unit_name(e.unit_id), e.score, e.total, _held(w.held))
        for audience in contest.definition.audiences:
            for w in overall_prize_list(deployment, contest, audience.key):
                e = w.entry
                if units is not None and e["unit_id"] not in units:
                    continue
                yield (contest.slug, "Toàn cuộc thi", audience.name, w.prize, w.value, e["rank"], e["full_name"],
                       e["phone_masked"], unit_name(e["unit_id"]), e["score"], e["total"], _held(w.held))
        for prize, winners in collective_winners(deployment, contest):
            for w in winners:
                if units is not None and w.unit.unit_id not in units:
                    continue
                yield (contest.slug, "Giải tập thể", "", w.prize, w.value, w.place, w.unit.name, "", w.unit.name,
                       w.unit.participants, w.unit.headcount,
                       f"{w.held} người chờ xem xét" if w.held else "")


def _held(held: bool) -> str:
    return "chờ xem xét" if held else ""


PRIZE_COLUMNS = (
    Column("cuoc_thi", "Cuộc thi"), Column("pham_vi", "Phạm vi"), Column("doi_tuong", "Đối tượng"),
    Column("giai", "Giải"), Column("tri_gia", "Trị giá"), Column("hang", "Hạng", "integer"),
    Column("ten", "Họ và tên / đơn vị"), Column("dien_thoai", "Số điện thoại (đã che)"), Column("don_vi", "Đơn vị"),
    Column("diem", "Số câu đúng / số người dự thi", "integer"), Column("so_cau", "Số câu / biên chế", "integer"),
    Column("xem_xet", "Xem xét gian lận"),
)


def participation_rows(deployment, scope: DataScope, contest_id: int | None = None) -> Iterator[tuple]:
    """Participation per unit: people, headcount, rate."""
    from .ranking import participation

    units = _units_in_scope(deployment, scope)
    for contest in _contest_objects(deployment, contest_id):
        rounds = None
        if scope and scope.period:
            rounds = [r.id for r in contest.rounds if r.opens < scope.period.end_utc and r.ends > scope.period.start_utc]
            if not rounds:
                continue
        for u in participation(deployment, contest, None, rounds):
            if units is not None and u.unit_id not in units:
                continue
            yield (contest.slug, u.unit_id, u.name, u.participants, u.headcount,
                   round(u.rate, 2) if u.rate is not None else None)


PARTICIPATION_COLUMNS = (
    Column("cuoc_thi", "Cuộc thi"), Column("ma_don_vi", "Mã đơn vị"), Column("don_vi", "Đơn vị"),
    Column("so_nguoi", "Số người dự thi", "integer"), Column("bien_che", "Số người của đơn vị", "integer"),
    Column("ty_le", "Tỷ lệ tham gia", "percent"),
)


DATA_TABLES = (
    DataTable("contest_participants", "Người dự thi cuộc thi tìm hiểu CCHC", PARTICIPANT_COLUMNS, participant_rows,
              ROLES, personal_data=True),
    DataTable("contest_attempts", "Lượt thi", ATTEMPT_COLUMNS, attempt_rows, ROLES, personal_data=False),
    DataTable("contest_rankings", "Bảng xếp hạng các vòng thi", RANKING_COLUMNS, ranking_rows, ROLES,
              personal_data=True),
    DataTable("contest_prizes", "Danh sách đạt giải", PRIZE_COLUMNS, prize_rows, ROLES, personal_data=True),
    DataTable("contest_participation", "Tham gia cuộc thi theo đơn vị", PARTICIPATION_COLUMNS, participation_rows,
              ROLES_WITH_PLAN_ADMIN, personal_data=False),
)
TABLES_BY_NAME = {t.name: t for t in DATA_TABLES}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.5f}".rstrip("0").rstrip(".").replace(".", ",") if not value.is_integer() else str(int(value))
    return safe_cell(value)


def stream_csv(columns, rows) -> Iterator[str]:
    """CSV text in chunks: a UTF-8 BOM and the header first, then rows (decimal commas, Vietnam
    times, cells a spreadsheet would run as formulas prefixed with ')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(v) for v in row])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
