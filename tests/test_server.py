"""``ccch serve`` with gunicorn: closing a served connection."""

from __future__ import annotations

import socket

import pytest

from ccch_core.web import server


@pytest.fixture
def connected():
    """A loopback TCP connection: (the server's socket, the client's socket)."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    served, _ = listener.accept()
    listener.close()
    yield served, client
    client.close()
    served.close()


@pytest.fixture
def lingering(monkeypatch):
    calls = []
    monkeypatch.setattr(server, "_graceful_close", lambda sock, **kw: (calls.append(sock), sock.close()))
    return calls


def test_a_fully_read_request_is_closed_at_once(connected, lingering):
    served, client = connected
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    assert served.recv(100) == b"GET / HTTP/1.1\r\n\r\n"  # the worker read the whole request
    served.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    server._close_at_once(served)
    assert served.fileno() == -1 and lingering == []  # closed without waiting for the client
    client.settimeout(5)
    received = b""
    while chunk := client.recv(100):
        received += chunk
    assert received == b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"  # the whole response, then FIN


def test_unread_request_bytes_get_gunicorns_lingering_close(connected, lingering):
    served, client = connected
    client.sendall(b"POST /upload HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
    served.settimeout(5)
    assert served.recv(10) == b"POST /uplo"  # refused after the first bytes (too large): the rest is unread
    server._close_at_once(served)
    assert lingering == [served]


def test_serve_installs_the_close_once(monkeypatch):
    gunicorn_util = pytest.importorskip("gunicorn.util")
    original = gunicorn_util.close_graceful
    monkeypatch.setattr(gunicorn_util, "close_graceful", original)
    monkeypatch.setattr(server, "_graceful_close", None)
    server._install_close_at_once()
    assert gunicorn_util.close_graceful is server._close_at_once and server._graceful_close is original
    server._install_close_at_once()  # twice (a second app in one process): still the original behind it
    assert server._graceful_close is original


def test_the_date_header_is_formatted_once_a_second_and_reads_the_same(monkeypatch):
    import email.utils

    gunicorn_util = pytest.importorskip("gunicorn.util")
    original = gunicorn_util.http_date
    monkeypatch.setattr(gunicorn_util, "http_date", original)
    monkeypatch.setattr(server, "_gunicorn_http_date", None)
    monkeypatch.setattr(server, "_http_date_of_second", [None, ""])
    server._install_http_date_once_a_second()
    server._install_http_date_once_a_second()  # twice: still gunicorn's own behind it
    assert gunicorn_util.http_date is server._http_date_once_a_second and server._gunicorn_http_date is original
    formatted = []
    monkeypatch.setattr(server, "_gunicorn_http_date", lambda t=None: formatted.append(t) or original(t))
    clock = [1_796_000_000.25]
    monkeypatch.setattr(server.time, "time", lambda: clock[0])
    first = gunicorn_util.http_date()
    clock[0] = 1_796_000_000.75
    assert gunicorn_util.http_date() == first == email.utils.formatdate(1_796_000_000, usegmt=True)
    assert formatted == [1_796_000_000]  # once for the second
    clock[0] = 1_796_000_001.01
    assert gunicorn_util.http_date() == email.utils.formatdate(1_796_000_001, usegmt=True) != first
    assert gunicorn_util.http_date(86_400) == "Fri, 02 Jan 1970 00:00:00 GMT"  # a given instant: as before


def test_gunicorn_settings_take_every_value():
    gunicorn_config = pytest.importorskip("gunicorn.config")
    plain = server.gunicorn_settings("127.0.0.1", 8000, 2, 1)
    assert plain["worker_class"] == "sync" and plain["accesslog"] is None  # nginx keeps the access log
    logged = server.gunicorn_settings("0.0.0.0", 9000, 4, 8, access_log=True)
    assert (logged["bind"], logged["workers"], logged["worker_class"], logged["accesslog"]) == \
        ("0.0.0.0:9000", 4, "gthread", "-")
    config = gunicorn_config.Config()
    for key, value in logged.items():
        config.set(key, value)  # every name and value is one gunicorn accepts
    assert config.accesslog == "-" and config.workers == 4
    if "control_socket_disable" in config.settings:  # gunicorn ≥ 25.1: no shared ~/.gunicorn/gunicorn.ctl
        assert config.control_socket_disable is True


def test_no_access_log_means_no_access_log_work():
    # With a log config (ccch serve's masked error log), gunicorn's own logger builds every
    # request's access-log fields even when that logger is silenced: without --access-log,
    # ccch serve gives it a logger whose access() does nothing.
    gunicorn_config = pytest.importorskip("gunicorn.config")
    quiet = server.gunicorn_settings("127.0.0.1", 8000, 2, 1, log_format="text")
    logged = server.gunicorn_settings("127.0.0.1", 8000, 2, 1, access_log=True, log_format="text")
    assert "logger_class" not in logged
    config = gunicorn_config.Config()
    for key, value in quiet.items():
        config.set(key, value)
    logger = config.logger_class(config)
    assert logger.access_log_enabled is False
    calls = []
    logger.atoms = lambda *args: calls.append(args) or {}  # what gunicorn's access() would build
    assert logger.access(object(), object(), {}, None) is None
    assert calls == []
    loud = gunicorn_config.Config()
    for key, value in logged.items():
        loud.set(key, value)
    assert loud.logger_class(loud).access_log_enabled is True


def test_serve_offers_the_access_log():
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    result = CliRunner().invoke(make_cli(argv=["serve", "--help"]), ["serve", "--help"])
    assert result.exit_code == 0 and "--access-log" in result.output


@pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")
def test_a_response_is_corked_until_complete(connected):
    served, client = connected

    class Req:  # what gunicorn's pre_request hook gets: the request, its socket in the unreader
        class unreader:
            sock = served

    class Resp:
        sock = served

    server._cork(None, Req)
    assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 1
    served.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    served.sendall(b"ok")
    server._uncork(None, Req, {}, Resp)
    assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0
    client.settimeout(5)
    received = b""
    while len(received) < 21:
        received += client.recv(100)
    assert received == b"HTTP/1.1 200 OK\r\n\r\nok"
    server._cork(None, object())  # a request without a socket (another worker class): nothing to do
    assert "pre_request" in server.gunicorn_settings("127.0.0.1", 8000, 2, 1)
