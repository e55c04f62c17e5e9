"""The contest's log: one line per manager's action (and per erasure), mirrored to the core's audit log.

The lowest layer of the package with :mod:`.definition`, :mod:`.sql` and :mod:`.state`: every
service writes here inside its own transaction.
"""

from __future__ import annotations

from ccch_core import audit
from ccch_core.storage import parse_utc, utc_now_iso

ACTION_LABELS = {
    "create": "Tạo cuộc thi",
    "update_definition": "Sửa thiết lập cuộc thi",
    "status_published": "Công bố cuộc thi",
    "status_draft": "Chuyển cuộc thi về chuẩn bị",
    "status_archived": "Lưu trữ cuộc thi",
    "import_questions": "Nhập câu hỏi",
    "retire_question": "Ngừng dùng câu hỏi",
    "disqualify": "Loại người dự thi",
    "reinstate": "Khôi phục người dự thi",
    "disqualify_attempt": "Loại bài thi",
    "reinstate_attempt": "Khôi phục bài thi",
    "erase": "Xóa dữ liệu cá nhân người dự thi",
    "publish_results": "Công bố kết quả vòng thi",
    "withdraw_results": "Rút kết quả vòng thi",
    "purge_contacts": "Xóa số điện thoại liên hệ hết thời hạn lưu trữ",
    "release_contacts": "Xóa số điện thoại liên hệ không còn cần cho việc trao giải",
    "prizes_handed": "Ghi nhận đã trao giải thưởng",
    "purge_personal_data": "Xóa dữ liệu cá nhân người dự thi hết thời hạn lưu trữ",
    "flag_cleared": "Xác nhận hợp lệ sau khi xem xét bài thi đáng ngờ",
    "flag_disqualified": "Loại sau khi xem xét bài thi đáng ngờ",
}
"""Vietnamese labels of the contest log's actions (the contest's log page and the core's audit log)."""


def log(db, contest_id: int, action: str, *, username: str | None = None, participant_id: int | None = None,
        attempt_id: int | None = None, detail: str | None = None, at: str | None = None) -> None:
    """One line of the contest's log (call inside the action's transaction).

    The same line goes to the core's audit log (:func:`ccch_core.audit.record`) as
    ``contest.<action>``, in the same transaction: the contest manager reads the contest's own log
    on its pages, the admins read every plugin's actions in "Nhật ký thao tác".
    """
    at = at or utc_now_iso()
    db.execute("insert into contest_log (contest_id, at, username, action, participant_id, attempt_id, detail) "
               "values (?, ?, ?, ?, ?, ?, ?)", [contest_id, at, username, action, participant_id,
                                                attempt_id, detail])
    slug = db.execute("select slug from contest_contests where id = ?", [contest_id]).fetchone()
    target = f"Cuộc thi {slug[0] if slug else contest_id}"
    if participant_id:
        target += f", người dự thi #{participant_id}"
    if attempt_id:
        target += f", bài thi #{attempt_id}"
    audit.record(db, username, f"contest.{action}", target, detail, label=ACTION_LABELS.get(action, action),
                 now=parse_utc(at))
