"""Bytes on the wire (ccch_core.web.compression): gzip only for clients that accept it and only for
anonymous visitors, Vary on every compressible answer, ETags and 304 that stay right, static
files under content-hashed names, and per-visitor secrets kept out of the compressor."""

from __future__ import annotations

import gzip
import re
import secrets
import zlib

import pytest
from flask import Flask, g, make_response
from test_web import build_app, login, make_users, text_of, use_http_base_url

from ccch_core.web.compression import MIN_BYTES, Secret, page_response, precompress

GZIP = {"Accept-Encoding": "gzip, deflate, br"}  # what a phone's browser sends


@pytest.fixture
def app(deployment_config):
    app = build_app(use_http_base_url(deployment_config))
    yield app
    app.extensions["ccch"].close()


def static_url(app, endpoint="static", filename="public.css") -> str:
    from flask import url_for

    with app.test_request_context("/"):
        return url_for(endpoint, filename=filename)


def file_bytes(app, filename="public.css") -> bytes:
    """The file as served: without its comments."""
    from pathlib import Path

    source = (Path(app.static_folder) / filename).read_bytes()
    served = re.sub(rb"(?m)^[ \t]+", b"", re.sub(rb"/\*.*?\*/\n?", b"", source, flags=re.DOTALL))
    assert b"/*" in source and b"/*" not in served and served.count(b"{") == source.count(b"{")
    return served


# ---------------------------------------------------------------------------------------------
# Static files


def test_pages_link_the_content_hashed_stylesheet(app):
    url = static_url(app)
    assert re.fullmatch(r"/static/public\.[0-9a-f]{12}\.css", url)
    page = text_of(app.test_client().get("/dang-nhap"))
    assert f'href="{static_url(app, filename="app.css")}"' in page
    assert "/static/app.css" not in page


def test_hashed_static_file_is_cached_for_a_year_and_gzipped_only_when_accepted(app):
    client = app.test_client()
    url = static_url(app)
    plain = client.get(url)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.data == file_bytes(app)
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert plain.content_type.startswith("text/css")
    zipped = client.get(url, headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == file_bytes(app)
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data) / 2
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == file_bytes(app)


