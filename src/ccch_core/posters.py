"""QR codes (PNG, SVG) and print-ready posters (PDF, A4 and A3) for placements
(:mod:`ccch_core.placements`), shared by every plugin with a public page (the survey, the question
form, the contest): one poster design, one QR code, one check of the public URL.

The libraries are imported when a code or a poster is made, not with this module: a plugin that
makes posters declares ``qrcode``, ``pillow`` (PNG), ``fpdf2`` and ``fontpkg-be-vietnam-pro`` in its
own dependencies, and a deployment without such a plugin installs none of them.

The PDF embeds Be Vietnam Pro (from the ``fontpkg-be-vietnam-pro`` package, SIL Open Font
License), a typeface designed for Vietnamese: every diacritic (ả, ự, ườ …) prints correctly, which
the PDF standard fonts cannot do. fpdf2 embeds only the glyphs used (a subset), once per file, so a
batch of a hundred posters is one small PDF.

QR codes use error correction level Q (25% of the code may be dirty or torn: posters hang in
sun and rain) and are drawn as vector rectangles, one per run of dark modules, so they stay sharp
at any print size.
"""

from __future__ import annotations

import io
import ipaddress
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from urllib.parse import urlsplit

import attrs

__all__ = [
    "BRAND",
    "LOCAL_NAME_SUFFIXES",
    "PAGE_SIZES",
    "PARALLEL_FROM",
    "PT",
    "QUIET_ZONE",
    "HeaderLayout",
    "PosterDocument",
    "PosterItem",
    "PosterText",
    "PublicUrlProblem",
    "posters_pdf",
    "printed_url",
    "public_url_problem",
    "qr_matrix",
    "qr_png",
    "qr_svg",
]

QUIET_ZONE = 4
"""Light modules around the code, as the QR standard requires."""
PAGE_SIZES = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
"""The paper sizes a poster batch can be printed on: width and height in millimetres."""
BRAND = (155, 28, 28)
"""The dark red of the top band of a poster (RGB)."""


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code's modules (True = dark), without the quiet zone."""
    import qrcode
    import qrcode.constants

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=0)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def _runs(row: Sequence[bool]) -> Iterable[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    x, n = 0, len(row)
    while x < n:
        if row[x]:
            start = x
            while x < n and row[x]:
                x += 1
            yield start, x - start
        else:
            x += 1


def qr_svg(data: str, module: int = 10) -> str:
    """The QR code as a standalone SVG (one path, quiet zone included)."""
    matrix = qr_matrix(data)
    size = (len(matrix) + 2 * QUIET_ZONE) * module
    path = []
    for y, row in enumerate(matrix):
        for start, length in _runs(row):
            path.append(f"M{(start + QUIET_ZONE) * module} {(y + QUIET_ZONE) * module}"
                        f"h{length * module}v{module}h-{length * module}z")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
            f'<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{"".join(path)}"/></svg>\n')


