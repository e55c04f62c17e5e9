"""The audit log page (``/nhat-ky-thao-tac``, "Nhật ký thao tác"): who did what, when.

For system and plan admins. Newest first, filterable by account and by action, 50 rows a page;
times in Vietnam time. The rows come from :mod:`ccch_core.audit`.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from .. import audit
from ..accounts import Role
from ..inputs import parse_int
from . import deployment
from .auth import roles_required
from .params import MAX_PAGE

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50
READERS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)
"""Who may read the audit log."""

NO_ACCOUNT = "-"
"""The value of the account filter for rows without an account (automatic jobs, citizens)."""


@bp.route("/nhat-ky-thao-tac")
@roles_required(*READERS)
def index():
    """The audit log, newest first, filtered by ``?nguoi=`` (account) and ``?thao-tac=`` (action)."""
    db = deployment().db
    who = (request.args.get("nguoi") or "").strip()
    action = (request.args.get("thao-tac") or "").strip()
    page = parse_int(request.args.get("trang") or "1", 1, MAX_PAGE)  # ASCII digits only: "٣" is no page
    if page is None:
        abort(404, description="Không có trang này của nhật ký thao tác.")
    username = "" if who == NO_ACCOUNT else (who or None)
    total = audit.count(db, username=username, action=action or None)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    if page > pages:
        abort(404, description="Không có trang này của nhật ký thao tác.")
    rows = audit.entries(db, username=username, action=action or None, limit=PAGE_SIZE,
                         offset=(page - 1) * PAGE_SIZE)

    def page_url(number: int) -> str:
        args = {"trang": number}
        if who:
            args["nguoi"] = who
        if action:
            args["thao-tac"] = action
        return url_for("audit.index", **args)

    return render_template(
        "audit.html", rows=rows, total=total, page=page, pages=pages, who=who, action=action,
        usernames=audit.usernames(db), actions=audit.actions(db), no_account=NO_ACCOUNT,
        newer_url=page_url(page - 1) if page > 1 else None,
        older_url=page_url(page + 1) if page < pages else None,
    )
