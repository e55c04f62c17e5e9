"""Web pages: the citizen's survey (public, reached from a poster's QR code) and the officers'
pages (results, comments, placements and posters, survey editing).

Citizen pages (blueprint ``survey_public``, under ``/<short_path>``, default ``/k``):

- ``GET /k/<code>``: counts a scan and shows the survey (small, no JavaScript needed);
- ``POST /k/<code>``: checks and stores the answers (422 with everything kept when something is
  wrong), then redirects to the thank-you page (303);
- ``GET /k/<code>/cam-on``: the thank-you page (a kiosk returns to the form from there);
- ``GET /k/<code>/ma-bao-ve``: a fresh form token for a kiosk sending answers it kept offline.

Officer pages (blueprint ``survey``, under ``/khao-sat``): see :data:`OFFICER_ROUTES` in
docs/survey.md. Plan and system admins see everything; a unit officer sees the placements and
results of their unit and the units below it.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from collections import OrderedDict

import attrs
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from ccch_core import levels, unit_picker
from ccch_core.accounts import Role
from ccch_core.inputs import SQLITE_MAX_INT, parse_int
from ccch_core.limits import limits_of
from ccch_core.periods import Period, PeriodError, PeriodType, utc_now
from ccch_core.privacy import keyed_hash
from ccch_core.ratelimit import client_network
from ccch_core.storage import is_busy, is_full, write_transaction
from ccch_core.web import client_key, deployment
from ccch_core.web.auth import require_unit_access, roles_required, unit_scope
from ccch_core.web.compression import Secret, page_response, precompress
from ccch_core.web.dashboard import period_choices as dashboard_period_choices
from ccch_core.web.formtoken import (
    FormTokenCheck,
    check_form_token,
    form_token_issued_at,
    form_token_protected,
    issue_form_token,
)
from ccch_core.web.params import id_arg, page_arg
from ccch_core.web.plan_choice import chosen_plan, keep_plan_choice, plan_choice

try:
    from ccch_core.web.auth import public
except ImportError:  # pragma: no cover - a core without the marker (before the access tests)
    def public(view):
        """Mark a view as open to anonymous visitors."""
        view.ccch_access = "public"
        return view

from . import charts, exports, posters
from .actions import record
from .definition import DefinitionError, loads_definition
from .forms import HONEYPOT, SUBMISSION_ID, check_form, field_name
from .personal_data import contact_phone_hash
from .results import LEGEND, compute_results
from .settings import settings_of
from .store import (
    Entry,
    KioskDevice,
    Outcome,
    Scan,
    Submission,
    SurveyError,
    active_kiosk_device,
    add_placement,
    device_answered_today,
    entry_for,
    exclude_response,
    forget_contacts,
    get_placement,
    get_survey,
    get_version,
    is_valid_code,
    list_placements,
    list_surveys,
    local_day,
    normalise_code,
    period_days,
    placement_url,
    reading_seconds,
    record_visit,
    response_answers,
    retire_placement,
    save_survey,
    set_status,
    store_submission,
    submission_limit,
    versions,
)

DEVICE_COOKIE = "ccch_tb"
DEVICE_COOKIE_VALUE = re.compile(r"([A-Za-z0-9_-]{16,64})(?:\.([0-9a-z]{1,8})-([0-9]{8})-([0-9a-f]{12}))?")
"""The device cookie: a random device identity, then (once its page was counted as a scan) a
signed mark ``.<placement, base 36>-<Vietnam day>-<signature>``: a phone that opens the same
poster again that day is not counted again, and costs no write."""
SCAN_MARK_PURPOSE = "survey-scan-mark"
KIOSK_COOKIE = "ccch_kiosk"
"""An enrolled kiosk tablet's device secret (HttpOnly, scoped to its placement's path); the server
keeps only its keyed hash (purpose :data:`KIOSK_SECRET_PURPOSE`)."""
KIOSK_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{40,64}")
KIOSK_SECRET_PURPOSE = "survey-kiosk-device"
OFFICERS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN, Role.UNIT_OFFICER)
ADMINS = (Role.SYSTEM_ADMIN, Role.PLAN_ADMIN)
COMMENTS_PER_PAGE = 50


def make_blueprints(dep) -> tuple[Blueprint, Blueprint]:
    """The citizen blueprint (under the configured short path) and the officers' blueprint."""
    settings = settings_of(dep)
    public = Blueprint("survey_public", __name__, template_folder="templates", static_folder="static",
                       static_url_path="/tai-nguyen")
    officer = keep_plan_choice(Blueprint("survey", __name__, template_folder="templates"))
    # _period.html: a unit filter of more units than a list can hold is the unit picker.
    officer.add_app_template_global(unit_picker.needs_picker, "survey_needs_unit_picker")
    _public_routes(public)
    _officer_routes(officer)
    from . import review  # kiosk enrolment and flagged responses (imports this module)

    review.register(public, officer)
    from . import builder_web  # the survey builder's pages (imports this module)

    builder_web.register(officer)

    @public.record_once
    def limit_body(state):
        # Runs before every other request hook (CSRF included, which reads the form), so that an
        # oversized survey submission is refused before it is parsed.
        prefix = settings.public_prefix + "/"

        def limit_submission_size():
            if request.method == "POST" and request.path.startswith(prefix):
                limit = settings.max_submission_bytes
                length = request.content_length
                if length is None or length > limit:
                    # Only a body larger than the setting (or of unknown length) pays for looking up
                    # its survey: the limit is never below what the survey's own form can send.
                    code = normalise_code(request.path[len(prefix):].split("/", 1)[0])
                    entry = entry_for(deployment().db, code) if is_valid_code(code) else None
                    if entry is not None:
                        limit = submission_limit(deployment().db, entry.placement.survey_id, limit)
                request.max_content_length = limit

        state.app.before_request_funcs.setdefault(None, []).insert(0, limit_submission_size)

    return public, officer


# ---------------------------------------------------------------------------------------------
# Citizen pages


NOT_FOUND = "Không tìm thấy khảo sát của mã này. Vui lòng quét lại mã QR trên poster."
BAD_FORM = "Biểu mẫu không hợp lệ hoặc đã quá hạn. Vui lòng quét lại mã QR rồi trả lời lại."


def _lookup(code: str) -> Entry | None:
    """The entry of a code as typed (None when there is no such placement); no limit counted."""
    code = normalise_code(code)
    return entry_for(deployment().db, code) if is_valid_code(code) else None


