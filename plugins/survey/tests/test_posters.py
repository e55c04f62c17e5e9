"""QR codes and posters, checked with independent tools: zxing-cpp decodes the codes, pypdfium2
renders the PDF pages and reads their text."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pypdfium2 as pdfium
import pytest
import zxingcpp
from ccch_survey import posters
from ccch_survey.settings import settings_of
from ccch_survey.store import add_placement, place_for_kind, placement_url
from ccch_survey_testing import answers, submit
from PIL import Image, ImageDraw


def decode(image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def pdf_pages(data: bytes, scale: float = 1.0):
    document = pdfium.PdfDocument(data)
    return [(page.render(scale=scale).to_pil(), page.get_textpage().get_text_range()) for page in document]


def svg_to_image(svg: str) -> Image.Image:
    """Draw the SVG's path (rectangles written as M x y h w v m h-w z) with Pillow."""
    size = int(re.search(r'width="(\d+)"', svg).group(1))
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+z", svg):
        x, y, w, h = map(int, (x, y, w, h))
        draw.rectangle([x, y, x + w - 1, y + h - 1], fill=0)
    return image


def test_png_and_svg_decode_to_the_placement_url(dep, poster):
    url = placement_url(dep.public_base_url, settings_of(dep), poster.code)
    assert url == f"https://cchc.example.gov.vn/k/{poster.code}"
    assert decode(Image.open(io.BytesIO(posters.qr_png(url)))) == [url]
    assert decode(svg_to_image(posters.qr_svg(url))) == [url]


