"""Helpers of the initiatives plugin's tests (imported by the tests and conftest.py)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zlib
from pathlib import Path

from ccch_initiatives.documents import plain_docx

from ccch_core.periods import VN_TZ
from ccch_core.testing import csrf_token

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "duc-tho-2024" / "initiatives.toml"
OPENS = dt.datetime(2024, 7, 1, 7, 0, tzinfo=VN_TZ)
CLOSES = dt.datetime(2024, 9, 30, 17, 0, tzinfo=VN_TZ)
DURING = dt.datetime(2024, 8, 15, 9, 30, tzinfo=VN_TZ)
SLUG = "sang-kien-cchc-2024"
BODY = ("Giải pháp: lập tổ hỗ trợ người dân nộp hồ sơ trực tuyến ngay tại Bộ phận một cửa, bố trí máy tính "
        "tại sảnh và hướng dẫn tạo tài khoản định danh điện tử; kết quả là tỷ lệ hồ sơ trực tuyến tăng rõ rệt.")


def example_text(**changes) -> str:
    """The example call's TOML with some ``[call]`` keys replaced (values as TOML text)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for key, value in changes.items():
        text, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text)
        if not n:
            text = text.replace("[call]\n", f"[call]\n{key} = {value}\n", 1)
    return text


def docx(*paragraphs, creator=None) -> bytes:
    return plain_docx(list(paragraphs) or [BODY], creator=creator)


def pdf(text: str, *, author: str | None = None, repeat: int = 1) -> bytes:
    """A small valid PDF with one page of ASCII text (Helvetica) and an /Author in its info
    (``repeat``: the page's text operators that many times over)."""
    content = zlib.compress(f"BT /F1 11 Tf 50 800 Td ({text}) Tj ET\n".encode("latin-1") * repeat)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
         b"/Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length " + str(len(content)).encode() + b" /Filter /FlateDecode >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Author (" + (author or "").encode("latin-1") + b") /Title (Sang kien) >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def entry_form(**changes) -> dict:
    form = {"title": "Tổ hỗ trợ dịch vụ công trực tuyến", "category": "thu-tuc-hanh-chinh", "entrant_kind": "person",
            "unit_id": "xa-an-dung", "author_1": "Nguyễn Thị Hoa", "contact_email": "hoa@andung.ductho.gov.vn",
            "contact_phone": "0912 345 678", "summary": "Tổ hỗ trợ người dân nộp hồ sơ trực tuyến.", "consent": "1"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def post(client, url, data, *, token_url=None, **kwargs):
    """POST ``data`` with the CSRF token of the form at ``token_url`` (default ``url``)."""
    data = dict(data)
    data["csrf_token"] = csrf_token(client, token_url or url)
    return client.post(url, data=data, **kwargs)


_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def post_public(client, url, data, *, token_url=None, **kwargs):
    """POST ``data`` to a public entry form with the form token of the page at ``token_url``."""
    data = dict(data)
    data["form_token"] = _FORM_TOKEN.search(client.get(token_url or url).get_data(as_text=True)).group(1)
    return client.post(url, data=data, **kwargs)