def test_static_etag_gives_304_per_coding(app):
    client = app.test_client()
    url = static_url(app)
    plain = client.get(url)
    zipped = client.get(url, headers=GZIP)
    assert plain.headers["ETag"] != zipped.headers["ETag"]  # two representations, two validators
    again = client.get(url, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"].startswith("public")
    again = client.get(url, headers={**GZIP, "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304 and "Content-Encoding" not in again.headers
    # The gzip body's validator does not validate the identity body, nor the other way round.
    assert client.get(url, headers={"If-None-Match": zipped.headers["ETag"]}).status_code == 200
    assert client.get(url, headers={**GZIP, "If-None-Match": plain.headers["ETag"]}).status_code == 200


def test_old_static_names_still_work_but_are_revalidated(app):
    client = app.test_client()
    for old in ("/static/public.css", "/static/public.0123456789ab.css"):  # before hashing; an earlier version
        response = client.get(old)
        assert response.status_code == 200, old
        assert response.data == file_bytes(app)
        assert response.headers["Cache-Control"] == "no-cache"


def test_unknown_static_names_get_the_404_page(app):
    client = app.test_client()
    for name in ("/static/nope.css", "/static/public.0123456789ab.js", "/static/../ccch.toml",
                 "/static/" + "a" * 2000 + ".css"):
        response = client.get(name, headers=GZIP)
        assert response.status_code == 404, name
        assert "Không tìm thấy trang" in gzip.decompress(response.data).decode() \
            if response.headers.get("Content-Encoding") == "gzip" else text_of(response)


# ---------------------------------------------------------------------------------------------
# Pages


def test_public_page_is_gzipped_only_when_accepted(app):
    client = app.test_client()
    plain = client.get("/dang-nhap")
    assert len(plain.data) >= MIN_BYTES and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]  # a cache must not hand this to a gzip client
    zipped = client.get("/dang-nhap", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    html = gzip.decompress(zipped.data).decode()
    assert "Đăng nhập" in html and len(zipped.data) < len(plain.data) * 0.6
    # The request id and the security headers are still on the compressed answer.
    assert zipped.headers["X-Request-ID"] and zipped.headers["Content-Security-Policy"]
    assert "Content-Encoding" not in client.get("/dang-nhap", headers={"Accept-Encoding": "br, deflate"}).headers


def test_tiny_responses_are_not_compressed(app):
    response = app.test_client().get("/healthz", headers=GZIP)
    assert response.data == b"ok\n" and "Content-Encoding" not in response.headers and "Accept-Encoding" not in response.headers.get("Vary", "")


def test_signed_in_pages_are_never_compressed(app):
    """BREACH: an officer's page carries the session's CSRF token and personal data next to text
    from the request; see docs/security.md, "Compression and secrets"."""
    dep = app.extensions["ccch"]
    users = make_users(dep)
    client = app.test_client()
    assert login(client, users["plan_admin"]).status_code == 302
    page = client.get("/", headers=GZIP, follow_redirects=True)
    assert page.status_code == 200 and len(page.data) >= MIN_BYTES
    assert "Content-Encoding" not in page.headers
    assert 'name="csrf_token"' in text_of(page) or "csrf" not in text_of(page)
    # Static files stay compressed for them: no secret in a stylesheet.
    assert client.get(static_url(app), headers=GZIP).headers["Content-Encoding"] == "gzip"


def test_strong_etag_of_a_compressed_page_becomes_weak_and_still_validates(app):
    body = "<p>" + "Cải cách hành chính. " * 200 + "</p>"

    @app.route("/thu-etag")
    def etagged():
        from flask import request

        response = make_response(body)
        response.set_etag("v1")
        return response.make_conditional(request)

    etagged.ccch_access = "public"
    client = app.test_client()
    zipped = client.get("/thu-etag", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["ETag"] == 'W/"v1"'
    assert gzip.decompress(zipped.data).decode() == body
    assert client.get("/thu-etag", headers={**GZIP, "If-None-Match": zipped.headers["ETag"]}).status_code == 304
    assert client.get("/thu-etag").headers["ETag"] == '"v1"'  # identity keeps the strong validator


# ---------------------------------------------------------------------------------------------
# page_response: cached pages stored compressed, secrets never compressed


@pytest.fixture
def bare():
    app = Flask(__name__)
    with app.test_request_context("/", headers=GZIP):
        g.user = None
        yield app


def test_page_response_joins_precompressed_parts_into_one_gzip_stream(bare):
    head = precompress("<!doctype html><title>Khảo sát</title>" + "<p>Câu hỏi về thủ tục hành chính</p>" * 60)
    tail = precompress("<footer>UBND huyện Đức Thọ</footer>" * 20)
    token = secrets.token_urlsafe(40)
    response = page_response([head, Secret(token), "<p>phần riêng của trang</p>", tail], 201, {"X-A": "1"})
    assert response.status_code == 201 and response.headers["X-A"] == "1"
    assert response.headers["Content-Encoding"] == "gzip" and response.headers["Vary"] == "Accept-Encoding"
    expected = head.raw + token.encode() + "<p>phần riêng của trang</p>".encode() + tail.raw
    assert gzip.decompress(response.data) == expected
    assert zlib.decompress(response.data, 47) == expected  # zlib's own gzip reader agrees (CRC, size)
    assert token.encode() in response.data  # stored as it is: never went through the compressor


def test_a_secret_does_not_change_the_compressed_length(bare):
    """BREACH guesses a secret byte by byte from how much shorter the page gets when reflected
    input matches it. A secret sent in stored blocks gives every guess the same length."""
    page = precompress("<form>" + "<input name=q value=abcdefgh>" * 50)
    secret = "s3cr3tT0kenQ"
    reflected = ["s3cr3tT0kenQ", "k9w2vbX7pmZr"]  # a right guess, a wrong one (alike on their own)
    rest = "<p>Kết quả tìm kiếm cho: {}</p>" + "<p>Thủ tục hành chính cấp xã</p>" * 6  # compressed, not stored
    lengths = {len(page_response([page, Secret(secret), rest.format(guess)]).data) for guess in reflected}
    assert len(lengths) == 1
    # Compressed together with the page text, the right guess comes out shorter: the exposure
    # that Secret avoids.
    lengths = [len(page_response([page, secret + rest.format(guess)]).data) for guess in reflected]
    assert lengths[0] < lengths[1]


def test_page_response_without_gzip_is_the_plain_page(bare):
    head = precompress("a" * 2000)
    with bare.test_request_context("/", headers={"Accept-Encoding": "identity"}):
        g.user = None
        response = page_response([head, Secret("tok"), "b"])
        assert response.data == b"a" * 2000 + b"tokb" and "Content-Encoding" not in response.headers
        assert response.headers["Vary"] == "Accept-Encoding"
    with bare.test_request_context("/", headers=GZIP):
        g.user = object()  # signed in
        assert "Content-Encoding" not in page_response([head]).headers
    with bare.test_request_context("/", headers=GZIP):
        g.user = None
        small = page_response([precompress("ngắn")])
        assert small.data == "ngắn".encode() and "Vary" not in small.headers


def test_large_secret_is_split_into_stored_blocks(bare):
    big = secrets.token_bytes(70_000).hex()  # 140,000 characters: three stored blocks
    response = page_response([precompress("x" * 100), Secret(big)])
    assert gzip.decompress(response.data) == b"x" * 100 + big.encode()


def test_stylesheets_carry_no_document_only_headers(app):
    response = app.test_client().get(static_url(app), headers=GZIP)
    assert "Content-Security-Policy" not in response.headers and "X-Frame-Options" not in response.headers
    assert "Referrer-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Request-ID" not in response.headers  # no log line to tie it to: 36 bytes saved a file
    page = app.test_client().get("/dang-nhap", headers=GZIP)
    assert page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Request-ID"]


def test_later_parts_refer_back_to_earlier_text_but_never_to_a_secret(bare):
    frame = precompress("<nav>" + "<a href='/cuoc-thi/vong-1'>Vòng 1</a>" * 30 + "</nav>")
    text = "<a href='/cuoc-thi/vong-1'>Vòng 1</a>" * 30
    alone = page_response([text]).data
    after_frame = page_response([frame, text]).data
    assert len(after_frame) - len(frame.deflated) < len(alone) - 20  # the frame's text is in the window
    # A part with a NUL of its own gets no dictionary (a match could reach a masked secret's bytes).
    page = page_response([frame, Secret("x" * 40), "a\x00" + text, text])
    assert gzip.decompress(page.data) == frame.raw + b"x" * 40 + ("a\x00" + text + text).encode()


def test_scripts_lose_comment_lines_and_keep_template_literals():
    from ccch_core.web.compression import _minified

    script = b"// why this exists\nfunction f() {\n    // a note\n    return 1; // kept\n}\n"
    assert _minified("a.js", script) == b"function f() {\nreturn 1; // kept\n}\n"
    literal = b"const t = `line\n    indented`;\n// note\n"
    assert _minified("k.js", literal) == b"const t = `line\n    indented`;\n"  # indentation inside a literal kept
    assert _minified("p.png", b"  /* */") == b"  /* */"
