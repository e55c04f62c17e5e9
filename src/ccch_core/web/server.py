"""Production serving: gunicorn (pre-fork workers) where it runs, waitress on Windows.

Measured on a 2-core machine (see docs/performance.md and docs/deploy.md): gunicorn with sync
workers is not held back by the GIL, while a single waitress process is; waitress is the fallback
for Windows servers, where gunicorn cannot run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time

import click

from ..config import DeploymentConfig
from ..deployment import secret_key_of
from ..plancache import freeze_loaded_plans


@contextlib.contextmanager
def _ccch_child(config: DeploymentConfig | None, *command: str, stop_seconds: int):
    """Run ``ccch --config CONFIG COMMAND…`` in a child process while the block runs (nothing when
    ``config`` is None); stopped with SIGTERM when the block ends, killed after ``stop_seconds``."""
    if config is None or config.path is None:
        yield None
        return
    child = subprocess.Popen([sys.executable, "-c", "from ccch_core.cli import main; main()", "--config",
                              str(config.path), *command])
    try:
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=stop_seconds)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@contextlib.contextmanager
def message_deliverer(config: DeploymentConfig | None):
    """Run ``ccch messages send --loop`` for ``config`` in a child process while the block runs
    (nothing when ``config`` is None). The child is stopped with SIGTERM (it finishes the message
    in flight) when the server stops."""
    if config is not None and config.path is not None:
        channels = ", ".join(f"{c} → {t.get('sender')}" for c, t in config.messages.get("channels", {}).items())
        click.echo(f"ccch: delivering messages beside the server ({channels}); `ccch messages list` shows them")
    with _ccch_child(config, "messages", "send", "--loop", stop_seconds=20) as child:
        yield child


@contextlib.contextmanager
def scheduled_worker(config: DeploymentConfig | None):
    """Run ``ccch scheduled-work --loop`` for ``config`` in a child process while the block runs
    (nothing when ``config`` is None): plugins' work that is due at a moment, such as closing a
    contest round at its end, is done there rather than in the first page that needs it. Stopped
    with SIGTERM (it finishes the pass in flight) when the server stops."""
    with _ccch_child(config, "scheduled-work", "--loop", stop_seconds=30) as child:
        yield child


def default_workers() -> int:
    """One sync worker per core, at most 8. A request here is CPU work (SQLite is a local file and
    nginx in front buffers slow clients), so a worker beyond the cores only adds context switches;
    and each extra writer process makes the others' SQLite page caches stale more often: on 2 cores,
    4 workers served survey submissions at 1.1–1.5 ms of CPU each, 2 workers at 0.9–1.0 ms
    (docs/performance.md). Raise ``--workers`` when long downloads (big exports, poster batches)
    would otherwise hold every worker."""
    return min(os.cpu_count() or 1, 8)


DEFAULT_GUNICORN_THREADS = 1
"""Sync workers: in a burst of submissions, threads in one process trade the GIL around every
SQLite call, which doubled the p99 of survey submissions (docs/performance.md). Behind nginx,
which keeps the browsers' connections alive itself, sync workers lose nothing."""


def run_server(config: DeploymentConfig, *, host: str, port: int, workers: int | None, threads: int | None,
               server: str = "auto", access_log: bool = False) -> None:
    """Run until interrupted. Migrations must already be applied (``ccch serve`` does it).

    ``access_log``: gunicorn writes a line per request to standard output. Off by default: nginx in
    front logs every request already, and gunicorn's formatting cost 3 % of a contest's CPU."""
    secret_key_of(config)  # create the key file once, before workers race for it
    if server == "auto":
        server = "gunicorn" if os.name != "nt" and importlib.util.find_spec("gunicorn") else "waitress"
    click.echo(f"ccch: serving {config.name} on http://{host}:{port}/ with {server} (Ctrl+C to stop)")
    if config.public_base_url and not config.public_base_url.startswith(f"http://{host}"):
        click.echo(f"ccch: public address (QR codes, links): {config.public_base_url}")
    from .. import logs, metrics

    log_format = config.web.get("log_format", "text")
    if server == "gunicorn":
        # Each worker counts requests in its own file of this folder; /metrics adds them up.
        folder = metrics.start_multiprocess()
        try:
            _run_gunicorn(config, host, port, workers or default_workers(), threads or DEFAULT_GUNICORN_THREADS,
                          access_log, log_format)
        finally:
            metrics.stop_multiprocess(folder)
    else:
        logs.configure(log_format)
        _run_waitress(config, host, port, threads or 8)


_graceful_close = None  # gunicorn's own close, kept for connections with unread request bytes


def _close_at_once(sock, timeout=2.0, max_drain=65536):
    """Close a served connection without lingering for the client's FIN when nothing is left unread.

    gunicorn 27 half-closes and then waits (up to 2 s) for the client to close its side, so that
    unread request bytes cannot make the kernel answer with a reset that truncates the response.
    A sync worker waiting there serves nobody. The reset can only happen when request bytes are
    still unread (a refused upload), so only then does this wait the way gunicorn does."""
    from gunicorn import util

    try:
        sock.setblocking(False)
        pending = sock.recv(1)
    except OSError:  # BlockingIOError: nothing unread, so a plain close sends FIN, not RST
        pending = b""
    if pending:
        sock.setblocking(True)
        return _graceful_close(sock, timeout=timeout, max_drain=max_drain)
    util.close(sock)


