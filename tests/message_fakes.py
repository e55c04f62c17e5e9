"""Fake message gateways for the tests, on loopback: nothing is mocked inside the senders.

:class:`FakeGateway` is one HTTP server (``ThreadingHTTPServer`` in a thread, HTTP/1.1 keep-alive)
that plays

* an SMS brandname gateway: any path but those below (``fake.sms_url`` is ``/sms/send``); it
  answers ``{"CodeResult": "100", "SMSID": "<id>", "ErrorMessage": ""}`` (``sms_answer`` changes
  that shape);
* Zalo ZNS: ``POST /message/template`` (``fake.zns_url``) checks the ``access_token`` header and
  answers ``{"error": 0, "message": "Success", "data": {"msg_id": "<id>"}}``, or error -124 for a
  token that is not the current one (:meth:`FakeGateway.expire_token` makes the current one
  invalid);
* Zalo OAuth: ``POST /v4/oa/access_token`` (``fake.oauth_url``) checks the ``secret_key`` header
  and the form (``app_id``, ``grant_type=refresh_token``, ``refresh_token``) and issues new
  tokens; the refresh token rotates (single use), as Zalo's does.

It records every request (:attr:`FakeGateway.requests`, the token refreshes also in
:attr:`FakeGateway.refreshes`) and counts idempotency keys, taken from the ``Idempotency-Key``
header or a body field (``tracking_id``, ``RequestId``, ``idempotency_key``):

* ``fake.keys``: Counter of the key of every request;
* ``fake.accepted``: the keys accepted (answered with success) at least once;
* ``fake.duplicates``: Counter of the keys accepted again: a repeated key is answered success
  with the same gateway id (``fake.ids[key]``), as idempotent gateways do, and counted here.

:meth:`FakeGateway.fail_next` makes the next N requests (optionally only those to one path) fail
with a status and body, a ``Retry-After``, a delay, or a connection closed without an answer.

Use it as a context manager (``with FakeGateway() as fake: ...``) in a fixture. To outlive a
process a test kills, run it in its own process: ``python tests/message_fakes.py --port 0
--state-file F`` prints ``READY <url>`` and appends ``accepted <key>`` / ``duplicate <key>`` to F
for every request it accepts; :class:`FakeGatewayProcess` does that from a test and drives the
fake through its control endpoints (``GET /_fake/stats``, ``POST /_fake/fail``,
``POST /_fake/expire_token``, ``POST /_fake/reset``). Or keep the fake in the pytest process and
run the sender in a subprocess: both work.

:class:`FakeSmtpServer` is a real SMTP server (aiosmtpd) that keeps what it receives.

Imported as ``message_fakes`` (conftest puts tests/ on ``sys.path``).
"""

from __future__ import annotations

import argparse
import collections
import email
import email.policy
import http.server
import itertools
import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

SMS_PATH = "/sms/send"
ZNS_PATH = "/message/template"
OAUTH_PATH = "/v4/oa/access_token"
CONTROL_PREFIX = "/_fake/"
KEY_HEADER = "Idempotency-Key"
KEY_FIELDS = ("tracking_id", "RequestId", "idempotency_key")


def default_sms_answer(gateway_id: str) -> dict[str, Any]:
    """The common shape of a Vietnamese brandname gateway's success answer."""
    return {"CodeResult": "100", "SMSID": gateway_id, "ErrorMessage": ""}


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-case header names."""
    body: Any
    """The parsed JSON or form body (a dict), or the raw bytes, or None when empty."""
    raw: bytes
    key: str | None
    """The idempotency key found in the request, if any."""
    client: tuple[str, int] = ("", 0)
    """The client's address: requests on one kept-alive connection share it."""


