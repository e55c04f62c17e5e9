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
from collections.abc import Callable

from flask import Flask, current_app, render_template, request

__all__ = ["always_admit", "arrived_at", "install", "queued_seconds"]

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
    from ..periods import utc_now

    now = utc_now()
    waited = queued_seconds(request.environ if environ is None else environ)
    return now - dt.timedelta(seconds=waited) if waited else now


_ALWAYS_ENDPOINTS = frozenset({"health", "metrics", "static"})


def install(app: Flask, web_settings: dict) -> None:
    """Refuse, with 503 and ``Retry-After``, the requests that waited past ``queue_limit_seconds``
    of ``web_settings`` (``[web]`` of ccch.toml; 0 turns this off). Call it before the hooks that
    read the session or the database, so that a refusal costs none of that."""
    limit = float(web_settings.get("queue_limit_seconds", DEFAULT_QUEUE_LIMIT_SECONDS))
    retry = int(web_settings.get("retry_after_seconds", DEFAULT_RETRY_AFTER_SECONDS))
    if limit < 0 or retry < 1:
        raise ValueError(f"[web] queue_limit_seconds must be ≥ 0 (0: off) and retry_after_seconds ≥ 1; "
                         f"got {limit!r} and {retry!r}")
    app.extensions["ccch_admission"] = {"limit": limit, "retry_after": retry, "refused": 0}
    if not limit:
        return
    pages: dict[bool, list[str]] = {}
    view_functions = app.view_functions

    def admit():
        waited = queued_seconds(request.environ)
        if waited is None or waited <= limit:
            return None
        endpoint = request.endpoint
        if endpoint is not None:
            if endpoint in _ALWAYS_ENDPOINTS or endpoint.endswith(".static"):
                return None
            if getattr(view_functions.get(endpoint), "ccch_always_admit", False):
                return None
        return _refusal(pages, request.method in ("GET", "HEAD"), retry, waited)

    app.before_request_funcs.setdefault(None, []).append(admit)


def _refusal(pages: dict, reload: bool, retry: int, waited: float):
    """The 503 answer: a page rendered once per process (per kind), the seconds spliced in."""
    parts = pages.get(reload)
    if parts is None:
        # Rendered without the request's session (nothing is read or flashed): the same for all.
        parts = pages[reload] = render_template("busy.html", reload=reload, seconds=_SLOT).split(_SLOT)
    seconds = random.randint(max(1, retry // 2), retry + retry // 2)
    state = current_app.extensions["ccch_admission"]
    state["refused"] += 1
    current_app.logger.warning("queue: refused %s %s after %.1f s in the queue (Retry-After %d)",
                               request.method, request.path, waited, seconds)
    return str(seconds).join(parts), 503, {"Retry-After": str(seconds), "Cache-Control": "no-store",
                                           "Content-Type": "text/html; charset=utf-8"}


_SLOT = "ccch-retry-seconds-slot"
