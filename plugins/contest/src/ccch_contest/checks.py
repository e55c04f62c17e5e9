"""Is a contest ready to run? The checks the manager sees before publishing (and the draw relies on)."""

from __future__ import annotations

import datetime as dt

import attrs

from ccch_core.periods import utc_now

from .bank import draw_problems, load_bank


@attrs.frozen
class Check:
    """A finding: ``blocking`` ones prevent publishing (and attempts would fail to start)."""

    message: str
    blocking: bool = True


def readiness(deployment, contest, now: dt.datetime | None = None) -> list[Check]:
    """Every check, blocking first."""
    now = now or utc_now()
    definition = contest.definition
    bank = load_bank(deployment, contest.id, contest.bank_version)
    checks = [Check(p) for p in draw_problems(bank, definition)]
    if not bank.active:
        checks.insert(0, Check("Ngân hàng câu hỏi chưa có câu hỏi nào."))
    if contest.rounds and all(r.state(now) == "closed" for r in contest.rounds):
        checks.append(Check("Mọi vòng thi đã kết thúc.", blocking=False))
    if not definition.rules:
        checks.append(Check("Chưa có thể lệ cuộc thi (rules).", blocking=False))
    if not any(a.prizes for a in definition.audiences):
        checks.append(Check("Chưa khai báo cơ cấu giải thưởng.", blocking=False))
    if not definition.organiser:
        checks.append(Check("Chưa ghi đơn vị tổ chức (organiser).", blocking=False))
    return checks
