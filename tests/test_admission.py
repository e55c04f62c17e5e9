"""Admission in a rush (issue #20 part 1, ``ccch_core.web.admission``): a request that waited past
``[web] queue_limit_seconds`` for a worker gets 503, Retry-After and a "thử lại" page; /healthz is
served; a request within the limit is served. Through the real server (`ccch serve`, one
gunicorn worker held stopped while requests queue), and on a bare loopback socket.

No duration is asserted: each wait is made by stopping the worker (or sleeping) for longer than the
limit, so it can only be longer than the limit, however slow the machine."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.request
from pathlib import Path

import pytest

from ccch_core.config import ConfigError, config_from_dict
from ccch_core.web import admission

ROOT = Path(__file__).resolve().parents[1]
CCCH = str(Path(sys.executable).with_name("ccch"))
LIMIT = 1.0


def test_the_wait_is_read_from_the_connection():
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    try:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        time.sleep(0.3)
        served, _ = listener.accept()
        with served:
            waited = admission.queued_seconds({"gunicorn.socket": served})
            assert waited is not None and waited >= 0.29  # the kernel counts milliseconds since the bytes came
            assert admission.arrived_at({"gunicorn.socket": served}) <= dt.datetime.now(dt.UTC) - dt.timedelta(
                seconds=0.29)
    finally:
        client.close()
        listener.close()
    assert admission.queued_seconds({}) is None  # not gunicorn (the test client, waitress): nothing known


@pytest.mark.parametrize(("key", "value"), [("queue_limit_seconds", -1), ("queue_limit_seconds", "10"),
                                            ("queue_limit_seconds", True), ("retry_after_seconds", 0),
                                            ("retry_after_seconds", 2.5)])
def test_bad_settings_are_named(tmp_path, key, value):
    doc = {"deployment": {"name": "X", "plan": str(ROOT / "examples/duc-tho-2024/plan.toml")}, "web": {key: value}}
    with pytest.raises(ConfigError, match=f"web.{key}"):
        config_from_dict(doc, tmp_path / "ccch.toml")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _worker_of(master: int) -> int:
    """The one gunicorn worker: the master's child running the same command (not the deliverer)."""
    command = Path(f"/proc/{master}/cmdline").read_bytes()
    deadline = time.time() + 30
    while time.time() < deadline:
        workers = [c for c in _children(master) if Path(f"/proc/{c}/cmdline").read_bytes() == command]
        if workers:
            return workers[0]
        time.sleep(0.1)
    raise AssertionError("no gunicorn worker started")


def _deployment(tmp_path):
    """A deployment made with ``ccch init`` whose queue limit is ``LIMIT``; its config's path."""
    folder = tmp_path / "dep"
    subprocess.run([CCCH, "init", str(folder), "--plan", str(ROOT / "examples/duc-tho-2024/plan.toml")],
                   check=True, capture_output=True)
    config = folder / "ccch.toml"
    config.write_text(config.read_text(encoding="utf-8") + f"\n[web]\nqueue_limit_seconds = {LIMIT}\n",
                      encoding="utf-8")
    return config


