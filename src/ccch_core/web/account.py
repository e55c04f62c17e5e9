"""An officer's own account: their details, a new password, and their second factor (set up,
moved to another phone, or turned off where the deployment does not require it), without asking
the system administrator.

Every change asks for proof first: the current password (checked under the sign-in throttle) for
a new password, the current code for moving or turning off the second factor. A new second factor
is stored only once the app's first code matches; until then its secret lives in this browser's
session, sealed for the account, for at most ten minutes.
"""

from __future__ import annotations

import re
import time

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from .. import accounts, totp
from ..accounts import AccountError
from . import client_key, deployment
from .auth import login_required, required_second_factor_roles

bp = Blueprint("account", __name__, url_prefix="/tai-khoan")

SETUP_SECONDS = 600
"""How long a secret shown for setting up an app stays valid in the session."""
PASSWORD_REFUSAL = "Mật khẩu hiện tại không đúng."
CODE_REFUSAL = "Mã không đúng hoặc đã hết hạn. Hãy nhập mã đang hiện trong ứng dụng."
_XML_DECLARATION = re.compile(r"^<\?xml[^>]*>\s*")


def _field(name: str, limit: int) -> str:
    value = request.form.get(name) or ""
    return value[:limit + 1]


def _issuer() -> str:
    """What the authenticator app shows above the code: the deployment's plan place or "ccch"."""
    plan = deployment().plan
    return f"CCHC {plan.place}" if plan.place else "ccch"


def _keep_this_session(user: accounts.User) -> None:
    """A change that ends every session keeps this one: the officer just proved who they are."""
    session["version"] = user.session_version


def _pending_setup(user: accounts.User) -> str | None:
    """The secret this browser was shown for ``user``, if it is still fresh."""
    pending = session.get("totp_setup")
    if not isinstance(pending, dict) or pending.get("user") != user.id:
        return None
    started = pending.get("at")
    if not isinstance(started, int) or not 0 <= time.time() - started <= SETUP_SECONDS:
        return None
    try:
        return totp.unseal(deployment().secret_key, user.id, str(pending.get("sealed", "")))
    except totp.SecretError:
        return None


def _qr(uri: str) -> str | None:
    """The ``otpauth://`` URI as an inline SVG QR code (None without the qrcode package)."""
    try:
        from ..posters import qr_svg
    except ImportError:  # pragma: no cover - qrcode is a core dependency
        return None
    svg = _XML_DECLARATION.sub("", qr_svg(uri, module=6))
    return svg.replace("<svg ", '<svg role="img" aria-label="Mã QR để thêm tài khoản vào ứng dụng xác thực" ', 1)


def _current_password_ok(user: accounts.User, password: str) -> bool:
    """Whether ``password`` is ``user``'s current password, under the sign-in throttle. A throttled
    attempt takes as long as a check and reads as a wrong password."""
    dep = deployment()
    if not password:
        return False
    try:
        checked = accounts.authenticate(dep.db, user.username, password, secret=dep.secret_key, trusted=True,
                                        address_key=client_key(accounts.ADDRESS_PURPOSE))
    except accounts.Throttled:
        accounts.wait_like_a_password_check()
        return False
    return checked is not None and checked.id == user.id


def _current_code_ok(user: accounts.User, code: str) -> bool:
    """Whether ``code`` is the current code of ``user``'s app, under the sign-in throttle. A
    throttled attempt reads as a wrong code: the refusal never says which it was."""
    dep = deployment()
    try:
        return accounts.verify_second_factor(dep.db, user, code, secret=dep.secret_key, trusted=True,
                                             address_key=client_key(accounts.ADDRESS_PURPOSE))
    except accounts.Throttled:
        return False


def _account_page(errors: dict[str, str] | None = None):
    user = g.user
    plan = deployment().plan
    unit = plan.unit(user.unit_id).name if user.unit_id and plan.has_unit(user.unit_id) else None
    return render_template("account.html", user=user, unit=unit, errors=errors or {},
                           required=user.role in required_second_factor_roles()), (422 if errors else 200)


@bp.route("")
@login_required
def index():
    """The officer's account: who they are, their role, their second factor."""
    return _account_page()


