"""The written report rendered to PDF by LibreOffice reads as a report a district sends (#23): the
Decree 30 header on page 1, the five sections in order with their parts, the figures as sentences,
the officer's text, the appendix table, "Nơi nhận" and the signature at the end, page numbers
from page 2, and no suggestion or placeholder left in a final report.

Needs LibreOffice Writer and poppler's pdftotext (Debian packages); as the fit-to-sign test does,
the set-up installs them when it runs as root with apt (a fresh CI machine) and otherwise fails
with the command to run.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from ccch_export import written
from export_testing import load_demo, pdf_text

from ccch_core.periods import Period

TEXTS = {
    "chi_dao": "Phòng Văn hóa - Thông tin tham mưu UBND huyện đôn đốc các đơn vị triển khai kế hoạch.",
    "danh_gia": "Ưu điểm: các xã duy trì chuyên mục.\nTồn tại, hạn chế: báo cáo còn chậm.\nNguyên nhân: thay đổi cán bộ.",
    "phuong_huong": "Tiếp tục phát sóng chuyên mục CCHC.",
    "de_xuat": "Đề nghị bố trí kinh phí sửa chữa Trạm truyền thanh.",
}


def pdf_pages(content: bytes, folder: Path) -> list[str]:
    """The DOCX rendered to PDF by LibreOffice, as the text of each page (lines joined)."""
    pages = pdf_text(content, folder).split("\f")
    return [re.sub(r"\s+", " ", page).strip() for page in pages if page.strip()]


@pytest.fixture
def final_document(make_deployment):
    dep = make_deployment(["export"])
    load_demo(dep)
    now = dt.datetime(2024, 4, 10, 2, tzinfo=dt.UTC)
    return written.save(dep, Period.parse("2024-03"), None, TEXTS, by="admin", final=True, now=now).document


def test_the_final_report_reads_as_a_district_report(final_document, tmp_path):
    pages = pdf_pages(final_document, tmp_path)
    assert len(pages) >= 3
    first = pages[0]
    for line in ("ỦY BAN NHÂN DÂN HUYỆN ĐỨC THỌ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                 "Số: ……/BC-UBND", "Đức Thọ, ngày 10 tháng 4 năm 2024", "BÁO CÁO",
                 "Kết quả công tác tuyên truyền cải cách hành chính tháng 3/2024"):
        assert line in first, line
    whole = " ".join(pages)
    headings = ["I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH", "II. KẾT QUẢ THỰC HIỆN", "1. Kết quả thực hiện các chỉ tiêu",
                "2. Kết quả theo hình thức tuyên truyền", "3. Kết quả thực hiện các nhiệm vụ trọng tâm",
                "4. Tình hình báo cáo của các đơn vị", "III. ĐÁNH GIÁ CHUNG", "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ KỲ TỚI",
                "V. ĐỀ XUẤT, KIẾN NGHỊ", "VI. PHỤ LỤC SỐ LIỆU", "Nơi nhận:"]
    positions = [whole.index(h) for h in headings]
    assert positions == sorted(positions)
    # Figures as sentences, in Vietnamese usage.
    assert "Số chuyên mục CCHC phát sóng: 2 số trong tháng 3/2024; lũy kế từ đầu năm 4/15 số, đạt 26,6% kế hoạch năm." in whole
    assert "Mục nêu gương người tốt, việc tốt về CCHC: 14 mục trong tháng 3/2024; lũy kế từ đầu năm 46/192 mục" in whole
    assert "UBND xã Đức Đồng (nộp ngày 08/4/2024)" in whole
    for text in TEXTS.values():
        for line in text.split("\n"):
            assert line in whole, line
    # No suggestion or placeholder is left in a final report; the signature closes the last page.
    assert "Gợi ý" not in whole and "{" not in whole and "Chỉ tiêu chưa đạt tiến độ" not in whole
    assert "Nơi nhận:" in pages[-1] and "TM. ỦY BAN NHÂN DÂN" in pages[-1]
    # Page numbers from page 2 (top centre), none on page 1.
    for number, page in enumerate(pages[1:], start=2):
        assert page.startswith(str(number)) or page.endswith(str(number)), page[:40]
    assert not re.match(r"^1\b", first)
    # No page ends on a heading: a heading's text follows it on the same page.
    for page in pages:
        for heading in headings[:-1]:
            if heading in page:
                assert not page.rstrip().endswith(heading), heading
