"""The web shell: a Flask app built from a deployment and its enabled plugins.

``create_app(config)`` is the factory (``flask --app ccch_core.web:create_app run`` for
development; ``ccch serve`` for production). Every blueprint — the core's own login, dashboard
and unit-report pages included — is added through the ``register_blueprints`` hook; the menu
through ``navigation_items``; dashboard panels through ``dashboard_panels``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import time
from pathlib import Path
from types import FunctionType
from typing import Any

from flask import Flask, Request, Response, current_app, g, render_template, request, session, url_for
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect, same_origin
from itsdangerous import (
    BadData,
    BadSignature,
    BadTimeSignature,
    Serializer,
    SignatureExpired,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_decode, base64_encode, bytes_to_int, int_to_bytes, want_bytes
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import ValidationError

from .. import accounts
from ..config import DeploymentConfig, find_config, load_config
from ..deployment import Deployment
from ..periods import to_local
from ..privacy import keyed_hash
from ..ratelimit import client_network

__all__ = [
    "check_csrf_token",
    "client_key",
    "create_app",
    "csrf_token",
    "deployment",
]

DEFAULT_MAX_REQUEST_BYTES = 1_000_000
SESSION_HOURS = 8

ERROR_TEXTS = {
    400: ("Yêu cầu không hợp lệ", "Trình duyệt đã gửi một yêu cầu không hợp lệ. Vui lòng tải lại trang và thử lại."),
    403: ("Không có quyền truy cập", "Tài khoản này không có quyền xem hoặc thay đổi nội dung này."),
    404: ("Không tìm thấy trang", "Địa chỉ này không tồn tại hoặc đã được thay đổi."),
    405: ("Phương thức không được hỗ trợ", "Trang này không nhận loại yêu cầu vừa gửi."),
    413: ("Dữ liệu gửi lên quá lớn", "Nội dung gửi lên vượt quá giới hạn cho phép. Vui lòng rút gọn và gửi lại."),
    422: ("Dữ liệu chưa hợp lệ", "Vui lòng kiểm tra lại các mục được đánh dấu."),
    429: ("Quá nhiều yêu cầu", "Đã có quá nhiều lần thử. Vui lòng đợi một lát rồi thử lại."),
    500: ("Lỗi hệ thống", "Đã có lỗi xảy ra phía máy chủ. Dữ liệu đã nộp trước đó không bị ảnh hưởng; vui lòng thử lại sau."),
    503: ("Hệ thống đang bận", "Máy chủ đang quá tải hoặc bảo trì. Vui lòng thử lại sau ít phút."),
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# (lower-case name, name, value) of the headers every response gets unless its view set them.
_SECURITY_HEADERS = (
    ("content-security-policy", "Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "X-Frame-Options", "DENY"),
    ("x-content-type-options", "X-Content-Type-Options", "nosniff"),
    ("referrer-policy", "Referrer-Policy", "same-origin"),
    ("permissions-policy", "Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)

# Per-request code here reads Flask's request, session, g and current_app once, as objects
# (``request._get_current_object()``, werkzeug's documented way), not attribute by attribute through
# the proxies: every attribute read through a werkzeug proxy first fails the normal lookup and
# formats an AttributeError message, about 20 times the cost of the read itself (issue #16).


class _CSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, its ``protect`` and ``_is_exempt`` word for word (Flask-WTF
    1.3) but checking the token with :func:`check_csrf_token` (the same check, without building a
    serializer per request) and reading the request and the app once, not through the proxies."""

    def protect(self, apply_exemptions=False):
        req = request._get_current_object()
        app = current_app._get_current_object()
        if apply_exemptions:
            if not req.endpoint:
                return
            if self._exempt(app, req):
                return
        if req.method not in app.config["WTF_CSRF_METHODS"]:
            return
        try:
            check_csrf_token(self._get_csrf_token())
        except ValidationError as e:
            _csrf_log.info(e.args[0])
            self._error_response(e.args[0])
        if req.is_secure and app.config["WTF_CSRF_SSL_STRICT"]:
            if not req.referrer:
                self._error_response("The referrer header is missing.")
            good_referrer = f"https://{req.host}/"
            if not same_origin(req.referrer, good_referrer):
                self._error_response("The referrer does not match the host.")
        g._get_current_object().csrf_valid = True  # mark this request as CSRF valid

    def _is_exempt(self):
        return self._exempt(current_app._get_current_object(), request._get_current_object())

    def _exempt(self, app: Flask, req: Any) -> bool:
        """Flask-WTF's ``_is_exempt``, of the objects."""
        if app.blueprints.get(req.blueprint) in self._exempt_blueprints:
            return True
        view = app.view_functions.get(req.endpoint)
        if view is None:
            return False
        dest = f"{view.__module__}.{view.__name__}"
        return dest in self._exempt_views

    def _get_csrf_token(self):
        # Where Flask-WTF looks first, the form's field, read of the objects; failing that its own
        # search (the field again, a prefixed field, the headers).
        token = request._get_current_object().form.get(current_app._get_current_object().config["WTF_CSRF_FIELD_NAME"])
        return token or super()._get_csrf_token()


