"""Logs an operator can use: a request id on every line, JSON on request, no personal data.

Every request gets an id: the ``X-Request-ID`` header nginx sends (``proxy_set_header X-Request-ID
$request_id``) when it is a plain token, else a new random one. The response carries it back, the
log lines of the request carry it, and so does the audit log row an officer's action writes
(``audit_log.request_id``), so that a line in ``journalctl`` leads to the action and back.

``[web] log_format = "json"`` (or ``ccch serve --log-format json``) writes one JSON object per
line — ``time`` (UTC), ``level``, ``logger``, ``message``, ``request_id`` — and one ``request`` line
per request with the route's pattern (``/k/<code>``, never the path with its tokens), the route
group, the status and the time taken. Whatever the format, a filter masks phone numbers
(``09******78``) and e-mail addresses (``v***@ductho.gov.vn``) in every line, exceptions
included: a log must not become a second copy of personal data (Decree 13/2023/NĐ-CP).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import re
import secrets
import socket
import stat
import sys
import time

HEADER = "X-Request-ID"
_HEADER_ENVIRON = "HTTP_X_REQUEST_ID"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Vietnamese numbers as people and forms write them: 0912345678, 0912 345 678, +84 912.345.678,
# 84912345678; and longer digit runs that contain one (a citizen ID number is masked the same way).
_PHONE = re.compile(r"(?<![\w])(?:\+?84|0)(?:[ .-]?\d){8,10}(?![\w])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_DIGITS12 = re.compile(r"(?<!\d)\d{12}(?!\d)")
_configured: dict[str, logging.Handler] = {}


def mask_personal(text: str) -> str:
    """``text`` with phone numbers, 12-digit ID numbers and e-mail addresses masked."""
    if not text:
        return text

    def phone(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]

    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _DIGITS12.sub(lambda m: m.group(0)[:3] + "*" * 7 + m.group(0)[-2:], text)
    return _PHONE.sub(phone, text)


# New ids are 16 lower-case letters (75 bits): hex would now and then hold a run of ten digits
# that a search of the logs for phone numbers cannot tell from one.
_LETTERS = bytes(ord("a") + n % 26 for n in range(256))


def new_request_id(offered: str | None = None) -> str:
    """The id of a request: the proxy's when it is a plain token of 8–64 characters, else a new one."""
    if offered and _GOOD_ID.match(offered):
        return offered
    return secrets.token_bytes(16).translate(_LETTERS).decode("ascii")


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request: a command, a timer)."""
    try:
        from flask import g, has_request_context
    except ImportError:  # pragma: no cover
        return None
    if not has_request_context():
        return None
    return g._get_current_object().get("request_id")  # the object, not the proxy (see web.deployment)


class PersonalDataFilter(logging.Filter):
    """Masks personal data in a record's message and exception, and adds ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal(record.exc_text)
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