def qr_png(data: str, module: int = 10) -> bytes:
    """The QR code as a PNG image (black on white, quiet zone included)."""
    from PIL import Image

    matrix = qr_matrix(data)
    n = len(matrix) + 2 * QUIET_ZONE
    image = Image.new("1", (n, n), 1)
    pixels = image.load()
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                pixels[x + QUIET_ZONE, y + QUIET_ZONE] = 0
    image = image.resize((n * module, n * module), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _font_file(name: str) -> str:
    return str(resources.files("fontpkg_be_vietnam_pro") / "files" / name)


@attrs.frozen
class PosterText:
    """What a poster says. The page's plugin gives the title, subtitle and steps for its page (the
    survey's: "Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn"); a deployment can change them per batch."""

    organisation: str
    title: str = "QUÉT MÃ QR ĐỂ MỞ TRANG"
    subtitle: str = ""
    steps: tuple[str, ...] = (
        "1. Mở máy ảnh (camera) hoặc Zalo trên điện thoại.",
        "2. Hướng vào mã QR dưới đây rồi chạm vào đường dẫn hiện ra.",
    )
    privacy: str = "Không cần đăng nhập, không cần cài ứng dụng."
    url_hint: str = "Không quét được mã? Gõ địa chỉ này vào trình duyệt:"
    document_title: str = "Poster"
    """The PDF's title (its metadata)."""


@attrs.frozen
class PosterItem:
    """One poster: the placement's URL and code (empty: the poster promotes a page and prints no
    code), its unit and place."""

    url: str
    code: str
    unit_name: str
    place: str


def printed_url(url: str) -> str:
    """The URL as printed under the QR: without ``https://`` (shorter to type)."""
    parts = urlsplit(url)
    return url.split("://", 1)[1] if parts.scheme == "https" else url


LOCAL_NAME_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")
"""Host name endings that only resolve inside a local network (RFC 6761, 6762, 8375 and common
private use), never from a citizen's phone on mobile data."""

_HOW_TO_FIX = ("Hãy ghi địa chỉ mà người dân truy cập được từ Internet vào tệp ccch.toml, mục [deployment], "
               'ví dụ: public_base_url = "https://cchc.ductho.hatinh.gov.vn", rồi khởi động lại `ccch serve`.')


@attrs.frozen
class PublicUrlProblem:
    """Why a public base URL is not fit to print on posters.

    ``blocking``: True when citizens could not reach it at all (loopback, private or link-local
    address, a local-network name) — printing should stop unless the officer says it is meant for a
    local network; False for a warning (plain http on a public host works but is not encrypted).
    ``message``: Vietnamese, names the URL and says how to set ``public_base_url`` in ccch.toml."""

    message: str
    blocking: bool

    def __str__(self) -> str:
        return self.message


def public_url_problem(base_url: str, page: str = "trang") -> PublicUrlProblem | None:
    """Check the public base URL that QR codes and printed links carry, before posters are printed.

    Returns None when the URL looks reachable by citizens (https on a public host name or address),
    otherwise a :class:`PublicUrlProblem`: blocking for a loopback (``127.0.0.1``, ``localhost``,
    ``::1``), unspecified (``0.0.0.0``), private (RFC 1918 ``10/8``, ``172.16/12``, ``192.168/16``,
    IPv6 ``fc00::/7``) or link-local (``169.254/16``, ``fe80::/10``) address, a name ending in
    ``.local``, ``.localhost``, ``.internal``, ``.lan`` or ``.home.arpa``, or a name without a dot;
    a warning (not blocking) for plain ``http`` on a public host. No DNS look-up is made: a poster
    must not depend on how the printing machine resolves names.

    ``page`` names the page in the message ("trang khảo sát"). Shared by every command and page that
    prints posters or QR codes, so they refuse and warn alike.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").rstrip(".")
    where = f"Địa chỉ công khai (public_base_url) “{base_url}”"

    def blocking(reason: str) -> PublicUrlProblem:
        return PublicUrlProblem(f"{where} {reason}: người dân quét mã QR trên áp phích sẽ không mở được {page}. "
                                f"{_HOW_TO_FIX}", True)

    if not host:
        return blocking("không có tên máy chủ")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback:
            return blocking(f"trỏ về chính máy này ({host} là địa chỉ loopback)")
        if address.is_unspecified:
            return blocking(f"không phải địa chỉ của một máy cụ thể ({host})")
        if address.is_link_local:
            return blocking(f"là địa chỉ link-local ({host}), chỉ dùng được trong một đoạn mạng")
        if address.is_private:
            return blocking(f"là địa chỉ mạng nội bộ ({host}), chỉ máy trong cùng mạng mới vào được")
    else:
        name = host.lower()
        if name == "localhost" or name.endswith(".localhost"):
            return blocking(f"trỏ về chính máy này ({host})")
        if name.endswith(LOCAL_NAME_SUFFIXES):
            return blocking(f"dùng tên máy trong mạng nội bộ ({host}), không tra được từ Internet")
        if "." not in name:
            return blocking(f"dùng tên máy không có tên miền ({host}), không tra được từ Internet")
    if parts.scheme != "https":
        return PublicUrlProblem(
            f"{where} dùng http, không mã hóa: điện thoại có thể báo “không an toàn” và câu trả lời đi qua mạng "
            "không được bảo vệ. Nên dùng https, ví dụ: public_base_url = \"https://cchc.ductho.hatinh.gov.vn\" "
            "trong tệp ccch.toml, mục [deployment].", False)
    return None


PT = 25.4 / 72
"""Millimetres per typographic point."""


@attrs.frozen
class HeaderLayout:
    """Where the organisation's name goes in the red band at the top of a poster (millimetres from
    the top of the page; the band spans the page's width)."""

    lines: tuple[str, ...]
    """The name as wrapped, one entry per printed line."""
    font_size: float
    """Points (bold)."""
    line_height: float
    band_height: float
    first_line_top: float
    """Top of the first line's cell; line ``i`` starts at ``first_line_top + i * line_height``."""
    content_top: float
    """Where the title starts, below the band."""


class PosterDocument:
    """A PDF of posters, one page each; add pages, then :meth:`output`."""

    BAND = 22.0
    """Height of the red band on A4 (mm; scaled for A3) while the name fits in two lines."""
    NAME_SIZES = (15.0, 14.0, 13.0, 12.0, 11.0, 10.0)
    """Font sizes (points, A4) tried for the organisation's name, largest first: a long name first
    wraps to two lines, then shrinks (down to 10 pt, still readable from a metre), and only a name
    that needs three lines even then makes the band taller and pushes the rest down."""

    def __init__(self, size: str = "A4", title: str = "Poster"):
        from fpdf import FPDF

        if size not in PAGE_SIZES:
            raise ValueError(f"poster size is A4 or A3, not {size!r}")
        self.size = size
        self.width, self.height = PAGE_SIZES[size]
        self.k = self.width / 210.0  # A3 is A4 scaled by √2
        pdf = FPDF(orientation="P", unit="mm", format=size)
        pdf.set_auto_page_break(False)
        pdf.set_margins(15 * self.k, 15 * self.k, 15 * self.k)
        pdf.add_font("BeVietnamPro", "", _font_file("BeVietnamPro-Regular.ttf"))
        pdf.add_font("BeVietnamPro", "B", _font_file("BeVietnamPro-Bold.ttf"))
        pdf.set_title(title)
        pdf.set_creator("ccch")
        self.pdf = pdf
        self.pages = 0
        self._lines: dict[tuple, list[str]] = {}
        self._headers: dict[str, HeaderLayout] = {}

    def _wrap(self, width: float, text: str, style: str, size: float) -> list[str]:
        """``text`` broken into lines that fit ``width`` (cached: a batch repeats the same texts)."""
        key = (text, style, size, width)
        lines = self._lines.get(key)
        if lines is None:
            self.pdf.set_font("BeVietnamPro", style, size)
            lines = self.pdf.multi_cell(width, 5, text, align="C", dry_run=True, output="LINES")
            self._lines[key] = lines
        return lines

    def _wrap_words(self, width: float, text: str, style: str, size: float) -> list[str]:
        """``text`` broken at spaces into lines no wider than ``width`` (a word longer than a line is
        cut between letters). Measured with the font's metrics, so it works before any page exists."""
        pdf = self.pdf
        pdf.set_font("BeVietnamPro", style, size)
        lines: list[str] = []
        line = ""
        for word in text.split():
            candidate = f"{line} {word}" if line else word
            if pdf.get_string_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                if line and pdf.get_string_width(line + char) > width:
                    lines.append(line)
                    line = ""
                line += char
        if line or not lines:
            lines.append(line)
        return lines

    def header_layout(self, organisation: str) -> HeaderLayout:
        """How the organisation's name fits the red band: one or two lines at the largest size of
        :attr:`NAME_SIZES` that needs at most two, each line inside the band (white on red, never
        off it onto the white page), the title below it."""
        layout = self._headers.get(organisation)
        if layout is not None:
            return layout
        k, inner = self.k, self.width - 30 * self.k
        pad = 3.5 * k
        for size in self.NAME_SIZES:
            lines = self._wrap_words(inner - 2 * self.pdf.c_margin, organisation, "B", size * k)
            if len(lines) <= 2:
                break
        font_size = size * k
        # 1.35 × the font size: room for Vietnamese stacked marks (Ủ, Ấ, Ễ) above the capitals.
        line_height = font_size * PT * 1.35
        band = max(self.BAND * k, len(lines) * line_height + 2 * pad)
        layout = HeaderLayout(tuple(lines), font_size, line_height, band,
                              (band - len(lines) * line_height) / 2, band + 6 * k)
        self._headers[organisation] = layout
        return layout

    def _text(self, width: float, line_height: float, text: str, style: str, size: float, align: str = "C",
              x: float | None = None) -> None:
        """Write ``text`` wrapped to ``width``; line breaks are computed once per distinct text (the
        same instructions repeat on every poster of a batch)."""
        pdf = self.pdf
        lines = self._wrap(width, text, style, size)
        pdf.set_font("BeVietnamPro", style, size)
        left = pdf.l_margin if x is None else x
        for line in lines:
            pdf.set_x(left)
            pdf.cell(width, line_height, line, align=align, new_x="LMARGIN", new_y="NEXT")

    def add(self, item: PosterItem, text: PosterText, matrix: list[list[bool]] | None = None) -> None:
        """Draw one poster page (``matrix``: the QR modules if already computed)."""
        pdf, k, w = self.pdf, self.k, self.width
        pdf.add_page()
        inner = w - 30 * k
        # Band with the organisation's name (white on red: every line must stay on the band).
        header = self.header_layout(text.organisation)
        pdf.set_fill_color(*BRAND)
        pdf.rect(0, 0, w, header.band_height, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_font("BeVietnamPro", "B", header.font_size)
        for i, line in enumerate(header.lines):
            pdf.set_xy(15 * k, header.first_line_top + i * header.line_height)
            pdf.cell(inner, header.line_height, line, align="C")
        pdf.set_text_color(26, 26, 26)
        pdf.set_y(header.content_top)
        self._text(inner, 11 * k, text.title, "B", 24 * k)
        if text.subtitle:
            self._text(inner, 7 * k, text.subtitle, "", 14 * k)
        pdf.ln(2 * k)
        pdf.set_text_color(*BRAND)
        self._text(inner, 6.5 * k, item.unit_name, "B", 13 * k)
        pdf.set_text_color(26, 26, 26)
        if item.place and item.place != item.unit_name:
            self._text(inner, 6 * k, item.place, "", 12 * k)
        pdf.ln(3 * k)
        for step in text.steps:
            self._text(w - 60 * k, 6.5 * k, step, "", 12 * k, align="L", x=30 * k)
        # The QR code, centred, as big as the space left allows.
        top = pdf.get_y() + 5 * k
        matrix = matrix if matrix is not None else qr_matrix(item.url)
        n = len(matrix)
        # A very long name makes the band taller: the code shrinks, but never below 45 mm on A4.
        side = max(45 * k, min(110 * k, 297 * k - top - 62 * k))
        cell = side / n
        x0 = (w - side) / 2
        pdf.set_fill_color(0, 0, 0)
        for y, row in enumerate(matrix):
            for start, length in _runs(row):
                pdf.rect(x0 + start * cell, top + y * cell, length * cell, cell, style="F")
        pdf.set_y(top + side + 5 * k)
        self._text(inner, 6 * k, text.url_hint, "", 11 * k)
        self._text(inner, 9 * k, printed_url(item.url), "B", 17 * k)
        if item.code:  # a poster that only promotes a page (the contest's) has no placement code
            self._text(inner, 5 * k, f"Mã nơi đặt: {item.code}", "", 10 * k)
        pdf.set_draw_color(*BRAND)
        pdf.line(15 * k, self.height - 24 * k, w - 15 * k, self.height - 24 * k)
        pdf.set_y(self.height - 22 * k)
        self._text(inner, 5 * k, text.privacy, "", 10 * k)
        self.pages += 1

    def output(self) -> bytes:
        """The PDF file."""
        return bytes(self.pdf.output())


PARALLEL_FROM = 24
"""Batches at least this long compute their QR codes in worker processes while the main process
draws the pages (QR generation in pure Python costs a few milliseconds a code)."""


def posters_pdf(items: Sequence[PosterItem], text: PosterText, size: str = "A4",
                progress: Callable[[int], None] | None = None, workers: int | None = None) -> bytes:
    """A PDF with one poster per item; ``progress(1)`` is called after each page.

    ``workers``: processes computing QR codes for long batches (default: the number of CPUs;
    0 or 1 computes them in this process)."""
    items = list(items)
    document = PosterDocument(size, text.document_title)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers > 1 and len(items) >= PARALLEL_FROM:
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with context.Pool(workers) as pool:
            matrices = pool.imap(qr_matrix, (item.url for item in items), chunksize=8)
            for item, matrix in zip(items, matrices):
                document.add(item, text, matrix)
                if progress:
                    progress(1)
    else:
        for item in items:
            document.add(item, text)
            if progress:
                progress(1)
    return document.output()
