"""Web pages: the public form, status page and Q&A (blueprint ``feedback_public`` under
``/<short_path>``, default ``/hoi-dap``), and the officers' pages (blueprint ``feedback`` under
``/phan-anh``).

Public: ``/`` (the Q&A: search, field, unit, most asked), ``/gui`` and ``/gui/<poster code>`` (the
form), ``/theo-doi`` and ``/theo-doi/<code>`` (status), ``/<id>`` (one answer), ``/atom.xml``,
``/nhung`` (the embeddable list). Officers: ``/`` (the list), ``/<id>`` and ``/<id>/xu-ly`` (the
item and its actions), ``/<id>/anh/<n>`` (photos), ``/noi-dat`` (posters), ``/lanh-dao`` (leaders).

Public pages are small and work without JavaScript. Refusals read the same whatever the reason
(a honeypot filled, a rate limit reached); every number and code from a URL or a form is read the
bounded way. A rejected form comes back filled in, each problem named by its field.
"""

from __future__ import annotations

import datetime as dt
import secrets
from xml.sax.saxutils import escape

import attrs
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from ccch_core import placements, unit_picker
from ccch_core.accounts import Role
from ccch_core.inputs import parse_code
from ccch_core.ratelimit import Limit, hit, peek
from ccch_core.web import client_key, deployment
from ccch_core.web.auth import public, roles_required
from ccch_core.web.formtoken import (
    FormTokenCheck,
    check_form_token,
    form_token_protected,
    issue_form_token,
)
from ccch_core.web.params import page_arg

from . import store
from .forms import HONEYPOT, LABELS, check_form
from .settings import KIND_LABELS, KIND_SLUGS, REQUESTER_SLUGS, settings_of
from .store import FeedbackError, Throttled, format_code, normalise_code, today_local

OFFICERS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER)
ADMINS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)
PAGE_SIZE = 20
TOKEN_PURPOSE = "feedback-ask"
REFUSED = ("Hệ thống chưa nhận được nội dung Ông/Bà gửi. Vui lòng đợi một lúc rồi gửi lại; nếu cần gấp, hãy liên hệ "
           "trực tiếp bộ phận một cửa.")


def make_blueprints(dep) -> tuple[Blueprint, Blueprint]:
    """The public blueprint (under the configured short path) and the officers' blueprint."""
    settings = settings_of(dep)
    pub = Blueprint("feedback_public", __name__, template_folder="templates")
    officer = Blueprint("feedback", __name__, template_folder="templates")
    _public_routes(pub)
    _officer_routes(officer)

    @pub.app_template_filter("feedback_day")
    def feedback_day(value) -> str:
        """A Vietnam day stored as ISO text, shown as 21/02/2024."""
        return dt.date.fromisoformat(value).strftime("%d/%m/%Y") if value else "–"

    @pub.app_template_global("feedback_event_text")
    def feedback_event_text(event) -> str:
        """One line of an item's history in Vietnamese."""
        return event_text(event)

    @pub.record_once
    def limit_body(state):
        ask_path = settings.public_prefix + "/gui"

        def limit_ask_size():
            # Photos make the form larger than the app's usual request limit; only this form gets
            # the larger limit, computed from the settings, and only for POST.
            if request.method == "POST" and (request.path == ask_path or request.path.startswith(ask_path + "/")):
                request.max_content_length = settings.max_photos * settings.max_photo_bytes + 100_000

        state.app.before_request_funcs.setdefault(None, []).insert(0, limit_ask_size)

    return pub, officer


# ---------------------------------------------------------------------------------------------
# Who may do what


def is_triager(user) -> bool:
    """Plan and system admins, and the officers of the triage unit (Phòng VH-TT)."""
    if user is None:
        return False
    if user.role in ADMINS:
        return True
    return user.role is Role.UNIT_OFFICER and user.unit_id == settings_of(deployment()).triage_unit


def may_work(user, item) -> bool:
    """The triage office, and the officers of the unit the item is assigned to (or a unit above it)."""
    if is_triager(user):
        return True
    return (user is not None and user.role is Role.UNIT_OFFICER and item.unit_id is not None
            and user.can_see_unit(deployment().plan, item.unit_id))