@pytest.mark.parametrize("size", ["A4", "A3"])
def test_poster_pdf_qr_decodes_and_a_submission_through_it_is_attributed(app, dep, poster, size):
    client = app.test_client()
    # The officer downloads the poster through the web UI.
    from ccch_core import accounts
    from ccch_core.testing import login
    accounts.create_user(dep.db, dep.plan, "vhtt", "mat-khau-thu-nghiem-2024", "plan_admin")
    login(client, "vhtt")
    response = client.get(f"/khao-sat/noi-dat/{poster.code}/poster.pdf?kho={size}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    (image, text), = pdf_pages(response.data)
    width_mm = image.size[0] / 72 * 25.4
    assert abs(width_mm - (210 if size == "A4" else 297)) < 1
    urls = decode(image)
    assert urls == [f"https://cchc.example.gov.vn/k/{poster.code}"]
    # Vietnamese text is real text in the PDF (not boxes), with the unit, place and short URL.
    assert "Ý KIẾN CỦA ÔNG/BÀ GIÚP CHÚNG TÔI PHỤC VỤ TỐT HƠN" in text.replace("\r\n", " ").replace("\n", " ")
    assert "Bộ phận tiếp nhận và trả kết quả xã An Dũng" in text
    assert "Quầy tiếp nhận hồ sơ" in text
    assert f"cchc.example.gov.vn/k/{poster.code}" in text
    assert b"BeVietnamPro" in response.data  # the embedded font, not a standard PDF font
    # A citizen follows the decoded URL: the response belongs to this placement and its unit.
    citizen = app.test_client()
    assert submit(citizen, urlsplit(urls[0]).path, answers("4")).status_code == 200
    row = next(dep.db.query("select placement_id, unit_id from survey_responses"))
    assert row == {"placement_id": poster.id, "unit_id": "xa-an-dung.mot-cua"}


def test_diacritics_render_as_glyphs():
    """ả, ự, ườ must come out as the font's glyphs: the PDF's text layer gives them back."""
    item = posters.PosterItem("https://cchc.example.gov.vn/k/ABCDEF", "ABCDEF", "Điểm Bưu điện - Văn hóa xã Đức Thủy",
                              "Bảng tin trước cửa, cạnh quầy thủ tục người ở")
    (_image, text), = pdf_pages(posters.posters_pdf([item], posters.PosterText("UBND huyện Đức Thọ"), "A4"))
    for word in ("Đức Thủy", "Bảng tin", "người ở", "UBND huyện Đức Thọ", "Hướng vào mã QR"):
        assert word in text, word


def test_batch_has_one_page_per_unit_of_a_kind_each_with_its_own_code(dep):
    created, kept = place_for_kind(dep.db, dep.plan, "sipas", "post_culture_point", "Điểm Bưu điện - Văn hóa")
    assert len(created) == 16 and kept == []
    again, kept = place_for_kind(dep.db, dep.plan, "sipas", "post_culture_point")
    assert again == [] and len(kept) == 16
    settings = settings_of(dep)
    items = [posters.PosterItem(placement_url(dep.public_base_url, settings, p.code), p.code,
                                dep.plan.unit(p.unit_id).name, p.place) for p in created]
    ticks = []
    data = posters.posters_pdf(items, posters.PosterText(dep.config.name), "A4", progress=ticks.append,
                               workers=2)  # the parallel path (≥ 24 items uses processes) is below
    pages = pdf_pages(data, scale=0.8)
    assert len(pages) == 16 and len(ticks) == 16
    assert [decode(image) for image, _ in pages] == [[item.url] for item in items]


def test_parallel_batch_matches_serial(dep):
    """A batch long enough for worker processes gives the same pages, in the same order, as the
    same batch drawn in this process: same page count, same decoded QR per page, same text and
    the same pixels."""
    items = [posters.PosterItem(f"https://cchc.example.gov.vn/k/A{i:05d}", f"A{i:05d}", "Xã Tùng Ảnh", "Quầy")
             for i in range(posters.PARALLEL_FROM)]
    text = posters.PosterText("Thử nghiệm")
    serial_ticks, parallel_ticks = [], []
    serial = pdf_pages(posters.posters_pdf(items, text, workers=0, progress=serial_ticks.append), scale=0.6)
    parallel = pdf_pages(posters.posters_pdf(items, text, workers=2, progress=parallel_ticks.append), scale=0.6)
    assert len(serial) == len(parallel) == len(items)
    assert len(serial_ticks) == len(parallel_ticks) == len(items)
    assert [decode(image) for image, _ in serial] == [[i.url] for i in items]
    assert [decode(image) for image, _ in parallel] == [decode(image) for image, _ in serial]
    assert [page_text for _, page_text in parallel] == [page_text for _, page_text in serial]
    assert [image.tobytes() for image, _ in parallel] == [image.tobytes() for image, _ in serial]


def test_kiosk_and_poster_codes_are_short_and_unambiguous(dep):
    codes = {add_placement(dep.db, dep.plan, "sipas", "trung-tam-hcc", f"Quầy {i}").code for i in range(30)}
    assert len(codes) == 30
    assert all(re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", c) for c in codes)


LONG_NAME = "Ủy ban nhân dân xã Trường Sơn, huyện Đức Thọ, tỉnh Hà Tĩnh – Bộ phận tiếp nhận và trả kết quả"
VERY_LONG_NAME = " – ".join([LONG_NAME] * 4)  # even the smallest size needs more than two lines


def glyph_boxes(page, text: str, start: int = 0) -> tuple[list[tuple[float, float]], int]:
    """The (top, bottom) in mm from the page's top of each glyph of ``text`` as drawn from char
    ``start`` on (spaces and the line breaks pdfium adds are skipped); and the index after it."""
    textpage = page.get_textpage()
    height = page.get_height()
    wanted = "".join(text.split())
    boxes, i, seen = [], start, ""
    while seen != wanted:
        char = textpage.get_text_range(i, 1)
        if not char.isspace() and char:
            assert wanted.startswith(seen + char), (seen + char, wanted)
            seen += char
            _left, bottom, _right, top = textpage.get_charbox(i)
            boxes.append(((height - top) * 25.4 / 72, (height - bottom) * 25.4 / 72))
        i += 1
    return boxes, i


@pytest.mark.parametrize("size", ["A4", "A3"])
@pytest.mark.parametrize("name", [LONG_NAME, VERY_LONG_NAME, "UBND huyện Đức Thọ"], ids=["long", "very-long", "short"])
def test_a_long_organisation_name_stays_on_the_red_band(size, name):
    """White on red: every glyph of the name lies on the band (a wrapped line used to fall off it,
    white on white, onto the title), the title starts below the band, and the QR still decodes."""
    url = "https://cchc.ductho.hatinh.gov.vn/k/7KQ2MX"
    item = posters.PosterItem(url, "7KQ2MX", "Điểm Bưu điện - Văn hóa xã Đức Thủy", "Bảng tin trước cửa")
    text = posters.PosterText(name)
    data = posters.posters_pdf([item], text, size)
    page = pdfium.PdfDocument(data)[0]
    scale = 4  # 4 px per point
    image = page.render(scale=scale).to_pil().convert("RGB")
    mm = 72 / 25.4 * scale
    # The band's bottom, measured on the rendered page: the first row under the top that is not red.
    column = int(1 * mm)
    rows = next(y for y in range(image.size[1]) if image.getpixel((column, y)) != posters.BRAND)
    band_bottom = rows / mm
    name_boxes, after = glyph_boxes(page, name)
    title_boxes, _ = glyph_boxes(page, text.title, after)
    assert all(top >= 0.5 and bottom <= band_bottom - 0.5 for top, bottom in name_boxes), (band_bottom, name_boxes)
    assert min(top for top, _ in title_boxes) >= band_bottom + 1
    assert decode(image) == [url]
    # The layout function says the same: at most two lines unless even 10 pt needs more.
    document = posters.PosterDocument(size)
    layout = document.header_layout(name)
    k = document.k
    assert abs(layout.band_height - band_bottom) < 0.3
    assert layout.content_top >= layout.band_height
    assert layout.first_line_top >= 0 and layout.first_line_top + len(layout.lines) * layout.line_height <= layout.band_height
    if name == VERY_LONG_NAME:
        assert len(layout.lines) > 2 and layout.font_size == posters.PosterDocument.NAME_SIZES[-1] * k
    else:
        assert len(layout.lines) <= 2 and layout.band_height == posters.PosterDocument.BAND * k
    if name == LONG_NAME:
        assert "".join(layout.lines).replace(" ", "") == name.replace(" ", "")
