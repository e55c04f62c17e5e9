"""QR codes and print-ready posters of the survey's placements: the core's shared piece
(:mod:`ccch_core.posters`) with the survey's own texts.

Everything the survey used from here before the posters moved to the core is still importable
from this module under the same name.
"""

from __future__ import annotations

import attrs

from ccch_core.posters import (  # noqa: F401 - re-exported for the survey's modules and tests
    BRAND,
    LOCAL_NAME_SUFFIXES,
    PAGE_SIZES,
    PARALLEL_FROM,
    PT,
    QUIET_ZONE,
    HeaderLayout,
    PosterDocument,
    PosterItem,
    PublicUrlProblem,
    posters_pdf,
    printed_url,
    qr_matrix,
    qr_png,
    qr_svg,
)
from ccch_core.posters import PosterText as _PosterText
from ccch_core.posters import public_url_problem as _public_url_problem


@attrs.frozen
class PosterText(_PosterText):
    """What a survey poster says (Vietnamese defaults; a deployment can change them per batch)."""

    title: str = "Ý KIẾN CỦA ÔNG/BÀ GIÚP CHÚNG TÔI PHỤC VỤ TỐT HƠN"
    subtitle: str = "Khảo sát sự hài lòng của người dân, tổ chức"
    steps: tuple[str, ...] = (
        "1. Mở máy ảnh (camera) hoặc Zalo trên điện thoại.",
        "2. Hướng vào mã QR dưới đây rồi chạm vào đường dẫn hiện ra.",
        "3. Chọn câu trả lời và bấm “Gửi ý kiến” (khoảng 2–3 phút).",
    )
    privacy: str = "Không cần đăng nhập, không bắt buộc để lại họ tên hay số điện thoại. Ý kiến của Ông/Bà được giữ kín."
    document_title: str = "Poster khảo sát sự hài lòng"


def public_url_problem(base_url: str) -> PublicUrlProblem | None:
    """:func:`ccch_core.posters.public_url_problem` for the survey's page."""
    return _public_url_problem(base_url, "trang khảo sát")
