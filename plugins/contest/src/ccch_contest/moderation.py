"""Disqualifying and reinstating participants and attempts: the manager's decisions that take
entries out of the rankings (or put them back), each with a reason in the contest's log.

A service above attempts, participants and rankings: after a decision the counted attempt is
chosen again, the cached leaderboards go stale and the closed rounds' true figures are recomputed.
"""

from __future__ import annotations

import datetime as dt

from ccch_core.periods import utc_now
from ccch_core.storage import utc_now_iso
from ccch_core.text import clean

from .contests import Contest
from .counting import invalidate_rankings, refresh_counted
from .journal import log
from .locking import serialized
from .ranking import refresh_truths
from .sql import query


def set_disqualified(deployment, contest: Contest, participant_id: int, disqualified: bool, reason: str,
                     username: str | None, now: dt.datetime | None = None, *, refresh: bool = True) -> None:
    """Disqualify a participant (every attempt leaves the rankings) or reinstate them; the reason
    is kept on the participant and in the contest's log. Rankings and prediction truths update
    (``refresh=False``: the caller recomputes the truths once after many decisions)."""
    reason = clean(reason or "")
    if disqualified and not reason:
        raise ValueError("Vui lòng ghi lý do loại.")
    db = deployment.db
    now = now or utc_now()
    with serialized(deployment):
        row = next(query(db, "select * from contest_participants where id = ? and contest_id = ?",
                            [participant_id, contest.id]), None)
        if row is None:
            raise KeyError(participant_id)
        if row["deleted_at"] and not disqualified:
            raise ValueError("Dữ liệu của người dự thi này đã bị xóa theo yêu cầu; không thể khôi phục.")
        db.execute("update contest_participants set disqualified = ?, disqualified_reason = ? where id = ?",
                   [1 if disqualified else 0, reason if disqualified else None, participant_id])
        if disqualified:
            db.execute("update contest_attempts set disqualified = 1, disqualified_reason = coalesce(disqualified_reason, ?)"
                       " where participant_id = ?", [reason, participant_id])
        else:
            db.execute("update contest_attempts set disqualified = 0, disqualified_reason = null where participant_id = ? "
                       "and disqualified_reason = ?", [participant_id, row["disqualified_reason"]])
        for r in query(db, "select distinct round_id from contest_attempts where participant_id = ?", [participant_id]):
            refresh_counted(db, contest.definition, participant_id, r["round_id"])
        log(db, contest.id, "disqualify" if disqualified else "reinstate", username=username,
            participant_id=participant_id, detail=reason or None, at=utc_now_iso(now))
        invalidate_rankings(db, contest.id)
    if refresh:
        refresh_truths(deployment, contest.slug, now=now)


def disqualify_attempt(deployment, contest: Contest, attempt_id: int, disqualified: bool, reason: str,
                       username: str | None, now: dt.datetime | None = None, *, refresh: bool = True) -> None:
    """Disqualify one attempt (or reinstate it); the participant's next best attempt may count
    (``refresh=False``: the caller recomputes the truths once after many decisions)."""
    reason = clean(reason or "")
    if disqualified and not reason:
        raise ValueError("Vui lòng ghi lý do loại.")
    now = now or utc_now()
    db = deployment.db
    with serialized(deployment):
        row = next(query(db, "select * from contest_attempts where id = ? and contest_id = ?", [attempt_id, contest.id]),
                   None)
        if row is None:
            raise KeyError(attempt_id)
        if not disqualified and db.execute("select disqualified from contest_participants where id = ?",
                                           [row["participant_id"]]).fetchone()[0]:
            raise ValueError("Người dự thi này đang bị loại; hãy khôi phục người dự thi trước.")
        db.execute("update contest_attempts set disqualified = ?, disqualified_reason = ? where id = ?",
                   [1 if disqualified else 0, reason if disqualified else None, attempt_id])
        refresh_counted(db, contest.definition, row["participant_id"], row["round_id"])
        log(db, contest.id, "disqualify_attempt" if disqualified else "reinstate_attempt", username=username,
            participant_id=row["participant_id"], attempt_id=attempt_id, detail=reason or None, at=utc_now_iso(now))
        invalidate_rankings(db, contest.id)
    if refresh:
        refresh_truths(deployment, contest.slug, now=now)
