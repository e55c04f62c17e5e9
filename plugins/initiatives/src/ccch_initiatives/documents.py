"""An entry's document: checked from its content, bounded before it is parsed, its text extracted,
a copy for the judges without the metadata that names the authors, and the hints the secretary
needs (author names left in the text, near-identical texts across entries).

Everything here raises :class:`DocumentError` with a Vietnamese message for the author.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import unicodedata
import zipfile

import attrs

from ccch_core.limits import (
    DEFAULT_LIMITS,
    ImportLimits,
    LimitError,
    check_zip,
    read_limited,
)

MAX_PDF_PAGES = 300
MAX_PDF_CONTENT = 2_000_000
"""Bytes of page content (drawing operators, inflated) a PDF may have in all. Extracting text costs
about 2 s of CPU per MB of them, and an 18 KB PDF can inflate to 6 MB: past this, the PDF is
refused before any text is extracted (a text initiative of 100 pages has a few hundred KB)."""
MAX_TEXT_CHARS = 400_000
"""Text kept for the judges' page and the hints (about 150 pages of prose)."""
SKETCH_SIZE = 128
SHINGLE_WORDS = 5
SIMILAR_AT = 0.5
"""Two entries whose texts share this estimated fraction of 5-word sequences are flagged."""
REDACTED = "[đã ẩn]"

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT_PARTS = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml$")
_PERSON_ATTRS = re.compile(rb'(\b[A-Za-z0-9]+:(?:author|initials|userId|providerId))="[^"]*"')
_APP_PERSON = re.compile(rb"<(Company|Manager)>[^<]*</\1>")


class DocumentError(ValueError):
    """A document refused: ``str()`` is the Vietnamese message naming the problem."""


@attrs.frozen
class Document:
    """A checked upload."""

    kind: str  # "docx" | "pdf"
    original: bytes
    blind: bytes
    text: str
    extra_text: str  # headers, footers, notes and comments: searched for names, not shown
    sha256: str

    @property
    def size(self) -> int:
        return len(self.original)


def _size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f}".removesuffix(".0").replace(".", ",") + " MB"
    return f"{max(1, size // 1000)} KB"


def read_upload(stream, max_bytes: int, limits: ImportLimits = DEFAULT_LIMITS) -> bytes:
    """The bytes of an upload, never more than ``max_bytes`` and one read."""
    try:
        data = read_limited(stream, "tài liệu", attrs.evolve(limits, max_file_bytes=max_bytes))
    except LimitError:
        raise DocumentError(f"Tài liệu nặng hơn {_size(max_bytes)}, giới hạn của cuộc thi. Hãy giảm dung lượng "
                            "(nén hình ảnh, lưu PDF ở chất lượng thấp hơn) rồi gửi lại.") from None
    if not data:
        raise DocumentError("Chưa chọn tệp tài liệu, hoặc tệp rỗng.")
    return data


