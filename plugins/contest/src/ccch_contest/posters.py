"""Posters that promote a contest: the core's shared poster (:mod:`ccch_core.posters`) with the
contest's QR code, title, dates and steps, one page per unit it hangs at.

The QR code carries the contest's public page (``<public_base_url>/cuoc-thi/<slug>``) for every
poster: registrations already record the participant's unit, so a per-poster code would add a
write to every scan for little the Interior office does not already see.
"""

from __future__ import annotations

from ccch_core.periods import to_local
from ccch_core.placements import placement_url
from ccch_core.posters import PosterItem, PosterText, posters_pdf

MAX_POSTERS = 500
"""Posters in one PDF at most (a province's communes fit; a bigger batch is several downloads)."""


def contest_url(dep, contest) -> str:
    """What the posters' QR code carries: the contest's public page."""
    return placement_url(dep.public_base_url, "cuoc-thi", contest.slug)


def _day(instant) -> str:
    return to_local(instant).strftime("%d/%m/%Y")


def poster_text(dep, contest) -> PosterText:
    """What a contest's poster says: its title, when it runs, how to take part."""
    rounds = contest.definition.rounds
    when = f"Thi trực tuyến từ {_day(rounds[0].opens)} đến {_day(rounds[-1].closes)}" if rounds else ""
    return PosterText(
        dep.config.name,
        title=contest.definition.title.upper(),
        subtitle=when,
        steps=("1. Mở máy ảnh (camera) hoặc Zalo trên điện thoại.",
               "2. Hướng vào mã QR dưới đây rồi chạm vào đường dẫn hiện ra.",
               "3. Đăng ký dự thi, trả lời câu hỏi và xem kết quả ngay trên điện thoại."),
        privacy="Không cần cài ứng dụng. Thông tin cá nhân chỉ dùng để xác nhận người dự thi và trao giải.",
        document_title=f"Poster {contest.definition.title}")


def contest_posters_pdf(dep, contest, units, place: str = "", size: str = "A4") -> bytes:
    """A PDF with one poster per unit of ``units`` (with ``place`` under its name, if given)."""
    url = contest_url(dep, contest)
    items = [PosterItem(url, "", unit.name, place or unit.name) for unit in units[:MAX_POSTERS]]
    return posters_pdf(items, poster_text(dep, contest), size, workers=0)
