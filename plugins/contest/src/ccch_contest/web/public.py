"""The participant's pages under ``/cuoc-thi``: small, work without JavaScript on a cheap phone.

No page or response here contains which option is correct — the templates only ever receive
:class:`ccch_contest.bank.PublicQuestion` objects — except the review page, which opens after the
round has closed and only when the contest allows it (withholding the answers a later round can
still draw). A participant is known to the server by the signed session cookie (set at
registration, or by "Tiếp tục dự thi" on another device with a one-time code or a written resume
code, never a year of birth), or by the device cookie (:func:`device_cookie_name`).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import time
from functools import wraps
from pathlib import Path

import attrs
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, validate_csrf
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException, TooManyRequests
from wtforms import ValidationError

from ccch_core import privacy, ratelimit, unit_picker
from ccch_core.inputs import parse_int
from ccch_core.periods import to_local, utc_now
from ccch_core.questions import QuestionType
from ccch_core.storage import write_transaction
from ccch_core.text import clean
from ccch_core.web import client_key, csrf_token, deployment
from ccch_core.web.admission import always_admit, arrived_at
from ccch_core.web.auth import public
from ccch_core.web.compression import Secret, page_response, precompress
from ccch_core.web.formtoken import (
    FormTokenCheck,
    check_form_token,
    form_token_protected,
    issue_form_token,
)

from .. import attempts as attempts_mod
from .. import counting, verification
from ..attempts import AttemptError, PredictionError, parse_prediction
from ..checks import drawable_later
from ..contests import get_contest, list_contests
from ..definition import (
    _BODY_PREFIX,
    MAX_ROUND_NUMBER,
    TIE_BREAK_LABELS,
    chooses_residence,
    residence_label,
    unit_choices,
)
from ..participants import (
    REFUSED,
    RegistrationError,
    Throttled,
    get_participant,
    participant_with_phone,
    register,
    register_verified,
    seal_registration,
    validate_registration,
)
from ..personal_data import erase_participant
from ..ranking import ensure_closed, leaderboard, prize_list, rank_of
from ..settings import settings_of
from ..state import memory

HERE = Path(__file__).resolve().parent.parent
bp = Blueprint("contest_public", __name__, template_folder=str(HERE / "templates"),
               static_folder=str(HERE / "static"), static_url_path="/static")

SESSION_KEY = "cc"

# The hot paths read ``request``, ``session``, ``g`` and ``current_app`` through their objects
# (``proxy._get_current_object()``, werkzeug's documented way), once per function: a read through
# a werkzeug proxy first fails the normal lookup and formats an AttributeError, about 20 times
# the cost of the read itself (issue #16).


# -- helpers --------------------------------------------------------------------------------------


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


PENDING_KEY = "ccv"
"""The session's pending verification per contest: what was typed, where the code went."""


def device_cookie_name(contest) -> str:
    """The cookie binding this browser to a participant of ``contest`` (see :mod:`..verification`)."""
    return f"ccch_cuoc_thi_{contest.id}"


def current_participant_id(contest) -> int | None:
    """The participant this browser is known as in ``contest``: by the session, or else by the
    device cookie set when it registered or proved its person with a code."""
    pid = (session._get_current_object().get(SESSION_KEY) or {}).get(str(contest.id))
    if pid:
        return pid
    cookie = request._get_current_object().cookies.get(device_cookie_name(contest))
    pid = verification.device_participant(deployment(), contest, cookie) if cookie else None
    if pid:
        _remember(contest, pid, bind=False)
    return pid


def device_bound(contest, participant_id: int) -> bool:
    """Whether this browser holds a device secret of ``participant_id`` (erasing needs it)."""
    cookie = request._get_current_object().cookies.get(device_cookie_name(contest))
    return bool(cookie) and verification.device_participant(deployment(), contest, cookie) == participant_id


def _remember(contest, participant_id: int, *, bind: bool = True) -> None:
    """Know this browser as ``participant_id``; ``bind`` gives it a device secret (set as a cookie
    on the response) unless it holds one of theirs already."""
    sess = session._get_current_object()
    known = dict(sess.get(SESSION_KEY) or {})
    known[str(contest.id)] = participant_id
    sess[SESSION_KEY] = known
    if bind and not device_bound(contest, participant_id):
        # Stored now (inside the request's write transaction, if any); the cookie goes with the answer.
        g._get_current_object().contest_bind = (contest, participant_id, verification.bind_device(deployment(), participant_id))


BROWSER_COOKIE = "ccch_trinh_duyet"
"""A random identifier of the browser, set by the registration pages: detection counts the
registrations made from one browser (only its keyed hash is stored)."""


def _browser_key() -> str:
    key = request._get_current_object().cookies.get(BROWSER_COOKIE, "")
    if not (16 <= len(key) <= 64 and key.replace("-", "").replace("_", "").isalnum()):
        key = g._get_current_object().contest_browser = secrets.token_urlsafe(18)
    return key


@bp.after_app_request
def _set_device_cookie(response):
    # Every response of the app passes here: the attributes are read off g itself (see the top).
    request_g = g._get_current_object()
    browser = request_g.pop("contest_browser", None)
    bind = request_g.pop("contest_bind", None)
    if browser is None and bind is None:
        return response
    secure = current_app._get_current_object().config.get("SESSION_COOKIE_SECURE", False)
    if browser is not None:
        response.set_cookie(BROWSER_COOKIE, browser, max_age=400 * 86_400, httponly=True, samesite="Lax",
                            secure=secure)
    if bind is not None and response.status_code < 400:
        contest, participant_id, secret = bind
        last = max((r.ends for r in contest.rounds), default=utc_now())
        max_age = max(int((last - utc_now()).total_seconds()) + 30 * 86_400, 86_400)
        response.set_cookie(device_cookie_name(contest), f"{participant_id}.{secret}", max_age=max_age, httponly=True,
                            samesite="Lax", secure=secure)
    return response


def _forget(contest) -> None:
    known = dict(session.get(SESSION_KEY) or {})
    known.pop(str(contest.id), None)
    session[SESSION_KEY] = known


def _contest():
    """The contest :func:`published` loaded for this request."""
    return g._get_current_object().contest


def published(view):
    """Load ``slug`` as a published contest (404 otherwise) into ``g.contest``."""

    @wraps(view)
    def wrapped(slug, *args, **kwargs):
        contest = get_contest(deployment(), slug)
        if contest is None or contest.status != "published":
            abort(404, description="Không tìm thấy cuộc thi này, hoặc cuộc thi chưa mở.")
        g._get_current_object().contest = contest
        return view(slug, *args, **kwargs)

    return wrapped


ATTEMPT_FORM = "contest-attempt"
"""The purpose of the attempt page's form token (see :func:`attempt_form`)."""


def attempt_form_token(attempt) -> str:
    """The form token of an attempt page: good for that attempt's "save" and "submit" only."""
    return issue_form_token(ATTEMPT_FORM, attempt.token)


def attempt_form(view):
    """The attempt's POSTs (save, submit) check the attempt page's form token — bound to the
    attempt's secret token, signed by the deployment — instead of the session's CSRF token.

    A cross-site request cannot carry it, as it could not carry the session's token; and the
    session must still own the attempt (:func:`_own_attempt`). What it saves is the hottest POST of
    a contest reading the session's token and checking two signatures (Flask-WTF), about a tenth
    of a submission's cost. Checked before anything else, so a POST without a valid token gets a
    400 and nothing is looked up. The session's CSRF token is still accepted in its place: an
    attempt page rendered by an earlier version (open in a browser during an upgrade) must still
    submit."""

    @wraps(view)
    def wrapped(slug, token, *args, **kwargs):
        sent = request._get_current_object().form.get("csrf_token")
        if check_form_token(sent, ATTEMPT_FORM, token) is not FormTokenCheck.VALID:
            try:
                validate_csrf(sent)
            except ValidationError:
                raise CSRFError("The attempt page's form token is missing, invalid or expired.") from None
        return view(slug, token, *args, **kwargs)

    return form_token_protected(wrapped)