def gunicorn_settings(host: str, port: int, workers: int, threads: int, access_log: bool = False,
                      log_format: str | None = None) -> dict:
    """The gunicorn settings ``ccch serve`` runs with (``log_format``: its error log and the app's
    lines through :mod:`ccch_core.logs`, masked, as text or JSON)."""
    settings = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 60,
        "graceful_timeout": 20,
        # Recycle workers now and then so memory stays flat over weeks of serving.
        "max_requests": 20_000,
        "max_requests_jitter": 2_000,
        "accesslog": "-" if access_log else None,
        "limit_request_line": 8190,
        "pre_request": _cork,
        "post_request": _uncork,
        "post_worker_init": _watch_listeners,
    }
    if log_format is not None:
        from ..logs import gunicorn_logconfig

        settings["logconfig_dict"] = gunicorn_logconfig(log_format, access_log)
        if not access_log:
            settings["logger_class"] = _logger_without_access_log()
    if "control_socket_disable" in _gunicorn_setting_names():
        # gunicorn ≥ 25.1 opens a control socket at ~/.gunicorn/gunicorn.ctl: one path for every
        # instance a user runs, so two deployments on one server (or a benchmark and `make run`)
        # would take it from each other. ccch is run by systemd, not managed with gunicornc.
        settings["control_socket_disable"] = True
    return settings


def _logger_without_access_log():
    """gunicorn's logger, with no access log at all. Given a log config (``logconfig_dict``, which
    ``ccch serve`` passes for the error log's format and masking), gunicorn builds every request's
    access-log fields — some twenty of them, a formatted time among them — even when the access
    logger is silenced: about 15 µs of CPU a request, paid by every page (about 1 % of a
    citizen's survey page and submission). ``--access-log`` keeps gunicorn's own logger."""
    from gunicorn.glogging import Logger

    class LoggerWithoutAccessLog(Logger):
        access_log_enabled = False  # gunicorn ≥ 27 reads this before building the fields

        def access(self, resp, req, environ, request_time):
            return None

    return LoggerWithoutAccessLog


def _gunicorn_setting_names() -> set[str]:
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:  # pragma: no cover - gunicorn is not installed on Windows
        return set()
    return {setting.name for setting in KNOWN_SETTINGS}


_CORK = getattr(socket, "TCP_CORK", None)  # Linux


def _cork(worker, req) -> None:
    """Hold the response's bytes until it is complete: gunicorn writes the headers and the body
    with separate calls, which would otherwise leave as two TCP segments (each one a wake-up of
    nginx or the phone, and on loopback a pass through the receiving side of the network stack)."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if _CORK is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _CORK, 1)


def _uncork(worker, req, environ, resp) -> None:
    """Send what :func:`_cork` held (a closing socket sends it anyway; a kept-alive one needs this)."""
    sock = getattr(resp, "sock", None)
    if _CORK is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _CORK, 0)


def _watch_listeners(worker) -> None:
    """Let the admission check see how full the accept queue is (``ccch_core.web.admission``)."""
    from .admission import watch_listeners

    watch_listeners(getattr(worker, "sockets", ()))


def _install_close_at_once() -> None:
    """Make gunicorn's workers close connections with :func:`_close_at_once` (gunicorn ≥ 27
    lingers; older versions close at once already and are left as they are)."""
    global _graceful_close
    from gunicorn import util

    current = getattr(util, "close_graceful", None)
    if current is not None and current is not _close_at_once:
        _graceful_close = current
        util.close_graceful = _close_at_once


_http_date_of_second: list = [None, ""]


def _http_date_once_a_second(timestamp=None) -> str:
    """gunicorn's ``util.http_date`` (every response's Date header), formatted once a second
    instead of once a response: ``email.utils.formatdate`` cost about 1 % of a contest
    participant's server time (#16). The header has whole seconds, so the text is the same."""
    if timestamp is not None:
        return _gunicorn_http_date(timestamp)
    second = int(time.time())
    cached = _http_date_of_second
    if cached[0] != second:
        cached[1] = _gunicorn_http_date(second)
        cached[0] = second
    return cached[1]


_gunicorn_http_date = None


def _install_http_date_once_a_second() -> None:
    global _gunicorn_http_date
    from gunicorn import util

    current = getattr(util, "http_date", None)
    if current is not None and current is not _http_date_once_a_second:
        _gunicorn_http_date = current
        util.http_date = _http_date_once_a_second


def _run_gunicorn(config: DeploymentConfig, host: str, port: int, workers: int, threads: int,
                  access_log: bool = False, log_format: str | None = None) -> None:
    from gunicorn.app.base import BaseApplication

    _install_close_at_once()
    _install_http_date_once_a_second()

    from . import create_app

    settings = gunicorn_settings(host, port, workers, threads, access_log, log_format)

    class Application(BaseApplication):
        def load_config(self):
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            # Each worker builds its own app (and so its own database connections), then keeps
            # what it loaded, the plans above all, out of the garbage collector's walks.
            app = create_app(config, migrate=False)
            freeze_loaded_plans()
            return app

    Application().run()


def _run_waitress(config: DeploymentConfig, host: str, port: int, threads: int) -> None:
    from waitress import serve

    from . import create_app

    # One process: throughput is bounded by the GIL (docs/deploy.md gives the figures).
    app = create_app(config, migrate=False)
    freeze_loaded_plans()  # what the app loaded stays out of the garbage collector's walks
    serve(app, host=host, port=port, threads=threads,
          connection_limit=500, channel_timeout=60, ident="ccch")
