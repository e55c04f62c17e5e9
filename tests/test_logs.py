"""Request ids (response header, log lines, audit rows), the JSON log format, and the mask that keeps
phone numbers and e-mail addresses out of every log line."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import socket
import threading

import pytest

from ccch_core import audit, logs

PHONE = re.compile(r"(?<!\d)(?:\+?84|0)[35789]\d{8}(?!\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logs.configure("json", stream)
    yield stream
    logging.getLogger().removeHandler(handler)
    logs._configured.clear()


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("text, masked", [
    ("gọi 0912345678 nhé", "gọi 09******78 nhé"),
    ("số +84 912 345 678", "số 84*******78"),
    ("0912.345.678", "09******78"),
    ("CCCD 001203004567", "CCCD 001*******67"),
    ("thư cho vanthu@ductho.gov.vn", "thư cho v***@ductho.gov.vn"),
    ("mã 123456, đơn 20241", "mã 123456, đơn 20241"),  # codes and ids stay
])
def test_mask_personal(text, masked):
    assert logs.mask_personal(text) == masked


def test_request_id_goes_to_the_response_the_log_and_the_audit_row(make_deployment, make_app, captured):
    dep = make_deployment(web={"log_format": "json"})
    app = make_app(dep, PROPAGATE_EXCEPTIONS=False)

    def act():
        audit.record(dep.db, "vhtt", "user.create", "tài khoản thử")
        app.logger.warning("đã tạo tài khoản cho %s, điện thoại %s", "nguyen.van.a@example.vn", "0987654321")
        return "ok"

    act.ccch_access = "public"
    app.add_url_rule("/thu-nghiem", "thu_nghiem", act)
    client = app.test_client()
    response = client.get("/thu-nghiem")
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[a-z]{16}", request_id)
    row = dep.db.execute("select request_id from audit_log order by id desc limit 1").fetchone()
    assert row[0] == request_id
    records = lines(captured)
    warning = next(r for r in records if r["level"] == "warning")
    assert warning["request_id"] == request_id
    assert warning["message"] == "đã tạo tài khoản cho n***@example.vn, điện thoại 09******21"
    request_line = next(r for r in records if r["message"] == "request")
    assert request_line["request_id"] == request_id
    assert request_line["route"] == "/thu-nghiem" and request_line["status"] == 200
    assert request_line["duration_ms"] >= 0
    # A proxy's id (nginx $request_id) is kept when it is a plain token; anything else is replaced.
    assert client.get("/healthz", headers={"X-Request-ID": "abcdef0123456789abcdef0123456789"}).headers[
        "X-Request-ID"] == "abcdef0123456789abcdef0123456789"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>0912345678</script>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[a-z]{16}", odd)


def test_an_unhandled_error_is_logged_masked(make_deployment, make_app, captured):
    dep = make_deployment()
    app = make_app(dep, PROPAGATE_EXCEPTIONS=False)

    def broken():
        raise RuntimeError("gateway refused 0912345678 and tran.thi.b@gmail.com")

    broken.ccch_access = "public"
    app.add_url_rule("/hong", "hong", broken)
    assert app.test_client().get("/hong").status_code == 500
    text = captured.getvalue()
    assert "gateway refused" in text and "09******78" in text
    assert not PHONE.search(text) and not EMAIL.search(text.replace("t***@gmail.com", ""))


def test_a_busy_run_logs_no_phone_number_or_address(make_deployment, make_app, captured):
    """Many requests with phone numbers and addresses in forms, paths and query strings, failed
    sign-ins with e-mail addresses as user names: the log has one request line each and no number."""
    dep = make_deployment(web={"log_format": "json"})
    client = make_app(dep).test_client()
    phones = [f"09{n:08d}" for n in range(100, 160)]
    for n, phone in enumerate(phones):
        client.get(f"/khong-co/{phone}?sdt={phone}&email=nguoi{n}@example.vn")
        client.post("/dang-nhap", data={"username": f"nguoi{n}@example.vn", "password": phone})
    records = lines(captured)
    assert sum(r["message"] == "request" for r in records) == 2 * len(phones)
    text = captured.getvalue()
    assert not PHONE.search(text), PHONE.search(text)
    assert not EMAIL.search(text), EMAIL.search(text)


def test_text_format_carries_the_request_id(make_deployment, make_app):
    stream = io.StringIO()
    handler = logs.configure("text", stream)
    try:
        app = make_app(make_deployment())

        def say():
            app.logger.warning("gửi tới 0912345678")
            return "ok"

        say.ccch_access = "public"
        app.add_url_rule("/noi", "noi", say)
        request_id = app.test_client().get("/noi").headers["X-Request-ID"]
    finally:
        logging.getLogger().removeHandler(handler)
        logs._configured.clear()
    line = stream.getvalue().strip().splitlines()[-1]
    assert f"[{request_id}] gửi tới 09******78" in line


def _log_through(handler: logging.Handler, count: int, text: str) -> None:
    """Log ``count`` lines through ``handler`` in a thread; fail if it does not come back (a blocked
    write would hang it for ever: this is not a measure of time)."""
    logger = logging.getLogger(f"ccch.test.nonblocking.{id(handler)}")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    worker = threading.Thread(target=lambda: [logger.info("%s %05d", text, n) for n in range(count)], daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the handler blocked on a stream nobody reads"


def _drain(fd: int) -> bytes:
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            data += chunk
    return data


def test_a_log_nobody_reads_drops_whole_lines_and_says_how_many():
    read_end, write_end = os.pipe()
    stream = os.fdopen(write_end, "w", encoding="utf-8")
    handler = logs.NonBlockingStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        _log_through(handler, 2_000, "gửi mã " + "x" * 90)  # ~200 KB into a 64 KiB pipe nobody reads
        assert handler.dropped > 0
        written = _drain(read_end).decode("utf-8").splitlines()
        assert len(written) == 2_000 - handler.dropped
        assert all(re.fullmatch(r"gửi mã x{90} \d{5}", line) for line in written)  # each line whole
        dropped = handler.dropped
        _log_through(handler, 1, "sau đó")  # read again: the next line tells what was lost
        assert _drain(read_end).decode("utf-8").splitlines() == [
            f"ccch: {dropped} log line(s) dropped: standard error was not being read fast enough", "sau đó 00000"]
        assert handler.dropped == 0
        _log_through(handler, 1, "y" * 20_000)  # longer than PIPE_BUF, and there is room: written whole
        assert _drain(read_end).decode("utf-8") == "y" * 20_000 + " 00000\n"
    finally:
        handler.close()
        stream.close()
        os.close(read_end)


def test_a_socket_nobody_reads_does_not_block_the_logger():
    ours, theirs = socket.socketpair()
    stream = ours.makefile("w", encoding="utf-8")
    handler = logs.NonBlockingStreamHandler(stream)
    try:
        _log_through(handler, 20_000, "z" * 200)  # 4 MB: far more than a socket buffer
        assert handler.dropped > 0
    finally:
        handler.close()
        stream.close()
        ours.close()
        theirs.close()


def test_a_stream_without_a_descriptor_is_written_as_usual():
    stream = io.StringIO()
    handler = logs.NonBlockingStreamHandler(stream)
    _log_through(handler, 3, "a")
    assert stream.getvalue() == "a 00000\na 00001\na 00002\n"


def test_serve_logs_through_the_non_blocking_handler():
    config = logs.gunicorn_logconfig("text")
    assert config["handlers"]["stderr"]["class"] == "ccch_core.logs.NonBlockingStreamHandler"
