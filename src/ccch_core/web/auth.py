"""Login, logout and the access checks every view uses.

Signing in is one or two steps: the password (``/dang-nhap``), then, for an account with a second
factor or of a role the deployment requires one of, a code from an authenticator app
(``/dang-nhap/ma-xac-thuc``). Every refusal of a step reads the same whatever its reason (an
unknown name, a wrong password, a disabled account, a throttled attempt; a wrong, reused or late
code), with the same status and no ``Retry-After``: a stranger learns nothing from it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import accounts
from ..accounts import Role
from . import client_key, deployment

__all__ = [
    "current_user",
    "login_required",
    "public",
    "require_unit_access",
    "roles_required",
    "unit_scope",
]

bp = Blueprint("auth", __name__)


def current_user():
    """The signed-in :class:`ccch_core.accounts.User`, or None for an anonymous visitor."""
    return g.get("user")


def public(view: Callable) -> Callable:
    """Mark a view as open to anonymous visitors (citizens, contestants).

    Every route declares who may open it — ``public``, ``login_required`` or
    ``roles_required`` — so that the access tests, generated from the URL map, can check each one
    and fail on a route that declares nothing.
    """
    view.ccch_access = "public"
    return view


def login_required(view: Callable) -> Callable:
    """Send anonymous visitors to the login page (and back afterwards)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    wrapped.ccch_access = "login"
    return wrapped


def roles_required(*roles: Role) -> Callable:
    """Allow only signed-in users with one of ``roles`` (403 for the others)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if g.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.ccch_roles = frozenset(roles)  # read by the authorization-matrix tests
        wrapped.ccch_access = "roles"
        return wrapped

    return decorator


def require_unit_access(unit_id: str, plan=None) -> None:
    """404 for a unit the plan does not have; 403 unless the signed-in user may see ``unit_id``'s
    data by the one rule, :meth:`ccch_core.accounts.User.can_see_unit` (admins: every unit; a unit
    officer: their unit and the units below it; viewers and contest managers: none).

    ``plan``: the plan whose data the page shows; by default the plan the request chose
    (:func:`ccch_core.web.plan_choice.chosen_plan`: ``?plan=`` or the default plan). Units and
    their tree differ between years (communes merged, renamed, moved), so a unit is checked in
    the tree of the year whose data is shown, not in the default plan's."""
    if plan is None:
        from .plan_choice import chosen_plan  # plan_choice imports this package's deployment()

        plan = chosen_plan()
    if not plan.has_unit(unit_id):
        abort(404)
    if not g.user.can_see_unit(plan, unit_id):
        abort(403)


def unit_scope(unit_id: str | None, plan=None) -> str | None:
    """The unit whose data a request asks for through an optional parameter (``?unit=…``),
    checked by the same rule as :func:`require_unit_access`; None means the whole plan.

    A unit given is checked as in the path of ``/bao-cao/<unit>/…`` (404 unknown, 403 not
    within the user's scope). Without one, a unit officer gets their own unit, never the whole
    plan; the other roles get the whole plan's picture (the dashboard's figures). Every view that
    shows or exports data for an optional unit — reports, exports, downloads, plugin pages —
    goes through here, so one role gets one answer for one unit wherever it asks.

    ``plan`` as for :func:`require_unit_access` (default: the plan the request chose). A unit
    officer whose unit that plan does not have (another year's tree) gets a 404 in words."""
    if plan is None:
        from .plan_choice import chosen_plan

        plan = chosen_plan()
    if unit_id:
        require_unit_access(unit_id, plan)
        return unit_id
    if g.user.role is Role.UNIT_OFFICER:
        if not g.user.unit_id:
            abort(403)
        if not plan.has_unit(g.user.unit_id):
            abort(404, description=f"Đơn vị của anh/chị không có trong “{plan.title}”: chọn kế hoạch của năm khác.")
        return g.user.unit_id
    return None


def landing_url(user: accounts.User) -> str:
    """Where a sign-in lands when no page was asked for: where the role's work is. A unit officer
    lands on the unit's reports; a role that a plugin's navigation item names in its
    ``landing_for`` (the contest manager: *Cuộc thi*) on that item's page; everyone else on the
    dashboard."""
    if user.role is Role.UNIT_OFFICER and user.unit_id:
        return url_for("reports.index")
    dep = deployment()
    items = [i for result in dep.pm.hook.navigation_items(deployment=dep, user=user) for i in (result or [])]
    for item in sorted(items, key=lambda i: i.get("order", 100)):
        if user.role.value in (item.get("landing_for") or ()) and item.get("endpoint") in current_app.view_functions:
            return url_for(item["endpoint"])
    return url_for("dashboard.index")


def _safe_next(target: str | None, user: accounts.User | None = None) -> str:
    """Only local paths: a login link must not send the officer to another site. Without a
    target, the user's landing page (:func:`landing_url`)."""
    home = landing_url(user) if user is not None else url_for("dashboard.index")
    if not target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


REFUSAL = ("Tên đăng nhập hoặc mật khẩu không đúng, hoặc đã nhập sai quá nhiều lần. Vui lòng kiểm tra lại; "
           "nếu đã nhập sai nhiều lần, hãy đợi 15 phút rồi thử lại.")
"""The one answer to a refused password step, whatever the reason."""

CODE_REFUSAL = ("Mã xác thực không đúng, đã được dùng hoặc đã hết hạn. Vui lòng nhập mã mới đang hiện trong "
                "ứng dụng xác thực; nếu đã nhập sai nhiều lần, hãy đợi 15 phút rồi thử lại.")
"""The one answer to a refused code, whatever the reason."""

PENDING_SECONDS = 300
"""How long after a right password the code may be given (then the password is asked again)."""