def _serve(config, stderr) -> tuple[subprocess.Popen, int]:
    """``ccch serve`` with one worker on a free port, in a session of its own, once /healthz
    answers (a server that stops or never answers fails the test; stop it with ``os.killpg``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([CCCH, "-c", str(config), "serve", "--port", str(port), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return server, port
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                if server.poll() is None:
                    os.killpg(server.pid, signal.SIGTERM)
                raise AssertionError("ccch serve stopped or never answered (blocked on its standard error?)")
            time.sleep(0.2)


def _send(port: int, request: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(request)
    return sock


def _read(sock: socket.socket) -> tuple[int, dict, str]:
    sock.settimeout(60)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body.decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the wait is read from Linux's TCP_INFO")
def test_the_server_refuses_what_queued_too_long_and_serves_the_rest(tmp_path):
    config = _deployment(tmp_path)
    server, port = _serve(config, subprocess.PIPE)
    try:
        worker = _worker_of(server.pid)
        os.kill(worker, signal.SIGSTOP)  # every worker busy: what comes now waits in the queue
        try:
            host = f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n".encode()
            page = _send(port, b"GET /dang-nhap HTTP/1.1\r\n" + host + b"\r\n")
            body = b"username=a&password=b"
            form = _send(port, b"POST /dang-nhap HTTP/1.1\r\n" + host + b"Content-Type: application/x-www-form-"
                         b"urlencoded\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            health = _send(port, b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n")
            time.sleep(LIMIT * 1.8)
        finally:
            os.kill(worker, signal.SIGCONT)
        status, headers, html = _read(page)
        assert status == 503 and 15 <= int(headers["retry-after"]) <= 45
        assert "Đang có quá nhiều người truy cập" in html and "Thử lại" in html
        status, headers, html = _read(form)
        assert status == 503 and "retry-after" in headers and "Quay lại" in html
        assert _read(health)[0] == 200  # monitors still see the server
        assert _read(_send(port, b"GET /dang-nhap HTTP/1.1\r\n" + host + b"\r\n"))[0] == 200  # no wait: served
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert b"queue: refused " in errors and b"(503, Retry-After)" in errors  # logged (counted), for the operator


def test_a_nearly_full_accept_queue_refuses_newcomers_at_once(make_deployment, make_app):
    """A full accept queue makes the kernel drop connections (their clients retry with back-off and
    look fresh when they get in), so from half full on a newcomer is refused whatever its wait."""
    app = make_app(make_deployment())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # room for 4 waiting connections
    waiting = []
    served, fresh_client = None, None
    try:
        admission.watch_listeners([listener])
        waiting.append(socket.create_connection(listener.getsockname()))
        time.sleep(0.05)
        fresh_client = socket.create_connection(listener.getsockname())
        fresh_client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        served, _ = listener.accept()  # a request that did not wait at all
        client = app.test_client()
        env = {"gunicorn.socket": served}
        assert client.get("/dang-nhap", environ_base=env).status_code == 200  # 1 of 4 waiting: served
        waiting += [socket.create_connection(listener.getsockname()) for _ in range(2)]
        time.sleep(0.05)
        refused = client.get("/dang-nhap", environ_base=env)  # 3 of 4 waiting: refused at once
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        assert client.get("/healthz", environ_base=env).status_code == 200
    finally:
        admission.watch_listeners([])
        for s in [*waiting, served, fresh_client, listener]:
            if s is not None:
                s.close()


def test_a_burst_of_refusals_is_counted_in_the_log_by_a_later_request(make_deployment, make_app, monkeypatch,
                                                                      caplog):
    """Refusals are logged as a count at most every LOG_EVERY_SECONDS; a rush's burst is shorter
    than that, so the rest of its count is written by the next request served once the interval
    has passed (before, it waited for a next refusal, and a run of 934 refusals logged 2)."""
    app = make_app(make_deployment())
    clock = [1000.0]
    waits = [99.0, 99.0, 99.0]
    monkeypatch.setattr(admission, "queued_seconds", lambda environ: waits.pop(0) if waits else 0.0)
    monkeypatch.setattr(admission, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    client = app.test_client()
    env = {"gunicorn.socket": object()}

    def logged() -> list[int]:
        return [int(m.group(1)) for r in caplog.records if (m := re.match(r"queue: refused (\d+) ", r.getMessage()))]

    with caplog.at_level(logging.WARNING):
        assert client.get("/dang-nhap", environ_base=env).status_code == 503  # logged at once: 1
        clock[0] += 1
        assert [client.get("/dang-nhap", environ_base=env).status_code for _ in range(2)] == [503, 503]
        assert logged() == [1]
        clock[0] += 1
        assert client.get("/dang-nhap", environ_base=env).status_code == 200  # too soon to log again
        assert logged() == [1]
        clock[0] += admission.LOG_EVERY_SECONDS
        assert client.get("/dang-nhap", environ_base=env).status_code == 200
        assert logged() == [1, 2]  # every refusal counted
        assert client.get("/dang-nhap", environ_base=env).status_code == 200
        assert logged() == [1, 2]  # nothing new: no line


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pipe and /proc/self/fd")
def test_the_server_answers_while_nobody_reads_its_standard_error(tmp_path):
    """A journal (or a pipe) that falls behind must not stop the server: with a plain stream handler
    every process blocked in its next log line and nothing was answered (bench/contest_rush.py's 60-s
    timeouts). Here the pipe is full before the server starts, and stays unread."""
    config = _deployment(tmp_path)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"x" * 4096)
    except BlockingIOError:
        pass  # full: the next blocking write would wait for a reader
    os.set_blocking(write_end, True)
    server, port = _serve(config, write_end)
    os.close(write_end)
    try:
        host = f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n".encode()
        assert _read(_send(port, b"GET /dang-nhap HTTP/1.1\r\n" + host + b"\r\n"))[0] == 200
        # Log lines while still unread: the refusal's count, logged at once by a worker.
        worker = _worker_of(server.pid)
        os.kill(worker, signal.SIGSTOP)
        try:
            waiting = _send(port, b"GET /dang-nhap HTTP/1.1\r\n" + host + b"\r\n")
            time.sleep(LIMIT * 1.8)
        finally:
            os.kill(worker, signal.SIGCONT)
        assert _read(waiting)[0] == 503
        assert _read(_send(port, b"GET /dang-nhap HTTP/1.1\r\n" + host + b"\r\n"))[0] == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        os.close(read_end)
