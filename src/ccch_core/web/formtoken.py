"""Signed form tokens for anonymous public forms (a citizen's survey, for instance).

The core's CSRF protection (Flask-WTF) ties a form to a session cookie: every visitor gets a
session, and every POST opens it, checks a signed token against it and writes it back. For an
anonymous public form that is all cost and no protection — a forged cross-site submission carries
no authority the attacker lacks, since anyone may answer the form themselves. What such a form
does need is that a submission comes from a page the server handed out, recently, for that one
submission. A *form token* says exactly that, without a session:

    token = <issued, base 36> "." <HMAC-SHA256(key, purpose | bound | issued), 22 characters>

``bound`` is what the token is issued for (the survey's placement code and the page's submission
id): a token is good for one submission of one form, for ``max_age`` seconds. Checking it is one
HMAC, and the citizen's phone keeps no session cookie at all.

A view that checks a form token instead of the session's CSRF token is marked with
:func:`form_token_protected`; a request without a valid token must still be refused with 400, as
the access tests check for every state-changing route.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import time
from collections.abc import Callable

from flask import current_app

__all__ = [
    "FormTokenCheck",
    "check_form_token",
    "form_token_issued_at",
    "form_token_protected",
    "issue_form_token",
]

DEFAULT_MAX_AGE = 24 * 3600
"""A day: a citizen may leave the page open for hours before answering."""

_FUTURE_SLACK = 300  # seconds: workers' clocks differ a little


class FormTokenCheck(enum.Enum):
    """The result of :func:`check_form_token`."""

    VALID = "valid"
    EXPIRED = "expired"
    """Issued by this deployment for this form, but too long ago: offer the form again."""
    INVALID = "invalid"
    """Missing, malformed, forged, or issued for another form or another submission."""


def _key() -> bytes:
    extensions = current_app._get_current_object().extensions  # not through the proxy: ~20x (issue #16)
    key = extensions.get("ccch_form_token_key")
    if key is None:
        secret = extensions["ccch"].secret_key
        key = extensions["ccch_form_token_key"] = hashlib.sha256(f"ccch:form-token:{secret}".encode()).digest()
    return key


def _signature(key: bytes, purpose: str, bound: str, issued: str) -> str:
    digest = hmac.digest(key, f"{purpose}\n{bound}\n{issued}".encode(), "sha256")  # one-shot: no HMAC object
    return base64.urlsafe_b64encode(digest[:16]).decode()[:22]


def issue_form_token(purpose: str, bound: str, *, now: float | None = None) -> str:
    """A token for one submission of a public form (call inside a request or app context).

    ``purpose`` names the form (``"survey"``), ``bound`` what this submission is tied to."""
    issued = _base36(int(now if now is not None else time.time()))
    return f"{issued}.{_signature(_key(), purpose, bound, issued)}"


def check_form_token(token: str | None, purpose: str, bound: str, *, max_age: int = DEFAULT_MAX_AGE,
                     now: float | None = None) -> FormTokenCheck:
    """Whether ``token`` was issued by this deployment for ``purpose`` and ``bound``, and when."""
    if not token or len(token) > 64 or "." not in token:
        return FormTokenCheck.INVALID
    issued, _, signature = token.partition(".")
    try:
        issued_at = int(issued, 36)
    except ValueError:
        return FormTokenCheck.INVALID
    if not hmac.compare_digest(signature, _signature(_key(), purpose, bound, issued)):
        return FormTokenCheck.INVALID
    age = (now if now is not None else time.time()) - issued_at
    if age < -_FUTURE_SLACK:
        return FormTokenCheck.INVALID
    return FormTokenCheck.EXPIRED if age > max_age else FormTokenCheck.VALID


def form_token_issued_at(token: str | None) -> int | None:
    """When ``token`` says it was issued (seconds since the epoch), or None if it is malformed.

    Read the time only of a token that :func:`check_form_token` found ``VALID`` or ``EXPIRED``
    (the time is part of what the signature covers): it says how long ago this deployment handed
    out the form, e.g. to notice an answer sent faster than a person can read the questions."""
    if not token or len(token) > 64 or "." not in token:
        return None
    try:
        return int(token.partition(".")[0], 36)
    except ValueError:
        return None


def form_token_protected(view: Callable) -> Callable:
    """Mark a view that checks a form token itself: the session-based CSRF check is skipped for
    it. The view must refuse a request without a valid token with 400."""
    from . import csrf

    view.ccch_form_token = True
    return csrf.exempt(view)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