def _count_lookup(entry: Entry | None, *, scan: bool = False):
    """A request that names a code: an unknown code (``entry`` None) is counted against the client
    address's limit, a known one checked against it (an enrolled kiosk tablet is exempt) and, with
    ``scan``, counted as a scan once per device per day: a phone whose device cookie carries this
    placement's mark for today is not counted again (no write at all); any other device is, within
    ``scan_devices_per_address_per_day`` per address, and gets the mark. Returns None, or the 429
    answer every throttled request gets, the same whatever the code — a stranger learns nothing."""
    dep = deployment()
    device = _kiosk_device(entry) if entry is not None else None
    visit = None
    if scan and entry is not None:
        if device is not None:
            visit = Scan(entry.placement.id, f"kiosk-{device.id}", None)
        else:
            identity, _ = _device_cookie()
            pid, day = entry.placement.id, local_day(utc_now())
            mark = _scan_mark(identity, pid, day)
            if g.survey_scan_mark != mark:
                visit = Scan(pid, None, _address())
                g.survey_cookie_out = f"{identity}.{mark}"
    decision = record_visit(dep.db, settings_of(dep), address=None if device else _address(),
                            known=entry is not None, scan=visit)
    if decision.allowed:
        return None
    return throttled(decision.retry_after)


def _scan_mark(identity: str, placement_id: int, day: int) -> str:
    """The signed mark saying this device's page view of this placement was counted on ``day``."""
    digits, number = "0123456789abcdefghijklmnopqrstuvwxyz", placement_id
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            break
    signature = keyed_hash(deployment().secret_key, SCAN_MARK_PURPOSE, f"{identity}|{placement_id}|{day}")[:12]
    return f"{text}-{day}-{signature}"


def _read_earlier(entry: Entry) -> float:
    """A form token's time for answers given to a form handed out earlier than this request: long
    enough ago for reading every question of the form (see ``flag_reading_chars_per_second``)."""
    settings = settings_of(deployment())
    keys = [q.key for q in entry.definition.questions]
    return time.time() - reading_seconds(entry.definition, keys, settings.flag_reading_chars_per_second) - 1


def throttled(retry_after: int):
    """The one answer to a throttled request: the same page and headers for any code (known,
    unknown or malformed), any route and any reason; only ``Retry-After`` moves with the clock."""
    return (render_template("survey/throttled.html"), 429,
            {"Retry-After": str(max(1, retry_after)), "Cache-Control": "no-store"})


def _entry_or_404(code: str) -> Entry:
    """The entry of a code, counted as a look-up; 404 (or the throttled 429) otherwise."""
    entry = _lookup(code)
    refused = _count_lookup(entry)
    if refused is not None:
        abort(make_response(refused))
    if entry is None:
        abort(404, description=NOT_FOUND)
    return entry


def _address() -> str:
    """The keyed hash of the client's address (never the address), once per request."""
    if "survey_address" not in g:
        g.survey_address = client_key("survey-submit")
    return g.survey_address


def _unit_name(unit_id: str) -> str:
    plan = deployment().plan
    return plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id


def unit_names(plan):
    """A unit id's name as ``plan`` gives it (another year's may rename a unit), else the id."""
    return lambda unit_id: plan.unit(unit_id).name if plan.has_unit(unit_id) else unit_id


def _device_cookie() -> tuple[str, bool]:
    """The device's identity (the random part of its cookie) and whether this answer must give it
    one: a browser without a cookie (or with a value this server never hands out) gets a new one,
    whose first page view is counted as a scan. The mark the cookie carries is in
    ``g.survey_scan_mark`` (``<placement>-<day>-<signature>``, or None)."""
    if "survey_device_cookie" not in g:
        token = request.cookies.get(DEVICE_COOKIE)
        match = DEVICE_COOKIE_VALUE.fullmatch(token) if token else None
        if match:
            g.survey_device_cookie = (match.group(1), False)
            g.survey_scan_mark = "-".join(match.group(2, 3, 4)) if match.group(2) else None
        else:
            g.survey_device_cookie = (secrets.token_urlsafe(18), True)
            g.survey_scan_mark = None
    return g.survey_device_cookie


def _device_key() -> str:
    """A keyed hash of the device's identity (or, without a cookie, of the address and browser)."""
    dep = deployment()
    token = request.cookies.get(DEVICE_COOKIE)
    match = DEVICE_COOKIE_VALUE.fullmatch(token) if token else None
    if match:
        return keyed_hash(dep.secret_key, "survey-device", match.group(1))
    # The address by its /64 for IPv6, as every per-address rule counts it: a phone may take a new
    # address in its /64 for every request.
    return keyed_hash(dep.secret_key, "survey-device-fallback",
                      f"{client_network(request.remote_addr)}|{request.headers.get('User-Agent', '')}")


def _kiosk_device(entry: Entry) -> KioskDevice | None:
    """The enrolled tablet this request comes from, if the entry is a kiosk placement and the
    request carries the device secret of an active tablet enrolled for it (one indexed read)."""
    if not entry.placement.is_kiosk:
        return None
    if "survey_kiosk" not in g:
        value = request.cookies.get(KIOSK_COOKIE)
        device = None
        if value and KIOSK_COOKIE_VALUE.fullmatch(value):
            device = active_kiosk_device(deployment().db, entry.placement.id,
                                         keyed_hash(deployment().secret_key, KIOSK_SECRET_PURPOSE, value))
        g.survey_kiosk = device
    return g.survey_kiosk


def _as_kiosk(entry: Entry) -> bool:
    """Whether this request is served as a kiosk: a kiosk placement, from a tablet enrolled for it.
    A kiosk code opened anywhere else is an ordinary survey page with the public limits."""
    return _kiosk_device(entry) is not None


def set_kiosk_cookie(response: Response, code: str, secret: str) -> None:
    """Give an enrolled tablet its device secret: HttpOnly, Secure behind https, for
    ``kiosk_device_days``, sent only to its placement's pages (``/<short_path>/<code>``)."""
    settings = settings_of(deployment())
    response.set_cookie(KIOSK_COOKIE, secret, max_age=settings.kiosk_device_days * 86400,
                        path=f"{settings.public_prefix}/{code}", httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))


def _closed_page(entry: Entry):
    """410. ``X-Survey-Result`` tells a kiosk resending kept answers which: ``gone`` (the poster was
    retired: final) or ``closed`` (the survey is closed, and officers may open it again: the kiosk
    keeps the answers)."""
    if not entry.placement.active:
        text = "Poster này đã được gỡ; khảo sát tại đây đã kết thúc. Cảm ơn Ông/Bà đã quan tâm."
        result = "gone"
    else:
        text = "Khảo sát này hiện đã đóng. Cảm ơn Ông/Bà đã quan tâm."
        result = "closed"
    return render_template("survey/closed.html", entry=entry, text=text), 410, {"X-Survey-Result": result}