def _own_attempt(token: str):
    """The attempt ``token`` of the participant this browser is (403 for anyone else)."""
    contest = _contest()
    attempt = attempts_mod.get_attempt(deployment().db, token)
    if attempt is None or attempt.contest_id != contest.id:
        abort(404, description="Không tìm thấy bài thi.")
    if current_participant_id(contest) != attempt.participant_id:
        abort(403, description="Bài thi này không phải của bạn, hoặc thiết bị này chưa được xác nhận. Hãy chọn "
                               "“Tiếp tục dự thi” và xác nhận bằng mã gửi tới số điện thoại đã đăng ký.")
    return attempt


def _local(instant: dt.datetime) -> str:
    return to_local(instant).strftime("%H:%M:%S ngày %d/%m/%Y")


@bp.app_template_filter("contest_duration")
def contest_duration(ms_value) -> str:
    """Milliseconds as "12 phút 05,3 giây"."""
    if ms_value is None:
        return "–"
    seconds = ms_value / 1000
    minutes = int(seconds // 60)
    rest = f"{seconds - minutes * 60:.1f}".replace(".", ",")
    return f"{minutes} phút {rest} giây" if minutes else f"{rest} giây"


@bp.app_template_filter("last_digits")
def last_digits(masked, digits: int) -> str:
    """The last ``digits`` digits of a masked phone number, after an ellipsis ("…001"): public
    pages show at most three (issue #16: a longer mask lets a stranger confirm the number)."""
    shown = "".join(ch for ch in str(masked or "") if ch.isdigit())[-min(max(int(digits), 0), 3):] if digits else ""
    return "…" + shown if shown else ""


@bp.app_template_filter("contest_number")
def contest_number(value) -> str:
    """A figure with a decimal comma and no needless zeros ("87,65432", "125")."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:.5f}".rstrip("0").rstrip(".").replace(".", ",")


@bp.app_template_filter("vn_time")
def vn_time(value) -> str:
    """An instant (aware datetime or ISO text) as Vietnam time "09/06/2024 23:59:59"."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return to_local(value).strftime("%d/%m/%Y %H:%M:%S")


@bp.errorhandler(CSRFError)
def csrf_error(error):
    response = make_response(render_template(
        "contest/public_error.html", code=400, title="Phiên làm việc đã hết hạn",
        text="Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng quay lại, tải lại trang rồi gửi lại. Nếu bạn đang làm "
             "bài, các câu trả lời đã lưu vẫn được giữ.", contest=g.get("contest")), 400)
    return _no_store(response)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    titles = {403: "Không có quyền truy cập", 404: "Không tìm thấy trang", 405: "Phương thức không được hỗ trợ",
              409: "Không thực hiện được", 413: "Dữ liệu gửi lên quá lớn", 429: "Quá nhiều yêu cầu",
              503: "Chưa sẵn sàng"}
    if error.code in (301, 302, 303, 307, 308):
        return error
    text = error.description if error.description != type(error).description else \
        "Yêu cầu không thực hiện được. Vui lòng quay lại trang trước."
    response = make_response(render_template("contest/public_error.html", code=error.code,
                                             title=titles.get(error.code, "Yêu cầu không hợp lệ"), text=text,
                                             contest=g.get("contest")), error.code)
    retry = getattr(error, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return _no_store(response)


# -- pages ----------------------------------------------------------------------------------------


@bp.route("/")
@public
def index():
    """Published contests (one contest: straight to it)."""
    contests = list_contests(deployment(), published_only=True)
    if len(contests) == 1:
        return redirect(url_for(".landing", slug=contests[0].slug))
    return render_template("contest/index.html", contests=contests, now=utc_now())


@bp.route("/<slug>")
@public
@published
def landing(slug):
    """Rules, rounds and their dates, prizes; register, continue or start."""
    dep = deployment()
    now = utc_now()
    contest = ensure_closed(dep, _contest(), now)
    participant = None
    open_attempt = None
    used = 0
    pid = current_participant_id(contest)
    current = contest.current_round(now)
    if not pid and "_flashes" not in session._get_current_object():
        return _anonymous_landing(dep, contest, now, current)
    if pid:
        participant = get_participant(dep.db, pid)
        if participant is None or participant.deleted_at:
            participant = None
        elif current:
            row = dep.db.execute("select token, status, accept_until_ms from contest_attempts where participant_id = ? "
                                 "and round_id = ? order by attempt_no", [pid, current.id]).fetchall()
            used = len(row)
            open_attempt = next((r[0] for r in row if r[1] == "open" and r[2] > counting.ms(now)), None)
    upcoming = contest.next_round(now)
    form = None if participant else _inline_registration(contest, current or upcoming)
    response = make_response(render_template("contest/landing.html", **(form or {}), contest=contest,
                                             definition=contest.definition, now=now, current=current,
                                             upcoming=upcoming, participant=participant, open_attempt=open_attempt,
                                             used=used, plan=dep.plan, static_html=_landing_static(dep, contest)))
    return _no_store(response) if participant or form else response


INLINE_FORM_UNITS = 300
"""The landing page carries the registration form when the form lists at most this many units
(a district's or a province's contest); a contest whose form lists more (a national one lists
thousands of communes) keeps the form on its own page, so that the landing page every poster
leads to stays small for those who only read the rules."""


def _inline_registration(contest, round_) -> dict | None:
    """The registration form's context for the landing page of a visitor not known as a
    participant (see :data:`INLINE_FORM_UNITS`), or None. Carrying the form saves a newcomer a
    round trip on a slow connection — "Đăng ký dự thi" jumps to it on the same page — and every
    new participant a request (issue #16: the code step added one)."""
    if round_ is None or _form_units(contest.definition, deployment().plan)[0] > INLINE_FORM_UNITS:
        return None
    form = _registration_context(contest, {"start_now": "1"}, {})
    del form["contest"], form["definition"]  # the landing page passes its own (the same)
    form["form_action"] = url_for(".register_view", slug=contest.slug)
    return form


def _anonymous_landing(dep, contest, now, current):
    """The landing page of a visitor this browser is not known as a participant of: the same for
    every such visitor until the contest's definition or its open or next round changes, so it is
    rendered once per process and kept deflated (a phone that accepts gzip gets it without any
    compression). It is the first page of every newcomer who scans a poster: at the start of a round
    the most requested page of the contest, and rendering it was about 40 % of its cost."""
    upcoming = None if current else contest.next_round(now)
    # What the page shows of the rounds is in the key itself, should a round move without a new version.
    key = (request._get_current_object().script_root, contest.id, contest.version,
           (current.id, current.name, current.closes) if current else None,
           (upcoming.id, upcoming.name, upcoming.opens) if upcoming else None)
    cache = memory(dep).setdefault("anonymous_landing", {})
    parts = cache.get(key)
    if parts is None:
        if len(cache) >= 64:  # versions × rounds: a handful; this only bounds a pathological case
            cache.clear()
        form = _inline_registration(contest, current or upcoming)
        html = render_template("contest/landing.html", **(form or {}), contest=contest, definition=contest.definition,
                               now=now, current=current, upcoming=upcoming, participant=None, open_attempt=None,
                               used=0, plan=dep.plan, static_html=_landing_static(dep, contest),
                               csrf_token=lambda: _TOKEN_SLOT)
        # Kept in the parts around the form's token (one slot, or none when the page has no form).
        parts = cache[key] = [precompress(part) for part in html.split(_TOKEN_SLOT)]
    if len(parts) == 1:
        return page_response(parts)  # no form: the session is not touched, nothing per visitor
    # The visitor's CSRF token (in their session) goes in as a Secret: never compressed with the page.
    token = Secret(csrf_token())
    return _no_store(page_response([piece for part in parts for piece in (part, token)][:-1]))


def _landing_static(dep, contest) -> Markup:
    """Rules, schedule, ranking rules and prizes: rendered once per process and definition version."""
    cache = memory(dep).setdefault("landing_html", {})
    key = (contest.id, contest.version)
    html = cache.get(key)
    if html is None:
        html = Markup(render_template("contest/_landing_static.html", contest=contest, definition=contest.definition,
                                      tie_break_labels=TIE_BREAK_LABELS))
        cache[key] = html
    return html


def _registration_context(contest, values, errors, unit_choice=None):
    """What the registration form's template needs. ``unit_choice``: the unit field as posted
    (:func:`_posted_unit`), when the form asks for the unit by name."""
    dep = deployment()
    d = contest.definition
    plan = dep.plan
    audience_key = values.get("audience") or (d.audiences[0].key if len(d.audiences) == 1 else "")
    units_by_audience = {}
    count, residence = _form_units(d, plan)
    picker = unit_picker.needs_picker(count)
    if picker:
        # Thousands of units (a national contest: 3,321 communes, 162 KB of options): a name
        # typed, resolved when the form is posted; no list, no script.
        if unit_choice is None:
            unit_choice = _chosen_unit(plan, values.get("unit_id"), residence.get(audience_key, False))
    else:
        # (unit, label): a resident picks the commune they live in ("xã An Dũng"), not its People's
        # Committee ("UBND xã An Dũng"), which is where civil servants work.
        for a in d.audiences:
            units_by_audience[a.key] = [(u, residence_label(u) if residence[a.key] else u.name)
                                        for u in unit_choices(d, a, plan)]
    email_audiences = [a.name for a in d.audiences if verification.email_allowed(dep, contest, a)]
    return {"contest": contest, "definition": d, "values": values, "errors": errors, "audience_key": audience_key,
            "units_by_audience": units_by_audience, "consent": d.consent(), "round_open": contest.current_round(utc_now()),
            "verifies": d.verifies, "email_audiences": email_audiences,
            "email_domains": ", ".join(d.verification.email_domains), "picker": picker, "unit_choice": unit_choice,
            **(_unit_wording(d, plan, residence) if picker else {})}


_FORM_UNITS: dict = {}


def _form_units(d, plan) -> tuple[int, dict[str, bool]]:
    """How many units the registration form offers (every audience's list together, as one
    ``<select>`` of them would hold), and whether each audience picks where its people live
    (:func:`chooses_residence`). Kept per process for the definition and plan objects themselves
    (a new version is a new object): every registration asks. A unit retiring later moves the
    count by one, which does not matter to what it decides."""
    kept = _FORM_UNITS.get(id(d))
    if kept is None or kept[0] is not d or kept[1] is not plan:
        if len(_FORM_UNITS) > 64:
            _FORM_UNITS.clear()
        kept = _FORM_UNITS[id(d)] = (d, plan, sum(len(unit_choices(d, a, plan)) for a in d.audiences),
                                     {a.key: chooses_residence(a, plan, d) for a in d.audiences})
    return kept[2], kept[3]


def form_picker(d, plan) -> bool:
    """Whether the registration form asks for the unit by name (the core's unit picker: a name
    typed, with or without tones, resolved by the server when the form is posted, so no script
    and no sign-in) rather than listing the units: above :data:`ccch_core.unit_picker.PICKER_LIMIT`
    (a national contest offers 3,321 communes)."""
    return unit_picker.needs_picker(_form_units(d, plan)[0])


def _unit_text(unit, residence: bool) -> str:
    # A resident names the commune they live in ("xã An Dũng"), as the list does.
    return residence_label(unit) if residence else unit.name


def _chosen_unit(plan, unit_id: str | None, residence: bool) -> unit_picker.UnitChoice:
    """The unit field showing a unit already chosen (the form brought back from the code page)."""
    choice = unit_picker.chosen(plan, unit_id)
    return attrs.evolve(choice, text=_unit_text(choice.unit, residence)) if choice.unit is not None else choice


def _place_label(plan, unit) -> str:
    """A commune as a resident names it, with the province it is in ("xã An Hưng — thành phố Hà
    Nội"): two communes of one name in two provinces told apart in the residents' own words."""
    place = residence_label(unit)
    parent = plan.unit(unit.parent) if unit.parent and plan.has_unit(unit.parent) else None
    return f"{place} — {_BODY_PREFIX.sub('', parent.name) or parent.name}" if parent is not None else place


def _unit_wording(d, plan, residence: dict[str, bool]) -> dict[str, str]:
    """The unit field's hint and example when it asks for a name, in each audience's words."""
    first = next((u for a in d.audiences for u in unit_choices(d, a, plan)[:1]), None)
    example = _unit_text(first, residence[d.audiences[0].key]) if first is not None else "xã An Dũng"
    if all(residence.values()):
        hint = "Gõ tên xã, phường, thị trấn nơi bạn cư trú, có dấu hoặc không"
    elif not any(residence.values()):
        hint = "Gõ tên đơn vị nơi bạn công tác, có dấu hoặc không"
    else:
        hint = "Gõ tên, có dấu hoặc không — " + "; ".join(
            f"{a.name}: {'xã, phường, thị trấn nơi cư trú' if residence[a.key] else 'đơn vị công tác'}"
            for a in d.audiences)
    return {"unit_hint": hint + ". Nếu có nhiều nơi cùng tên, trang sẽ hỏi lại để bạn chọn.",
            "unit_placeholder": f"Ví dụ: {example}"}


def _typed_unit(form) -> unit_picker.UnitChoice:
    """The unit field as typed, not looked up: what the one refusal (:data:`REFUSED`) shows,
    whatever its reason. An address at the registration limit is refused before the look-up; a
    registered number's refusal showing the unit found instead would tell the two apart."""
    return unit_picker.UnitChoice(clean(form.get("unit_id", ""))[:unit_picker.TEXT_MAX])


def _posted_unit(plan, d, audience, form) -> tuple[unit_picker.UnitChoice, str | None]:
    """The unit the registration form's field names when it asks for a name: the unit typed (a
    name with or without tones, or a unit's id), or the namesake picked among those the form came
    back with, within the units ``audience`` offers (any audience's while none is chosen: the
    form then asks for the audience). Returns the field as it comes back and what is wrong with
    it in words (None: a unit, or nothing typed — the form's validation asks for one)."""
    audiences = [audience] if audience is not None else list(d.audiences)
    offered = {u.id for a in audiences for u in unit_choices(d, a, plan)}
    residence = audience is not None and _form_units(d, plan)[1][audience.key]
    # Cleaned as a name is (NUL and other control characters dropped, spaces collapsed): what
    # comes back in the field and in a message is what a person could have typed.
    choice = unit_picker.resolve_unit(plan, clean(form.get("unit_id", "")),
                                      chosen_id=form.get("unit_id" + unit_picker.ID_SUFFIX),
                                      allowed=lambda unit: unit.id in offered)
    if residence and choice.candidates and not _BODY_PREFIX.match(choice.text):
        # A resident names the commune as the list did ("xã Nam Thanh", its People's Committee
        # "UBND xã Nam Thanh"): the communes so named, not every one whose name holds the words
        # ("xã Thanh Nam", "xã Tân Nam Thanh"). The core's lookup puts a unit whose whole name
        # was typed first; typed with the prefix, the name is the unit's whole name. Taken only
        # when it narrows the choice (a plan whose communes are not named "UBND …" finds none).
        named = unit_picker.resolve_unit(plan, "UBND " + choice.text, allowed=lambda unit: unit.id in offered)
        if named.unit is not None or \
                0 < len(named.candidates) + named.more < len(choice.candidates) + choice.more:
            choice = attrs.evolve(named, text=choice.text)
    problem = choice.problem
    if problem == "not_offered":
        where = "xã, phường, thị trấn nơi bạn cư trú" if residence else "đơn vị nơi bạn công tác"
        message = (f"“{choice.text}” không có trong danh sách đơn vị của đối tượng “{audience.name}”. Gõ tên {where}."
                   if audience is not None else f"“{choice.text}” không có trong danh sách đơn vị của cuộc thi.")
    elif problem == "unknown" and residence:
        message = (f"Không tìm thấy xã, phường “{choice.text}”. Gõ tên xã, phường, thị trấn nơi bạn cư trú, "
                   f"có dấu hoặc không.")
    else:
        message = unit_picker.problem_vi(choice)
    if choice.unit is not None:
        choice = attrs.evolve(choice, text=_unit_text(choice.unit, residence))
    elif choice.candidates and residence:
        choice = attrs.evolve(choice, labels=tuple(_place_label(plan, u) for u in choice.candidates))
    elif len(choice.text) > unit_picker.TEXT_MAX:
        choice = attrs.evolve(choice, text=choice.text[:unit_picker.TEXT_MAX])  # what the field holds
    return choice, message


@bp.route("/<slug>/dang-ky", methods=["GET", "POST"])
@public
@published
def register_view(slug):
    """Registration with consent to the processing of personal data (Decree 13/2023/NĐ-CP)."""
    contest = _contest()
    req = request._get_current_object()
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    unit_choice = None  # the unit field as posted, when the form asks for a name (form_picker)
    if req.method == "POST":
        form = req.form
        values = {k: form.get(k, "") for k in ("full_name", "phone", "birth_year", "audience", "unit_id",
                                                       "occupation", "citizen_id", "consent", "website", "start_now",
                                                       "email")}
        # "Đăng ký và bắt đầu làm bài" (checked by default): one round trip fewer on a slow connection.
        start_now = values["start_now"] == "1" and contest.current_round(utc_now()) is not None
        started = None
        refused = None
        dep = deployment()
        audience = next((a for a in contest.definition.audiences if a.key == values["audience"]), None) \
            or (contest.definition.audiences[0] if len(contest.definition.audiences) == 1 else None)
        if form_picker(contest.definition, dep.plan):
            # A name looked up among thousands costs milliseconds: an address over the registration
            # limit gets the one refusal before any look-up, and a form that comes back for its unit
            # counts against the limit like any other registration.
            limit = settings_of(dep).limit_register
            if ratelimit.peek(dep.db, "contest-register", client_key("contest-register"), limit).count >= limit.count:
                values.pop("website", None)
                return _no_store(make_response(render_template(
                    "contest/register.html", **_registration_context(contest, values, {"phone": REFUSED},
                                                                     _typed_unit(form))), 422))
            unit_choice, problem = _posted_unit(dep.plan, contest.definition, audience, form)
            values["unit_id"] = unit_choice.unit.id if unit_choice.unit is not None else ""
            if problem is not None:
                # No unit of the audience's by that name, or several: back with the reason beside
                # the field and every other field's mistake at once; counted, nothing sent.
                ratelimit.hit(dep.db, "contest-register", client_key("contest-register"), limit)
                try:
                    validate_registration(dep, contest, values, utc_now())
                except RegistrationError as exc:
                    errors = dict(exc.errors)
                errors["unit_id"] = problem
                values.pop("website", None)
                return _no_store(make_response(render_template(
                    "contest/register.html", **_registration_context(contest, values, errors, unit_choice)), 422))
        if audience is not None and audience.verify != "none" and not _already_registered_here(contest, values["phone"]):
            errors = _ask_for_code(contest, audience, values, start_now)
            if unit_choice is not None and errors.get("phone") == REFUSED:
                unit_choice = _typed_unit(form)  # the one refusal, as at the limit (see _typed_unit)
            if not errors:
                # The code page itself answers the registration, not a 303 to it: one request fewer
                # for every new participant (issue #16). Its forms post to /xac-nhan; reloading it
                # shows it again without sending another code (see _ask_for_code).
                return _code_page(contest, _pending(contest), {}, 200)
            values.pop("website", None)
            return _no_store(make_response(render_template(
                "contest/register.html", **_registration_context(contest, values, errors, unit_choice)), 422))
        try:
            # Registration and the start in one write transaction (the inner ones become
            # savepoints): one turn of the write lock per new participant instead of two.
            with write_transaction(dep.db):
                # The attempt page answers this POST, so reloading it sends the registration again:
                # the same person on the same browser goes on to their attempt instead of an error.
                try:
                    participant = _already_registered_here(contest, values["phone"]) or \
                        register(dep, contest, values, client_key("contest-register"), device_key=_browser_key())
                except RegistrationError as exc:
                    refused = exc  # caught inside: the refusal's rate-limit hit must commit
                else:
                    _remember(contest, participant.id)  # the device secret in the same transaction
                    if start_now:
                        try:
                            started = attempts_mod.start_attempt(dep, contest, participant.id, participant=participant)
                        except (AttemptError, Throttled):
                            pass  # registered all the same; the landing page says why (bank not ready…)
        except Throttled as exc:
            raise TooManyRequests(description=f"Có quá nhiều lượt đăng ký từ mạng của bạn. Vui lòng thử lại sau "
                                              f"{exc.retry_after // 60 + 1} phút.", retry_after=exc.retry_after) from None
        if refused is not None:
            errors = refused.errors
            status = 422
            if unit_choice is not None and errors.get("phone") == REFUSED:
                unit_choice = _typed_unit(form)  # the one refusal, as at the limit (see _typed_unit)
        else:
            if started is not None:
                # The attempt page itself, not a redirect to it: one round trip fewer on 3G.
                return _attempt_page(contest, started.attempt)
            flash("Đăng ký thành công. Chúc bạn làm bài tốt!")
            return redirect(url_for(".landing", slug=slug), code=303)
    else:
        pending = _pending(contest)
        if pending is not None and pending.get("kind") == "register":
            # "Sửa thông tin đăng ký" from the code page: the form comes back as it was typed.
            values = {k: str(v) if v is not None else "" for k, v in pending["values"].items()}
            values.update(consent="1", start_now="1" if pending.get("start_now") else "", email=pending.get("email") or "")
        elif "_flashes" not in session._get_current_object():
            return _no_store(make_response(_blank_registration_form(contest)))
        else:
            values["start_now"] = "1"
    values.pop("website", None)
    response = make_response(render_template("contest/register.html",
                                             **_registration_context(contest, values, errors, unit_choice)), status)
    return _no_store(response)


_TOKEN_SLOT = "ccch-csrf-token-slot"


def _blank_registration_form(contest) -> str:
    """The empty registration form, rendered once per process, definition version and open round;
    only the CSRF token differs from one visitor to the next. It is the first page of every new
    participant, so at the start of a round it is the most requested page of the contest."""
    dep = deployment()
    current = contest.current_round(utc_now())
    key = (contest.id, contest.version, current.id if current else None)
    cache = memory(dep).setdefault("registration_form", {})
    html = cache.get(key)
    if html is None:
        cache.clear()  # only the current version and round are ever asked for again
        html = cache[key] = render_template("contest/register.html", csrf_token=lambda: _TOKEN_SLOT,
                                            **_registration_context(contest, {"start_now": "1"}, {}))
    return html.replace(_TOKEN_SLOT, csrf_token(), 1)


def _already_registered_here(contest, phone_text: str):
    """The participant this browser is known as, if ``phone_text`` is their registered number."""
    pid = current_participant_id(contest)
    return participant_with_phone(deployment(), contest, pid, phone_text) if pid else None


def _ask_for_code(contest, audience, values: dict, start_now: bool) -> dict[str, str]:
    """Check a registration of an audience that verifies, send the code, keep what was typed in
    the session; returns the form's errors (none: go to the confirmation page).

    What comes back is the same whether the number is new, registered or erased: the code goes
    out in every case, and only who types it learns more (see :mod:`..verification`)."""
    dep = deployment()
    now = utc_now()
    try:
        cleaned = validate_registration(dep, contest, values, now)
    except RegistrationError as exc:
        return exc.errors
    email = official_email(values.get("email", "")) if (values.get("email") or "").strip() else None
    if values.get("email", "").strip():
        if not verification.email_allowed(dep, contest, audience):
            return {"email": "Đối tượng dự thi này xác nhận bằng mã gửi tới số điện thoại; hãy để trống ô thư điện tử."}
        if email is None or not contest.definition.verification.allows_email(email):
            return {"email": "Thư công vụ phải có tên miền " + ", ".join(contest.definition.verification.email_domains)
                             + " (ví dụ ten.ho@" + contest.definition.verification.email_domains[0] + ")."}
    channel = "email" if email else verification.phone_channel(dep, contest)
    address = email or cleaned["phone"]
    if channel is None:
        return {"phone": verification.CodeNotSent("channel").args[0]}
    cleaned_values = {k: v for k, v in cleaned.items()}
    earlier = _pending(contest)
    if earlier is not None and earlier.get("kind") == "register" and earlier.get("address") == address \
            and earlier.get("values") == cleaned_values and earlier.get("start_now") == start_now \
            and 0 <= now.timestamp() - earlier.get("sent", 0) < RESEND_SECONDS:
        return {}  # the same registration again (the code page reloaded): its code is on the way

    try:
        # One turn of the write lock: the registration limit, the code and its message.
        with write_transaction(dep.db) as db:
            if not ratelimit.hit(db, "contest-register", client_key("contest-register"),
                                 settings_of(dep).limit_register, now).allowed:
                return {"phone": REFUSED}
            verification.send_code(dep, contest, channel, address, client_key("contest-code"), now)
    except verification.CodeNotSent as exc:
        return {"phone": str(exc)}
    sess = session._get_current_object()
    pending = dict(sess.get(PENDING_KEY) or {})
    pending[str(contest.id)] = {"kind": "register", "channel": channel, "address": address, "email": email,
                                "values": cleaned_values, "start_now": start_now, "sent": int(now.timestamp())}
    sess[PENDING_KEY] = pending
    return {}


RESEND_SECONDS = 120
"""The same registration sent again within this many seconds (the code page reloaded, which sends
the form again) shows the code page without sending another code; "Gửi lại mã" sends one."""


_SENT_TO_SLOT = "ccch-sent-to-slot"


def _code_page(contest, pending: dict, errors: dict, status: int):
    """The page where the code is typed (it answers the registration, and /xac-nhan). Without
    errors or messages to show, it is rendered once per process, contest version, kind and
    channel; only the masked address and the form token differ from one person to the next (it
    answers every new participant's registration)."""
    sent_to = verification.masked(pending["channel"], pending["address"])
    channel_label = verification.CHANNEL_LABELS.get(pending["channel"], pending["channel"])
    if errors or "_flashes" in session._get_current_object():
        html = render_template("contest/confirm.html", contest=contest, errors=errors, kind=pending["kind"],
                               sent_to=sent_to, channel_label=channel_label)
    else:
        cache = memory(deployment()).setdefault("code_page", {})
        key = (contest.id, contest.version, pending["kind"], pending["channel"])
        template = cache.get(key)
        if template is None:
            if len(cache) > 32:
                cache.clear()  # old versions are never asked for again
            template = cache[key] = render_template(
                "contest/confirm.html", contest=contest, errors={}, kind=pending["kind"], sent_to=_SENT_TO_SLOT,
                channel_label=channel_label, csrf_token=lambda: _TOKEN_SLOT)
        html = template.replace(_SENT_TO_SLOT, str(escape(sent_to)), 1).replace(_TOKEN_SLOT, _answer_token())
    return _no_store(make_response(html, status))


ANSWER_TOKEN_SECONDS = 3600
"""How old the CSRF token a POST carried may be for the page answering it to carry it again."""


_SIGNED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,20}\.[A-Za-z0-9_-]{1,100}")


def _answer_token() -> str:
    """The CSRF token for the page that answers this POST: the token the POST carried, which the
    browser holds already and Flask-WTF checked before the view ran, when it was signed within
    :data:`ANSWER_TOKEN_SECONDS` (it lasts ``WTF_CSRF_TIME_LIMIT``, 8 hours); else a newly signed
    one. The code page answers every new participant's registration, and signing a token anew was
    a tenth of that page's work (issue #16)."""
    req = request._get_current_object()
    sent = req.form.get("csrf_token", "") if req.method == "POST" and g._get_current_object().get("csrf_valid") else ""
    # Only in a signed token's own shape: the signature's base64 decoding skips characters that
    # are not base64, so a valid token with '"><' after it passes the check, and put back as it
    # came it would close the page's attribute.
    parts = sent.rsplit(".", 2) if _SIGNED_TOKEN.fullmatch(sent) else ()
    if len(parts) == 3:
        stamp = parts[1]  # itsdangerous's timestamp: big-endian seconds, URL-safe base64 unpadded
        try:
            signed_at = int.from_bytes(base64.urlsafe_b64decode(stamp + "=" * (-len(stamp) % 4)), "big")
        except ValueError:
            signed_at = 0
        if 0 <= time.time() - signed_at < ANSWER_TOKEN_SECONDS:
            return sent
    return csrf_token()


def official_email(text: str) -> str | None:
    """The e-mail address as the outbox stores it (:func:`ccch_core.privacy.normalise_email_address`),
    or None when it is not one (or longer than an address can be)."""
    if len(text) > 254:
        return None
    try:
        return privacy.normalise_email_address(text)
    except privacy.PersonalDataError:
        return None


def _pending(contest) -> dict | None:
    return (session._get_current_object().get(PENDING_KEY) or {}).get(str(contest.id))


def _drop_pending(contest) -> None:
    sess = session._get_current_object()
    pending = dict(sess.get(PENDING_KEY) or {})
    pending.pop(str(contest.id), None)
    sess[PENDING_KEY] = pending


@bp.route("/<slug>/xac-nhan", methods=["GET", "POST"])
@public
@published
def confirm_view(slug):
    """Type the code sent to the phone (or the official e-mail address) to register or resume."""
    contest = _contest()
    pending = _pending(contest)
    if pending is None:
        return redirect(url_for(".register_view", slug=slug), code=303)
    dep = deployment()
    req = request._get_current_object()
    errors: dict[str, str] = {}
    status = 200
    if req.method == "POST":
        if req.form.get("gui_lai") == "1":
            try:
                verification.send_code(dep, contest, pending["channel"], pending["address"], client_key("contest-code"))
            except verification.CodeNotSent as exc:
                errors["ma"] = str(exc)
                status = 429
            else:
                flash("Đã gửi lại mã xác nhận.")
                return redirect(url_for(".confirm_view", slug=slug), code=303)
        else:
            # The code, the registration, the device and the start: one turn of the write lock,
            # with what needs no database (hashes, the sealed number, the draw) done before it.
            ready = _before_the_lock(contest, pending)
            outcome = None
            with write_transaction(dep.db):
                if verification.check_code(dep, contest, pending["channel"], pending["address"],
                                           req.form.get("ma", "")):
                    _drop_pending(contest)
                    outcome = _verified(contest, pending, *ready)
            if isinstance(outcome, attempts_mod.Attempt):  # rendered after the lock is released
                return _attempt_page(contest, outcome)
            if outcome is not None:
                return outcome
            errors["ma"] = ("Mã xác nhận không đúng hoặc đã hết hạn (mã có hiệu lực 10 phút, nhập sai 5 lần thì phải "
                            "lấy mã mới). Bấm “Gửi lại mã” để nhận mã mới.")
            status = 422
    return _code_page(contest, pending, errors, status)


def _before_the_lock(contest, pending: dict):
    """For a registration: its :func:`~ccch_contest.participants.seal_registration` and, to start
    at once, the questions drawn (``attempts.draw_for``) — (None, None) for anything else."""
    if pending["kind"] != "register":
        return None, None
    dep = deployment()
    sealed = seal_registration(dep, pending["values"], client_key=client_key("contest-register"),
                               email=pending.get("email"), device_key=_browser_key())
    drawn = None
    if pending.get("start_now") and contest.current_round(utc_now()) is not None:
        drawn = attempts_mod.draw_for(dep, contest, pending["values"].get("audience", ""))
    return sealed, drawn


def _verified(contest, pending: dict, sealed=None, drawn=None):
    """The code was right: register, go on as the participant already registered, or resume.
    Returns the response, or the attempt started ("start now") for the caller to render.
    ``sealed`` and ``drawn``: made by :func:`_before_the_lock` for this registration."""
    dep = deployment()
    slug = contest.slug
    if pending["kind"] == "resume":
        participant = verification.participant_by_address(dep, contest, pending["channel"], pending["address"])
        if participant is None:
            flash("Chưa có đăng ký dự thi nào với " + ("địa chỉ thư" if pending["channel"] == "email" else "số điện thoại")
                  + " này. Hãy đăng ký dự thi.")
            return redirect(url_for(".register_view", slug=slug), code=303)
        _remember(contest, participant.id)
        flash("Đã xác nhận. Bạn tiếp tục dự thi trên thiết bị này.")
        return redirect(url_for(".landing", slug=slug), code=303)
    participant, outcome = register_verified(dep, contest, pending["values"], verified_by=pending["channel"],
                                             client_key=client_key("contest-register"), email=pending.get("email"),
                                             device_key=_browser_key(), sealed=sealed)
    if participant is None:
        flash("Không đăng ký được với số điện thoại hoặc số căn cước này: số đã được dùng để đăng ký, hoặc dữ liệu "
              "của người đăng ký bằng số này đã được xóa khi vòng thi họ dự còn đang mở (đăng ký lại được sau khi "
              "vòng đó kết thúc).")
        return redirect(url_for(".landing", slug=slug), code=303)
    _remember(contest, participant.id)
    if outcome == "existing":
        flash("Số điện thoại này đã đăng ký dự thi trước đó; bạn tiếp tục dự thi với đăng ký đã có.")
        return redirect(url_for(".landing", slug=slug), code=303)
    if pending.get("start_now") and contest.current_round(utc_now()) is not None:
        try:
            started = attempts_mod.start_attempt(dep, contest, participant.id, participant=participant, drawn=drawn)
        except (AttemptError, Throttled):
            pass
        else:
            return started.attempt
    flash("Đăng ký thành công. Chúc bạn làm bài tốt!")
    return redirect(url_for(".landing", slug=slug), code=303)


@bp.route("/<slug>/tiep-tuc", methods=["GET", "POST"])
@public
@published
def identify_view(slug):
    """A returning participant on another phone or a cleared browser: a code sent to the number
    (or official e-mail address) they registered with, or their written resume code. Never a
    year of birth: it took 11 tries to take someone's place with one."""
    contest = g.contest
    dep = deployment()
    values = {"phone": "", "email": "", "resume_phone": ""}
    errors: dict[str, str] = {}
    status = 200
    phone_channel = verification.phone_channel(dep, contest)
    email_ok = bool(contest.definition.verification.email_domains) and dep.messaging.available("email")
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        if request.form.get("cach") == "ma-tiep-tuc":
            participant = verification.resume_with_code(dep, contest, values["resume_phone"],
                                                        request.form.get("ma_tiep_tuc", ""), client_key("contest-identify"))
            if participant is not None:
                _remember(contest, participant.id)
                flash("Đã xác nhận. Bạn tiếp tục dự thi trên thiết bị này.")
                return redirect(url_for(".landing", slug=slug), code=303)
            errors["ma_tiep_tuc"] = "Số điện thoại hoặc mã tiếp tục dự thi không đúng (hoặc bạn đã thử quá nhiều lần)."
            status = 422
        else:
            email = official_email(values["email"]) if values["email"].strip() else None
            if values["email"].strip():
                if not email_ok or email is None or not contest.definition.verification.allows_email(email):
                    errors["email"] = ("Thư công vụ phải có tên miền " + ", ".join(contest.definition.verification.email_domains)
                                       + "." if email_ok else "Cuộc thi này không xác nhận bằng thư điện tử.")
                channel, address = "email", email
            else:
                try:
                    address = privacy.normalise_phone(values["phone"])
                except privacy.PersonalDataError as exc:
                    errors["phone"] = str(exc)
                channel = phone_channel
                if channel is None and not errors:
                    errors["phone"] = ("Cuộc thi chưa gửi được mã qua tin nhắn. Hãy dùng mã tiếp tục dự thi, hoặc "
                                       "liên hệ Ban Tổ chức.")
            if not errors:
                try:
                    verification.send_code(dep, contest, channel, address, client_key("contest-code"))
                except verification.CodeNotSent as exc:
                    errors["phone"] = str(exc)
                else:
                    pending = dict(session.get(PENDING_KEY) or {})
                    pending[str(contest.id)] = {"kind": "resume", "channel": channel, "address": address}
                    session[PENDING_KEY] = pending
                    return redirect(url_for(".confirm_view", slug=slug), code=303)
            status = 422
    response = make_response(render_template("contest/identify.html", contest=contest, values=values, errors=errors,
                                             phone_channel=phone_channel, email_ok=email_ok,
                                             email_domains=", ".join(contest.definition.verification.email_domains)),
                             status)
    return _no_store(response)


@bp.route("/<slug>/thoat", methods=["POST"])
@public
@published
def forget_view(slug):
    """Forget who this browser is (a shared computer): the session and the device secret, so that
    the next person on it is nobody (not someone who may erase the last one's data)."""
    contest = g.contest
    _forget(contest)
    verification.unbind_device(deployment(), contest, request.cookies.get(device_cookie_name(contest)))
    flash("Thiết bị này đã thoát khỏi tài khoản dự thi.")
    response = redirect(url_for(".landing", slug=slug), code=303)
    response.delete_cookie(device_cookie_name(contest))
    return response


@bp.route("/<slug>/bat-dau", methods=["POST"])
@public
@published
def start_view(slug):
    """Start (or resume) an attempt in the round open now: the server draws and stores it."""
    contest = g.contest
    pid = current_participant_id(contest)
    if not pid:
        flash("Vui lòng đăng ký, hoặc chọn “Tiếp tục dự thi” nếu đã đăng ký.")
        return redirect(url_for(".landing", slug=slug), code=303)
    try:
        started = attempts_mod.start_attempt(deployment(), contest, pid)
    except Throttled as exc:
        raise TooManyRequests(description="Bạn bấm bắt đầu quá nhiều lần. Vui lòng đợi một lát rồi thử lại.",
                              retry_after=exc.retry_after) from None
    except AttemptError as exc:
        abort(exc.code, description=exc.message)
    return redirect(url_for(".attempt_view", slug=slug, token=started.attempt.token), code=303)


_LETTERS = "ABCDEFGH"


def _escaped(bank, qid: int) -> tuple[str, tuple[str, ...]]:
    """A question's prompt and option labels, HTML-escaped once per process."""
    cache = bank.html
    found = cache.get(qid)
    if found is None:
        question = bank.questions[qid]
        found = (str(escape(question.prompt)), tuple(str(escape(label)) for _, label in question.options))
        cache[qid] = found
    return found


def render_questions(attempt, bank) -> Markup:
    """The attempt's questions as HTML: plain string building (a page of 20 questions is the
    hottest page of a contest). Option inputs differ only by their displayed position — nothing
    in the markup tells one option from another."""
    parts: list[str] = []
    answers = attempt.answers
    option_index = attempts_mod.OPTION_INDEX
    for position, (qid, order) in enumerate(attempt.questions, start=1):
        question = bank.questions[qid]
        prompt, labels = _escaped(bank, qid)
        number = str(position)
        chosen = answers.get(number, ())
        multiple = question.type == _MULTIPLE
        hint = (' <span class="hint">(có thể chọn nhiều phương án)</span>'
                if multiple and "chọn tất cả" not in question.prompt else "")
        parts.append(f'<fieldset class="q">\n  <legend>Câu {number}. {prompt}{hint}</legend>\n')
        head = _OPTION_HEAD[multiple] + number
        options = question.options
        for shown, index in enumerate(order):
            option = option_index[index]
            # One option: '  <label class="opt"><input type="radio" name="q3" value="2" checked> B. …</label>\n',
            # in pieces joined once at the end (the pieces around the number and label are constants).
            parts += (head, _OPTION_VALUE[shown], " checked" if options[option][0] in chosen else "",
                      _OPTION_LETTER[shown], labels[option], "</label>\n")
        parts.append("</fieldset>\n")
    return Markup("".join(parts))


_MULTIPLE = QuestionType.MULTIPLE.value
_OPTION_HEAD = {False: '  <label class="opt"><input type="radio" name="q',
                True: '  <label class="opt"><input type="checkbox" name="q'}
_OPTION_VALUE = tuple(f'" value="{shown + 1}"' for shown in range(len(_LETTERS)))
_OPTION_LETTER = tuple(f"> {letter}. " for letter in _LETTERS)


def _attempt_context(contest, attempt, *, errors=None, answers=None, prediction_text=None):
    dep = deployment()
    bank = attempts_mod.bank_for(dep, contest, attempt)
    now = utc_now()
    shown = attempt if answers is None else attrs.evolve(attempt, answers=answers)
    if prediction_text is None:
        prediction_text = "" if attempt.prediction is None else contest_number(attempt.prediction)
    return {"contest": contest, "definition": contest.definition, "attempt": attempt,
                "questions_html": render_questions(shown, bank), "seconds_left": attempt.seconds_left(now),
                "deadline": counting.from_ms(attempt.deadline_ms), "now_ms": counting.ms(now), "errors": errors or {},
                "prediction_text": prediction_text, "round_state": contest.round_by_id(attempt.round_id),
                "form_token": attempt_form_token(attempt),
                # Its save (…/luu) and submit (…/nop) addresses are this one's, below it (the routes of
                # this module): one url_for instead of four, a sixth of the page's cost.
                "attempt_url": url_for(".attempt_view", slug=contest.slug, token=attempt.token)}


@bp.route("/<slug>/bai-thi/<token>")
@public
@published
def attempt_view(slug, token):
    """The attempt: every question on one page, a countdown where JavaScript runs."""
    contest = g.contest
    attempt = _own_attempt(token)
    if attempt.status != "open" or attempt.is_overdue(utc_now()):
        return redirect(url_for(".result_view", slug=slug, token=token), code=303)
    return _attempt_page(contest, attempt)


def _attempt_page(contest, attempt):
    context = _attempt_context(contest, attempt)
    return _page(f"Bài thi · {context['round_state'].name}", "contest/attempt.html", **context)


_SLOT = "<!--ccch-contest-page-slot-->"


def _page(title: str, template: str, status: int = 200, **context):
    """The attempt and result pages: their frame (head, header, the contest's navigation:
    contest/shell.html) rendered once per process, mount point, contest version and title, and
    only the page's own part (``template``, no ``extends``) per request, with the flashed messages
    between them. These two pages answer the contest's two hottest POSTs (register-and-start,
    submit); rendering the frame each time — three levels of template inheritance, the menu hook —
    cost about as much as rendering what differs."""
    contest = context["contest"]
    cache = memory(deployment()).setdefault("page_frames", {})
    key = (request._get_current_object().script_root, contest.id, contest.version, title)
    frame = cache.get(key)
    if frame is None:
        if len(cache) >= 256:  # rounds × pages × versions: a handful; this only bounds a pathological case
            cache.clear()
        html = render_template("contest/shell.html", contest=contest, title=title, slot=Markup(_SLOT))
        # Kept deflated: a phone that accepts gzip gets the frame without compressing it again.
        frame = cache[key] = tuple(precompress(part) for part in html.split(_SLOT, 1))
    flashes = "".join(f'<p class="ok" role="status">{escape(message)}</p>\n' for message in get_flashed_messages())
    body = current_app._get_current_object().jinja_env.get_template(template).render(**context)
    return _no_store(page_response([frame[0], *_with_secrets(flashes + body, context), frame[1]], status))


def _with_secrets(html: str, context: dict) -> list:
    """``html`` cut around the attempt's token and form token, which go in as Secret parts: never
    compressed, so the gzip page's length tells nothing about them (docs/security.md)."""
    attempt = context.get("attempt")
    secrets_here = [s for s in (context.get("form_token"), attempt.token if attempt is not None else None) if s]
    parts: list = [html]
    for value in secrets_here:
        cut = []
        for part in parts:
            if isinstance(part, Secret) or value not in part:
                cut.append(part)
                continue
            pieces = part.split(value)
            for i, piece in enumerate(pieces):
                if i:
                    cut.append(Secret(value))
                cut.append(piece)
        parts = cut
    return parts


def _wants_json() -> bool:
    req = request._get_current_object()
    return req.headers.get("X-Requested-With") == "fetch" or req.accept_mimetypes.best == "application/json"


@bp.route("/<slug>/bai-thi/<token>/luu", methods=["POST"])
@always_admit  # it carries answers: served however long it queued in a rush (ccch_core.web.admission)
@attempt_form
@public
@published
def save_view(slug, token):
    """Keep the answers so far (the "save" button; the page's script autosaves here)."""
    contest = _contest()
    attempt = _own_attempt(token)
    dep = deployment()
    bank = attempts_mod.bank_for(dep, contest, attempt)
    form = request._get_current_object().form
    answers = attempts_mod.answers_from_form(attempt, bank, form)
    try:
        prediction = parse_prediction(contest.definition.prediction, form.get("du_doan"))
    except PredictionError:
        prediction = None
    try:
        # Judged by when the request arrived, not when a worker got to it in a rush.
        saved = attempts_mod.save_answers(dep, contest, attempt, answers, prediction, now=arrived_at())
    except Throttled as exc:
        raise TooManyRequests(description="Bài vừa được lưu; vui lòng đợi một giây rồi lưu lại.",
                              retry_after=exc.retry_after) from None
    if _wants_json():
        response = jsonify(saved=saved, seconds_left=attempt.seconds_left(utc_now()))
        response.status_code = 200 if saved else 409
        return _no_store(response)
    if not saved:
        return redirect(url_for(".result_view", slug=slug, token=token), code=303)
    flash("Đã lưu các câu trả lời. Nhớ bấm “Nộp bài” trước khi hết giờ.")
    return redirect(url_for(".attempt_view", slug=slug, token=token), code=303)


@bp.route("/<slug>/bai-thi/<token>/nop", methods=["POST"])
@always_admit
@attempt_form
@public
@published
def submit_view(slug, token):
    """Submit: scored on the server; accepted once, however many times it is sent."""
    contest = _contest()
    attempt = _own_attempt(token)
    dep = deployment()
    bank = attempts_mod.bank_for(dep, contest, attempt)
    form = request._get_current_object().form
    answers = attempts_mod.answers_from_form(attempt, bank, form)
    prediction_text = form.get("du_doan", "")
    definition = contest.definition
    errors = {}
    prediction = None
    if definition.has_prediction:
        try:
            prediction = parse_prediction(definition.prediction, prediction_text)
        except PredictionError as exc:
            errors["du_doan"] = str(exc)
        else:
            timed_out = form.get("het_gio") == "1"  # the page's countdown submitted at 0:00
            if prediction is None and not timed_out and attempt.status == "open" and not attempt.is_overdue(utc_now()):
                errors["du_doan"] = "Vui lòng trả lời câu hỏi dự đoán trước khi nộp bài."
    if errors and attempt.status == "open" and not attempt.is_overdue(utc_now()):
        # Keep what was typed (on the server too, in case time runs out) and show the form again.
        try:
            attempts_mod.save_answers(dep, contest, attempt, answers, None)
        except Throttled:
            pass  # saved less than a second ago
        context = _attempt_context(contest, attempt, errors=errors, answers=answers, prediction_text=prediction_text)
        return _page(f"Bài thi · {context['round_state'].name}", "contest/attempt.html", 422, **context)
    # In time if it arrived in time: a submission that queued for a worker in the round's last
    # seconds is not late for the wait (its time taken is counted to its arrival, too).
    outcome = attempts_mod.submit_attempt(dep, contest, attempt, answers, prediction, bank=bank, now=arrived_at())
    if outcome.outcome == "late":
        flash("Bài được gửi sau khi hết giờ làm bài: chỉ những câu trả lời đã lưu trước giờ hết hạn được tính."
              if definition.overdue == "submit_saved" and outcome.attempt.status == "submitted" else
              "Bài được gửi sau khi hết giờ làm bài nên không được tính.")
    # The result page answers the submission itself (one round trip fewer on 3G); sending the
    # form again only shows the same result, since an attempt is accepted once.
    response = _result_page(dep, contest, outcome.attempt)
    response.headers["X-Contest-Submission"] = outcome.outcome
    return response


@bp.route("/<slug>/ket-qua/<token>")
@public
@published
def result_view(slug, token):
    """Score and time taken; after the round, the rank and the review."""
    attempt = _own_attempt(token)
    return _result_page(deployment(), g.contest, attempt)


def _result_page(dep, contest, attempt):
    now = utc_now()
    contest = ensure_closed(dep, contest, now)
    g._get_current_object().contest = contest
    token = attempt.token
    slug = contest.slug
    if attempt.is_overdue(now):
        attempts_mod.finish_overdue_attempts(dep, contest, attempt.round_id, now=now)
        attempt = attempts_mod.get_attempt(dep.db, token)
    if attempt.status == "open":
        return redirect(url_for(".attempt_view", slug=slug, token=token), code=303)
    round_state = contest.round_by_id(attempt.round_id)
    rank = None
    if round_state.truth_at and attempt.counted and not attempt.disqualified:
        rank = rank_of(dep.db, contest, round_state, attempt.id, attempt.audience)
    used = 1
    if contest.definition.attempts_per_round > 1:  # the page shows "lượt 2/3" only then
        used = dep.db.execute("select count(*) from contest_attempts where participant_id = ? and round_id = ?",
                              [attempt.participant_id, attempt.round_id]).fetchone()[0]
    can_review = contest.definition.review == "after_close" and round_state.state(now) == "closed"
    return _page(f"Kết quả · {round_state.name}", "contest/result.html", contest=contest, definition=contest.definition,
                 attempt=attempt, round_state=round_state, rank=rank, used=used, can_review=can_review, now=now,
                 audience=contest.definition.audience(attempt.audience) if attempt.audience in
                 {a.key for a in contest.definition.audiences} else None)


@bp.route("/<slug>/xem-lai/<token>")
@public
@published
def review_view(slug, token):
    """The attempt with the correct answers: only after the round has closed, if allowed."""
    dep = deployment()
    now = utc_now()
    contest = g.contest
    attempt = _own_attempt(token)
    round_state = contest.round_by_id(attempt.round_id)
    if contest.definition.review != "after_close":
        abort(403, description="Cuộc thi này không công bố đáp án.")
    if round_state.state(now) != "closed":
        abort(403, description=f"Đáp án được công bố sau khi vòng thi kết thúc ({_local(round_state.closes)}).")
    if attempt.status == "open":
        return redirect(url_for(".result_view", slug=slug, token=token), code=303)
    bank = attempts_mod.bank_for(dep, contest, attempt)
    later = drawable_later(dep, contest, now)
    items = []
    for position, (qid, order) in enumerate(attempt.questions, start=1):
        question = bank.questions[qid]
        chosen = set(attempt.answers.get(str(position), []))
        # A question a round not yet closed can still draw keeps its answer until then: five
        # reviews of round 1 gave 46 of 76 answers of a bank shared by four rounds.
        withheld = qid in later.ids or question.key in later.keys
        correct = frozenset() if withheld else bank.correct[qid]
        options = []
        for i, index in enumerate(order):
            key, label = question.options[int(index)]
            options.append({"letter": "ABCDEFGH"[i], "label": label, "chosen": key in chosen, "correct": key in correct})
        items.append({"position": position, "prompt": question.prompt, "options": options, "withheld": withheld,
                      "right": not withheld and bool(chosen) and chosen == set(correct),
                      "help": None if withheld else bank.help.get(qid)})
    return _no_store(make_response(render_template("contest/review.html", contest=contest, attempt=attempt,
                                                   items=items, round_state=round_state,
                                                   withheld=sum(1 for item in items if item["withheld"]))))


@bp.route("/<slug>/bang-xep-hang")
@public
@published
def leaderboard_view(slug):
    """Leaderboards per round and overall, one audience at a time (the first by default, the others
    a link away): names, masked phone numbers, units.

    Never a board mixing audiences: prizes are per audience, and audiences may answer different
    numbers of questions (20 and 15 in the example), so a mixed board would rank one audience
    below the other on raw score and show places that win nothing."""
    dep = deployment()
    now = utc_now()
    contest = ensure_closed(dep, g.contest, now)
    definition = contest.definition
    choice = request.args.get("vong", "")
    audience = request.args.get("doi-tuong", "") or None
    if audience and audience not in {a.key for a in definition.audiences}:
        abort(404, description="Không có đối tượng dự thi này.")
    if audience is None and definition.audiences:
        audience = definition.audiences[0].key
    round_state = None
    if choice == "tong":
        pass
    elif choice:
        number = parse_int(choice, 1, MAX_ROUND_NUMBER)
        if number is None:
            abort(404, description="Không có vòng thi này.")
        try:
            round_state = contest.round(number)
        except KeyError:
            abort(404, description="Không có vòng thi này.")
    else:
        round_state = contest.current_round(now) or contest.last_closed_round(now)
        if round_state is None and contest.rounds:
            round_state = contest.rounds[0]
    board = None
    hidden = False
    live_allowed = definition.live_leaderboard and definition.score_disclosure == "immediately"
    if round_state is not None and round_state.state(now) == "open" and not live_allowed:
        # Provisional scores of an open round tell a fleet of throwaway entries which answers are
        # right, as a score shown on submission would: only with score_disclosure = "immediately".
        hidden = True
    elif choice == "tong" and contest.current_round(now) is not None and not live_allowed:
        hidden = True
    elif round_state is None and choice != "tong":
        board = None
    else:
        board = leaderboard(dep, contest, round_state, audience, now=now)
    units = _unit_labels(dep, definition, audience)
    return render_template("contest/leaderboard.html", contest=contest, definition=definition, board=board,
                           round_state=round_state, overall=choice == "tong", audience=audience, units=units,
                           hidden=hidden, now=now)


@bp.route("/<slug>/giai-thuong")
@public
@published
def prizes_view(slug):
    """Prize lists of the rounds whose results the organisers published."""
    dep = deployment()
    now = utc_now()
    contest = ensure_closed(dep, g.contest, now)
    lists = []
    for round_state in contest.rounds:
        if not round_state.published_at:
            continue
        for audience in contest.definition.audiences:
            lists.append((round_state, audience, prize_list(dep, contest, round_state, audience.key),
                          _unit_labels(dep, contest.definition, audience.key)))
    return render_template("contest/prizes.html", contest=contest, lists=lists)


def _unit_labels(dep, definition, audience_key: str | None) -> dict[str, str]:
    """unit id → the name shown next to a participant of ``audience_key``: the commune's name for
    residents (:func:`residence_label`), the unit's name otherwise."""
    audience = next((a for a in definition.audiences if a.key == audience_key), None)
    residence = chooses_residence(audience, dep.plan, definition)
    return {u.id: residence_label(u) if residence else u.name for u in dep.plan.units}


@bp.route("/<slug>/cua-toi")
@public
@published
def mine_view(slug):
    """What the contest keeps about me, my attempts, and erasing my data."""
    dep = deployment()
    contest = g.contest
    pid = current_participant_id(contest)
    participant = get_participant(dep.db, pid) if pid else None
    if participant is None or participant.deleted_at:
        return redirect(url_for(".identify_view", slug=slug), code=303)
    mine = attempts_mod.attempts_of(dep.db, participant.id)
    rounds = {r.id: r for r in contest.rounds}
    unit, lives_there = None, False
    if participant.unit_id and dep.plan.has_unit(participant.unit_id):
        # A resident lives in the commune ("xã An Dũng"), not in its People's Committee, as registering showed.
        audience = next((a for a in contest.definition.audiences if a.key == participant.audience), None)
        lives_there = chooses_residence(audience, dep.plan, contest.definition)
        found = dep.plan.unit(participant.unit_id)
        unit = residence_label(found) if lives_there else found.name
    return _no_store(make_response(render_template(
        "contest/mine.html", contest=contest, participant=participant, attempts=mine, rounds=rounds, unit=unit,
        lives_there=lives_there,
        now=utc_now(), bound=device_bound(contest, participant.id), resume_code=g.pop("resume_code", None),
        has_resume_code=verification.has_resume_code(dep, participant.id))))


@bp.route("/<slug>/cua-toi/ma-tiep-tuc", methods=["POST"])
@public
@published
def resume_code_view(slug):
    """Make a written resume code (shown once; the previous one stops working). Only on a device
    bound to the participant."""
    contest = g.contest
    pid = current_participant_id(contest)
    if not pid or not device_bound(contest, pid):
        abort(403, description="Thiết bị này chưa được xác nhận là của người dự thi. Hãy chọn “Tiếp tục dự thi”.")
    g.resume_code = verification.new_resume_code(deployment(), pid)
    return mine_view(slug)


@bp.route("/<slug>/cua-toi/xoa", methods=["POST"])
@public
@published
def erase_mine_view(slug):
    """Erase my personal data (asked on the page; my attempts leave the rankings)."""
    contest = g.contest
    pid = current_participant_id(contest)
    if not pid or not device_bound(contest, pid):
        # A session alone is not enough: erasing needs the device that registered, or one that
        # proved its person with a code (a stranger once erased someone with a birth year).
        abort(403, description="Để xóa dữ liệu, thiết bị này cần được xác nhận: chọn “Tiếp tục dự thi” và nhập mã "
                               "gửi tới số điện thoại đã đăng ký.")
    if request.form.get("xac_nhan") != "1":
        flash("Hãy đánh dấu ô xác nhận trước khi xóa dữ liệu.")
        return redirect(url_for(".mine_view", slug=slug), code=303)
    erase_participant(deployment(), contest, pid, None, reason="Người dự thi tự yêu cầu xóa dữ liệu cá nhân")
    _forget(contest)
    flash("Dữ liệu cá nhân của bạn đã được xóa.")
    return redirect(url_for(".landing", slug=slug), code=303)
