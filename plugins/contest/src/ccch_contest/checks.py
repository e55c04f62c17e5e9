"""Is a contest ready to run? The checks the manager sees before publishing (and the draw relies on)."""

from __future__ import annotations

import datetime as dt

import attrs

from ccch_core.periods import utc_now

from .bank import draw_problems, load_bank


@attrs.frozen
class DrawableLater:
    """The questions a round not yet closed can still draw: their stored ids and their keys (a
    reworded question keeps its key, and its answer)."""

    ids: frozenset[int]
    keys: frozenset[str]


def drawable_later(deployment, contest, now: dt.datetime | None = None) -> DrawableLater:
    """What a review must not show at ``now``: every active question while any round is not yet
    closed (the bank is the contest's, shared by its rounds), nothing once all have closed. A
    manager who replaces the bank between rounds retires the earlier questions, and their answers
    then show at once."""
    now = now or utc_now()
    if all(r.state(now) == "closed" for r in contest.rounds):
        return DrawableLater(frozenset(), frozenset())
    bank = load_bank(deployment, contest.id, contest.bank_version)
    return DrawableLater(frozenset(bank.active), frozenset(bank.questions[q].key for q in bank.active))


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
    if definition.review == "after_close" and len(contest.rounds) > 1:
        checks.append(Check("Các vòng thi dùng chung ngân hàng câu hỏi: khi xem lại bài, đáp án của câu còn có thể "
                            "xuất hiện ở vòng sau chỉ được công bố khi cuộc thi kết thúc (hoặc khi câu đó ngừng dùng).",
                            blocking=False))
    phone_channel = definition.verification.phone_channel
    if any(a.verify != "none" for a in definition.audiences) and not deployment.messaging.available(phone_channel):
        checks.append(Check(f"Hệ thống chưa gửi được tin nhắn {'Zalo' if phone_channel == 'zalo' else 'SMS'}: người "
                            "dự thi thuộc đối tượng cần xác nhận sẽ không nhận được mã và không đăng ký được. Đề nghị "
                            f"cán bộ tin học cấu hình kênh gửi tin ([messages.channels.{phone_channel}] trong ccch.toml).",
                            blocking=False))
    if definition.score_disclosure == "immediately" and any(a.prizes or a.overall_prizes
                                                             for a in definition.audiences):
        checks.append(Check("Điểm hiện ngay khi nộp bài: người gian lận có thể dùng nhiều tài khoản để dò đáp án. "
                            "Nên chọn công bố điểm sau khi vòng thi kết thúc.", blocking=False))
    if not definition.rules:
        checks.append(Check("Chưa có thể lệ cuộc thi (mục Thể lệ trong Thiết lập).", blocking=False))
    if not any(a.prizes for a in definition.audiences):
        checks.append(Check("Chưa khai báo cơ cấu giải thưởng.", blocking=False))
    if not definition.organiser:
        checks.append(Check("Chưa chọn đơn vị tổ chức (trong Thiết lập).", blocking=False))
    return checks
