"""Login, logout and the access checks every view uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests

from .. import accounts
from ..accounts import Role
from . import deployment

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


def require_unit_access(unit_id: str) -> None:
    """403 unless the signed-in user may see and edit ``unit_id`` (own unit and sub-units)."""
    plan = deployment().plan
    if not plan.has_unit(unit_id):
        abort(404)
    if not g.user.can_see_unit(plan, unit_id):
        abort(403)


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send the officer to another site."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.index")
    return target


@bp.route("/dang-nhap", methods=["GET", "POST"])
@public
def login():
    """The login form; throttled after repeated failures (per account and per address)."""
    next_url = request.values.get("next")
    username = ""
    error = None
    status = 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        if not username or not password:
            error = "Vui lòng nhập tên đăng nhập và mật khẩu."
            status = 422
        else:
            db = deployment().db
            try:
                user = accounts.authenticate(db, username, password, request.remote_addr or "?")
            except accounts.Throttled as exc:
                raise TooManyRequests(
                    description=f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {exc.retry_after // 60 + 1} phút.",
                    retry_after=exc.retry_after,
                ) from None
            if user is None:
                error = "Tên đăng nhập hoặc mật khẩu không đúng."
                status = 401
            else:
                # A new session at login: nothing from before the login carries over.
                session.clear()
                session["user_id"] = user.id
                session["version"] = user.session_version
                session.permanent = True
                return redirect(_safe_next(next_url))
    return render_template("login.html", username=username, error=error, next=next_url), status


@bp.route("/dang-xuat", methods=["POST"])
@public
def logout():
    """Log out: ends this and every other session of the account."""
    if g.get("user") is not None:
        accounts.end_sessions(deployment().db, g.user.id)
    session.clear()
    flash("Bạn đã đăng xuất.")
    return redirect(url_for("auth.login"))