def is_leader_of(user, item) -> bool:
    """A unit officer named leader (``ccch feedback leader``) of the item's unit or a unit above it."""
    if user is None or user.role is not Role.UNIT_OFFICER or item.unit_id is None:
        return False
    unit = store.leader_unit(deployment().db, user.username)
    plan = deployment().plan
    return unit is not None and plan.has_unit(item.unit_id) and plan.is_within(item.unit_id, unit) and \
        user.can_see_unit(plan, item.unit_id)


def actions_for(user, item) -> list[str]:
    """The actions ``user`` may take on ``item`` now."""
    out = []
    triager = is_triager(user)
    if item.status == "new" and triager:
        out += ["giao", "gop"]
    if item.status in ("assigned", "drafted") and may_work(user, item):
        out += ["du-thao", "chuyen"]
        if triager:
            out.append("gop")
    if item.status == "drafted" and is_leader_of(user, item):
        out += ["duyet", "tra-lai"]
    if item.is_open and (triager or is_leader_of(user, item)):
        out.append("tu-choi")
    if item.is_open and item.flagged and triager:
        out.append("kiem-duyet")
    return out


# ---------------------------------------------------------------------------------------------
# Public pages


def _name_search_allowed(dep, settings, typed: str) -> bool:
    """Whether the public list may look ``typed`` up among the plan's names for this address: a
    unit's id (a candidate's link) or an empty field costs nothing, a name at national size a search
    of 36,000 names, so those are counted (``unit_searches_per_address_per_hour``)."""
    text = typed.strip()
    if not text or not settings.unit_searches_per_address_per_hour or dep.plan.has_unit(text):
        return True
    limit = Limit(settings.unit_searches_per_address_per_hour, 3600)
    return hit(dep.db, "feedback-unit-search", _address(), limit).allowed


def _address() -> str:
    if "feedback_address" not in g:
        g.feedback_address = client_key("feedback")
    return g.feedback_address


def _public_response(html: str, status: int = 200, **headers):
    response = make_response(html, status)
    response.headers["Cache-Control"] = headers.pop("cache", "no-store")
    for key, value in headers.items():
        response.headers[key.replace("_", "-")] = value
    return response


def _refused():
    """The one refusal of the public form: the same page whatever the reason."""
    return _public_response(render_template("feedback/refused.html", text=REFUSED), 429, Retry_After="600")


FORM_UNIT_KINDS = ("provincial_department", "department", "office", "centre", "people_committee", "commune", "town",
                   "ward", "one_stop_desk")
"""The kinds of unit a citizen may name on the public form (those that answer, and where people go):
a province's departments (Sở) too, where the plan is a province's or the country's."""


def _form_unit(unit) -> bool:
    # Not a unit outside the deployment (a district plan's Sở, UBND tỉnh): nobody here answers for it.
    return getattr(unit, "kind", None) in FORM_UNIT_KINDS and not getattr(unit, "retired_on", None) \
        and not getattr(unit, "external", False)


def _units_for_form(dep):
    """The units offered on the public pages; empty when there are too many to list (a national
    plan: about 7,000), where the pages show the unit picker instead (a name typed, resolved by
    the server: no JavaScript needed on a citizen's phone)."""
    units = [(u.id, u.name) for u in dep.plan.units if _form_unit(u)]
    return [] if unit_picker.needs_picker(len(units)) else units


def _form_picker(dep) -> bool:
    """Whether the public pages choose a unit by name (more units than a list can hold)."""
    key = ("feedback-form-picker", id(dep.plan))
    kept = _PICKER_KEPT.get(key)
    if kept is None or kept[0] is not dep.plan:
        _PICKER_KEPT.clear()
        kept = _PICKER_KEPT[key] = (dep.plan, unit_picker.needs_picker(sum(1 for u in dep.plan.units if _form_unit(u))))
    return kept[1]


_PICKER_KEPT: dict = {}