@dataclass
class Failure:
    """How the fake answers a request it was told to fail."""

    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False
    """Close the connection without answering."""
    delay: float = 0.0
    """Seconds to wait before answering (past the sender's timeout: a timeout)."""
    path: str | None = None
    """Only requests to this path (None: any gateway request)."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "FakeGateway/1"
    sys_version = ""
    wbufsize = 64 * 1024  # headers and body leave in one write (no Nagle/delayed-ACK stalls)
    disable_nagle_algorithm = True
    timeout = 60  # an idle keep-alive connection's thread ends after this

    def log_message(self, format, *args):
        pass

    def _dispatch(self):
        self.server.fake._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


class _GatewayUrls:
    """The fake's endpoints, from its ``url`` (in this process or in its own)."""

    @property
    def sms_url(self) -> str:
        return self.url + SMS_PATH

    @property
    def zns_url(self) -> str:
        return self.url + ZNS_PATH

    @property
    def oauth_url(self) -> str:
        return self.url + OAUTH_PATH


class FakeGateway(_GatewayUrls):
    """An SMS gateway, Zalo ZNS and Zalo OAuth on one loopback HTTP server. See the module's doc."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, key_header: str = KEY_HEADER,
                 key_fields: tuple[str, ...] = KEY_FIELDS, sms_answer=default_sms_answer,
                 app_id: str = "fake-app", secret_key: str = "fake-secret", access_token: str = "AT-1",
                 refresh_token: str = "RT-1", expires_in: int = 90000, state_file: str | Path | None = None):
        self.host, self.port = host, port
        self.key_header, self.key_fields = key_header.lower(), key_fields
        self.sms_answer = sms_answer
        self.app_id, self.secret_key, self.expires_in = app_id, secret_key, expires_in
        self.access_token: str | None = access_token
        self.refresh_token: str | None = refresh_token
        self.expired_tokens: set[str] = set()
        self.state_file = Path(state_file) if state_file else None
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._state_handle = None
        self.reset()

    # Set-up -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the requests, counters and pending failures (tokens stay as they are)."""
        with self._lock:
            self.requests: list[Recorded] = []
            self.refreshes: list[Recorded] = []
            self.keys: collections.Counter[str] = collections.Counter()
            self.accepted: set[str] = set()
            self.duplicates: collections.Counter[str] = collections.Counter()
            self.ids: dict[str, str] = {}
            self._failures: collections.deque[Failure] = collections.deque()
            self._numbers = itertools.count(1)
            self._token_numbers = itertools.count(2)

    def start(self) -> FakeGateway:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        if self.state_file:
            self._state_handle = open(self.state_file, "a", encoding="utf-8")  # noqa: SIM115 - open while serving
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-gateway-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._state_handle is not None:
            self._state_handle.close()
            self._state_handle = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


    # Steering ---------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, *, body: Any = None, headers: dict[str, str] | None = None,
                  close: bool = False, delay: float = 0.0, path: str | None = None) -> None:
        """Answer the next ``n`` requests (to ``path``, or any) with ``status`` and ``body`` (a dict
        is sent as JSON), or close the connection without answering (``close``), after ``delay``
        seconds. Such requests are recorded and their keys counted, but not accepted."""
        with self._lock:
            for _ in range(n):
                self._failures.append(Failure(status, body, dict(headers or {}), close, delay, path))

    def expire_token(self) -> None:
        """The current access token stops working: the next ZNS request gets error -124."""
        with self._lock:
            if self.access_token:
                self.expired_tokens.add(self.access_token)

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def stats(self) -> dict[str, Any]:
        """The counters as JSON-able values (what ``GET /_fake/stats`` answers)."""
        with self._lock:
            return {"requests": len(self.requests), "refreshes": len(self.refreshes), "keys": dict(self.keys),
                    "accepted": sorted(self.accepted), "duplicates": dict(self.duplicates),
                    "access_token": self.access_token, "refresh_token": self.refresh_token}

    # Serving ----------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if parts.path.startswith(CONTROL_PREFIX):
            return self._control(handler, parts.path[len(CONTROL_PREFIX):], raw)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        body = _parse_body(headers.get("content-type", ""), raw)
        key = headers.get(self.key_header)
        if key is None:
            for source in (body, query):
                if isinstance(source, dict):
                    key = next((str(source[f]) for f in self.key_fields if source.get(f) not in (None, "")), None)
                    if key is not None:
                        break
        record = Recorded(handler.command, parts.path, query, headers, body, raw, key, tuple(handler.client_address))
        with self._lock:
            self.requests.append(record)
            if parts.path == OAUTH_PATH:
                self.refreshes.append(record)
            elif key is not None:
                self.keys[key] += 1
            failure = next((f for f in self._failures if f.path in (None, parts.path)), None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            if failure.close:
                handler.close_connection = True
                return None
            body = failure.body if failure.body is not None else {"error": f"fake failure {failure.status}"}
            return _answer(handler, failure.status, body, failure.headers)
        if parts.path == OAUTH_PATH:
            return _answer(handler, 200, self._refresh(handler.command, headers, body))
        if parts.path == ZNS_PATH:
            token = headers.get("access_token")
            with self._lock:
                valid = token is not None and token == self.access_token and token not in self.expired_tokens
            if not valid:
                return _answer(handler, 200, {"error": -124, "message": "Access token is invalid"})
        gateway_id = self._accept(key)
        if parts.path == ZNS_PATH:
            return _answer(handler, 200, {"error": 0, "message": "Success",
                                          "data": {"msg_id": gateway_id, "sent_time": str(int(time.time() * 1000))}})
        return _answer(handler, 200, self.sms_answer(gateway_id))

    def _accept(self, key: str | None) -> str:
        with self._lock:
            if key is None:
                return f"fake-{next(self._numbers)}"
            if key in self.accepted:
                self.duplicates[key] += 1
                line = f"duplicate {key}\n"
            else:
                self.accepted.add(key)
                self.ids[key] = f"fake-{next(self._numbers)}"
                line = f"accepted {key}\n"
            if self._state_handle is not None:
                self._state_handle.write(line)
                self._state_handle.flush()
            return self.ids[key]

    def _refresh(self, method: str, headers: dict[str, str], form: Any) -> dict[str, Any]:
        form = form if isinstance(form, dict) else {}
        with self._lock:
            if method != "POST" or headers.get("secret_key") != self.secret_key:
                return {"error": -14003, "error_name": "Invalid secret key",
                        "error_description": "secret_key header is missing or wrong"}
            if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
                return {"error": -14002, "error_name": "Invalid parameter",
                        "error_description": "app_id or grant_type is wrong"}
            if not self.refresh_token or form.get("refresh_token") != self.refresh_token:
                return {"error": -14014, "error_name": "Invalid refresh token",
                        "error_description": "refresh token is invalid or was already used"}
            number = next(self._token_numbers)
            self.access_token, self.refresh_token = f"AT-{number}", f"RT-{number}"
            return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                    "expires_in": str(self.expires_in)}

    def _control(self, handler: _Handler, command: str, raw: bytes) -> None:
        args = json.loads(raw) if raw else {}
        if command == "stats":
            return _answer(handler, 200, self.stats())
        if command == "fail":
            self.fail_next(**args)
        elif command == "expire_token":
            self.expire_token()
        elif command == "reset":
            self.reset()
        else:
            return _answer(handler, 404, {"error": f"unknown control command {command!r}"})
        return _answer(handler, 200, {"ok": True})