csrf = _CSRFProtect()
_csrf_log = logging.getLogger("flask_wtf.csrf")  # where Flask-WTF logs a refused token


def deployment() -> Deployment:
    """The deployment of the current app (for views and plugins)."""
    return current_app._get_current_object().extensions["ccch"]


def client_key(purpose: str) -> str:
    """A keyed hash of the visitor's address (an IPv6 address by its /64:
    :func:`ccch_core.ratelimit.client_network`) for
    rate limits and duplicate checks, never the address itself (it is personal data). Set ``[web]
    proxy_count`` behind a reverse proxy."""
    return keyed_hash(deployment().secret_key, purpose, client_network(request._get_current_object().remote_addr))


def create_app(
    config: str | Path | DeploymentConfig | None = None,
    *,
    deployment_obj: Deployment | None = None,
    migrate: bool = True,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the web app for a deployment.

    ``config`` is a ``ccch.toml`` path or a parsed config (default: ``$CCCH_CONFIG`` or
    ``./ccch.toml``). ``migrate`` applies pending migrations at start (``ccch serve`` migrates once
    before starting workers and passes False). ``test_config`` overrides Flask settings.
    """
    if deployment_obj is None:
        if config is None:
            config = find_config()
            if config is None:
                raise RuntimeError("no deployment config: set CCCH_CONFIG or run where ccch.toml is")
        if not isinstance(config, DeploymentConfig):
            config = load_config(config)
        deployment_obj = Deployment(config)
        deployment_obj.plan  # noqa: B018 - validate the plan now, not on the first request
        deployment_obj.prepare_database(migrate=migrate)
        deployment_obj.pm.hook.startup(deployment=deployment_obj)
        deployment_obj.close()  # worker threads open their own connections
    cfg = deployment_obj.config
    accounts.prepare_sign_in()  # the scrypt hash an unknown name is checked against, before the first sign-in
    app = _Flask(__name__, template_folder="templates", static_folder="static")
    from .params import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # ids in paths: ASCII digits, within SQLite's range
    app.session_interface = _SessionInterface()
    app.request_class = type("AppRequest", (_Request,), {"app_config": app.config})
    app.response_class = type("AppResponse", (_Response,), {"app_config": app.config})
    app.config.update(
        SECRET_KEY=deployment_obj.secret_key,
        MAX_CONTENT_LENGTH=int(cfg.web.get("max_request_bytes", DEFAULT_MAX_REQUEST_BYTES)),
        SESSION_COOKIE_NAME="ccch_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        WTF_CSRF_SSL_STRICT=False,  # behind a TLS-terminating proxy the Referer check misfires
        TEMPLATES_AUTO_RELOAD=False,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["ccch"] = deployment_obj
    from .. import logs, metrics

    logs.install(app, cfg.web.get("log_format", "text"))  # a request id on every request (and log line)
    metrics.install(app)  # /metrics and the request counts (ccch_core.metrics)
    proxies = int(cfg.web.get("proxy_count", 0))
    if proxies:
        # Behind nginx: trust that many X-Forwarded-For/-Proto hops, so that throttling and
        # rate limits see the visitor's address rather than the proxy's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    _install_request_hooks(app)  # before CSRF, so that error pages know the signed-in user
    csrf.init_app(app)
    app.jinja_env.globals["csrf_token"] = csrf_token  # Flask-WTF's token, signed without a zlib try

    for plugin_name, item in deployment_obj.pm.collect("register_blueprints", deployment=deployment_obj):
        if isinstance(item, tuple):
            (blueprint, *rest), options = item
            url_prefix = rest[0] if rest else options.get("url_prefix")
        else:
            blueprint, url_prefix = item, None
        app.register_blueprint(blueprint, url_prefix=url_prefix)

    _install_error_pages(app)
    _install_template_helpers(app)
    from . import compression

    compression.install(app)  # after the blueprints: their static folders too; gzip for public pages
    _health.ccch_access = "public"
    app.add_url_rule("/healthz", "health", _health)
    from . import admission

    # Outermost, last: a request that waited past [web] queue_limit_seconds for a worker is
    # answered 503 at once, before anything else of the app runs.
    admission.install(app, cfg.web, {"Content-Security-Policy": CONTENT_SECURITY_POLICY,
                                     "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                                     "Referrer-Policy": "same-origin"})
    return app


def _limit(key: str) -> property:
    """A size limit of the request: the one set on it (as Flask's setter does), else the app's
    ``key`` setting."""
    attribute = "_ccch_" + key.lower()

    def get(self) -> int | None:
        value = self.__dict__.get(attribute)
        return self.app_config[key] if value is None else value

    def put(self, value: int | None) -> None:
        self.__dict__[attribute] = value

    return property(get, put, doc=getattr(Request, key.lower()).__doc__)


class _Request(Request):
    """Flask's request, its size limits read from its app's config directly.

    Flask's own getters ask ``current_app`` twice a read (is there an app, then its config),
    through werkzeug's proxies, each read formatting an AttributeError; a form POST reads them
    about ten times (issue #16). A request of this class is made by its app for its own requests,
    so the config is the app's (:func:`create_app` makes the class per app). A limit set on the
    request (``request.max_content_length = ...``, as plugins do) still comes first."""

    app_config: dict[str, Any]
    max_content_length = _limit("MAX_CONTENT_LENGTH")  # type: ignore[assignment]
    max_form_memory_size = _limit("MAX_FORM_MEMORY_SIZE")  # type: ignore[assignment]
    max_form_parts = _limit("MAX_FORM_PARTS")  # type: ignore[assignment]


class _Response(Response):
    """Flask's response, its cookie size limit read from its app's config directly: Flask's getter
    asks ``current_app`` twice through werkzeug's proxies, for every cookie set (issue #16).
    :func:`ccch_core.web.compression.page_response` builds its pages of this class too."""

    app_config: dict[str, Any]

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The ``MAX_COOKIE_SIZE`` setting (Flask's, read-only)."""
        return self.app_config["MAX_COOKIE_SIZE"]


class _Flask(Flask):
    """Flask, asking once per function whether a view or hook is a coroutine function.

    Flask asks :mod:`inspect` before every call of every ``before_request``, ``after_request`` and
    teardown function and of the view — eleven times a request here, the same answer each time:
    about a twentieth of what a request costs the app (issue #16). The answers are kept per plain
    function; anything else (a bound method is a new object each time) is asked as before, and the
    memo is emptied should per-request closures (``after_this_request``) ever fill it."""

    sync_memo_limit = 4096

    def __init__(self, *args: Any, **kwargs: Any):
        self._ccch_sync: dict[FunctionType, Any] = {}
        super().__init__(*args, **kwargs)

    def ensure_sync(self, func: Any) -> Any:
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        memo = self._ccch_sync
        done = memo.get(func)
        if done is None:
            if len(memo) >= self.sync_memo_limit:
                memo.clear()
            done = memo[func] = super().ensure_sync(func)
        return done


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is made only of JSON's own types (exactly: no subclass such as Markup, no
    tuple), so that plain JSON writes it as Flask's tagged JSON would and reads it back the same.
    A dict key starting with a space could be read back as one of the tags: not plain."""
    stack = [value]  # a loop, not recursion: it runs on every cookie written
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str or key[:1] == " ":
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind not in _JSON_SCALARS:
            return False
    return True


class _SessionSerializer(TaggedJSONSerializer):
    """Flask's tagged JSON for the session cookie, without its walk over every value when there
    is nothing to tag.

    A session here holds only strings, numbers and dicts of them (the CSRF token, who is signed
    in, a contest's pending registration), but the tagged serializer asks each value of it eight
    questions before writing and scans every value after reading: with the rest of the cookie's
    work it was a tenth of a new contest participant's CPU (issue #16). A plain session is now
    written as plain JSON (the same text, as UTF-8 rather than \\u escapes) and read with plain
    JSON when the text holds no tag (a tag is always a one-key object whose key starts with a
    space: ``{" t":``, and a quote inside a string is escaped, so ``{" `` appears nowhere else).
    Anything else — flashed messages are tuples, a Markup keeps its type — goes through the tagged
    serializer as before, and cookies written before this change read the same."""

    def dumps(self, value: Any) -> str:
        if _plain_json(value):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return super().dumps(value)

    def loads(self, value: str) -> Any:
        if '{" ' in value:
            return super().loads(value)
        return json.loads(value)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its signing serializer built once per key instead of
    twice per request (opening and saving): that construction was 3 % of a contest's CPU.

    Two more savings, the cookie's format unchanged (cookies signed before them still open): the
    serializer skips tagging a plain session (:class:`_SessionSerializer`), and the signature is
    HMAC-SHA1 as before but by OpenSSL's HMAC: Flask names SHA-1 through a Python function (so that
    a FIPS system can import Flask), which makes :mod:`hmac` fall back to computing the HMAC in
    Python around two hash objects, for the key's derivation and the signature of every cookie
    opened or written."""

    serializer = _SessionSerializer()
    digest_method = staticmethod(hashlib.sha1)

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = getattr(self, "_serializer", None)
        if cached is None or cached[0] != keys:
            # As Flask builds it (the current key last, fallbacks before it), of the class below.
            signing = _SessionCookieSerializer([*keys[1:], keys[0]], salt=self.salt, serializer=self.serializer,
                                               signer_kwargs={"key_derivation": self.key_derivation,
                                                              "digest_method": self.digest_method})
            cached = self._serializer = (keys, signing)
        return cached[1]

    def save_session(self, app, session, response):
        """Flask's (3.1) word for word, but for "Vary: Cookie" added to the header directly
        (:func:`_vary_on_cookie`) instead of by ``response.vary.add``, which parses the header into
        a set and writes it back, twice for every cookie written (issue #16)."""
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        # Add a "Vary: Cookie" header if the session was accessed at all.
        if session.accessed:
            _vary_on_cookie(response)
        # If the session is modified to be empty, remove the cookie.
        # If the session is empty, return without setting the cookie.
        if not session:
            if session.modified:
                response.delete_cookie(name, domain=domain, path=path, secure=secure, partitioned=partitioned,
                                       samesite=samesite, httponly=httponly)
                _vary_on_cookie(response)
            return
        if not self.should_set_cookie(app, session):
            return
        expires = self.get_expiration_time(app, session)
        val = self.get_signing_serializer(app).dumps(dict(session))
        response.set_cookie(name, val, expires=expires, httponly=httponly, domain=domain, path=path, secure=secure,
                            partitioned=partitioned, samesite=samesite)
        _vary_on_cookie(response)


def _vary_on_cookie(response) -> None:
    """Add ``Cookie`` to the response's ``Vary`` header unless it names it already (any case), as
    ``response.vary.add("Cookie")`` does."""
    headers = response.headers
    vary = next((value for name, value in headers if name.lower() == "vary"), None)  # .get raises inside
    if not vary:
        headers["Vary"] = "Cookie"
    elif "cookie" not in [item.strip().lower() for item in vary.split(",")]:
        headers["Vary"] = vary + ", Cookie"


def csrf_token() -> str:
    """The session's CSRF token for a form, as Flask-WTF's ``generate_csrf`` makes it (the same
    token, the same check), without the zlib try that itsdangerous makes on every token it signs
    (:class:`_CookieSerializer`): a token never compresses, and that try was about 170,000
    instructions of every page with a form. Templates' ``csrf_token()`` is this function."""
    app = current_app._get_current_object()
    field = app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    here = g._get_current_object()
    if field not in here:
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        sess = session._get_current_object()
        if field not in sess:
            sess[field] = hashlib.sha1(os.urandom(64)).hexdigest()
        setattr(here, field, _csrf_signer(secret).dumps(sess[field]))
    return here.get(field)


_CSRF_SIGNERS: dict[Any, URLSafeTimedSerializer] = {}


def _csrf_signer(secret: Any) -> URLSafeTimedSerializer:
    signer = _CSRF_SIGNERS.get(secret)
    if signer is None:
        if len(_CSRF_SIGNERS) > 8:
            _CSRF_SIGNERS.clear()
        signer = _CSRF_SIGNERS[secret] = _CookieSerializer(secret, salt="wtf-csrf-token")
    return signer


def check_csrf_token(data: Any) -> None:
    """Check a sent CSRF token against the session's, as Flask-WTF's ``validate_csrf`` does with
    the app's settings (``WTF_CSRF_SECRET_KEY`` or the secret key, ``WTF_CSRF_FIELD_NAME``,
    ``WTF_CSRF_TIME_LIMIT``): the same itsdangerous ``loads`` under the same key, salt and time
    limit, the same order of checks and the same :class:`wtforms.ValidationError` messages. Only
    the serializer is kept per secret instead of built anew on every POST (about a third of the
    check's cost; two POSTs of a new contest participant are checked, issue #16). The session
    check of every form POST (:data:`csrf`) goes through here."""
    app = current_app._get_current_object()
    config = app.config
    secret = config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
    if secret is None:
        raise RuntimeError("A secret key is required to use CSRF.")
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field is None:
        raise RuntimeError("A field name is required to use CSRF.")
    time_limit = config.get("WTF_CSRF_TIME_LIMIT", 3600)
    if not data:
        raise ValidationError("The CSRF token is missing.")
    sess = session._get_current_object()
    if field not in sess:
        raise ValidationError("The CSRF session token is missing.")
    try:
        token = _csrf_signer(secret).loads(data, max_age=time_limit)
    except SignatureExpired as e:
        raise ValidationError("The CSRF token has expired.") from e
    except BadData as e:
        raise ValidationError("The CSRF token is invalid.") from e
    if not hmac.compare_digest(sess[field], token):
        raise ValidationError("The CSRF tokens do not match.")


class _CookieSerializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer, which tries zlib on every payload it signs and
    keeps the result when shorter, without that try for a payload under
    :data:`COMPRESS_FROM` bytes: deflate's set-up alone is about 170,000 instructions, more than
    the rest of writing a small session, and a session here is a CSRF token, who is signed in and
    at most a pending registration (issue #16: three cookies written per new contest
    participant). Compressed cookies, written before or for a larger session, still open."""

    COMPRESS_FROM = 1024

    def dump_payload(self, obj: Any) -> bytes:
        json_bytes = Serializer.dump_payload(self, obj)
        if len(json_bytes) >= self.COMPRESS_FROM:
            return super().dump_payload(obj)
        return base64_encode(json_bytes)


class _SessionCookieSerializer(_CookieSerializer):
    """The session cookie's serializer, signing and checking itsdangerous's format itself: the
    payload, a dot, the time signed (big-endian seconds) and a dot, then HMAC-SHA1 of all that under
    the key derived from the secret and the salt by HMAC (``key_derivation = "hmac"``), each part in
    URL-safe base64 without padding — what :class:`URLSafeTimedSerializer` writes and reads (the
    tests check both ways), without building a signer object, deriving the key and going through
    :mod:`hmac`'s classes for every cookie: about 110,000 instructions of the 130,000 that opening
    or writing a small session cost, four opened and three written per new contest participant
    (issue #16). The keys are derived once; the newest signs, every one (fallbacks) is tried."""

    def _derived_keys(self) -> list[bytes]:
        keys = self.__dict__.get("_derived")
        if keys is None:
            salt = want_bytes(self.salt)
            keys = self._derived = [hmac.digest(want_bytes(key), salt, "sha1") for key in reversed(self.secret_keys)]
        return keys

    def dumps(self, obj: Any, salt: Any = None) -> str:
        if salt is not None:
            return super().dumps(obj, salt)
        value = self.dump_payload(obj) + b"." + base64_encode(int_to_bytes(int(time.time())))
        return (value + b"." + base64_encode(hmac.digest(self._derived_keys()[0], value, "sha1"))).decode("ascii")

    def loads(self, s: Any, max_age: int | None = None, return_timestamp: bool = False, salt: Any = None) -> Any:
        if salt is not None or return_timestamp:
            return super().loads(s, max_age=max_age, return_timestamp=return_timestamp, salt=salt)
        signed = want_bytes(s)
        value, dot, signature = signed.rpartition(b".")
        payload, dot_too, stamp = value.rpartition(b".")
        if not (dot and dot_too and payload):
            raise BadSignature("not a signed cookie")
        try:
            expected = base64_decode(signature)
        except BadData:
            raise BadSignature("signature is not base64") from None
        for key in self._derived_keys():
            if hmac.compare_digest(expected, hmac.digest(key, value, "sha1")):
                break
        else:
            raise BadSignature("signature does not match")
        try:
            signed_at = bytes_to_int(base64_decode(stamp))
        except BadData:
            raise BadTimeSignature("malformed timestamp") from None
        if max_age is not None and not 0 <= int(time.time()) - signed_at <= max_age:
            raise SignatureExpired("the session cookie has expired")
        return self.load_payload(payload)


_FIXED_URLS: dict[tuple, str] = {}


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for`` for a link that is the same for every visitor (a stylesheet, a contest's pages),
    remembered per process: a public page has half a dozen such links and ``url_for`` builds each
    anew. Not for links that carry a visitor's token (the memo would grow with every visitor)."""
    key = (request._get_current_object().script_root, endpoint, *sorted(values.items()))
    url = _FIXED_URLS.get(key)
    if url is None:
        if len(_FIXED_URLS) > 4096:  # a bound, should a template pass something unbounded after all
            _FIXED_URLS.clear()
        url = _FIXED_URLS[key] = url_for(endpoint, **values)
    return url


def _health():
    """Liveness check for monitors and load balancers; also the benchmarks' trivial endpoint."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


def _install_request_hooks(app: Flask) -> None:
    cookie_name = app.config["SESSION_COOKIE_NAME"]

    @app.before_request
    def load_user():
        here = g._get_current_object()
        here.user = None
        if cookie_name not in request._get_current_object().cookies:
            # No session cookie, no one signed in: the session is left untouched, so a citizen's
            # page and a static file pay neither for reading it nor for the "Vary: Cookie" that
            # Flask adds to every response whose session was read (an officer's response, which
            # does depend on the cookie, still carries it).
            return
        sess = session._get_current_object()  # marks it read ("Vary: Cookie"): only past the check above
        user_id = sess.get("user_id")
        if user_id is None:
            return
        user = accounts.get_user(app.extensions["ccch"].db, user_id)
        if user is None or not user.active or user.session_version != sess.get("version"):
            sess.clear()  # logged out elsewhere, disabled, or password changed
            return
        here.user = user

    defaults = _SECURITY_HEADERS + ((("strict-transport-security", "Strict-Transport-Security", "max-age=31536000"),)
                                    if app.config["SESSION_COOKIE_SECURE"] else ())

    @app.after_request
    def security_headers(response):
        # What a view set itself stays (like setdefault), found in one pass over the headers:
        # Werkzeug's setdefault scans them twice and builds a BadRequestKeyError for each header
        # not there yet — six times on every response, a tenth of the per-request hooks' cost.
        headers = response.headers
        present = {name.lower() for name, _ in headers}
        missing = [(name, value) for lower, name, value in defaults if lower not in present]
        if "cache-control" not in present and g._get_current_object().get("user") is not None:
            # Pages with personal or unit data must not be kept by shared computers' caches.
            missing.append(("Cache-Control", "no-store"))
        headers.extend(missing)
        return response


def _install_error_pages(app: Flask) -> None:
    def render_error(code: int, detail: str | None = None, retry_after: int | None = None):
        title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
        response = app.make_response(
            (render_template("error.html", code=code, title=title, text=detail or text), code)
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, "Biểu mẫu đã hết hạn hoặc không hợp lệ (mã bảo vệ CSRF). Vui lòng tải lại trang rồi gửi lại."
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code in (301, 302, 303, 307, 308):
            return error
        # A description set where the error was raised is Vietnamese text for the visitor;
        # Werkzeug's English default is replaced by ours.
        detail = error.description if error.description != type(error).description else None
        return render_error(error.code or 500, detail, getattr(error, "retry_after", None))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        from ..storage import is_busy, is_full

        if is_busy(error):
            # Another writer held the database past the busy timeout (a burst): ask to retry.
            app.logger.warning("database busy on %s %s", request.method, request.path)
            return render_error(503, "Hệ thống đang bận xử lý nhiều yêu cầu. Dữ liệu vừa gửi chưa được lưu; "
                                     "vui lòng gửi lại sau ít giây.", retry_after=5)
        if is_full(error):
            app.logger.critical("database or disk full on %s %s: %s", request.method, request.path, error)
            return render_error(503, "Hệ thống tạm thời không lưu được dữ liệu. Dữ liệu vừa gửi chưa được lưu; "
                                     "vui lòng thử lại sau. Cán bộ quản trị đã được báo lỗi.", retry_after=60)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)


def _install_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["fixed_url"] = fixed_url
    @app.context_processor
    def inject():
        dep = app.extensions["ccch"]
        user = g._get_current_object().get("user")
        items: list[dict[str, Any]] = []
        for result in dep.pm.hook.navigation_items(deployment=dep, user=user):
            items.extend(result or [])
        endpoints = set(app.view_functions)
        nav = sorted((i for i in items if i.get("endpoint") in endpoints), key=lambda i: i.get("order", 100))
        return {"nav_items": nav, "plan": dep.plan, "current_user": user, "deployment_name": dep.config.name}

    @app.template_filter("local_time")
    def local_time(value) -> str:
        """An instant as Vietnam time, "05/04/2024 08:30"."""
        if value is None:
            return "–"
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return to_local(value).strftime("%d/%m/%Y %H:%M")

    @app.template_filter("due_date")
    def due_date(value) -> str:
        """A due instant (the exclusive bound, local midnight after the due day) as the due day:
        "hết ngày 05/04/2024"."""
        if value is None:
            return "–"
        last_moment = to_local(value) - dt.timedelta(microseconds=1)
        return "hết ngày " + last_moment.strftime("%d/%m/%Y")

    @app.template_filter("lower_first")
    def lower_first_filter(value) -> str:
        """A label inside a sentence: "Quý I/2024" → "quý I/2024" (``|lower`` wrote "quý i/2024")."""
        from ..report import lower_first

        return lower_first(str(value))

    @app.template_filter("vn_date")
    def vn_date(value) -> str:
        """A date as "20/01/2024"."""
        return value.strftime("%d/%m/%Y") if value else "–"

    @app.template_filter("figure")
    def figure(value, percent: bool = False) -> str:
        """A figure with a decimal comma; percentages cut (never rounded up) to one decimal."""
        if value is None:
            return "–"
        if percent:
            value = int(value * 10 + 1e-9) / 10
            text = f"{value:.1f}".removesuffix(".0")
            return text.replace(".", ",") + "%"
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return text.replace(".", ",")
