"""Fewer bytes on the wire: gzip for public pages, precompressed cached pages, and static files
with content-hashed names and long cache lifetimes.

A citizen scans a poster with a cheap phone on a slow link, so every byte is a wait. Three parts:

- **Responses compressed when the client accepts gzip** (``Accept-Encoding``): HTML, CSS, JS,
  JSON, SVG and plain text of at least :data:`MIN_BYTES`, for visitors who are not signed in.
  Pages of signed-in officers are never compressed (BREACH: a page that carries a secret and
  reflects input can leak the secret through its compressed length; officers' pages carry the
  session's CSRF token and personal data, and officers sit on office connections). Every
  compressible response says ``Vary: Accept-Encoding``; a strong ``ETag`` becomes weak when the
  body is compressed (as nginx does), so that ``If-None-Match`` still answers 304.
- **Pages cached per process, stored compressed**: :func:`precompress` deflates the unchanging
  parts of a page once; :func:`page_response` joins them with the per-visitor parts into a gzip
  stream without compressing the unchanging parts again. Per-visitor secrets (form tokens) go
  in as :class:`Secret`: sent as stored (uncompressed) deflate blocks, they never share a
  compression window with anything, so the compressed length tells nothing about them.
- **Static files** are read once at start, kept with their gzip form, and named by their content
  (``public.3f2a9c1be0d4.css``): ``url_for('static', filename='public.css')`` gives the hashed
  name, served with ``Cache-Control: public, max-age=31536000, immutable``. The plain name and an
  earlier hash (pages cached before an upgrade) still get the current file, revalidated
  (``no-cache`` with an ETag); any other name is the 404 page. Comments are left out of CSS and
  JavaScript as they are served (:func:`_minified`).

``install(app)`` is called by ``create_app`` after the blueprints are registered, so plugins'
static folders are covered too. See docs/performance.md ("Bytes on the wire") and docs/security.md.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from flask import Flask, Response, abort, current_app, g, request

__all__ = [
    "MIN_BYTES",
    "Precompressed",
    "Secret",
    "page_response",
    "precompress",
]

MIN_BYTES = 1024
"""Bodies shorter than this are sent as they are: they fit in one TCP segment either way, and
gzip's header and trailer would eat most of the gain."""

STATIC_MAX_AGE = 365 * 24 * 3600
MAX_STATIC_FILE = 4 * 1024 * 1024  # larger files are served from disk by Flask, unhashed

COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript", "application/javascript",
    "application/json", "image/svg+xml", "application/xml", "text/xml",
})

# gzip member header: magic, deflate, no flags, mtime 0 (identical bytes every time), no extra
# flags, OS "unknown".
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_FINAL_BLOCK = b"\x03\x00"  # an empty final block (fixed Huffman, end-of-block only)
_HASH_LENGTH = 12
# Referrer-Policy too: it governs the requests a file makes, and these stylesheets and scripts make
# none of their own (every fetch a script makes comes from the page, under the page's policy).
_DOCUMENT_ONLY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "Permissions-Policy", "Referrer-Policy",
                          "X-Request-ID")
"""Headers left off stylesheets and scripts: those only a document obeys, and the request id (it
ties a page's log lines together; a static file logs nothing): 36 bytes a file on the wire."""


@attrs.frozen
class Precompressed:
    """An unchanging part of a page, with its raw-deflate form ending on a byte boundary (a sync
    flush, not final) so that other parts can follow it in the same gzip stream."""

    raw: bytes
    deflated: bytes
    crc: int


class Secret(str):
    """A per-visitor value (a form token, a submission id) that :func:`page_response` never passes
    through the compressor: it is sent in stored deflate blocks, so the response's length does
    not depend on how well it matches the rest of the page (BREACH)."""

    __slots__ = ()


def precompress(text: str | bytes) -> Precompressed:
    """Deflate an unchanging part of a page once (level 9), for :func:`page_response`."""
    raw = text.encode() if isinstance(text, str) else text
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return Precompressed(raw, deflated, zlib.crc32(raw))


