"""Render the first two pages of the month's written report to docs/images/bao-cao-thang-trang-1-2.png.

Builds a throw-away deployment of the Đức Thọ example with its demo data in a temporary folder,
writes the officer's sections for March 2024 as the guide (docs/huong-dan-phong-vhtt.md) shows,
marks the report final, converts the frozen DOCX to PDF with LibreOffice and the two pages to
PNG with poppler's pdftoppm, side by side. Needs the Debian packages libreoffice-writer-nogui and
poppler-utils.

    .venv/bin/python scripts/report_pages.py [--pdf OUT.pdf]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ccch_export import written
from click.testing import CliRunner
from PIL import Image

from ccch_core.cli import make_cli
from ccch_core.deployment import Deployment
from ccch_core.periods import Period

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "bao-cao-thang-trang-1-2.png"

# What an officer of Phòng VH-TT writes for March 2024 (the guide's example).
TEXTS = {
    "chi_dao": (
        "Phòng Văn hóa - Thông tin tham mưu UBND huyện đôn đốc các cơ quan, đơn vị, UBND các xã, thị trấn "
        "triển khai Kế hoạch tuyên truyền CCHC năm 2024; hướng dẫn các xã duy trì chuyên mục CCHC trên "
        "Trạm truyền thanh cơ sở và Trang thông tin điện tử."),
    "danh_gia": (
        "Ưu điểm: các xã, thị trấn duy trì chuyên mục CCHC trên Trạm truyền thanh cơ sở; Trung tâm Văn hóa - "
        "Truyền thông huyện phát sóng chuyên mục đúng kế hoạch.\n"
        "Tồn tại, hạn chế: một số đơn vị nộp báo cáo chậm; mục nêu gương người tốt, việc tốt chưa đều ở "
        "các xã.\n"
        "Nguyên nhân: một số xã thay đổi cán bộ phụ trách; kinh phí cho công tác tuyên truyền còn hạn chế."),
    "phuong_huong": (
        "Tiếp tục phát sóng chuyên mục CCHC, bảo đảm lũy kế 15 số trong năm.\n"
        "Đôn đốc các xã duy trì mục nêu gương người tốt, việc tốt hằng tháng.\n"
        "Các đơn vị gửi báo cáo đúng hạn (trước ngày 05 của tháng sau)."),
    "de_xuat": "Đề nghị UBND huyện bố trí kinh phí sửa chữa, nâng cấp các Trạm truyền thanh cơ sở bị hỏng.",
}


def ccch(config: Path | None, *args: object) -> None:
    result = CliRunner().invoke(make_cli(config), [str(a) for a in args])
    if result.exit_code != 0:
        sys.exit(result.output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, help="Also keep the PDF here.")
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: sudo apt-get install -y libreoffice-writer-nogui poppler-utils")
    folder = Path(tempfile.mkdtemp(prefix="ccch-report-"))
    try:
        example = ROOT / "examples" / "duc-tho-2024"
        ccch(None, "init", folder, "--plan", example / "plan.toml", "--plugin", "export")
        config = folder / "ccch.toml"
        ccch(config, "measure", "import", example / "demo" / "measurements-2024-q1.csv")
        ccch(config, "report-activity", "--from-csv", example / "demo" / "activity-2024-03.csv")
        deployment = Deployment.open(config, migrate=True)
        # Written on 10 April 2024, after the units' reports were due.
        now = dt.datetime(2024, 4, 10, 2, 0, tzinfo=dt.UTC)
        report = written.save(deployment, Period.parse("2024-03"), None, TEXTS, by="admin", final=True, now=now)
        source = folder / "bao-cao.docx"
        source.write_bytes(report.document)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{folder / 'lo-profile'}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(folder), str(source)],
                       check=True, capture_output=True, timeout=300)
        pdf = folder / "bao-cao.pdf"
        if args.pdf:
            shutil.copyfile(pdf, args.pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(folder / "trang")],
                       check=True, capture_output=True)
        pages = [Image.open(p).convert("RGB") for p in sorted(folder.glob("trang-*.png"))]
        gap = 16
        sheet = Image.new("RGB", (sum(p.width for p in pages) + gap * (len(pages) + 1),
                                  max(p.height for p in pages) + 2 * gap), (200, 200, 200))
        x = gap
        for page in pages:
            sheet.paste(page, (x, gap))
            x += page.width + gap
        sheet.save(OUT, optimize=True)
        print(f"Wrote {OUT.relative_to(ROOT)} ({len(pages)} pages, {OUT.stat().st_size:,} bytes).")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