def _parse_body(content_type: str, raw: bytes) -> Any:
    if not raw:
        return None
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if "x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    return raw


def _answer(handler: _Handler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    if isinstance(body, bytes):
        data, content_type = body, "application/octet-stream"
    elif isinstance(body, str):
        data, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
    else:
        data, content_type = json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, str(value))
    handler.end_headers()
    handler.wfile.write(data)


# -- the fake in its own process ----------------------------------------------------------------


def read_state_file(path: str | Path) -> list[tuple[str, str]]:
    """The ``(accepted|duplicate, key)`` lines a fake process appended, in order."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [tuple(line.split(" ", 1)) for line in text.splitlines() if " " in line]


class FakeGatewayProcess(_GatewayUrls):
    """:class:`FakeGateway` in a child process, which outlives a sender process a test kills.
    ``start()`` waits for ``READY``; the counters come from :meth:`stats` and the state file."""

    def __init__(self, state_file: str | Path, *args: str):
        self.state_file = Path(state_file)
        self.args = args
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> FakeGatewayProcess:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--port", "0", "--state-file", str(self.state_file),
             *self.args], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().strip()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the fake gateway did not start: {line!r}")
        self.url = line.split(" ", 1)[1]
        return self

    def _call(self, command: str, payload: dict | None = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + CONTROL_PREFIX + command, data=data,
                                         method="GET" if data is None else "POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        return self._call("stats")

    def fail_next(self, n: int = 1, status: int = 500, **options) -> None:
        self._call("fail", {"n": n, "status": status, **options})

    def expire_token(self) -> None:
        self._call("expire_token", {})

    def accepted_lines(self) -> list[tuple[str, str]]:
        return read_state_file(self.state_file)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake SMS / Zalo ZNS gateway on loopback, for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-file", help="append 'accepted KEY' / 'duplicate KEY' lines here")
    parser.add_argument("--access-token", default="AT-1")
    parser.add_argument("--refresh-token", default="RT-1")
    parser.add_argument("--secret-key", default="fake-secret")
    parser.add_argument("--app-id", default="fake-app")
    options = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fake = FakeGateway(host=options.host, port=options.port, state_file=options.state_file,
                       access_token=options.access_token, refresh_token=options.refresh_token,
                       secret_key=options.secret_key, app_id=options.app_id)
    with fake:
        print(f"READY {fake.url}", flush=True)
        stop.wait()
    return 0


# -- SMTP -------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMail:
    """One message an SMTP fake accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any
    """The client's (host, port): the same for messages sent on one kept-alive session."""

    def parsed(self):
        """The message as an :class:`email.message.EmailMessage`."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _SmtpHandler:
    def __init__(self, fake: FakeSmtpServer):
        self.fake = fake

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.fake.refuse.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.fake.lock:
            self.fake.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos),
                                                   bytes(envelope.original_content or envelope.content),
                                                   session.peer))
            number = len(self.fake.messages)
        return f"250 2.0.0 Ok: queued as FAKE{number}"


def make_certificate(folder: str | Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (an IP address) and its key, written in ``folder``
    with the ``openssl`` command: ``(cert.pem, key.pem)``. The certificate is its own CA."""
    folder = Path(folder)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=IP:{host}"], check=True, capture_output=True)
    return cert, key