def _render_form(values=None, errors=None, status=200, sid=None, placement=None, unit_choice=None):
    dep = deployment()
    settings = settings_of(dep)
    sid = sid or secrets.token_urlsafe(12)
    action = (url_for("feedback_public.ask_at", code=placement.code) if placement is not None
              else url_for("feedback_public.ask"))
    picker = _form_picker(dep)
    if picker and unit_choice is None:
        unit_choice = unit_picker.chosen(dep.plan, (values or {}).get("don-vi"))
    html = render_template(
        "feedback/form.html", values=values or {}, errors=errors or {}, labels=LABELS, settings=settings,
        units=[] if picker else _units_for_form(dep), picker=picker, unit_choice=unit_choice,
        kinds=KIND_SLUGS, kind_labels=KIND_LABELS, requesters=REQUESTER_SLUGS,
        sid=sid, token=issue_form_token(TOKEN_PURPOSE, _bound(sid, placement)), action=action,
        placement=placement, placement_unit=_unit_name(dep, placement.unit_id) if placement else None)
    return _public_response(html, status)


def _bound(sid: str, placement) -> str:
    """What a form token is issued for: the submission id, and the poster's code when there is one."""
    return f"{placement.code}|{sid}" if placement is not None else sid


PLACEMENT_TARGET = "feedback"
"""The target of the form's placements in the core's shared table (ccch_core.placements)."""


