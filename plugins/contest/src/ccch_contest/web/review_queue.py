"""The contest manager's review queue (*Bài thi đáng ngờ*, ``/cuoc-thi/quan-ly/<slug>/dang-ngo``):
the flags of :mod:`ccch_contest.detection` with their evidence in words, grouped so that one
decision settles a source's registrations or a shared answer sheet; clear or disqualify, always
with a reason. Routes on the manager's blueprint (``web.manage.bp``); ``plugin.py`` imports this
module so that they are registered."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ccch_core.inputs import parse_int
from ccch_core.periods import to_local
from ccch_core.storage import parse_utc
from ccch_core.web import deployment
from ccch_core.web.params import page_arg

from ..detection import (
    KIND_LABELS,
    MAX_REASON,
    PAGE_BUDGET,
    STATUS_LABELS,
    attempts_of_flags,
    counts,
    detect,
    flag_groups,
    people_of,
    review,
    unchecked,
)
from .manage import _contest, _username, bp, manager

GROUPS_PER_PAGE = 20
MAX_FLAGS_PER_DECISION = 5000
SQLITE_MAX_INT = 2**63 - 1

# The words in the address (?trang-thai=…&loai=…) and what they select.
STATUS_ARGS = {"cho": "open", "hop-le": "cleared", "da-loai": "disqualified"}
KIND_ARGS = {"nhanh": "too_fast", "dia-chi": "shared_source", "giong-nhau": "same_answers"}


def seconds_text(milliseconds: float | None) -> str:
    """A duration in Vietnamese words: "2,4 giây", "1 phút 15 giây"."""
    if milliseconds is None:
        return "–"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " giây"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} giờ"] if hours else []) + ([f"{minutes} phút"] if minutes else []) + (
        [f"{rest} giây"] if rest else [])
    return " ".join(parts)


def evidence_text(flag, people: dict, vn_time) -> str:
    """What raised the flag, in a sentence the manager can act on."""
    e = flag.evidence
    if flag.kind == "too_fast":
        return (f"Làm bài trong {seconds_text(e['duration_ms'])}, trả lời {e['answered']}/{e['questions']} câu; "
                f"chỉ riêng việc đọc các câu đã trả lời cần ít nhất {seconds_text(e['minimum_ms'])} "
                f"(tốc độ đọc {e['chars_per_second']} ký tự/giây, tối thiểu {e['min_seconds_per_question']} giây/câu).")
    if flag.kind == "shared_source":
        parts = []
        if "registrations" in e:
            parts.append(f"{e['registrations']} lượt đăng ký cuộc thi từ cùng một địa chỉ mạng; nhiều nhất "
                         f"{e['most_in_window']} lượt trong {seconds_text(e['window_seconds'] * 1000)} (ngưỡng "
                         f"{e['threshold']}), từ {vn_time(e['first_at'])} đến {vn_time(e['last_at'])}.")
        if "device_registrations" in e:
            parts.append(f"{e['device_registrations']} lượt đăng ký từ cùng một thiết bị (trình duyệt; ngưỡng "
                         f"{e['device_threshold']}), từ {vn_time(e['device_first_at'])} đến "
                         f"{vn_time(e['device_last_at'])}.")
        return " ".join(parts)
    others = []
    for other in e["others"]:
        person = people.get(other["participant_id"])
        name = (person["full_name"] if person and person["full_name"] else "(đã xóa)")
        others.append(f"bài #{other['attempt_id']} của {name} (nộp cách {seconds_text(other['seconds_apart'] * 1000)}, "
                      f"thời gian làm bài chênh {seconds_text(other['duration_difference_seconds'] * 1000)})")
    return (f"Cùng bộ câu hỏi và cùng đáp án từng câu, kể cả {e['wrong_or_blank']}/{e['questions']} câu sai hoặc "
            f"bỏ trống, với " + "; ".join(others) + ".")


def vn_time(value: str | None) -> str:
    """UTC ISO text as Vietnam time "09/06/2024 23:59:59"."""
    return to_local(parse_utc(value)).strftime("%d/%m/%Y %H:%M:%S") if value else "–"


def _choice(name: str, allowed: dict[str, str], default: str | None) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        abort(400, description="Bộ lọc không hợp lệ.")
    return allowed[raw]


@bp.route("/<slug>/dang-ngo")
@manager
def flags_view(slug):
    """The review queue: detection runs first (cheap when nothing is new), then the flags of the
    chosen status and kind, in groups, with their evidence and the decision forms."""
    dep = deployment()
    contest = _contest(slug)
    status = _choice("trang-thai", STATUS_ARGS, "open")
    kind = _choice("loai", KIND_ARGS, None)
    page = page_arg()
    run = detect(dep, contest, max_attempts=PAGE_BUDGET)
    groups = flag_groups(dep.db, contest, status, kind)
    pages = max(1, -(-len(groups) // GROUPS_PER_PAGE))
    shown = groups[(page - 1) * GROUPS_PER_PAGE: page * GROUPS_PER_PAGE]
    flags = [f for g in shown for f in g.flags]
    people = people_of(dep.db, flags)
    partners = people_of(dep.db, [_Partner(o["participant_id"]) for f in flags if f.kind == "same_answers"
                                  for o in f.evidence.get("others", [])])
    units = {u.id: u.name for u in dep.plan.units}
    evidence = {f.id: evidence_text(f, {**partners, **people}, vn_time) for f in flags}
    status_args = {v: k for k, v in STATUS_ARGS.items()}
    kind_args = {v: k for k, v in KIND_ARGS.items()}
    filter_args = {"trang-thai": status_args[status], **({"loai": kind_args[kind]} if kind else {})}
    return render_template(
        "contest/manage_flags.html", contest=contest, groups=shown, people=people,
        attempts=attempts_of_flags(dep.db, flags), units=units, evidence=evidence, counts=counts(dep.db, contest),
        status=status, kind=kind, status_args=status_args, kind_args=kind_args, filter_args=filter_args,
        status_labels=STATUS_LABELS, kind_labels=KIND_LABELS,
        page=page, pages=pages, run=run, waiting=unchecked(dep.db, contest), max_reason=MAX_REASON, seconds_text=seconds_text)


class _Partner:
    """Just a participant id, for :func:`people_of` (the other attempts named in the evidence)."""

    def __init__(self, participant_id: int):
        self.participant_id = participant_id


@bp.route("/<slug>/dang-ngo/xu-ly", methods=["POST"])
@manager
def flags_decide(slug):
    """Clear or disqualify the chosen flags, with a reason (audited)."""
    dep = deployment()
    contest = _contest(slug)
    raw = request.form.getlist("flag")
    if len(raw) > MAX_FLAGS_PER_DECISION:
        abort(400, description=f"Mỗi lần xử lý tối đa {MAX_FLAGS_PER_DECISION} mục.")
    ids = [parse_int(value, 1, SQLITE_MAX_INT) for value in raw]
    if any(i is None for i in ids):
        abort(400, description="Mục được chọn không hợp lệ.")
    back = url_for(".flags_view", slug=slug)
    if not ids:
        flash("Chưa chọn mục nào để xử lý.")
        return redirect(back, code=303)
    decision = request.form.get("decision", "")
    try:
        settled = review(dep, contest, ids, decision, request.form.get("reason", ""), _username())
    except ValueError as exc:
        flash(str(exc))
        return redirect(back, code=303)
    if not settled:
        flash("Các mục đã chọn không còn chờ xem xét (có thể người khác vừa xử lý).")
    elif decision == "clear":
        flash(f"Đã xác nhận hợp lệ {settled} mục; các bài thi này được xếp hạng và xét giải bình thường.")
    else:
        flash(f"Đã loại theo {settled} mục; bảng xếp hạng và danh sách đạt giải đã cập nhật.")
    return redirect(back, code=303)