def _stored(raw: bytes) -> bytes:
    """``raw`` as stored (uncompressed) deflate blocks, not final; the stream is byte-aligned."""
    out = []
    for start in range(0, len(raw), 65535):
        chunk = raw[start:start + 65535]
        n = len(chunk)
        out.append(b"\x00" + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little") + chunk)
    return b"".join(out)


DYNAMIC_LEVEL = 5
"""Deflate level of the parts compressed per request: as small as level 6 within 0.3 % on the
contest's attempt page, for a fifth less CPU."""


def _deflated(raw: bytes, history: bytes) -> bytes:
    """``raw`` as raw deflate, sync-flushed. ``history`` is what precedes it in the stream with
    every Secret's bytes replaced by NUL: as a preset dictionary it lets ``raw`` refer back to the
    page's earlier text (its distances match the real stream), while no match can touch a
    secret's bytes, since page text has no NUL (a part that has one gets no dictionary)."""
    if len(raw) < 128:  # a compressor costs more to set up than it would save here
        return _stored(raw)
    if history and b"\x00" not in raw:
        compressor = zlib.compressobj(DYNAMIC_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, history)
    else:
        compressor = zlib.compressobj(DYNAMIC_LEVEL, zlib.DEFLATED, -15, 8)
    return compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)


def accepts_gzip(anonymous_only: bool = True) -> bool:
    """Whether this request may get a gzip body: the client accepts it (q > 0) and, for pages
    (``anonymous_only``), no officer is signed in (see the module's docstring)."""
    # The objects, not the proxies: a read through a werkzeug proxy costs ~20x (issue #16).
    req = request._get_current_object()
    header = req.environ.get("HTTP_ACCEPT_ENCODING")  # not request.headers: the hot path
    if not header or "gzip" not in header:
        return False
    if anonymous_only and g._get_current_object().get("user") is not None:
        return False
    return req.accept_encodings["gzip"] > 0


def _vary_on_encoding(response: Response) -> None:
    """Add ``Accept-Encoding`` to ``Vary`` (directly: ``response.vary`` parses and re-serialises
    the header, a measurable share of a cached page's cost)."""
    # Found by hand: ``headers.get`` builds and catches an exception when the header is absent
    # (the usual case), on every page.
    vary = next((value for name, value in response.headers if name.lower() == "vary"), None)
    if not vary:
        response.headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        response.headers["Vary"] = vary + ", Accept-Encoding"


_DONE = "_ccch_encoding_decided"  # set on a response page_response built: the hook leaves it alone


def gzip_parts(parts: Iterable[Precompressed | Secret | str | bytes]) -> tuple[bytes, bytes]:
    """The identity body and the gzip body of ``parts`` (see :func:`page_response`)."""
    raws = []
    seen = []  # the stream so far with secrets masked: the next part's preset dictionary
    blocks = [_GZIP_HEADER]
    crc = 0
    for part in parts:
        if isinstance(part, Precompressed):
            raw = part.raw
            blocks.append(part.deflated)
        else:
            raw = part.encode() if isinstance(part, str) else part
            if not raw:
                continue
            if isinstance(part, Secret):
                blocks.append(_stored(raw))
                seen.append(b"\x00" * len(raw))
                crc = zlib.crc32(raw, crc)
                raws.append(raw)
                continue
            blocks.append(_deflated(raw, b"".join(seen)[-32768:]))
        seen.append(raw)
        crc = zlib.crc32(raw, crc)
        raws.append(raw)
    body = b"".join(raws)
    blocks += (_FINAL_BLOCK, crc.to_bytes(4, "little"), (len(body) & 0xFFFFFFFF).to_bytes(4, "little"))
    return body, b"".join(blocks)