@bp.route("/mat-khau", methods=["POST"])
@login_required
def password():
    """A new password, after the current one (checked under the sign-in throttle)."""
    user = g.user
    dep = deployment()
    errors: dict[str, str] = {}
    new = _field("new_password", accounts.MAX_PASSWORD_LENGTH)
    again = _field("new_password_again", accounts.MAX_PASSWORD_LENGTH)
    if not _current_password_ok(user, _field("current_password", accounts.MAX_PASSWORD_LENGTH)):
        errors["current_password"] = PASSWORD_REFUSAL
    elif new != again:
        errors["new_password_again"] = "Hai lần nhập mật khẩu mới không giống nhau."
    else:
        try:
            accounts.check_password_strength(new)
        except AccountError as exc:
            errors["new_password"] = _password_problem(str(exc))
    if errors:
        return _account_page(errors)
    _keep_this_session(accounts.set_password(dep.db, user.username, new, actor=user.username))
    flash("Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc.")
    return redirect(url_for(".index"), 303)


def _password_problem(message: str) -> str:
    """The core's password rule in Vietnamese (its message is written for the command line)."""
    if "repetitive" in message:
        return "Mật khẩu mới lặp lại quá nhiều (cần ít nhất 4 ký tự khác nhau)."
    return (f"Mật khẩu mới cần từ {accounts.MIN_PASSWORD_LENGTH} đến {accounts.MAX_PASSWORD_LENGTH} ký tự; "
            "nên dùng một câu dễ nhớ.")


@bp.route("/xac-thuc-hai-buoc", methods=["GET", "POST"])
@login_required
def second_factor():
    """Set up the second factor, or move it to another phone: the app's first code confirms it,
    after proof that the officer is at the keyboard — the current password for a first set-up (a
    browser left signed in must not let someone else tie the account to their phone), a code of the
    phone in use for a move."""
    user = g.user
    dep = deployment()
    errors: dict[str, str] = {}
    plain = _pending_setup(user)
    if request.method == "POST" and plain is not None:
        new_code = totp.normalise_code(_field("code", 16))
        if user.totp_enabled and (new_code is None or totp.matching_step(plain, new_code) is None):
            # A move: the new phone's code is checked first (against the secret this session was
            # shown, so it tells nothing about the account): a mistyped new code must not use up
            # the code of the phone in use, which is accepted once.
            errors["code"] = CODE_REFUSAL
        elif user.totp_enabled and not _current_code_ok(user, _field("current_code", 16)):
            errors["current_code"] = CODE_REFUSAL
        elif not user.totp_enabled and not _current_password_ok(
                user, _field("current_password", accounts.MAX_PASSWORD_LENGTH)):
            errors["current_password"] = PASSWORD_REFUSAL
        else:
            confirmed = accounts.confirm_totp(dep.db, accounts.get_user(dep.db, user.id), plain,
                                              _field("code", 16), secret=dep.secret_key)
            if confirmed is None:
                errors["code"] = CODE_REFUSAL
            else:
                session.pop("totp_setup", None)
                _keep_this_session(confirmed)
                flash("Đã bật xác thực hai bước. Từ lần đăng nhập sau, nhập mã trong ứng dụng sau mật khẩu.")
                return redirect(url_for(".index"), 303)
    elif request.method == "POST":
        errors["code"] = "Mã bí mật đã hết hạn (quá 10 phút). Hãy quét lại mã QR mới dưới đây."
    if plain is None:
        setup = accounts.new_totp_setup(user.username, _issuer())
        plain = setup.secret
        session["totp_setup"] = {"user": user.id, "at": int(time.time()),
                                 "sealed": totp.seal(dep.secret_key, user.id, plain)}
    uri = totp.provisioning_uri(plain, user.username, _issuer())
    return render_template("account_totp.html", user=user, qr=_qr(uri), grouped=totp.grouped(plain),
                           errors=errors), (422 if errors else 200)


@bp.route("/xac-thuc-hai-buoc/tat", methods=["POST"])
@login_required
def turn_off_second_factor():
    """Turn the second factor off, with a current code; refused where the role requires it."""
    user = g.user
    dep = deployment()
    if user.role in required_second_factor_roles() or not user.totp_enabled:
        flash("Tài khoản này phải dùng xác thực hai bước: không tắt được." if user.totp_enabled
              else "Tài khoản chưa bật xác thực hai bước.")
        return redirect(url_for(".index"), 303)
    if not _current_code_ok(user, _field("code", 16)):
        return _account_page({"off_code": CODE_REFUSAL})
    accounts.disable_totp(dep.db, user.username, actor=user.username)
    flash("Đã tắt xác thực hai bước.")
    return redirect(url_for(".index"), 303)

