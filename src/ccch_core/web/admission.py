"""Admission under overload: a request that waited too long for a worker gets a clear "thử lại".

With ``ccch serve``'s sync workers, a request that arrives while every worker is busy waits in the
kernel's accept queue. In a rush (the last minute of a contest round, a QR campaign) that queue
can grow faster than the workers drain it, and each request then waits longer than the one before:
phones give up, nginx answers 504 after its ``proxy_read_timeout``, people reload and add to the
queue, and a request whose visitor has gone is still served later. Beyond the knee (the arrival
rate the machine can serve) the rule here is:

- a request that waited no longer than ``[web] queue_limit_seconds`` (default 10) is served: it
  *queues*;
- a request that waited longer is answered at once — before the session, the database or the
  view — with **503, ``Retry-After``** (spread over 15–45 s by default so that the retries do not
  come back together) and a short Vietnamese page saying that nothing was recorded and when to try
  again (a GET page reloads itself then; a form says to go back and send it again, what was typed
  is still there). The refusal costs a small fraction of a page, so the workers catch up;
- while the server's accept queue is half full or more, a newcomer is refused at once whatever its
  own wait (:func:`watch_listeners`): a full queue makes the kernel drop connections, whose
  clients then retry with back-off and look fresh when they finally get in;
- a request that **carries an answer** is never refused, however long it waited: a view marked
  with :func:`always_admit` (the contest's autosave and submission) is served whatever the queue,
  as are ``/healthz``, ``/metrics`` and static files (cheap, and a served page needs its
  stylesheet). Shedding the new arrivals leaves the workers to the people already mid-way.

How long a request waited is read from the kernel (:func:`queued_seconds`): the accepted
socket's ``TCP_INFO`` says how many milliseconds ago its last data arrived, which for a request
just read is the time it spent waiting (behind nginx too: nginx opens a connection per request to
the upstream, and that connection waits in the same queue). Linux only; elsewhere, and under
waitress or the test client, nothing is refused.
"""

from __future__ import annotations

import datetime as dt
import random
import socket
import struct
import time
from collections.abc import Callable

from flask import Flask, render_template, request

from ..periods import utc_now

__all__ = ["always_admit", "arrived_at", "install", "queued_seconds", "watch_listeners"]

DEFAULT_QUEUE_LIMIT_SECONDS = 10.0
"""A phone user waits some seconds for a page before reloading it (adding a request to the
queue); nginx gives up after its ``proxy_read_timeout`` (60 s in docs/deploy.md)."""

DEFAULT_RETRY_AFTER_SECONDS = 30
"""The middle of the ``Retry-After`` spread: each refusal asks for 50–150 % of it."""

_TCP_INFO = getattr(socket, "TCP_INFO", None)
_LAST_DATA_RECV = struct.Struct("=I")  # struct tcp_info: tcpi_last_data_recv, milliseconds, at byte 52
_LAST_DATA_RECV_OFFSET = 52
_TCP_INFO_SIZE = 104


def always_admit(view: Callable) -> Callable:
    """Mark a view that is never refused for having waited in the queue (see the module): a
    request that carries what a person has written — answers, a submission — and must not be
    lost. Put it directly under the route decorator. Use it for a few cheap, essential POSTs only:
    the new arrivals are what is shed."""
    view.ccch_always_admit = True
    return view


def queued_seconds(environ: dict) -> float | None:
    """How long the request of ``environ`` waited before a worker read it, in seconds (to a few
    milliseconds), or None when it cannot be known (not gunicorn, not Linux, not TCP)."""
    sock = environ.get("gunicorn.socket")
    if sock is None or _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except (OSError, ValueError):  # a Unix socket, or closed
        return None
    if len(info) < _LAST_DATA_RECV_OFFSET + 4:
        return None
    return _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_OFFSET)[0] / 1000


def arrived_at(environ: dict | None = None) -> dt.datetime:
    """The instant (UTC) the current request (or ``environ``'s) reached the server: now, less the
    time it waited for a worker (:func:`queued_seconds`). Judge a deadline by it, so that an
    answer sent in time is not late for having queued in a rush. It cannot be made earlier than
    the request really arrived (the kernel's clock of its last byte)."""
    now = utc_now()
    # The object, not the proxy: a read through a werkzeug proxy costs ~20x (issue #16).
    waited = queued_seconds(request._get_current_object().environ if environ is None else environ)
    return now - dt.timedelta(seconds=waited) if waited else now


_ALWAYS_ENDPOINTS = frozenset({"health", "metrics", "static"})

FULL_QUEUE_SHARE = 0.5
"""A sheddable request is refused whatever its own wait while the listening socket's accept queue
holds at least this share of its capacity (``backlog``): see :func:`watch_listeners`."""

_LISTENERS: list = []


def watch_listeners(sockets) -> None:
    """Let the check see the server's listening sockets (gunicorn's ``post_worker_init`` calls
    this with its worker's sockets).

    Why: when the kernel's accept queue is full, it drops new connections' packets and the
    clients retransmit them with growing back-off, seconds then tens of seconds. A request that
    finally gets in looks fresh — its bytes just arrived — although its visitor has waited long,
    and the ones still outside time out without a word. So while the queue is half full or more,
    newcomers are refused at once (each refusal frees a place fast), which keeps the queue from
    overflowing; what carries answers is still served."""
    _LISTENERS[:] = [s for s in sockets if getattr(s, "sock", s) is not None]