def sniff(data: bytes) -> str:
    """"pdf" or "docx", from the content (never the file name); :class:`DocumentError` otherwise."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, EOFError, OSError):
            raise DocumentError("Tệp bị hỏng: không mở được như một văn bản Word (DOCX).") from None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "docx"
        raise DocumentError("Tệp nén này không phải văn bản Word (DOCX). Chỉ nhận DOCX hoặc PDF.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentError("Đây là tệp Word đời cũ (.doc). Hãy mở bằng Word, chọn Lưu thành (Save As) dạng .docx "
                            "hoặc PDF rồi gửi lại.")
    raise DocumentError("Tệp không phải văn bản Word (DOCX) hay PDF. Chỉ nhận DOCX hoặc PDF.")


def _paragraphs(root) -> str:
    lines = []
    for paragraph in root.iter(f"{_W}p"):
        parts = []
        for node in paragraph.iter():
            if node.tag == f"{_W}t" and node.text:
                parts.append(node.text)
            elif node.tag == f"{_W}tab":
                parts.append("\t")
            elif node.tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n")
        lines.append("".join(parts))
    return "\n".join(lines)


def _docx(data: bytes, limits: ImportLimits) -> Document:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    source = io.BytesIO(data)
    try:
        check_zip(source, "tài liệu", limits, kind="docx")
    except LimitError as exc:
        raise DocumentError("Tệp DOCX bất thường: " + exc.message) from None
    body, extra = "", []
    blind = io.BytesIO()
    try:
        with zipfile.ZipFile(source) as archive, zipfile.ZipFile(blind, "w", zipfile.ZIP_DEFLATED) as out:
            for member in archive.infolist():
                content = archive.read(member)  # bounded: the directory's sizes were checked above
                if _TEXT_PARTS.match(member.filename):
                    text = _paragraphs(fromstring(content))
                    if member.filename == "word/document.xml":
                        body = text
                    else:
                        extra.append(text)
                if member.filename == "docProps/core.xml":
                    content = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                               b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
                               b'metadata/core-properties"/>')
                elif member.filename == "docProps/app.xml":
                    content = _APP_PERSON.sub(rb"<\1></\1>", content)
                elif member.filename == "docProps/custom.xml":
                    content = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Properties xmlns="http://'
                               b'schemas.openxmlformats.org/officeDocument/2006/custom-properties"/>')
                elif member.filename.endswith(".xml"):
                    content = _PERSON_ATTRS.sub(rb'\1=""', content)
                out.writestr(member.filename, content)
    except (DefusedXmlException, SyntaxError):  # before ValueError, which they are; ParseError is a SyntaxError
        raise DocumentError("Tệp DOCX bị hỏng hoặc có nội dung XML không được phép.") from None
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError, RuntimeError):
        raise DocumentError("Tệp DOCX bị hỏng: không đọc được nội dung.") from None
    return Document("docx", data, blind.getvalue(), body[:MAX_TEXT_CHARS], "\n".join(extra)[:MAX_TEXT_CHARS],
                    hashlib.sha256(data).hexdigest())


def _pdf(data: bytes) -> Document:
    import logging

    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("Tệp PDF có mật khẩu. Hãy gửi bản PDF không đặt mật khẩu.")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise DocumentError(f"Tệp PDF có {len(reader.pages)} trang, quá {MAX_PDF_PAGES} trang cho một sáng kiến.")
        content = 0
        for page in reader.pages:
            stream = page.get_contents()
            content += len(stream.get_data()) if stream is not None else 0
            if content > MAX_PDF_CONTENT:
                raise DocumentError("Tệp PDF có nội dung trang bất thường (quá nhiều lệnh vẽ so với một văn bản). "
                                    "Hãy xuất lại PDF từ Word, hoặc gửi bản DOCX.")
        texts, total = [], 0
        writer = PdfWriter()
        for page in reader.pages:
            if total < MAX_TEXT_CHARS:
                text = page.extract_text() or ""
                texts.append(text)
                total += len(text)
            added = writer.add_page(page)
            for key in ("/Annots", "/Metadata", "/PieceInfo"):  # comments carry their author's name
                if key in added:
                    del added[key]
        writer.add_metadata({"/Producer": "ccch"})
        blind = io.BytesIO()
        writer.write(blind)
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, OSError,
            ZeroDivisionError, AssertionError):
        raise DocumentError("Tệp PDF bị hỏng: không đọc được nội dung. Hãy xuất lại PDF từ Word rồi gửi lại.") from None
    return Document("pdf", data, blind.getvalue(), "\n".join(texts)[:MAX_TEXT_CHARS], "",
                    hashlib.sha256(data).hexdigest())


def check_document(data: bytes, limits: ImportLimits = DEFAULT_LIMITS) -> Document:
    """A :class:`Document` from uploaded bytes (already bounded by :func:`read_upload`)."""
    kind = sniff(data)
    document = _docx(data, limits) if kind == "docx" else _pdf(data)
    if len(" ".join(document.text.split())) < 50:
        raise DocumentError("Không đọc được chữ trong tài liệu (có thể là bản scan ảnh). Hãy gửi bản DOCX, hoặc PDF "
                            "xuất từ Word có chữ chọn được.")
    return document


# -- names left in the document ---------------------------------------------------------------------


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[:1].lower()
    return base if len(base) == 1 else " "


class _FoldTable(dict):
    """``str.translate``'s table for :func:`fold_text`, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < 10_000:  # Vietnamese needs a few hundred; odd input must not grow it forever
            self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold_text(text: str) -> str:
    """One character per character of ``text``: lower case, no diacritics, đ → d (so a span found
    in the folded text is the same span in the text)."""
    return text.translate(_FOLD)