PAGE_CACHE_SIZE = 256
_TOKEN_MARK = "\x00csrf\x00"
_SID_MARK = "\x00sid\x00"
_MARKS = re.compile("(\x00csrf\x00|\x00sid\x00)")


def _cached(key: tuple, render) -> str:
    """A rendered page from this app's small cache of citizen pages (LRU, per worker process).

    A blank survey form is the same for every citizen of a placement but for the form token and the
    submission id, so it is rendered once per (placement, version, settings) and the two values are
    put in per request; rendering 15 questions is most of the cost of the citizen's first request.
    The key holds everything the page shows, so an edited survey or placement is a new key.
    """
    cache = current_app.extensions.setdefault("ccch_survey_pages", OrderedDict())
    page = cache.get(key)
    if page is None:
        page = cache[key] = render()
        if len(cache) > PAGE_CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return page


TOKEN_PURPOSE = "survey"


def _form_token(code: str, sid: str, issued: float | None = None) -> str:
    """The form token of one submission of one placement's form (see ccch_core.web.formtoken):
    the citizen's page needs no session cookie, and a token is good for that submission only.
    ``issued``: the time it carries, when the form was first handed out earlier (a form sent back
    for correction keeps the time it was first opened, for the "too fast" flag)."""
    return issue_form_token(TOKEN_PURPOSE, f"{code}|{sid}", now=issued)


