"""Posters and QR codes of the question form: the core's shared placements and posters
(:mod:`ccch_core.placements`, :mod:`ccch_core.posters`) with this page's path and texts.

A placement of the form has the target ``feedback``; its QR code carries
``<public_base_url>/<short_path>/gui/<code>`` (``/hoi-dap/gui/7KQ2MX``), and what is asked through
it keeps the code in ``feedback_items.placement``.
"""

from __future__ import annotations

from ccch_core.placements import placement_url
from ccch_core.posters import PosterItem, PosterText, posters_pdf

from .settings import settings_of

TARGET = "feedback"


def form_url(dep, code: str) -> str:
    """What the placement's QR code carries."""
    return placement_url(dep.public_base_url, f"{settings_of(dep).short_path}/gui", code)


def poster_text(dep) -> PosterText:
    """What the form's poster says."""
    return PosterText(
        dep.config.name,
        title="HỎI ĐÁP THỦ TỤC HÀNH CHÍNH, PHẢN ÁNH, KIẾN NGHỊ",
        subtitle="Gửi câu hỏi cho cơ quan, nhận trả lời đúng hạn",
        steps=("1. Mở máy ảnh (camera) hoặc Zalo trên điện thoại.",
               "2. Hướng vào mã QR dưới đây rồi chạm vào đường dẫn hiện ra.",
               "3. Viết câu hỏi, bấm “Gửi” và lưu mã theo dõi để xem trả lời."),
        privacy="Không cần đăng nhập. Thông tin liên hệ chỉ dùng để trả lời Ông/Bà và không được công khai.",
        document_title="Poster hỏi đáp, phản ánh kiến nghị")


def poster_pdf(dep, placements, size: str = "A4") -> bytes:
    """A PDF with one poster per placement of the form."""
    plan = dep.plan
    items = [PosterItem(form_url(dep, p.code), p.code, plan.unit(p.unit_id).name if plan.has_unit(p.unit_id)
                        else p.unit_id, p.place) for p in placements]
    return posters_pdf(items, poster_text(dep), size, workers=0)