_EXTRA = ("method", "route", "group", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (UTF-8 text kept readable)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in _EXTRA:
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_personal(self.formatException(record.exc_info))
        if record.exc_text:
            data["error"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


_PIPE_BUF = 4096  # POSIX: a pipe write of at most this many bytes is all or nothing


class NonBlockingStreamHandler(logging.StreamHandler):
    """A stream handler that never waits for the reader of its stream: a line that cannot be
    written at once is dropped and counted, and the count is written as a line of its own as soon
    as lines go through again ("ccch: N log line(s) dropped ...").

    Why: ``ccch serve``'s workers, its arbiter and the message deliverer all write to standard
    error, which is a pipe or a socket read by someone else (systemd's journal, a terminal, a
    supervisor). When that reader falls behind, a plain :class:`logging.StreamHandler` blocks in
    its next write, and every process that logs stops with it: no request is answered while the
    accept queue fills (found by ``bench/contest_rush.py``, whose pipe was read only at the end: the
    deliverer logs every code it sends). Losing some log lines in a rush is better than a server
    that answers nobody.

    Pipes are written through a non-blocking descriptor of their own (opened from
    ``/proc/self/fd``, so the shared descriptor's mode is untouched), in pieces of at most
    ``PIPE_BUF`` bytes, each written whole or not at all; sockets with ``MSG_DONTWAIT``. Files and
    terminals are written as :class:`logging.StreamHandler` does (nothing there waits for a reader),
    and so is any stream without a file descriptor, and everything on Windows."""

    terminator = "\n"

    def __init__(self, stream=None):
        super().__init__(stream)
        self.dropped = 0
        self._writer = None  # (kind, object) once known: ("pipe", fd), ("socket", socket), ("plain", None)

    def setStream(self, stream):
        self._writer = None
        return super().setStream(stream)

    def _open_writer(self):
        try:
            fd = self.stream.fileno()
            mode = os.fstat(fd).st_mode
        except (AttributeError, OSError, ValueError):  # io.StringIO, a closed stream
            return ("plain", None)
        if os.name == "nt":
            return ("plain", None)
        if stat.S_ISFIFO(mode):
            try:
                return ("pipe", os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC))
            except OSError:  # no /proc: write as a plain stream
                return ("plain", None)
        if stat.S_ISSOCK(mode):
            try:
                return ("socket", socket.socket(fileno=os.dup(fd)))
            except OSError:
                return ("plain", None)
        return ("plain", None)

    def emit(self, record: logging.LogRecord) -> None:
        if self._writer is None:
            self._writer = self._open_writer()
        kind, target = self._writer
        if kind == "plain":
            return super().emit(record)
        try:
            text = self.format(record) + self.terminator
            if self.dropped:
                text = (f"ccch: {self.dropped} log line(s) dropped: standard error was not being read fast "
                        f"enough\n{text}")
            data = text.encode(getattr(self.stream, "encoding", None) or "utf-8", "backslashreplace")
            sent = self._send(kind, target, data)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's rule: a handler's failure must not stop the caller
            self.handleError(record)
            return
        if sent == 0:
            self.dropped += 1
        elif sent == len(data):
            self.dropped = 0
        else:  # cut in the middle of a long line: end it, so that the next line starts on its own
            self.dropped = 0
            self._send(kind, target, b" [...]\n")

    def flush(self) -> None:
        if self._writer is None or self._writer[0] == "plain":
            super().flush()

    def close(self) -> None:
        writer, self._writer = self._writer, ("plain", None)
        if writer is not None and writer[0] == "pipe":
            os.close(writer[1])
        elif writer is not None and writer[0] == "socket":
            writer[1].close()
        super().close()

    @staticmethod
    def _send(kind: str, target, data: bytes) -> int:
        """Write what goes at once of ``data``, in whole pieces; the number of bytes written."""
        sent = 0
        while sent < len(data):
            piece = data[sent:sent + _PIPE_BUF]
            try:
                if kind == "pipe":
                    written = os.write(target, piece)
                else:
                    written = target.send(piece, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return sent
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return sent
                raise
            sent += written
            if written < len(piece):
                return sent
        return sent


def configure(log_format: str = "text", stream=None) -> logging.Handler:
    """Send the root logger's records (Flask's, ccch's, gunicorn's error log) to ``stream``
    (standard error) in ``log_format``, masked. Idempotent per format and stream."""
    key = f"{log_format}:{id(stream)}"
    if key in _configured:
        return _configured[key]
    handler = NonBlockingStreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _configured[key] = handler
    return handler


def gunicorn_logconfig(log_format: str, access_log: bool = False) -> dict:
    """gunicorn's ``logconfig_dict``: its error log through the same filter and format; its access
    log only when asked for (``--access-log``: its lines carry whole paths and query strings)."""
    formatter = "ccch_core.logs.JsonFormatter" if log_format == "json" else "ccch_core.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"personal": {"()": "ccch_core.logs.PersonalDataFilter"}},
        "formatters": {"ccch": {"()": formatter}},
        "handlers": {"stderr": {"class": "ccch_core.logs.NonBlockingStreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "ccch", "filters": ["personal"]}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                    "gunicorn.access": {"level": "INFO" if access_log else "CRITICAL", "handlers": [],
                                        "propagate": access_log}},
    }


def install(app, log_format: str = "text") -> None:
    """Give every request an id (``g.request_id``, the ``X-Request-ID`` response header); in JSON
    format also log one ``request`` line per request."""
    from flask import g, request

    request_log = logging.getLogger("ccch.request")
    json_lines = log_format == "json"
    perf_counter = time.perf_counter

    # The objects, not the proxies: a read through a werkzeug proxy costs ~20x (issue #16).
    def assign():
        here = g._get_current_object()
        here.request_id = new_request_id(request._get_current_object().environ.get(_HEADER_ENVIRON))  # not .headers
        if json_lines:
            here.request_started = perf_counter()

    app.before_request_funcs.setdefault(None, []).insert(0, assign)

    @app.after_request
    def tell(response):
        here = g._get_current_object()
        request_id = here.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
            if json_lines:
                req = request._get_current_object()
                rule = req.url_rule
                request_log.info("request", extra={
                    "request_id": request_id, "method": req.method,
                    "route": rule.rule if rule is not None else None,
                    "group": req.blueprint or ("core" if rule is not None else "unmatched"),
                    "status": response.status_code,
                    "duration_ms": round((perf_counter() - here.get("request_started", perf_counter())) * 1000, 2)})
        return response