def _render_form(entry: Entry, *, values=None, errors=None, status=200, submission_id=None, version=None,
                 notice=None, issued: float | None = None):
    settings = settings_of(deployment())
    definition = entry.definition
    unit_name = _unit_name(entry.placement.unit_id)
    sid = submission_id or secrets.token_urlsafe(18)
    token = _form_token(entry.placement.code, sid, issued)
    kiosk = _as_kiosk(entry)

    def render(token_value, sid_text):
        labels = {field_name(q.key): f"Câu {i}" for i, q in enumerate(definition.questions, start=1)}
        labels.update({"lien-he": "Thông tin liên hệ", "ho-ten": "Họ tên", "dien-thoai": "Số điện thoại"})
        return render_template(
            "survey/form.html", entry=entry, d=definition, values=values or {}, errors=errors or {}, labels=labels,
            sid=sid_text, version=version or entry.version, unit_name=unit_name, kiosk=kiosk,
            settings=settings, field_name=field_name, csrf_token=lambda: token_value, notice=notice)

    # The token and the submission id go in as Secret parts: never compressed, so a gzip page's
    # length tells nothing about them (docs/security.md, "Compression and secrets").
    if values or errors or notice or (version and version != entry.version):
        pieces = _MARKS.split(render(_TOKEN_MARK, _SID_MARK))
    else:
        key = ("form", entry.placement, kiosk, entry.version, definition.fingerprint, settings, unit_name,
               deployment().config.name)
        # Cached with its unchanging parts already deflated: a citizen's page costs no compression.
        pieces = _cached(key, lambda: [p if p in (_TOKEN_MARK, _SID_MARK) else precompress(p)
                                       for p in _MARKS.split(render(_TOKEN_MARK, _SID_MARK))])
    secret = {_TOKEN_MARK: Secret(token), _SID_MARK: Secret(sid)}
    response = page_response([secret.get(p, p) if isinstance(p, str) else p for p in pieces], status)
    response.headers["Cache-Control"] = "no-store"
    cookie, new = _device_cookie()
    if new or "survey_cookie_out" in g:  # a new device, or the mark of a scan just counted
        response.set_cookie(DEVICE_COOKIE, g.get("survey_cookie_out", cookie),
                            max_age=settings.device_cookie_days * 86400, httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


ANSWERED_TODAY = ("Thiết bị này đã gửi ý kiến cho khảo sát hôm nay. Cảm ơn Ông/Bà! Mỗi người chỉ cần trả lời một lần "
                  "mỗi ngày.")


def _answered_today_notice(entry: Entry) -> str | None:
    """The notice at the top of the survey page when this device already answered today, so that
    a citizen learns it before filling in the form rather than after (the page stays readable).
    Only a browser that carries the device cookie can have answered: a first visit costs nothing."""
    if not request.cookies.get(DEVICE_COOKIE):
        return None
    if not device_answered_today(deployment().db, settings_of(deployment()), entry, _device_key(),
                                 as_kiosk=_as_kiosk(entry)):
        return None
    return ANSWERED_TODAY + " Ông/Bà vẫn có thể xem các câu hỏi, nhưng phiếu gửi thêm hôm nay sẽ không được ghi nhận."


def _thanks_page(entry: Entry):
    """The thank-you page of a placement, also the answer to an accepted submission: the header
    ``X-Survey-Result: stored`` tells the kiosk script its submission arrived."""
    settings = settings_of(deployment())
    unit_name = _unit_name(entry.placement.unit_id)
    kiosk = _as_kiosk(entry)
    key = ("thanks", entry.placement, kiosk, entry.definition.fingerprint, settings, unit_name,
           deployment().config.name)
    page = _cached(key, lambda: precompress(render_template(
        "survey/thanks.html", entry=entry, d=entry.definition, settings=settings, kiosk=kiosk,
        unit_name=unit_name)))
    return page_response([page], 200, {"X-Survey-Result": "stored", "Cache-Control": "no-store"})


def _public_routes(bp: Blueprint) -> None:
    endpoints = (f"{bp.name}.answer", f"{bp.name}.token")

    @bp.after_request
    def mark_own_answers(response):
        """The survey server's own final answers say so in ``X-Survey-Result``: ``gone`` on a 404
        (no such placement) and on a retired poster's 410, ``closed`` on a closed survey's 410 (set
        by ``_closed_page``), ``refused`` on a 400 or 413 of the form. A kiosk drops an answer it
        kept offline only on the survey server's own word, never on a 400, 404 or 413 from a
        captive portal or a proxy in between."""
        # The status first: the usual answers (200, 303, 422, 429) need no header looked up.
        if (response.status_code not in (400, 404, 410, 413) or request.endpoint not in endpoints
                or "X-Survey-Result" in response.headers):
            return response
        if response.status_code in (404, 410):
            response.headers["X-Survey-Result"] = "gone"
        elif response.status_code in (400, 413):
            response.headers["X-Survey-Result"] = "refused"
        return response

    @bp.route("/<code>", methods=["GET", "POST"])
    @public
    @form_token_protected
    def answer(code):
        """The survey of a poster: GET counts a scan and shows it; POST stores the answers. HEAD
        (link checkers, chat-app previews) is a GET without the body and counts no scan: nobody
        opened the survey. Every request that names a code without a valid form token counts
        against the client address's look-up limit (enrolled kiosk tablets are exempt)."""
        dep = deployment()
        check = None
        token = None
        if request.method == "POST":
            form = request.form
            sid = form["sid"] if "sid" in form else ""  # noqa: SIM401 - .get raises inside
            if HONEYPOT in form and form[HONEYPOT]:  # noqa: RUF019 - .get raises inside
                # A bot: looks accepted (the same thank-you page), nothing stored. Counted as a
                # look-up: the thank-you page tells that the code exists.
                entry = _lookup(code)
                if _count_lookup(entry) is None and entry is not None:
                    return _thanks_page(entry)
                abort(400, description=BAD_FORM)
            if not SUBMISSION_ID.match(sid):
                abort(400, description="Biểu mẫu thiếu mã gửi. Vui lòng tải lại trang rồi trả lời lại.")
            # The form token first, before anything is looked up: a request the server did not hand a
            # form to gets nothing but a 400.
            token = form["csrf_token"] if "csrf_token" in form else None  # noqa: SIM401
            check = check_form_token(token, TOKEN_PURPOSE, f"{normalise_code(code)}|{sid}")
        entry = _lookup(code)
        if request.method != "POST":
            live = entry is not None and entry.placement.active and entry.survey_status == "open"
            refused = _count_lookup(entry, scan=request.method == "GET" and live)
            if refused is not None:
                return refused
            if entry is None:
                abort(404, description=NOT_FOUND)
            if not live:
                return _closed_page(entry)
            if entry.placement.is_kiosk and code != entry.placement.code:
                # The tablet's device secret is sent only to the placement's own path, as printed.
                return redirect(url_for(".answer", code=entry.placement.code), 308)
            response = _render_form(entry, notice=_answered_today_notice(entry))
            if request.method == "GET" and _as_kiosk(entry):
                set_kiosk_cookie(response, entry.placement.code, request.cookies[KIOSK_COOKIE])  # renewed
            return response
        if check is not FormTokenCheck.VALID:
            # Without a valid token the look-up counts (the form sent back tells the code exists),
            # and over the limit the answer is the same 400 as for a code that does not exist.
            if entry is None or _count_lookup(entry) is not None:
                abort(400, description=BAD_FORM)
        elif entry is None:
            abort(404, description=NOT_FOUND)
        if not entry.placement.active or entry.survey_status != "open":
            return _closed_page(entry)
        if check is not FormTokenCheck.VALID:
            # The page was opened long ago (or the token was damaged): show the form again with every
            # answer kept and a fresh token for the same submission; nothing is stored yet. A token
            # that expired proves the form was handed out a day ago: the fresh one says so, so that
            # sending it again at once is not taken for an answer faster than anyone reads.
            checked = check_form(entry.definition, request.form)
            issued = _read_earlier(entry) if check is FormTokenCheck.EXPIRED else None
            return _render_form(entry, values=checked.kept, errors=checked.errors, status=400, submission_id=sid,
                                issued=issued,
                                notice="Trang khảo sát đã mở quá lâu nên chưa gửi được. Các câu trả lời của Ông/Bà vẫn "
                                       "còn nguyên bên dưới; vui lòng bấm Gửi ý kiến một lần nữa.")
        # Answers are checked against the version the citizen saw (the survey may have been edited
        # since the page was opened).
        try:
            version = parse_int(request.form["v"], 1, SQLITE_MAX_INT) if "v" in request.form else entry.version
            if version is None:
                raise ValueError("v")
            if version != entry.version:
                entry = Entry(entry.placement, entry.survey_status, version,
                              get_version(dep.db, entry.placement.survey_id, version))
        except (ValueError, SurveyError):
            abort(400, description="Phiên bản khảo sát không hợp lệ. Vui lòng tải lại trang.")
        checked = check_form(entry.definition, request.form)
        issued = form_token_issued_at(token)  # when the form was first handed out (kept on every resend)
        if not checked.ok:
            response = _render_form(entry, values=checked.kept, errors=checked.errors, status=422,
                                    submission_id=sid, version=version, issued=issued)
            # For the kiosk script resending answers it kept offline (the citizen has left): which
            # fields to leave out so that the rest can still be stored.
            response.headers["X-Survey-Invalid"] = " ".join(checked.errors)
            return response
        settings = settings_of(dep)
        device = _kiosk_device(entry)
        contact = checked.contact
        if contact is not None and contact.phone:
            contact = attrs.evolve(contact, phone_hash=contact_phone_hash(dep, contact.phone))
        try:
            result = store_submission(dep.db, settings, Submission(
                entry, checked.answers, sid, _device_key(), "" if device else _address(), contact,
                kiosk_device_id=device.id if device else None, issued_at=issued))
        except sqlite3.OperationalError as error:
            if not (is_full(error) or is_busy(error)):
                raise
            # A full disk or a write lock held too long: nothing was stored (the transaction rolled
            # back). The citizen gets the form back with every answer, to send again in a moment.
            current_app.logger.warning("survey submission not stored on %s: %s", entry.placement.code, error)
            response = _render_form(entry, values=checked.kept, status=503, submission_id=sid, version=version,
                                    issued=issued, notice="Hệ thống tạm thời chưa lưu được ý kiến của Ông/Bà. Các câu trả lời vẫn còn "
                                           "nguyên bên dưới; vui lòng bấm Gửi ý kiến lại sau ít phút.")
            response.headers["Retry-After"] = "60" if is_full(error) else "5"
            return response
        if result.outcome in (Outcome.STORED, Outcome.DUPLICATE):
            # The thank-you page itself, not a redirect to it: one round trip less on a slow phone
            # connection. Reloading it sends the form again, which the submission id stores once.
            return _thanks_page(entry)
        if result.outcome is Outcome.DEVICE_LIMIT:
            return render_template("survey/closed.html", entry=entry, text=ANSWERED_TODAY), 409
        # The rate limit: nothing stored; like a busy database, the form comes back with every answer
        # and the same submission id, to send again when the window has passed.
        where = "máy tính bảng này" if device else "cùng một địa chỉ mạng"
        response = _render_form(
            entry, values=checked.kept, status=429, submission_id=sid, version=version, issued=issued,
            notice=f"Có quá nhiều ý kiến gửi từ {where} trong giờ này nên ý kiến của Ông/Bà chưa được lưu. Các câu "
                   f"trả lời vẫn còn nguyên bên dưới; vui lòng bấm Gửi ý kiến lại sau "
                   f"{result.retry_after // 60 + 1} phút.")
        response.headers["Retry-After"] = str(max(1, result.retry_after))
        return response

    @bp.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        """A submission larger than the survey's form can send (see ``limit_submission_size``): the
        body was not read, so the answers cannot be shown again; the page says why and how to get
        them back (the browser's Back button keeps a form's answers)."""
        code = normalise_code((request.view_args or {}).get("code", ""))
        entry = entry_for(deployment().db, code) if is_valid_code(code) else None
        limit = request.max_content_length or settings_of(deployment()).max_submission_bytes
        size = request.content_length
        html = render_template("survey/too_large.html", entry=entry, limit_kb=-(-limit // 1000),
                               size_kb=-(-size // 1000) if size else None)
        return html, 413, {"Cache-Control": "no-store", "X-Survey-Result": "refused"}

    @bp.route("/<code>/cam-on")
    @public
    def thanks(code):
        """The thank-you page (a kiosk goes back to a fresh form from here)."""
        return _thanks_page(_entry_or_404(code))

    @bp.route("/<code>/ma-bao-ve")
    @public
    def token(code):
        """A fresh form token (text) for one submission (``?sid=``): a kiosk asks for one for each
        new citizen, and for answers it kept while offline before it sends them."""
        sid = request.args.get("sid", "")
        if not SUBMISSION_ID.match(sid):
            abort(400, description="Thiếu mã gửi (sid) hoặc mã gửi không hợp lệ.")
        entry = _entry_or_404(code)
        issued = None
        if request.args.get("gui-lai") == "1" and _as_kiosk(entry):
            # An enrolled tablet sends again answers it kept while offline: their citizen read the
            # form long ago, so the token is dated early enough not to look "too fast".
            issued = _read_earlier(entry)
        return _form_token(entry.placement.code, sid, issued), 200, {"Content-Type": "text/plain; charset=utf-8",
                                                                     "Cache-Control": "no-store"}


# ---------------------------------------------------------------------------------------------
# Officer pages


def _survey_or_404(survey_id: str):
    survey = get_survey(deployment().db, survey_id)
    if survey is None:
        abort(404)
    return survey


def _level_below(plan, rows, within: str | None) -> tuple:
    """``(unit, score, responses)`` rows summed into one row per unit one level below ``within``
    (the scope's own placements in a row of its own), plan order. ``within`` None is the plan's
    root when it has one (a ministry: its provinces), else each tree's root."""
    roots = plan.roots()
    scope = within if within is not None else (roots[0].id if len(roots) == 1 else None)
    ordered = roots if scope is None else (plan.unit(scope), *plan.children(scope))
    row_of = levels.row_finder(plan, [u.id for u in ordered], None)  # the core's: a unit's nearest row
    summed: dict[str, list] = {}
    for unit, score, responses in rows:
        row_id = row_of(unit.id) or unit.id  # outside the rows (compute_results keeps none): its own
        entry = summed.get(row_id)
        if entry is None:
            summed[row_id] = [plan.unit(row_id), score, responses]
        else:
            entry[1] = entry[1] + score
            entry[2] += responses
    position = {u.id: i for i, u in enumerate(ordered)}
    return tuple(tuple(entry) for _, entry in sorted(summed.items(), key=lambda item: position.get(item[0], len(position))))


def _scope_unit() -> str | None:
    """The unit chosen in ``?don-vi=`` (checked against the user's scope); None = everything the
    user may see (for a unit officer: their own unit)."""
    unit_id = request.args.get("don-vi") or None
    if unit_id:
        plan = chosen_plan()
        if not plan.has_unit(unit_id) and unit_picker.needs_picker(len(_visible_units(plan))):
            # A plan the size of the country: the unit typed by name in the filter (the unit
            # picker). A name of no unit, or of several, shows the page unfiltered with the
            # problem and the units it could mean (g.survey_unit_filter, read by _period.html).
            choice = unit_picker.resolve_unit(plan, unit_id[:unit_picker.TEXT_MAX + 1],
                                              chosen_id=request.args.get("don-vi" + unit_picker.ID_SUFFIX),
                                              allowed=lambda u: g.user.can_see_unit(plan, u.id))
            # The page's other parameters, but none named like the view's own or url_for's (a
            # crafted ?survey_id= or ?_external= would be a 500 or a link elsewhere).
            kept = {k: v for k, v in request.args.items() if k not in ("don-vi", "don-vi" + unit_picker.ID_SUFFIX,
                    "endpoint", *(request.view_args or {})) and not k.startswith("_")}
            g.survey_unit_filter = {
                "text": choice.text, "problem": unit_picker.problem_vi(choice),
                "links": [(label, url_for(request.endpoint, **(request.view_args or {}), **kept, **{"don-vi": u.id}))
                          for u, label in zip(choice.candidates, choice.labels, strict=True)]}
            if choice.unit is None:
                return _scope_unit_default()
            g.survey_unit_filter["problem"] = None
            unit_id = choice.unit.id
        require_unit_access(unit_id)
        return unit_id
    return _scope_unit_default()


def _scope_unit_default() -> str | None:
    if g.user.role is Role.UNIT_OFFICER:
        # The core's rule: their own unit, which the chosen year's plan may not have (a 404 in words).
        return unit_scope(None)
    return None if g.user.is_admin else g.user.unit_id


def _plan_deployment():
    """The deployment seen through the plan an officer's results page shows: another year's
    chosen with ``?plan=`` (a 404 in words for an unknown one), else the default. Its units
    (names, tree) are the chosen year's."""
    dep = deployment()
    return dep.with_plan(chosen_plan(dep))


def _chosen_year(plan) -> bool:
    """Whether the reader chose ``plan``, another year's than the default (``?plan=``): then
    the periods offered and accepted are that plan's."""
    return plan.id != deployment().plan.id


def _period(plan=None) -> Period:
    """``?ky=``, else this month. With another year's ``plan`` chosen: a period within it (one
    outside is a 400 in words), by default the plan's month nearest today."""
    text = request.args.get("ky")
    chosen = plan is not None and _chosen_year(plan)
    if text:
        try:
            period = Period.parse(text[:20])
        except PeriodError:
            abort(400, description=f"Kỳ “{text[:20]}” không hợp lệ. Dùng dạng 2024-03, 2024-Q1, 2024-H1 hoặc 2024.")
        if chosen and (period.end_date < plan.starts_on or period.start_date > plan.ends_on):
            abort(400, description=f"Kỳ {period.label_vi} nằm ngoài thời gian của {plan.title}.")
        return period
    if chosen:
        first, last = Period.of_date(plan.starts_on), Period.of_date(plan.ends_on)
        return min(max(Period.current(PeriodType.MONTH), first), last)
    return Period.current(PeriodType.MONTH)


def period_choices(selected: Period, plan=None) -> list[tuple[str, str]]:
    """Recent months, quarters and years, and the selected period; with another year's ``plan``
    chosen, that plan's periods (the dashboard's list)."""
    if plan is not None and _chosen_year(plan):
        choices = dashboard_period_choices(plan)
        return choices if str(selected) in dict(choices) else [(str(selected), selected.label_vi), *choices]
    now = Period.current(PeriodType.MONTH)
    choices: list[Period] = []
    month = now
    for _ in range(13):
        choices.append(month)
        month = month.previous()
    quarter = now.rollup(PeriodType.QUARTER)
    for _ in range(5):
        choices.append(quarter)
        quarter = quarter.previous()
    choices += [now.rollup(PeriodType.HALF), now.rollup(PeriodType.YEAR), now.rollup(PeriodType.YEAR).previous()]
    if selected not in choices:
        choices.insert(0, selected)
    return [(str(p), p.label_vi) for p in choices]


def _visible_units(plan=None) -> list:
    plan = plan or deployment().plan
    if g.user.is_admin:
        return [u for u in plan.units if not u.external]
    if not g.user.unit_id or not plan.has_unit(g.user.unit_id):
        return []  # another year's plan without their unit (communes merge between years): none
    return [plan.unit(g.user.unit_id), *plan.descendants(g.user.unit_id)]


def _placement_in_scope(code: str):
    placement = get_placement(deployment().db, code)
    if placement is None:
        abort(404)
    require_unit_access(placement.unit_id)
    return placement


def _officer_routes(bp: Blueprint) -> None:
    @bp.route("/")
    @roles_required(*OFFICERS)
    def index():
        """Every survey with its figures for the period in the user's scope, under the default plan
        or another year's (``?plan=``: the page says which, with a chooser)."""
        dep = _plan_deployment()
        period = _period(dep.plan)
        within = None if g.user.is_admin else g.user.unit_id
        rows = [(s, compute_results(dep.db, dep.plan, s.id, period, within=within)) for s in list_surveys(dep.db)]
        return render_template("survey/index.html", rows=rows, period=period, choices=period_choices(period, dep.plan),
                               **plan_choice(dep.plan, dep))

    @bp.route("/<survey_id>")
    @roles_required(*OFFICERS)
    def results(survey_id):
        """Indices per criterion, section, unit and placement, scans and conversion, charts (under
        the default plan's units or another year's, ``?plan=``)."""
        dep = _plan_deployment()
        survey = _survey_or_404(survey_id)
        period = _period(dep.plan)
        within = _scope_unit()
        code = request.args.get("noi-dat") or None
        if code:
            _placement_in_scope(code)
        res = compute_results(dep.db, dep.plan, survey_id, period, within=within,
                              placement_code=normalise_code(code) if code else None)
        # The index without the flagged responses no officer has reviewed yet (a second small read
        # of the tallies, only when there are any).
        clean = compute_results(dep.db, dep.plan, survey_id, period, within=within, without_flagged=True,
                                placement_code=normalise_code(code) if code else None) if res.flagged else res
        target = _target(dep)
        # A plan the size of the country (posters at every commune's desk): one row per unit one
        # level below the scope, each summing its placements and those below it, with its name a
        # link that drills down; the placements' table is paginated. A small plan lists each unit.
        by_level = unit_picker.needs_picker(len(res.units))
        unit_rows = _level_below(dep.plan, res.units, within) if by_level else res.units
        clean_rows = (_level_below(dep.plan, clean.units, within) if by_level else clean.units) if clean is not res \
            else unit_rows
        placement_rows = levels.paginate(res.placements, page_arg("trang"))
        distribution = charts.distribution_chart(
            f"Phân bố câu trả lời — {period.label_vi}",
            [(q.prompt, q.score.counts, q.score.index) for q in res.scale_questions], LEGEND)  # words, not keys
        unit_chart = charts.index_chart(
            f"Chỉ số hài lòng theo đơn vị — {period.label_vi}",
            [(u.name, s.index, s.n) for u, s, _ in unit_rows], target) if unit_rows else None
        return render_template("survey/results.html", survey=survey, res=res, period=period,
                               unit_rows=unit_rows, by_level=by_level, placement_rows=placement_rows,
                               choices=period_choices(period, dep.plan), units=_visible_units(dep.plan), within=within,
                               code=code, distribution=distribution, unit_chart=unit_chart, target=target,
                               unit_name=unit_names(dep.plan), clean=clean, **plan_choice(dep.plan, dep),
                               clean_units={u.id: score for u, score, _ in clean_rows})

    @bp.route("/<survey_id>/y-kien")
    @roles_required(*OFFICERS)
    def comments(survey_id):
        """Free-text answers (newest first), with their unit, place and time."""
        dep = _plan_deployment()
        _survey_or_404(survey_id)
        period = _period(dep.plan)
        within = _scope_unit()
        page = page_arg()
        current = get_version(dep.db, survey_id)
        placements = {p.id: p for p in list_placements(dep.db, survey_id=survey_id, plan=dep.plan, within=within)}
        first, last = period_days(period)
        ids = list(placements) or [-1]
        rows = list(dep.db.query(
            "select r.id, r.submitted_at, r.placement_id, r.unit_id, r.version, r.excluded, a.question_key, a.value "
            "from survey_answers a join survey_responses r on r.id = a.response_id "
            f"where r.survey_id = ? and r.day between ? and ? and a.option_key = '' and a.value is not null "
            f"and r.placement_id in ({', '.join('?' * len(ids))}) order by r.id desc limit ? offset ?",
            [survey_id, first, last, *ids, COMMENTS_PER_PAGE + 1, (page - 1) * COMMENTS_PER_PAGE]))
        more = len(rows) > COMMENTS_PER_PAGE
        rows = rows[:COMMENTS_PER_PAGE]
        prompts = {}
        for row in rows:
            if (row["version"], row["question_key"]) not in prompts:
                definition = get_version(dep.db, survey_id, row["version"])
                prompts[(row["version"], row["question_key"])] = (
                    definition.question(row["question_key"]).prompt if definition.has_question(row["question_key"])
                    else row["question_key"])
        return render_template("survey/comments.html", survey_id=survey_id, title=current.title, rows=rows,
                               prompts=prompts, placements=placements, period=period, page=page, more=more,
                               choices=period_choices(period, dep.plan), units=_visible_units(dep.plan), within=within,
                               unit_name=unit_names(dep.plan), **plan_choice(dep.plan, dep))

    @bp.route("/<survey_id>/tai-ve.csv")
    @roles_required(*OFFICERS)
    def download(survey_id):
        """Every response of the period in the user's scope, one row each, streamed as CSV."""
        dep = _plan_deployment()
        _survey_or_404(survey_id)
        period = None if request.args.get("ky") == "tat-ca" else _period(dep.plan)
        within = _scope_unit()
        header, rows = exports.wide_rows(dep.db, dep.plan, survey_id, period, within)
        name = f"khao-sat-{survey_id}-{period or 'tat-ca'}.csv"
        response = Response(stream_with_context(exports.csv_lines(header, rows)), mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.route("/<survey_id>/lien-he")
    @roles_required(*ADMINS)
    def contacts(survey_id):
        """Contact details citizens left with consent (admins only; personal data)."""
        dep = deployment()
        _survey_or_404(survey_id)
        rows = list(dep.db.query(
            "select c.response_id, c.name, c.phone, c.consent_at, r.unit_id, r.submitted_at from survey_contacts c "
            "join survey_responses r on r.id = c.response_id where r.survey_id = ? order by c.response_id desc "
            "limit 500", [survey_id]))
        answers = response_answers(dep.db, [r["response_id"] for r in rows])
        return render_template("survey/contacts.html", survey_id=survey_id, rows=rows, answers=answers,
                               unit_name=_unit_name)

    @bp.route("/<survey_id>/lien-he/xoa", methods=["POST"])
    @roles_required(*ADMINS)
    def forget_contact(survey_id):
        """Delete one response's contact details (the person asked; the answers stay anonymous)."""
        _survey_or_404(survey_id)
        response_id = id_arg("response_id", source=request.form, what="Mã phản hồi")
        if not response_id:
            abort(400, description="Thiếu mã phản hồi.")
        db = deployment().db
        with write_transaction(db):
            if forget_contacts(db, response_ids=[response_id]):
                record(db, g.user.username, "survey.forget_contact", f"Khảo sát {survey_id}, phản hồi #{response_id}",
                       "Xóa thông tin liên hệ; câu trả lời giữ lại ẩn danh")
        flash("Đã xóa thông tin liên hệ; câu trả lời ẩn danh vẫn được giữ.")
        return redirect(url_for("survey.contacts", survey_id=survey_id), 303)

    @bp.route("/phan-hoi/<int:response_id>/loai", methods=["POST"])
    @roles_required(*ADMINS)
    def exclude(response_id):
        """Leave a response out of the results (spam), or back in."""
        dep = deployment()
        row = dep.db.execute("select survey_id from survey_responses where id = ?", [response_id]).fetchone()
        if row is None:
            abort(404)
        excluded = request.form.get("loai", "1") != "0"
        with write_transaction(dep.db):
            exclude_response(dep.db, response_id, excluded)
            record(dep.db, g.user.username, "survey.exclude", f"Khảo sát {row[0]}, phản hồi #{response_id}",
                   "loại khỏi kết quả" if excluded else "đưa lại vào kết quả")
        flash(f"Phản hồi {response_id}: {'đã loại khỏi' if excluded else 'đã đưa lại vào'} kết quả.")
        return redirect(url_for("survey.comments", survey_id=row[0]), 303)

    @bp.route("/<survey_id>/phien-ban/<int:version>")
    @roles_required(*OFFICERS)
    def version(survey_id, version):
        """The questions of one version, as citizens saw them."""
        dep = deployment()
        survey = _survey_or_404(survey_id)
        try:
            definition = get_version(dep.db, survey_id, version)
        except SurveyError:
            abort(404)
        return render_template("survey/version.html", survey=survey, d=definition, number=version,
                               versions=versions(dep.db, survey_id))

    @bp.route("/moi", methods=["GET", "POST"])
    @roles_required(*ADMINS)
    def new():
        """Create a survey from TOML text (prefilled with the SIPAS-style template)."""
        return _edit_page(None)

    @bp.route("/<survey_id>/sua", methods=["GET", "POST"])
    @roles_required(*ADMINS)
    def edit(survey_id):
        """Edit a survey: saving changed content creates a new version; answers keep theirs."""
        _survey_or_404(survey_id)
        return _edit_page(survey_id)

    @bp.route("/<survey_id>/trang-thai", methods=["POST"])
    @roles_required(*ADMINS)
    def status(survey_id):
        """Open or close a survey."""
        _survey_or_404(survey_id)
        wanted = request.form.get("trang_thai")
        if wanted not in ("open", "closed"):
            abort(400, description="Trạng thái là open hoặc closed.")
        db = deployment().db
        with write_transaction(db):
            set_status(db, survey_id, wanted)
            record(db, g.user.username, "survey.status", f"Khảo sát {survey_id}", "mở" if wanted == "open" else "đóng")
        flash("Đã mở khảo sát." if wanted == "open" else "Đã đóng khảo sát; poster sẽ hiện thông báo kết thúc.")
        return redirect(url_for("survey.results", survey_id=survey_id), 303)

    @bp.route("/noi-dat", methods=["GET", "POST"])
    @roles_required(*OFFICERS)
    def placements():
        """Placements (posters, kiosks) in the user's scope; add one."""
        dep = deployment()
        errors: dict[str, str] = {}
        values = {}
        status = 200
        units = _visible_units()
        picker = unit_picker.needs_picker(len(units))
        unit_choice = unit_picker.UnitChoice("")
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in ("survey_id", "unit_id", "place", "mode")}
            if picker:
                # The unit typed by name (the unit picker), among those the officer may see.
                unit_choice = unit_picker.resolve_posted(dep.plan, request.form, "unit_id",
                                                         allowed=lambda u: g.user.can_see_unit(dep.plan, u.id))
                values["unit_id"] = unit_choice.unit.id if unit_choice.unit is not None else ""
                if unit_choice.problem:
                    errors["unit_id"] = unit_picker.problem_vi(unit_choice)
            if "unit_id" in errors:
                pass
            elif not dep.plan.has_unit(values["unit_id"]):
                errors["unit_id"] = "Vui lòng chọn đơn vị."
            elif not g.user.can_see_unit(dep.plan, values["unit_id"]):
                abort(403)
            if get_survey(dep.db, values["survey_id"]) is None:
                errors["survey_id"] = "Vui lòng chọn khảo sát."
            if not values["place"].strip():
                errors["place"] = "Vui lòng ghi nơi đặt, ví dụ “Quầy tiếp nhận hồ sơ”."
            elif len(values["place"]) > 200:
                errors["place"] = "Nơi đặt dài quá 200 ký tự."
            if values["mode"] not in ("poster", "kiosk"):
                errors["mode"] = "Vui lòng chọn loại."
            if not errors:
                with write_transaction(dep.db):
                    placement = add_placement(dep.db, dep.plan, values["survey_id"], values["unit_id"],
                                              values["place"], mode=values["mode"])
                    record(dep.db, g.user.username, "survey.place", f"Nơi đặt {placement.code}",
                           f"khảo sát {placement.survey_id}, đơn vị {placement.unit_id}, {placement.mode}: "
                           f"{placement.place}")
                flash(f"Đã tạo nơi đặt {placement.code}. Tải poster để in.")
                return redirect(url_for("survey.placements", _anchor=f"p-{placement.code}"), 303)
            status = 422
        within = None if g.user.is_admin else g.user.unit_id
        found = list_placements(dep.db, plan=dep.plan, within=within)
        settings = settings_of(dep)
        return render_template("survey/placements.html", placements=found, surveys=list_surveys(dep.db),
                               units=[] if picker else units, picker=picker, unit_choice=unit_choice,
                               errors=errors, values=values, unit_name=_unit_name,
                               url_problem=posters.public_url_problem(dep.public_base_url),
                               url_of=lambda code: placement_url(dep.public_base_url, settings, code)), status

    @bp.route("/noi-dat/<code>/go", methods=["POST"])
    @roles_required(*OFFICERS)
    def retire(code):
        """Take a poster down (its link then shows a notice; its responses stay)."""
        placement = _placement_in_scope(code)
        db = deployment().db
        try:
            with write_transaction(db):
                retire_placement(db, placement.code)
                record(db, g.user.username, "survey.retire", f"Nơi đặt {placement.code}",
                       f"khảo sát {placement.survey_id}, đơn vị {placement.unit_id}")
        except SurveyError:
            flash(f"Nơi đặt {placement.code} đã được gỡ trước đó.")
        else:
            flash(f"Đã gỡ nơi đặt {placement.code}.")
        return redirect(url_for("survey.placements"), 303)

    @bp.route("/noi-dat/<code>/poster.pdf")
    @roles_required(*OFFICERS)
    def poster(code):
        """The placement's poster, A4 (default) or A3 (``?kho=A3``)."""
        dep = deployment()
        placement = _placement_in_scope(code)
        size = request.args.get("kho", "A4").upper()
        if size not in posters.PAGE_SIZES:
            abort(400, description="Khổ giấy là A4 hoặc A3.")
        item = posters.PosterItem(placement_url(dep.public_base_url, settings_of(dep), placement.code),
                                  placement.code, _unit_name(placement.unit_id), placement.place)
        data = posters.posters_pdf([item], posters.PosterText(dep.config.name), size)
        return _with_url_problem(Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="poster-{placement.code}-{size}.pdf"'}), dep)

    @bp.route("/noi-dat/<code>/qr.<fmt>")
    @roles_required(*OFFICERS)
    def qr(code, fmt):
        """The placement's QR code alone, PNG or SVG."""
        dep = deployment()
        placement = _placement_in_scope(code)
        url = placement_url(dep.public_base_url, settings_of(dep), placement.code)
        if fmt == "png":
            return _with_url_problem(Response(posters.qr_png(url), mimetype="image/png"), dep)
        if fmt == "svg":
            return _with_url_problem(Response(posters.qr_svg(url), mimetype="image/svg+xml"), dep)
        abort(404)


def _with_url_problem(response: Response, dep) -> Response:
    """Mark a poster or QR download whose address citizens may not reach (``X-Survey-Url-Problem``:
    ``blocking`` or ``warning``). The web page does not refuse it, unlike ``ccch survey posters``:
    the placements page shows the problem in full next to the download links, and a test print on a
    local network is legitimate; the header lets scripts and tests see it."""
    problem = posters.public_url_problem(dep.public_base_url)
    if problem is not None:
        response.headers["X-Survey-Url-Problem"] = "blocking" if problem.blocking else "warning"
    return response


def _target(dep) -> float | None:
    """The target of the first plan indicator fed by ``survey_satisfaction`` (for chart lines)."""
    for indicator in dep.plan.indicators:
        if indicator.measure_name == "survey_satisfaction" and indicator.target is not None:
            return indicator.target
    return None


def _edit_page(survey_id: str | None):
    dep = deployment()
    errors: list[str] = []
    if request.method == "POST":
        text = request.form.get("dinh_nghia", "")
        note = (request.form.get("ghi_chu") or "").strip()[:500] or None
        try:
            definition = loads_definition(text, "khảo sát", limits=limits_of(dep))
            if survey_id is not None and definition.id != survey_id:
                raise DefinitionError([f"id phải giữ là {survey_id!r} (muốn khảo sát mới thì dùng “Tạo khảo sát”)."])
            if survey_id is None and get_survey(dep.db, definition.id) is not None:
                raise DefinitionError([f"đã có khảo sát {definition.id!r}; hãy chọn id khác hoặc sửa khảo sát đó."])
            with write_transaction(dep.db):
                number, created = save_survey(dep.db, definition, by=g.user.username, note=note)
                if created:
                    record(dep.db, g.user.username, "survey.save", f"Khảo sát {definition.id}",
                           f"phiên bản {number}" + (f"; ghi chú: {note}" if note else ""))
        except DefinitionError as exc:
            errors = exc.problems
        else:
            flash(f"Đã lưu phiên bản {number}." if created else "Nội dung không đổi; không tạo phiên bản mới.")
            return redirect(url_for("survey.results", survey_id=definition.id), 303)
        return render_template("survey/edit.html", survey_id=survey_id, text=text, note=note or "",
                               errors=errors), 422
    if survey_id is None:
        text = _template_text()
        return render_template("survey/edit.html", survey_id=None, text=text, note="", errors=[])
    definition = get_version(dep.db, survey_id)
    return render_template("survey/edit.html", survey_id=survey_id, text=definition.to_toml(), note="",
                           errors=[], versions=versions(dep.db, survey_id))


def _template_text() -> str:
    from .cli import template_text

    return template_text("sipas")