def _needle(name: str) -> str:
    return " ".join(fold_text(unicodedata.normalize("NFC", name)).split())


def _pattern(needles: list[str]) -> re.Pattern | None:
    return _compiled(tuple(sorted({n for n in needles if len(n) >= 4}, key=lambda n: (-len(n), n))))


@functools.lru_cache(maxsize=8192)
def _compiled(needles: tuple[str, ...]) -> re.Pattern | None:
    """The pattern of an entry's needles, kept: a judge's list redacts every title of the call."""
    if not needles:
        return None
    parts = [r"\s+".join(re.escape(word) for word in needle.split(" ")) for needle in needles]
    return re.compile(r"(?<![0-9a-z])(?:" + "|".join(parts) + r")(?![0-9a-z])")


def person_needles(authors: list[dict], email: str | None, phone: str | None) -> list[str]:
    """What identifies the authors in a text: each name, the contact e-mail and phone number."""
    needles = [_needle(a.get("name") or "") for a in authors]
    if email:
        needles.append(email.lower())
    if phone:
        needles.append(phone)
    return [n for n in needles if n]


def names_found(text: str, needles: list[str]) -> list[str]:
    """The needles (folded) that occur in ``text``, diacritics and case ignored."""
    pattern = _pattern(needles)
    if pattern is None:
        return []
    folded = unicodedata.normalize("NFC", text)
    return sorted({" ".join(m.group(0).split()) for m in pattern.finditer(fold_text(folded))})


def redact(text: str, needles: list[str]) -> str:
    """``text`` with every occurrence of the needles (diacritics and case ignored) replaced by
    :data:`REDACTED`."""
    pattern = _pattern(needles)
    text = unicodedata.normalize("NFC", text)
    if pattern is None:
        return text
    out, last = [], 0
    for match in pattern.finditer(fold_text(text)):
        out.append(text[last:match.start()])
        out.append(REDACTED)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


# -- near-duplicate hints ---------------------------------------------------------------------------

_WORD = re.compile(r"[0-9a-z]+")


def sketch(text: str) -> list[int]:
    """The :data:`SKETCH_SIZE` smallest hashes of the text's 5-word sequences (a bottom-k sketch:
    two sketches estimate the share of sequences two texts have in common)."""
    words = _WORD.findall(fold_text(unicodedata.normalize("NFC", text)))
    hashes = set()
    for i in range(max(0, len(words) - SHINGLE_WORDS + 1)):
        digest = hashlib.blake2b(" ".join(words[i:i + SHINGLE_WORDS]).encode(), digest_size=8).digest()
        hashes.add(int.from_bytes(digest, "big") >> 1)
    return sorted(hashes)[:SKETCH_SIZE]


def similarity(a: list[int] | set[int], b: list[int] | set[int]) -> float:
    """The estimated Jaccard similarity of two bottom-k sketches."""
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union = sorted(sa | sb)[:SKETCH_SIZE]
    return sum(1 for h in union if h in sa and h in sb) / len(union)


# -- a plain DOCX, for the demo entries and the tests ------------------------------------------------


def plain_docx(paragraphs: list[str], *, creator: str | None = None) -> bytes:
    """A minimal valid DOCX of plain paragraphs (``creator``: the writer named in its metadata, as
    Word records it)."""
    from xml.sax.saxutils import escape

    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs)
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/></Relationships>'),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body>{body}</w:body></w:document>"),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:creator>{escape(creator or '')}</dc:creator>"
            f"<cp:lastModifiedBy>{escape(creator or '')}</cp:lastModifiedBy></cp:coreProperties>"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()