class FakeSmtpServer:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts.

    ``refuse`` maps a recipient to the reply refusing it (``"550 5.1.1 No such user"``);
    ``users`` (login → password) turns on AUTH (PLAIN, LOGIN), over TLS when there is TLS, else
    without; ``idle_timeout`` closes a session idle that long (seconds). ``certificate`` (cert,
    key: :func:`make_certificate`) turns on TLS: STARTTLS, required before MAIL, or with
    ``implicit_tls`` TLS from the first byte (port 465 style)."""

    def __init__(self, *, refuse: dict[str, str] | None = None, users: dict[str, str] | None = None,
                 idle_timeout: float | None = None, certificate: tuple[Path, Path] | None = None,
                 implicit_tls: bool = False):
        self.refuse = dict(refuse or {})
        self.users = users
        self.idle_timeout = idle_timeout
        self.certificate, self.implicit_tls = certificate, implicit_tls
        self.messages: list[ReceivedMail] = []
        self.logins: list[tuple[str, bool]] = []
        self.lock = threading.Lock()
        self.host, self.port = "127.0.0.1", 0
        self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users is not None and self.users.get(login) == password
        self.logins.append((login, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    def start(self) -> FakeSmtpServer:
        from aiosmtpd.controller import Controller

        options: dict[str, Any] = {"server_hostname": "fake-smtp.test"}
        if self.users is not None:
            options.update(authenticator=self._authenticate, auth_require_tls=self.certificate is not None)
        if self.certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
            if self.implicit_tls:
                options["ssl_context"] = context
            else:
                options.update(tls_context=context, require_starttls=True)
        if self.idle_timeout:
            options["timeout"] = self.idle_timeout
        self.port = free_port(self.host)
        self._controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