def _queue_nearly_full() -> bool:
    for listener in _LISTENERS:
        sock = getattr(listener, "sock", listener)
        try:
            info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
        except (OSError, ValueError, AttributeError):
            continue
        # For a listening socket, Linux reports the accept queue's length as tcpi_unacked (byte
        # 24) and its capacity as tcpi_sacked (byte 28).
        waiting, capacity = _QUEUE.unpack_from(info, 24)
        if capacity and waiting >= capacity * FULL_QUEUE_SHARE:
            return True
    return False


_QUEUE = struct.Struct("=II")

LOG_EVERY_SECONDS = 10.0
"""Refusals are logged as a count at most this often per worker: in a rush there are thousands a
second, and a line each would cost the workers what the refusals save."""


def install(app: Flask, web_settings: dict, headers: dict[str, str] | None = None) -> None:
    """Refuse, with 503 and ``Retry-After``, the requests that waited past ``queue_limit_seconds``
    of ``web_settings`` (``[web]`` of ccch.toml; 0 turns this off). The check wraps the whole WSGI
    app, so call it last, after any other middleware: a refusal then costs no session, database,
    URL matching (except to find a view marked :func:`always_admit`) or Flask request at all — in a
    rush it must be far cheaper than serving, or the workers never catch up. ``headers`` are added
    to each refusal (the app's security headers, which its after-request hook would have set)."""
    limit = float(web_settings.get("queue_limit_seconds", DEFAULT_QUEUE_LIMIT_SECONDS))
    retry = int(web_settings.get("retry_after_seconds", DEFAULT_RETRY_AFTER_SECONDS))
    if limit < 0 or retry < 1:
        raise ValueError(f"[web] queue_limit_seconds must be ≥ 0 (0: off) and retry_after_seconds ≥ 1; "
                         f"got {limit!r} and {retry!r}")
    state = app.extensions["ccch_admission"] = {"limit": limit, "retry_after": retry, "refused": 0}
    if limit:
        app.wsgi_app = _Admission(app.wsgi_app, app, limit, retry, dict(headers or {}), state)


class _Admission:
    """The WSGI middleware of :func:`install`."""

    def __init__(self, wsgi_app, flask_app: Flask, limit: float, retry: int, headers: dict, state: dict):
        self.wsgi_app, self.flask_app, self.limit, self.retry = wsgi_app, flask_app, limit, retry
        self.headers = [(k, v) for k, v in headers.items()]
        self.state = state
        self.pages: dict[bool, list[bytes]] = {}
        self.logged_at = 0.0
        self.unlogged = 0
        self.longest = 0.0

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None and _TCP_INFO is not None:
            waited = queued_seconds(environ)
            if waited is not None and (waited > self.limit or (_LISTENERS and _queue_nearly_full())) \
                    and not self._always(environ):
                return self._refuse(environ, start_response, waited)
        if self.unlogged:
            # Refusals not yet counted in the log: a rush's refusals come in a burst shorter than
            # LOG_EVERY_SECONDS, and without this its count would wait for a next refusal that
            # may never come (bench/contest_rush.py saw 2 refusals logged of 934).
            self._log(None)
        return self.wsgi_app(environ, start_response)

    def _always(self, environ) -> bool:
        """Whether the request goes to a view that is never refused (matched only on this path)."""
        try:
            endpoint, _ = self.flask_app.url_map.bind_to_environ(environ).match()
        except Exception:  # noqa: BLE001 - 404, 405, a redirect: nothing that carries answers
            return False
        if endpoint in _ALWAYS_ENDPOINTS or endpoint.endswith(".static"):
            return True
        return bool(getattr(self.flask_app.view_functions.get(endpoint), "ccch_always_admit", False))

    def _refuse(self, environ, start_response, waited: float):
        reload = environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        parts = self.pages.get(reload)
        if parts is None:
            # Rendered once per process and kind, outside any visitor's request: no session is
            # read and nothing is flashed, so it is the same page for everyone.
            with self.flask_app.test_request_context("/"):
                html = render_template("busy.html", reload=reload, seconds=_SLOT)
            parts = self.pages[reload] = [part.encode() for part in html.split(_SLOT)]
        seconds = random.randint(max(1, self.retry // 2), self.retry + self.retry // 2)
        body = str(seconds).encode().join(parts)
        self.state["refused"] += 1
        self._log(waited)
        start_response("503 Service Unavailable", [
            ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Retry-After", str(seconds)), ("Cache-Control", "no-store"), *self.headers])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def _log(self, waited: float | None) -> None:
        """Count a refusal (``waited``: its wait), or with None only write what is counted; the
        count goes to the log at most every ``LOG_EVERY_SECONDS``."""
        if waited is not None:
            self.unlogged += 1
            self.longest = max(self.longest, waited)
        now = time.monotonic()
        if now - self.logged_at >= LOG_EVERY_SECONDS:
            self.flask_app.logger.warning(
                "queue: refused %d request(s) that waited more than %g s for a worker or came while its "
                "queue was half full (longest wait %.1f s); they were asked to try again (503, Retry-After)",
                self.unlogged, self.limit, self.longest)
            self.logged_at, self.unlogged, self.longest = now, 0, 0.0


_SLOT = "ccch-retry-seconds-slot"