def page_response(parts: Iterable[Precompressed | Secret | str | bytes], status: int = 200,
                  headers: Mapping[str, str] | None = None, mimetype: str = "text/html") -> Response:
    """A response built from parts of a page, in order: :class:`Precompressed` parts (made once by
    :func:`precompress`) are not compressed again, :class:`Secret` parts are never compressed, and
    other text is compressed per request. Sent as gzip when :func:`accepts_gzip`, as identity
    otherwise; either way with ``Vary: Accept-Encoding``."""
    parts = list(parts)
    response_class = current_app._get_current_object().response_class  # the app's, as make_response's
    if accepts_gzip():
        body, zipped = gzip_parts(parts)
        if len(body) >= MIN_BYTES:
            response = response_class(zipped, status, headers, mimetype=mimetype)
            response.headers["Content-Encoding"] = "gzip"
            _vary_on_encoding(response)
            setattr(response, _DONE, True)
            return response
    else:
        body = b"".join([p.raw if isinstance(p, Precompressed) else (p.encode() if isinstance(p, str) else p)
                         for p in parts])
    response = response_class(body, status, headers, mimetype=mimetype)
    if len(body) >= MIN_BYTES:
        _vary_on_encoding(response)
    setattr(response, _DONE, True)
    return response


def compress_response(response: Response) -> Response:
    """The ``after_request`` hook: gzip a finished response when it is worth it and allowed."""
    if getattr(response, _DONE, False):
        return response
    if (response.direct_passthrough or response.is_streamed or response.status_code < 200
            or response.status_code in (204, 206, 304) or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSIBLE):
        return response
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    _vary_on_encoding(response)
    if not accepts_gzip():
        return response
    compressed = _GZIP_HEADER + _compress_body(data)
    if len(compressed) >= len(data):
        return response
    etag, weak = response.get_etag()
    response.set_data(compressed)
    response.headers["Content-Encoding"] = "gzip"
    if etag and not weak:
        response.set_etag(etag, weak=True)  # the same content, another coding: If-None-Match still matches
    return response