def _public_routes(bp: Blueprint) -> None:
    @bp.get("/")
    @public
    def index():
        dep = deployment()
        settings = settings_of(dep)
        query = request.args.get("q", "")[:200]
        field = parse_code(request.args.get("linh-vuc"), 40)
        if field is not None and field not in dict(settings.fields):
            field = None
        unit_choice = unit_problem = None
        if _form_picker(dep):
            # Thousands of units: the answering unit typed by name (or an id from a link), no list.
            typed = request.args.get("don-vi", "")[:unit_picker.TEXT_MAX + 1]
            if _name_search_allowed(dep, settings, typed):
                unit_choice = unit_picker.resolve_unit(dep.plan, typed)
            else:
                unit_choice = unit_picker.UnitChoice(typed.strip())
                unit_problem = ("Ông/Bà đã tìm đơn vị theo tên quá nhiều lần trong một giờ; vui lòng thử lại "
                                "sau, hoặc xem tất cả câu hỏi.")
            unit = unit_choice.unit.id if unit_choice.unit is not None else None
        else:
            unit = parse_code(request.args.get("don-vi"), 100)
            if unit is not None and not dep.plan.has_unit(unit):
                unit = None
        order = "most" if request.args.get("xep") == "hoi-nhieu" else "recent"
        page = page_arg()
        if page > 500:
            abort(404)
        rows = store.search(dep.db, query.strip() or None, field=field, unit_id=unit, order=order,
                            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        most = [] if (query or field or unit or page > 1) else store.search(dep.db, None, order="most", limit=5)
        html = render_template("feedback/index.html", rows=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                               query=query, field=field, unit=unit, order=order, most=most, settings=settings,
                               units=_units_for_form(dep), unit_name=lambda u: _unit_name(dep, u),
                               unit_choice=unit_choice, unit_problem=unit_problem or (
                                   unit_picker.problem_vi(unit_choice) if unit_choice is not None else None))
        # A refused search is this address's own answer: not for a shared cache to give others.
        return _public_response(html, cache="no-store" if unit_problem else "public, max-age=60")

    @bp.route("/gui", methods=["GET", "POST"])
    @public
    @form_token_protected
    def ask():
        return _ask(None)

    @bp.route("/gui/<code>", methods=["GET", "POST"])
    @public
    @form_token_protected
    def ask_at(code):
        """The form reached from a poster's QR code: what is asked through it is attributed to the
        placement. A poster taken down leads to the ordinary form; an unknown code is a 404 that
        counts against the address's look-up limit."""
        dep = deployment()
        settings = settings_of(dep)
        if request.method == "POST":
            # A form without a valid token is refused first, whatever the code: a token is only
            # ever issued for an existing poster's form.
            sid = request.form.get("sid", "")[:40]
            bound = f"{(placements.normalise_code(code) or '-')}|{sid}"
            if not sid or check_form_token(request.form.get("csrf_token"), TOKEN_PURPOSE, bound) is \
                    FormTokenCheck.INVALID:
                abort(400, description="Biểu mẫu không hợp lệ. Vui lòng quét lại mã QR trên poster.")
        limit = Limit(settings.lookups_per_address_per_hour, 3600) if settings.lookups_per_address_per_hour else None
        if limit and not peek(dep.db, "feedback-lookup", _address(), limit).allowed:
            return _refused()
        placement = placements.placement_by_code(dep.db, code, target=PLACEMENT_TARGET)
        if placement is None:
            if limit:
                hit(dep.db, "feedback-lookup", _address(), limit)
            abort(404, description="Không tìm thấy mã poster này. Ông/Bà vẫn có thể gửi câu hỏi tại trang Hỏi đáp.")
        if not placement.active:
            return redirect(url_for("feedback_public.ask"), 303)
        return _ask(placement)

    def _ask(placement):
        dep = deployment()
        settings = settings_of(dep)
        if request.method == "GET":
            values = {}
            field = parse_code(request.args.get("linh-vuc"), 40)
            if field and field in dict(settings.fields):
                values["linh-vuc"] = field
            unit = parse_code(request.args.get("don-vi"), 100)
            if unit and dep.plan.has_unit(unit) and (
                    _form_unit(dep.plan.unit(unit)) or (placement is not None and unit == placement.unit_id)):
                values["don-vi"] = unit  # only a unit the form takes: another would be refused when sent
            elif placement is not None:
                values["don-vi"] = placement.unit_id
            kind = request.args.get("loai", "")[:20]
            if kind in KIND_SLUGS.values():
                values["loai"] = kind
            return _render_form(values, placement=placement)
        sid = request.form.get("sid", "")[:40]
        check = check_form_token(request.form.get("csrf_token"), TOKEN_PURPOSE, _bound(sid, placement))
        if check is FormTokenCheck.INVALID or not sid:
            abort(400, description="Biểu mẫu không hợp lệ. Vui lòng mở lại trang gửi câu hỏi.")
        if request.form.get(HONEYPOT):
            return _refused()
        settings_limit = settings.asks_per_address_per_hour
        if settings_limit and not peek(dep.db, "feedback-ask", _address(), Limit(settings_limit, 3600)).allowed:
            return _refused()
        form, unit_choice = request.form, None

        def allowed(unit):  # the units the form offers, and the poster's own
            return _form_unit(unit) or (placement is not None and unit.id == placement.unit_id)

        if _form_picker(dep):
            # The unit typed by name (the picker): resolved here; the checked form carries its id.
            unit_choice = unit_picker.resolve_posted(dep.plan, request.form, "don-vi", allowed=allowed)
            form = request.form.copy()
            form["don-vi"] = unit_choice.unit.id if unit_choice.unit is not None else ""
        question, errors, values = check_form(form, request.files, settings, dep.plan, allowed)
        if unit_choice is not None:
            values = {**values, "don-vi": unit_choice.text}
            if unit_choice.problem:
                # A unit was typed, so "choose a field or a unit" is not the problem: the unit is.
                errors = {k: v for k, v in errors.items() if not (k == "linh-vuc" and not values.get("linh-vuc"))}
                errors["don-vi"] = unit_picker.problem_vi(unit_choice)
                question = None
        if check is FormTokenCheck.EXPIRED:
            errors = {**errors, "noi-dung": errors.get("noi-dung") or "Trang đã mở quá lâu; vui lòng bấm Gửi lại."}
            question = None
        if question is None:
            return _render_form(values, errors, 422, sid=sid, placement=placement, unit_choice=unit_choice)
        question = attrs.evolve(question, sid=sid, placement=placement.code if placement is not None else None)
        try:
            item = store.ask(dep, question, address_hash=_address())
        except Throttled:
            return _refused()
        return redirect(url_for("feedback_public.received", code=item.code), 303)

    @bp.get("/theo-doi")
    @public
    def lookup():
        raw = request.args.get("ma")
        if raw is None:
            return _public_response(render_template("feedback/lookup.html", error=None, value=""))
        code = normalise_code(raw)
        if code is None:
            return _public_response(render_template("feedback/lookup.html", value=raw[:40],
                                                    error="Mã theo dõi gồm 10 chữ và số, ví dụ ABCDE-FGH23."), 422)
        return redirect(url_for("feedback_public.status", code=code), 303)

    @bp.get("/theo-doi/<code>")
    @public
    def status(code):
        return _status(code, new=False)

    @bp.get("/theo-doi/<code>/da-gui")
    @public
    def received(code):
        """The status page right after sending: the same, with "received, keep this code" on top."""
        return _status(code, new=True)

    def _status(code, *, new: bool):
        dep = deployment()
        settings = settings_of(dep)
        limit = Limit(settings.lookups_per_address_per_hour, 3600) if settings.lookups_per_address_per_hour else None
        if limit and not peek(dep.db, "feedback-lookup", _address(), limit).allowed:
            return _refused()
        normal = normalise_code(code)
        item = store.item_by_code(dep.db, normal) if normal else None
        if item is None:
            if limit:
                hit(dep.db, "feedback-lookup", _address(), limit)
            abort(404, description="Không tìm thấy mã theo dõi này. Vui lòng kiểm tra lại mã (10 chữ và số).")
        target = store.get_item(dep.db, item.merged_into) if item.merged_into else None
        html = render_template("feedback/status.html", item=item, target=target, events=store.events(
            dep.db, item.id, public_only=True), code=format_code(item.code), unit_name=lambda u: _unit_name(dep, u),
            new=new, settings=settings)
        return _public_response(html)

    @bp.get("/<int:item_id>")
    @public
    def answer(item_id):
        dep = deployment()
        row = store.published_item(dep.db, item_id)
        if row is None:
            abort(404, description="Không có câu trả lời công khai này.")
        html = render_template("feedback/answer.html", row=row, settings=settings_of(dep),
                               unit_name=lambda u: _unit_name(dep, u))
        return _public_response(html, cache="public, max-age=300")

    @bp.get("/atom.xml")
    @public
    def feed():
        dep = deployment()
        rows = store.search(dep.db, None, limit=30)
        base = dep.public_base_url.rstrip("/") + settings_of(dep).public_prefix
        updated = rows[0]["answered_at"] if rows else "2024-01-01T00:00:00+00:00"
        entries = []
        for r in rows:
            link = f"{base}/{r['id']}"
            entries.append(
                f"<entry><title>{escape(r['public_title'])}</title><link href=\"{escape(link)}\"/>"
                f"<id>{escape(link)}</id><updated>{escape(_rfc3339(r['answered_at']))}</updated>"
                f"<summary>{escape(_cut(r['public_answer'], 400))}</summary></entry>")
        body = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>{escape('Hỏi đáp, phản ánh kiến nghị — ' + dep.config.name)}</title>"
                f"<link href=\"{escape(base)}/\"/><link rel=\"self\" href=\"{escape(base)}/atom.xml\"/>"
                f"<id>{escape(base)}/</id><updated>{escape(_rfc3339(updated))}</updated>"
                + "".join(entries) + "</feed>")
        return Response(body, content_type="application/atom+xml; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    @bp.get("/nhung")
    @public
    def embed():
        """A bare list of the latest answers for the district portal's section (an iframe)."""
        dep = deployment()
        settings = settings_of(dep)
        count = 10
        rows = store.search(dep.db, None, limit=count)
        base = dep.public_base_url.rstrip("/") + settings.public_prefix
        response = _public_response(render_template("feedback/embed.html", rows=rows, settings=settings, base=base),
                                    cache="public, max-age=300")
        ancestors = " ".join(settings.embed_origins) or "'none'"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {ancestors}")
        if settings.embed_origins:
            # The core sets X-Frame-Options: DENY where a response has none. Browsers obey
            # frame-ancestors over it, and ignore ALLOW-FROM (so an old one does not deny either).
            response.headers["X-Frame-Options"] = f"ALLOW-FROM {settings.embed_origins[0]}"
        return response


EXTRA_EVENTS = {"flag": "Đánh dấu cần kiểm duyệt", "transfer_reason": "Lý do chuyển"}


def event_text(event) -> str:
    """One line of an item's history (the unit's name where the event names one)."""
    action, note = event["action"], event["note"] or ""
    if action in EXTRA_EVENTS:
        return EXTRA_EVENTS[action]
    text = store.EVENT_TEXTS.get(action, action)
    if "{unit}" in text:
        return text.format(unit=note)
    if action == "refuse":
        return f"{text}: {note}"
    if action == "merge":
        return f"{text} {note}"
    return text


def _rfc3339(value: str) -> str:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cut(text: str | None, size: int) -> str:
    text = text or ""
    return text if len(text) <= size else text[: size - 1] + "…"


def _unit_name(dep, unit_id: str | None) -> str:
    if not unit_id:
        return "Chưa giao"
    return dep.plan.unit(unit_id).name if dep.plan.has_unit(unit_id) else unit_id


# ---------------------------------------------------------------------------------------------
# Officers' pages


STATUS_FILTERS = {"mo": store.OPEN_STATES, "moi": ("new",), "cho-duyet": ("drafted",), "da-tra-loi": ("answered",),
                  "dong": ("answered", "refused", "merged")}


def _visible_units(user) -> list[str] | None:
    """None: every item (the triage office); else the units the officer sees."""
    if is_triager(user):
        return None
    plan = deployment().plan
    return [u.id for u in plan.units if user.can_see_unit(plan, u.id)]


def _item_or_404(item_id: int):
    item = store.get_item(deployment().db, item_id)
    if item is None or not may_see(g.user, item):
        abort(404)
    return item


def may_see(user, item) -> bool:
    """The triage office sees every item; a unit officer the items of their units."""
    return may_work(user, item)


def _item_page(dep, it, errors, values, unit_choice=None, action=None):
    """The officer's item page. A plan with more units than a list can hold (a national plan)
    assigns and forwards through the unit picker (a name typed, suggested while typing)."""
    picker = unit_picker.needs_picker(len(dep.plan.units))
    choices = {}
    if picker:
        shown = unit_picker.chosen(dep.plan, it.about_unit)
        choices = {"giao": shown, "chuyen": shown}
        if unit_choice is not None and action in choices:
            choices[action] = unit_choice
    return render_template("feedback/item.html", item=it, events=store.events(dep.db, it.id),
                           photos=store.photos_of(dep.db, it.id), actions=actions_for(g.user, it),
                           today=today_local(), unit_name=lambda u: _unit_name(dep, u), settings=settings_of(dep),
                           units=[] if picker else [(u.id, u.name) for u in dep.plan.units], picker=picker,
                           unit_choices=choices, code=format_code(it.code), errors=errors, values=values,
                           placement=placements.placement_by_code(dep.db, it.placement) if it.placement else None)


def _officer_routes(bp: Blueprint) -> None:
    @bp.get("/")
    @roles_required(*OFFICERS)
    def index():
        dep = deployment()
        state = request.args.get("trang-thai", "mo")
        if state not in STATUS_FILTERS and state != "qua-han":
            state = "mo"
        page = page_arg()
        today = today_local()
        units = _visible_units(g.user)
        if state == "qua-han":
            items = store.list_items(dep.db, units=units, overdue_on=today, limit=PAGE_SIZE + 1,
                                     offset=(page - 1) * PAGE_SIZE)
        else:
            items = store.list_items(dep.db, statuses=STATUS_FILTERS[state], units=units, limit=PAGE_SIZE + 1,
                                     offset=(page - 1) * PAGE_SIZE)
        return render_template("feedback/inbox.html", items=items[:PAGE_SIZE], more=len(items) > PAGE_SIZE,
                               page=page, state=state, today=today, triager=is_triager(g.user),
                               unit_name=lambda u: _unit_name(dep, u), settings=settings_of(dep))

    @bp.get("/<int:item_id>")
    @roles_required(*OFFICERS)
    def item(item_id):
        dep = deployment()
        it = _item_or_404(item_id)
        return _item_page(dep, it, {}, {})

    @bp.post("/<int:item_id>/xu-ly")
    @roles_required(*OFFICERS)
    def act(item_id):
        dep = deployment()
        it = _item_or_404(item_id)
        action = request.form.get("thao-tac", "")[:20]
        if action not in actions_for(g.user, it):
            abort(403)
        form = request.form
        who = g.user.username
        unit_choice = None
        if action in ("giao", "chuyen") and unit_picker.needs_picker(len(dep.plan.units)):
            # The unit typed by name (the picker): resolved here; a name of several units comes
            # back with them to choose from, the rest of the form kept.
            unit_choice = unit_picker.resolve_posted(dep.plan, form, "don-vi")
            if unit_choice.unit is None:
                problem = unit_picker.problem_vi(unit_choice) or "Gõ tên đơn vị."
                return _item_page(dep, it, {f"don-vi-{action}": problem}, request.form, unit_choice, action), 422
        unit_id = unit_choice.unit.id if unit_choice is not None else form.get("don-vi", "")[:100]
        try:
            if action == "giao":
                store.assign(dep, it.id, unit_id, who)
                done = "Đã giao đơn vị trả lời."
            elif action == "chuyen":
                store.transfer(dep, it.id, unit_id, who, form.get("ly-do", "")[:2000])
                done = "Đã chuyển sang đơn vị khác."
            elif action == "du-thao":
                store.save_draft(dep, it.id, form.get("tra-loi", "")[:20_000], who)
                done = "Đã lưu dự thảo; chờ lãnh đạo đơn vị duyệt."
            elif action == "tra-lai":
                store.return_draft(dep, it.id, who, form.get("ghi-chu", "")[:4000])
                done = "Đã trả lại dự thảo."
            elif action == "duyet":
                approved = store.approve(dep, it.id, who)
                done = "Đã duyệt và công khai câu trả lời." if approved.published else \
                    "Đã duyệt; câu trả lời được gửi riêng cho người hỏi."
            elif action == "tu-choi":
                store.refuse(dep, it.id, who, form.get("ly-do", "")[:2000])
                done = "Đã từ chối; người gửi được báo lý do."
            elif action == "gop":
                into = normalise_code(form.get("gop-vao"))
                target = store.item_by_code(dep.db, into) if into else None
                if target is None or not may_see(g.user, target):
                    raise FeedbackError("gop-vao", "Nhập mã theo dõi của câu hỏi cần gộp vào.")
                store.merge(dep, it.id, target.id, who)
                done = f"Đã gộp vào {format_code(target.code)}."
            else:  # kiem-duyet
                store.clear_flag(dep, it.id, who, title=form.get("tieu-de", "")[:400] or None,
                                 body=form.get("noi-dung", "")[:10_000] or None)
                done = "Đã kiểm duyệt nội dung."
        except FeedbackError as exc:
            it = store.get_item(dep.db, it.id)
            return _item_page(dep, it, {exc.field: exc.message}, request.form, unit_choice, action), 422
        flash(done)
        return redirect(url_for("feedback.item", item_id=it.id), 303)

    @bp.route("/noi-dat", methods=["GET", "POST"])
    @roles_required(*ADMINS)
    def placements_page():
        """The form's posters: where each hangs, how many questions came through it; make one,
        take one down."""
        from .posters import form_url

        dep = deployment()
        errors, values = {}, {}
        picker = unit_picker.needs_picker(sum(1 for u in dep.plan.units if not u.external))
        unit_choice = unit_picker.UnitChoice("") if picker else None
        if request.method == "POST":
            values = {"don-vi": request.form.get("don-vi", "")[:100], "noi-dat": request.form.get("noi-dat", "")[:400]}
            if picker and request.form.get("go") is None:
                # The unit typed by name (the picker): resolved here, the place typed kept.
                unit_choice = unit_picker.resolve_posted(dep.plan, request.form, "don-vi",
                                                         allowed=lambda u: not u.external)
                values["don-vi"] = unit_choice.unit.id if unit_choice.unit is not None else ""
                if unit_choice.unit is None:
                    errors = {"don-vi": unit_picker.problem_vi(unit_choice) or "Gõ tên đơn vị đặt poster."}
            retire = placements.normalise_code(request.form.get("go"))
            try:
                if errors:
                    raise placements.PlacementError(errors["don-vi"])
                if request.form.get("go") is not None:
                    if retire is None:
                        raise placements.PlacementError("mã nơi đặt không hợp lệ")
                    if placements.placement_by_code(dep.db, retire, target=PLACEMENT_TARGET) is None:
                        raise placements.PlacementError(f"không có nơi đặt nào có mã “{retire}”")
                    placements.retire_placement(dep.db, retire)
                    store.audit_placement(dep.db, g.user.username, "retire", retire)
                    flash(f"Đã gỡ poster {retire}.")
                else:
                    made = placements.add_placement(dep.db, dep.plan, PLACEMENT_TARGET, values["don-vi"],
                                                    values["noi-dat"] or (dep.plan.unit(values["don-vi"]).name
                                                                          if dep.plan.has_unit(values["don-vi"]) else ""))
                    store.audit_placement(dep.db, g.user.username, "place", made.code)
                    flash(f"Đã tạo nơi đặt {made.code}.")
                return redirect(url_for("feedback.placements_page"), 303)
            except placements.PlacementError as exc:
                errors = errors or {"noi-dat": str(exc)}
        counts = dict(dep.db.execute("select placement, count(*) from feedback_items where placement is not null "
                                     "group by placement").fetchall())
        rows = [(p, counts.get(p.code, 0), form_url(dep, p.code))
                for p in placements.list_placements(dep.db, target=PLACEMENT_TARGET)]
        from ccch_core.posters import public_url_problem

        return render_template("feedback/placements.html", rows=rows, errors=errors, values=values,
                               units=[] if picker else [(u.id, u.name) for u in dep.plan.units if not u.external],
                               picker=picker, unit_choice=unit_choice, unit_name=lambda u: _unit_name(dep, u),
                               url_problem=public_url_problem(dep.public_base_url, "trang gửi câu hỏi")), \
            422 if errors else 200

    @bp.route("/lanh-dao", methods=["GET", "POST"])
    @roles_required(*ADMINS)
    def leaders_page():
        """Who approves each unit's answers: unit officers named leader of their unit."""
        from ccch_core import accounts

        dep = deployment()
        errors: dict[str, str] = {}
        if request.method == "POST":
            username = request.form.get("tai-khoan", "")[:200].strip().lower()
            user = accounts.find_user(dep.db, username) if accounts.USERNAME_PATTERN.match(username) else None
            if request.form.get("bo") is not None:
                if user is None or store.leader_unit(dep.db, user.username) is None:
                    errors["tai-khoan"] = "Tài khoản này không phải lãnh đạo duyệt trả lời."
                else:
                    store.set_leader(dep, user.username, None, g.user.username)
                    flash(f"{user.username} không còn duyệt câu trả lời.")
                    return redirect(url_for("feedback.leaders_page"), 303)
            elif user is None or user.role is not Role.UNIT_OFFICER or not user.unit_id:
                errors["tai-khoan"] = "Cần tên đăng nhập của một cán bộ đơn vị."
            else:
                store.set_leader(dep, user.username, user.unit_id, g.user.username)
                flash(f"{user.username} duyệt câu trả lời của {_unit_name(dep, user.unit_id)}.")
                return redirect(url_for("feedback.leaders_page"), 303)
        return render_template("feedback/leaders.html", leaders=store.list_leaders(dep.db), errors=errors,
                               unit_name=lambda u: _unit_name(dep, u)), 422 if errors else 200

    @bp.get("/noi-dat/<code>/poster.pdf")
    @roles_required(*ADMINS)
    def poster(code):
        """The print-ready poster (A4, or ``?kho=A3``) of one placement of the form."""
        from ccch_core.posters import PAGE_SIZES

        from .posters import poster_pdf

        dep = deployment()
        placement = placements.placement_by_code(dep.db, code, target=PLACEMENT_TARGET)
        if placement is None:
            abort(404)
        size = request.args.get("kho", "A4")
        if size not in PAGE_SIZES:
            abort(400, description="Khổ giấy là A4 hoặc A3.")
        return Response(poster_pdf(dep, [placement], size), mimetype="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="poster-hoi-dap-{placement.code}.pdf"'})

    @bp.get("/<int:item_id>/anh/<int:number>")
    @roles_required(*OFFICERS)
    def photo(item_id, number):
        it = _item_or_404(item_id)
        found = store.photo_data(deployment().db, it.id, number)
        if found is None:
            abort(404)
        media_type, data = found
        return Response(data, content_type=media_type, headers={"Cache-Control": "no-store"})
