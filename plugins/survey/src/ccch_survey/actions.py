"""The survey's actions in the core's audit log ("Nhật ký thao tác"): codes and Vietnamese labels.

The officers' pages, the command line and the personal-data hooks record through :func:`record`,
inside the write transaction of the action itself.
"""

from __future__ import annotations

from ccch_core import audit

LABELS = {
    "survey.save": "Lưu khảo sát (phiên bản mới)",
    "survey.status": "Mở hoặc đóng khảo sát",
    "survey.place": "Tạo nơi đặt poster, kiosk",
    "survey.retire": "Gỡ nơi đặt poster, kiosk",
    "survey.exclude": "Loại hoặc đưa lại phản hồi vào kết quả",
    "survey.forget_contact": "Xóa thông tin liên hệ người trả lời khảo sát",
    "survey.purge_contacts": "Xóa thông tin liên hệ khảo sát hết thời hạn lưu trữ",
    "survey.kiosk_code": "Tạo mã đăng ký máy tính bảng tại quầy",
    "survey.kiosk_enrol": "Đăng ký máy tính bảng tại quầy",
    "survey.kiosk_revoke": "Thu hồi máy tính bảng tại quầy",
    "survey.review_flags": "Xử lý phản hồi khảo sát bị đánh dấu đáng ngờ",
}
"""Action code → what the audit log page shows."""


def record(db, username: str | None, action: str, target: str, detail: str | None = None) -> None:
    """One survey action in the core's audit log (call inside the action's transaction)."""
    audit.record(db, username, action, target, detail, label=LABELS[action])