def _compress_body(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    deflated = compressor.compress(data) + compressor.flush(zlib.Z_FINISH)
    return deflated + zlib.crc32(data).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")


# ---------------------------------------------------------------------------------------------
# Static files


@attrs.frozen
class _StaticFile:
    filename: str
    hashed: str
    body: bytes
    gzipped: bytes | None
    mimetype: str
    etag: str


def _hashed_name(filename: str, digest: str) -> str:
    folder, _, name = filename.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    hashed = f"{stem}.{digest}.{ext}" if dot and stem else f"{name}.{digest}"
    return f"{folder}/{hashed}" if folder else hashed


def _static_files(folder: str) -> dict[str, _StaticFile]:
    files = {}
    root = Path(folder)
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.stat().st_size > MAX_STATIC_FILE or path.name.startswith("."):
            continue
        filename = path.relative_to(root).as_posix()
        body = _minified(filename, path.read_bytes())
        digest = hashlib.sha256(body).hexdigest()[:_HASH_LENGTH]
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if mimetype == "application/javascript":
            mimetype = "text/javascript"
        gzipped = None
        if mimetype in COMPRESSIBLE and len(body) >= MIN_BYTES:
            gzipped = _GZIP_HEADER + _compress_body_best(body)
            if len(gzipped) >= len(body):
                gzipped = None
        files[filename] = _StaticFile(filename, _hashed_name(filename, digest), body, gzipped, mimetype, digest)
    return files


_CSS_COMMENT = re.compile(rb"/\*.*?\*/\n?", re.DOTALL)
_JS_LINE_COMMENT = re.compile(rb"^[ \t]*//[^\n]*\n", re.MULTILINE)
_INDENT = re.compile(rb"^[ \t]+", re.MULTILINE)


def _minified(filename: str, body: bytes) -> bytes:
    """The file without what only its readers need (a phone need not download it): CSS comments
    and indentation; JavaScript lines that are only a ``//`` comment, and indentation where no
    template literal or continued string could hold a line's leading spaces. Nothing else."""
    if filename.endswith(".css"):
        return _INDENT.sub(b"", _CSS_COMMENT.sub(b"", body))
    if filename.endswith(".js"):
        body = _JS_LINE_COMMENT.sub(b"", body)
        return body if b"`" in body or b"\\\n" in body else _INDENT.sub(b"", body)
    return body


def _compress_body_best(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    deflated = compressor.compress(data) + compressor.flush(zlib.Z_FINISH)
    return deflated + zlib.crc32(data).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")


_EARLIER_HASH = re.compile(r"\.[0-9a-f]{" + str(_HASH_LENGTH) + r"}(?=\.[^./]+$|$)")


def _static_view(files: dict[str, _StaticFile], fallback):
    by_hash = {f.hashed: f for f in files.values()}

    def serve(filename: str):
        found = by_hash.get(filename)
        immutable = found is not None
        if found is None:
            # The plain name, or the hash of an earlier version (a page cached before an upgrade):
            # the current file, to be revalidated rather than kept for a year.
            found = files.get(filename) or files.get(_EARLIER_HASH.sub("", filename, count=1))
        if found is None:
            if fallback is not None and filename not in by_hash and len(filename) < 300:
                return fallback(filename=filename)  # a file too large to keep in memory (Flask checks the path)
            abort(404)
        gzipped = found.gzipped is not None and accepts_gzip(anonymous_only=False)  # no secret in a static file
        etag = found.etag + ("-gz" if gzipped else "")
        headers = {"Cache-Control": f"public, max-age={STATIC_MAX_AGE}, immutable" if immutable else "no-cache"}
        if_none_match = request._get_current_object().if_none_match
        if if_none_match and if_none_match.contains_weak(etag):
            response = Response(status=304, headers=headers)
        else:
            response = Response(found.gzipped if gzipped else found.body, 200, headers, mimetype=found.mimetype)
            if gzipped:
                response.headers["Content-Encoding"] = "gzip"
        response.set_etag(etag)
        if found.gzipped is not None:
            _vary_on_encoding(response)
        setattr(response, _DONE, True)
        return response

    serve.ccch_access = "public"  # static files are for everyone (the route tests check each view says so)
    return serve


def _static_endpoints(app: Flask) -> dict[str, str]:
    endpoints = {}
    if app.has_static_folder:
        endpoints["static"] = app.static_folder
    for name, blueprint in app.blueprints.items():
        if blueprint.has_static_folder and f"{name}.static" in app.view_functions:
            endpoints[f"{name}.static"] = blueprint.static_folder
    return endpoints


def install(app: Flask) -> None:
    """Serve every static folder (the app's and the blueprints') from memory with hashed names,
    make ``url_for`` give the hashed names, and compress responses after each request."""
    manifest: dict[str, dict[str, str]] = {}
    for endpoint, folder in _static_endpoints(app).items():
        files = _static_files(folder)
        manifest[endpoint] = {name: f.hashed for name, f in files.items()}
        app.view_functions[endpoint] = _static_view(files, app.view_functions[endpoint])
    app.extensions["ccch_static_manifest"] = manifest

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict[str, Any]) -> None:
        names = manifest.get(endpoint)
        if names is not None:
            filename = values.get("filename")
            if filename in names:
                values["filename"] = names[filename]

    app.after_request(compress_response)

    def trim_static_headers(response: Response) -> Response:
        """Headers that only a document obeys (a page's content policy, framing, permissions,
        referrer policy) and the request id are left off stylesheets and scripts: on a phone's
        first visit they were 280 + 36 bytes a file.
        X-Content-Type-Options stays (it matters for scripts and stylesheets)."""
        endpoint = request._get_current_object().endpoint
        if endpoint in manifest and response.mimetype in ("text/css", "text/javascript"):
            for name in _DOCUMENT_ONLY_HEADERS:
                response.headers.pop(name, None)
        return response

    # First in the list, so it runs last: after the security headers are added to every response.
    app.after_request_funcs.setdefault(None, []).insert(0, trim_static_headers)
