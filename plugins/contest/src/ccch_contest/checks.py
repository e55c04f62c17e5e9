"""Is a contest ready to run? The checks the manager sees before publishing (and the draw relies on)."""

from __future__ import annotations

import datetime as dt

import attrs

from ccch_core.periods import utc_now

from .bank import load_bank


@attrs.frozen
class Check:
    """A finding: ``blocking`` ones prevent publishing (and attempts would fail to start)."""

    message: str
    blocking: bool = True


def draw_problems(bank, definition) -> list[str]:
    """Why the bank cannot supply an attempt for an audience (empty list: it can)."""
    problems = []
    for audience in definition.audiences:
        pool = bank.pool(audience.key)
        wanted = definition.questions_for(audience)
        by_category: dict[str | None, int] = {}
        for qid in pool:
            category = bank.questions[qid].category
            by_category[category] = by_category.get(category, 0) + 1
        quota_categories = {c for c, _ in audience.quotas}
        for category, count in audience.quotas:
            have = by_category.get(category, 0)
            if have < count:
                problems.append(f"Đối tượng “{audience.name}”: nhóm “{category}” cần {count} câu nhưng ngân hàng "
                                f"chỉ có {have} câu.")
        rest = wanted - audience.quota_total
        others = sum(n for c, n in by_category.items() if c not in quota_categories)
        if rest > 0 and others < rest:
            where = "ngoài các nhóm có định mức" if quota_categories else "dành cho đối tượng này"
            problems.append(f"Đối tượng “{audience.name}”: mỗi lượt thi cần {wanted} câu; còn thiếu câu {where} "
                            f"(cần {rest}, có {others}).")
    return problems


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