TRUSTED_COOKIE = "ccch_trusted"
TRUSTED_DAYS = 180
TRUSTED_ACCOUNTS = 5
"""A browser remembers at most this many accounts it signed in (a shared office computer)."""


def required_second_factor_roles() -> frozenset[Role]:
    """The roles the deployment requires a second factor of (``[web] require_totp_for``)."""
    return frozenset(Role(r) for r in deployment().config.web.get("require_totp_for", ()))


def _trusted_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(deployment().secret_key, salt="ccch-trusted-browser")


def _trusted_accounts() -> list[str]:
    """Account keys of the accounts this browser completed a sign-in to (signed cookie)."""
    raw = request.cookies.get(TRUSTED_COOKIE)
    if not raw or len(raw) > 2000:
        return []
    try:
        keys = _trusted_serializer().loads(raw, max_age=TRUSTED_DAYS * 86400)
    except BadSignature:
        return []
    return [k for k in keys if isinstance(k, str)][:TRUSTED_ACCOUNTS] if isinstance(keys, list) else []


def _remember_browser(response, user: accounts.User) -> None:
    key = accounts.account_key(deployment().secret_key, user.username)
    keys = [key, *(k for k in _trusted_accounts() if k != key)][:TRUSTED_ACCOUNTS]
    response.set_cookie(TRUSTED_COOKIE, _trusted_serializer().dumps(keys), max_age=TRUSTED_DAYS * 86400,
                        path=url_for("auth.login"), httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])


def _finish(user: accounts.User, next_url: str | None):
    """Complete a sign-in: a new session (nothing from before carries over), the browser
    remembered, and on to where the officer was going."""
    dep = deployment()
    accounts.complete_sign_in(dep.db, user, address_key=client_key(accounts.ADDRESS_PURPOSE),
                              secret=dep.secret_key)
    session.clear()
    session["user_id"] = user.id
    session["version"] = user.session_version
    session.permanent = True
    response = redirect(_safe_next(next_url, user))
    _remember_browser(response, user)
    return response


def _bounded(name: str, limit: int) -> str:
    value = request.form.get(name) or ""
    return value if len(value) <= limit else value[:limit + 1]


@bp.route("/dang-nhap", methods=["GET", "POST"])
@public
def login():
    """The sign-in form; throttled per account and address, per address, and paced per account."""
    next_url = request.values.get("next")
    if next_url and len(next_url) > 2000:
        next_url = None
    username = ""
    error = None
    status = 200
    if request.method == "POST":
        username = _bounded("username", accounts.MAX_USERNAME_INPUT).strip()
        password = _bounded("password", accounts.MAX_PASSWORD_LENGTH)
        if not username or not password:
            error = "Vui lòng nhập tên đăng nhập và mật khẩu."
            status = 422
        else:
            dep = deployment()
            secret = dep.secret_key
            trusted = accounts.account_key(secret, username) in _trusted_accounts()
            try:
                user = accounts.authenticate(dep.db, username, password, secret=secret, trusted=trusted,
                                             address_key=client_key(accounts.ADDRESS_PURPOSE))
            except accounts.Throttled:
                # Answered as a wrong password, after as long: neither the words, the status nor
                # the time tell a throttled attempt from a checked one.
                accounts.wait_like_a_password_check()
                user = None
            if user is None:
                error = REFUSAL
                status = 401
            elif not accounts.needs_second_factor(user, required_second_factor_roles()):
                return _finish(user, next_url)
            elif not user.totp_enabled:
                error = ("Tài khoản này phải đăng nhập bằng mã xác thực hai bước nhưng chưa được thiết lập. "
                         "Vui lòng liên hệ quản trị hệ thống để được cấp mã (xem hướng dẫn “Xác thực hai bước”).")
                status = 403
            else:
                session.clear()
                session["pending_login"] = {"user": user.id, "version": user.session_version,
                                            "at": int(time.time()), "next": next_url}
                return redirect(url_for("auth.second_factor"), code=303)
    return render_template("login.html", username=username, error=error, next=next_url), status


def _pending_user() -> accounts.User | None:
    """The account whose password was right a moment ago in this browser, or None."""
    pending = session.get("pending_login")
    if not isinstance(pending, dict):
        return None
    started = pending.get("at")
    if not isinstance(started, int) or not 0 <= time.time() - started <= PENDING_SECONDS:
        return None
    user = accounts.get_user(deployment().db, pending.get("user"))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None
    return user


@bp.route("/dang-nhap/ma-xac-thuc", methods=["GET", "POST"])
@public
def second_factor():
    """The second step of signing in: the 6-digit code from the officer's authenticator app."""
    user = _pending_user()
    if user is None:
        session.pop("pending_login", None)
        return render_template("login_code.html", expired=True, error=None), 401 if request.method == "POST" else 200
    error = None
    status = 200
    if request.method == "POST":
        dep = deployment()
        secret = dep.secret_key
        trusted = accounts.account_key(secret, user.username) in _trusted_accounts()
        try:
            ok = accounts.verify_second_factor(dep.db, user, _bounded("code", 16), secret=secret, trusted=trusted,
                                               address_key=client_key(accounts.ADDRESS_PURPOSE))
        except accounts.Throttled:
            ok = False
        if ok:
            return _finish(user, session["pending_login"].get("next"))
        error = CODE_REFUSAL
        status = 401
    return render_template("login_code.html", expired=False, error=error, user=user), status


@bp.route("/dang-xuat", methods=["POST"])
@public
def logout():
    """Log out: ends this and every other session of the account."""
    if g.get("user") is not None:
        accounts.end_sessions(deployment().db, g.user.id)
    session.clear()
    flash("Đã đăng xuất.")
    return redirect(url_for("auth.login"))
