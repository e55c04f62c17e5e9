"""Responses you can trust: kiosk tablet enrolment and the review of flagged responses.

Citizen side (blueprint ``survey_public``):

- ``GET, POST /k/<code>/dang-ky``: a tablet is enrolled for a kiosk placement with a one-time
  enrolment code an officer created (scanned from the officer's page as a QR code, or typed). It
  receives a device secret (cookie ``ccch_kiosk``, HttpOnly, Secure behind https, sent only to its
  placement's pages); the server keeps only its keyed hash. A wrong, used, expired or other
  placement's code gets one and the same refusal, and costs like a look-up of an unknown code.

Officer side (blueprint ``survey``):

- ``GET, POST /khao-sat/noi-dat/<code>/may-tinh-bang``: the placement's tablets (enrolled when,
  by whose code, last seen), and a new enrolment code shown once as a QR code and as 8 characters;
- ``POST /khao-sat/noi-dat/<code>/may-tinh-bang/<id>/thu-hoi``: revoke a tablet;
- ``GET /khao-sat/<survey>/dang-ngo``: flagged responses with their evidence, and the index with
  and without them (officers who may see the results, in their scope);
- ``POST /khao-sat/<survey>/dang-ngo/xu-ly``: exclude flagged responses in bulk with a reason, or
  keep them after review (plan and system admins: a unit officer does not decide which answers about
  their own unit count). Audited in the same transaction.
"""

from __future__ import annotations

import base64
import re
import secrets
import unicodedata

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from ccch_core.privacy import keyed_hash
from ccch_core.storage import write_transaction
from ccch_core.web import deployment
from ccch_core.web.auth import public, roles_required
from ccch_core.web.formtoken import (
    FormTokenCheck,
    check_form_token,
    form_token_protected,
    issue_form_token,
)
from ccch_core.web.plan_choice import plan_choice

from . import posters, web
from .actions import record
from .results import compute_results
from .settings import settings_of
from .store import (
    FLAG_KINDS,
    SurveyError,
    create_enrolment,
    enrol_device,
    exclude_response,
    get_kiosk_device,
    get_version,
    is_valid_enrolment_code,
    keep_flagged_response,
    list_kiosk_devices,
    list_placements,
    new_enrolment_code,
    normalise_code,
    normalise_enrolment_code,
    pending_enrolment,
    period_days,
    placement_url,
    response_answers,
    revoke_kiosk_device,
)

ENROL_LINK_PURPOSE = "survey-kiosk-enrol"
"""The signature of an enrolment QR code: bound to the placement and the enrolment code, good for
``kiosk_enrolment_minutes``. Also the purpose of the enrolment code's keyed hash."""
ENROL_FORM_PURPOSE = "survey-kiosk-form"
"""The enrolment page's form token (bound to the placement)."""
REFUSED = ("Mã đăng ký không đúng, đã dùng hoặc đã hết hạn. Vui lòng nhờ cán bộ phụ trách khảo sát tạo mã mới "
           "trong trang Nơi đặt poster và máy tính bảng.")
"""The one answer to every enrolment code that does not enrol: wrong, used, expired, another
placement's — a stranger cannot tell which."""
MAX_ID = 2**63 - 1
FLAGS_PER_PAGE = 100
MAX_BULK = 5000
"""Responses one review action changes at most (the rest: repeat it)."""
REVIEW_ACTIONS = {"loai": "loại khỏi kết quả", "giu": "giữ lại sau khi xem xét"}
STATES = {"cho": "Chưa xem xét", "da-xem": "Đã xem xét", "tat-ca": "Tất cả"}


def register(public: Blueprint, officer: Blueprint) -> None:
    """Add the enrolment page to the citizen blueprint and the review pages to the officers'."""
    _public_routes(public)
    _officer_routes(officer)


def _text(raw: str | None) -> str:
    """Text typed by an officer: NFC, control and format characters read as spaces, spaces collapsed."""
    text = unicodedata.normalize("NFC", (raw or "")[:5000])
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def _label(raw: str | None, default: str) -> str:
    """A short name typed by an officer (80 characters at most)."""
    return _text(raw)[:80].strip() or default


def _enrolment_hash(code: str) -> str:
    return keyed_hash(deployment().secret_key, ENROL_LINK_PURPOSE, code)


# -- the tablet's side -----------------------------------------------------------------------------


def _public_routes(bp: Blueprint) -> None:
    @bp.route("/<code>/dang-ky", methods=["GET", "POST"])
    @public
    @form_token_protected
    def enrol(code):
        """Enrol this browser as the kiosk tablet of a placement, with an officer's one-time code."""
        dep = deployment()
        settings = settings_of(dep)
        form = request.form
        if request.method == "POST":
            token = form["csrf_token"] if "csrf_token" in form else None  # noqa: SIM401 - .get raises inside
            if check_form_token(token, ENROL_FORM_PURPOSE, normalise_code(code)) is not FormTokenCheck.VALID:
                abort(400, description="Biểu mẫu đăng ký không hợp lệ hoặc đã quá hạn. Vui lòng mở lại trang đăng ký.")
        entry = web._lookup(code)
        if entry is not None and not (entry.placement.is_kiosk and entry.placement.active):
            entry = None  # only an active kiosk placement can be enrolled for: anything else is "no such page"
        refused = web._count_lookup(entry)
        if refused is not None:
            return refused
        if entry is None:
            abort(404, description=web.NOT_FOUND)
        placement = entry.placement
        max_age = settings.kiosk_enrolment_minutes * 60
        if request.method == "GET":
            typed = normalise_enrolment_code(request.args.get("ma", ""))
            link = request.args.get("ky", "")
            error = None
            if (typed or link) and not _link_ok(placement.code, typed, link, max_age):
                typed, link, error = "", "", REFUSED
            return _enrol_page(entry, typed, link, error)
        typed = normalise_enrolment_code(form["ma"] if "ma" in form else "")  # noqa: SIM401
        link = form["ky"] if "ky" in form else ""  # noqa: SIM401
        device = None
        if is_valid_enrolment_code(typed) and (not link or _link_ok(placement.code, typed, link, max_age)):
            secret = secrets.token_urlsafe(32)
            earlier = web._kiosk_device(entry)  # this tablet, enrolled before: replaced
            with write_transaction(dep.db):
                device = enrol_device(dep.db, placement, _enrolment_hash(typed),
                                      keyed_hash(dep.secret_key, web.KIOSK_SECRET_PURPOSE, secret))
                if device is not None:
                    if earlier is not None:
                        revoke_kiosk_device(dep.db, placement.id, earlier.id, by=device.enrolled_by)
                    record(dep.db, device.enrolled_by, "survey.kiosk_enrol", f"Nơi đặt {placement.code}",
                           f"máy tính bảng “{device.label}” (#{device.id}) đã đăng ký bằng mã do "
                           f"{device.enrolled_by or 'cán bộ'} tạo" + (f"; thay máy #{earlier.id}" if earlier else ""))
        if device is None:
            # Counted as a look-up of a code that does not exist: guessing is slowed as enumeration is.
            refused = web._count_lookup(None)
            return refused if refused is not None else _enrol_page(entry, "", "", REFUSED, status=422)
        response = redirect(url_for(".answer", code=placement.code), 303)
        web.set_kiosk_cookie(response, placement.code, secret)
        return response


def _link_ok(code: str, typed: str, link: str, max_age: int) -> bool:
    """Whether an enrolment QR code's signature holds for this placement and code, and is recent."""
    return is_valid_enrolment_code(typed) and check_form_token(
        link, ENROL_LINK_PURPOSE, f"{code}|{typed}", max_age=max_age) is FormTokenCheck.VALID


def _enrol_page(entry, typed: str, link: str, error: str | None, status: int = 200):
    device = web._kiosk_device(entry)
    html = render_template(
        "survey/enrol.html", entry=entry, unit_name=web._unit_name(entry.placement.unit_id), device=device,
        typed=f"{typed[:4]}-{typed[4:]}" if typed else "", link=link, error=error,
        token=issue_form_token(ENROL_FORM_PURPOSE, entry.placement.code))
    return html, status, {"Cache-Control": "no-store"}


# -- officers ----------------------------------------------------------------------------------------


def _kiosk_in_scope(code: str):
    placement = web._placement_in_scope(code)
    if not placement.is_kiosk:
        abort(404)
    return placement


def _officer_routes(bp: Blueprint) -> None:
    @bp.route("/noi-dat/<code>/may-tinh-bang", methods=["GET", "POST"])
    @roles_required(*web.OFFICERS)
    def kiosk_devices(code):
        """A kiosk placement's tablets; POST creates an enrolment code, shown once."""
        dep = deployment()
        settings = settings_of(dep)
        placement = _kiosk_in_scope(code)
        shown = None
        status = 200
        if request.method == "POST":
            label = _label(request.form.get("ten"), "Máy tính bảng")
            enrolment = new_enrolment_code()
            try:
                with write_transaction(dep.db):
                    expires = create_enrolment(dep.db, placement, _enrolment_hash(enrolment), label,
                                               by=g.user.username, minutes=settings.kiosk_enrolment_minutes)
                    record(dep.db, g.user.username, "survey.kiosk_code", f"Nơi đặt {placement.code}",
                           f"mã đăng ký cho máy tính bảng “{label}”, dùng được {settings.kiosk_enrolment_minutes} phút")
            except SurveyError as exc:
                flash(f"Chưa tạo được mã đăng ký: {exc}.")
                status = 409
            else:
                link = issue_form_token(ENROL_LINK_PURPOSE, f"{placement.code}|{enrolment}")
                url = (f"{placement_url(dep.public_base_url, settings, placement.code)}/dang-ky?ma={enrolment}"
                       f"&ky={link}")
                svg = posters.qr_svg(url, module=6)
                shown = {"code": f"{enrolment[:4]}-{enrolment[4:]}", "url": url, "label": label, "expires": expires,
                         "qr": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()}
        response = make_response(render_template(
            "survey/kiosk_devices.html", placement=placement, unit_name=web._unit_name(placement.unit_id),
            devices=list_kiosk_devices(dep.db, placement.id), pending=pending_enrolment(dep.db, placement.id),
            shown=shown, settings=settings,
            kiosk_url=placement_url(dep.public_base_url, settings, placement.code)), status)
        response.headers["Cache-Control"] = "no-store"  # the enrolment code is shown once
        return response

    @bp.route("/noi-dat/<code>/may-tinh-bang/<int:device_id>/thu-hoi", methods=["POST"])
    @roles_required(*web.OFFICERS)
    def kiosk_revoke(code, device_id):
        """Revoke a tablet: its answers then go through the public limits like a phone's."""
        dep = deployment()
        placement = _kiosk_in_scope(code)
        device = get_kiosk_device(dep.db, device_id) if device_id <= MAX_ID else None
        if device is None or device.placement_id != placement.id:
            abort(404)
        with write_transaction(dep.db):
            done = revoke_kiosk_device(dep.db, placement.id, device.id, by=g.user.username)
            if done:
                record(dep.db, g.user.username, "survey.kiosk_revoke", f"Nơi đặt {placement.code}",
                       f"thu hồi máy tính bảng “{device.label}” (#{device.id})")
        flash(f"Đã thu hồi máy tính bảng “{device.label}”: phiếu gửi từ máy này giờ được tính như phiếu từ điện thoại."
              if done else f"Máy tính bảng “{device.label}” đã được thu hồi trước đó.")
        return redirect(url_for("survey.kiosk_devices", code=placement.code), 303)

    @bp.route("/<survey_id>/dang-ngo")
    @roles_required(*web.OFFICERS)
    def flags(survey_id):
        """Flagged responses of the period in the user's scope, with the evidence; the index with
        and without those not yet reviewed."""
        return _flags_page(survey_id)

    @bp.route("/<survey_id>/dang-ngo/xu-ly", methods=["POST"])
    @roles_required(*web.ADMINS)
    def review_flags(survey_id):
        """Exclude flagged responses (with a reason) or keep them, in bulk; audited."""
        dep = deployment()
        web._survey_or_404(survey_id)
        form = request.form
        action = form.get("hanh-dong", "")
        if action not in REVIEW_ACTIONS:
            abort(400, description="Hãy chọn loại khỏi kết quả hoặc giữ lại.")
        reason = _text(form.get("ly-do"))
        if len(reason) > 500:
            return _flags_page(survey_id, error="Lý do dài quá 500 ký tự.", status=422)
        if action == "loai" and len(reason) < 3:
            return _flags_page(survey_id, error="Vui lòng ghi lý do loại các phiếu này khỏi kết quả (ví dụ: “cùng một "
                                                "địa chỉ mạng gửi 100 phiếu trong 1 giờ”).", status=422)
        if form.get("tat-ca") == "1":
            ids = [row[0] for row in _flagged_query(survey_id, "cho", columns="r.id", limit=MAX_BULK + 1)]
        else:
            raw = form.getlist("phan-hoi")
            if len(raw) > MAX_BULK or not all(re.fullmatch(r"[0-9]{1,18}", v) for v in raw):
                abort(400, description=f"Danh sách phản hồi không hợp lệ (tối đa {MAX_BULK}).")
            ids = sorted({int(v) for v in raw})
        if not ids:
            return _flags_page(survey_id, error="Chưa chọn phản hồi nào.", status=422)
        more = len(ids) > MAX_BULK
        ids = ids[:MAX_BULK]
        changed: list[int] = []
        with write_transaction(dep.db):
            marks = ", ".join("?" * len(ids))
            open_ids = [row[0] for row in dep.db.execute(
                f"select id from survey_responses where id in ({marks}) and survey_id = ? and flag_state = 1 "
                "order by id", [*ids, survey_id])]
            for response_id in open_ids:
                done = (exclude_response(dep.db, response_id, True, reason) if action == "loai"
                        else keep_flagged_response(dep.db, response_id))
                if done:
                    changed.append(response_id)
            if changed:
                listed = ", ".join(f"#{i}" for i in changed[:100]) + (" …" if len(changed) > 100 else "")
                record(dep.db, g.user.username, "survey.review_flags", f"Khảo sát {survey_id}",
                       f"{REVIEW_ACTIONS[action]} {len(changed)} phản hồi bị đánh dấu đáng ngờ"
                       + (f"; lý do: {reason}" if reason else "") + f"; phản hồi {listed}")
        flash(f"Đã {REVIEW_ACTIONS[action]} {len(changed)} phản hồi."
              + (f" Còn phản hồi chưa xử lý (mỗi lần tối đa {MAX_BULK}); vui lòng làm lại." if more else ""))
        return redirect(url_for("survey.flags", survey_id=survey_id, **_filter_args()), 303)


def _args() -> dict:
    """The filters of the flags page, from the query string (the review form posts to a URL that
    carries the page's own filters)."""
    kind = request.args.get("loai", "")
    state = request.args.get("trang-thai", "cho")
    return {"kind": kind if kind in FLAG_KINDS else "", "state": state if state in STATES else "cho"}


def _filter_args() -> dict:
    """The page's filters as query arguments (for links and the review form)."""
    return {k: request.args[k] for k in ("ky", "don-vi", "loai", "trang-thai") if request.args.get(k)}


def _scope_placements(survey_id: str) -> dict:
    dep = web._plan_deployment()
    return {p.id: p for p in list_placements(dep.db, survey_id=survey_id, plan=dep.plan, within=web._scope_unit())}


def _flagged_query(survey_id: str, state: str, *, columns: str, limit: int, offset: int = 0) -> list:
    """Flagged responses of the period, scope and kind chosen (newest first)."""
    dep = web._plan_deployment()
    period = web._period(dep.plan)
    placements = _scope_placements(survey_id)
    ids = list(placements) or [-1]
    first, last = period_days(period)
    where = ["r.survey_id = ?", "r.day between ? and ?", "r.flag_state != 0",
             f"r.placement_id in ({', '.join('?' * len(ids))})"]
    args: list = [survey_id, first, last, *ids]
    if state == "cho":
        where.append("r.flag_state = 1 and r.excluded = 0")
    elif state == "da-xem":
        where.append("(r.flag_state = 2 or r.excluded = 1)")
    kind = _args()["kind"]
    if kind:
        where.append("exists (select 1 from survey_flags f where f.response_id = r.id and f.kind = ?)")
        args.append(kind)
    return dep.db.execute(f"select {columns} from survey_responses r where {' and '.join(where)} "
                          f"order by r.id desc limit ? offset ?", [*args, limit, offset]).fetchall()


def _flags_page(survey_id: str, *, error: str | None = None, status: int = 200):
    dep = web._plan_deployment()  # the default plan or another year's (?plan=), as the results page
    survey = web._survey_or_404(survey_id)
    period = web._period(dep.plan)
    within = web._scope_unit()
    filters = _args()
    page = request.args.get("trang", "1")
    page = int(page) if re.fullmatch(r"[0-9]{1,6}", page) and int(page) > 0 else 1
    rows = _flagged_query(survey_id, filters["state"], limit=FLAGS_PER_PAGE + 1, offset=(page - 1) * FLAGS_PER_PAGE,
                          columns="r.id, r.submitted_at, r.placement_id, r.unit_id, r.channel, r.flag_state, "
                                  "r.excluded, r.excluded_reason, r.version")
    more = len(rows) > FLAGS_PER_PAGE
    rows = rows[:FLAGS_PER_PAGE]
    ids = [r[0] for r in rows]
    evidence: dict[int, list[tuple[str, str]]] = {}
    if ids:
        for rid, kind, detail in dep.db.execute(
                f"select response_id, kind, detail from survey_flags where response_id in ({', '.join('?' * len(ids))}) "
                "order by response_id, kind", ids):
            evidence.setdefault(rid, []).append((FLAG_KINDS.get(kind, kind), detail))
    answers = response_answers(dep.db, ids)
    placements = _scope_placements(survey_id)
    counts = dict(dep.db.execute(
        "select f.kind, count(*) from survey_flags f join survey_responses r on r.id = f.response_id "
        "where r.survey_id = ? and r.day between ? and ? and r.flag_state = 1 and r.excluded = 0 "
        f"and r.placement_id in ({', '.join('?' * max(1, len(placements)))}) group by f.kind",
        [survey_id, *period_days(period), *(list(placements) or [-1])]).fetchall())
    official = compute_results(dep.db, dep.plan, survey_id, period, within=within)
    clean = compute_results(dep.db, dep.plan, survey_id, period, within=within, without_flagged=True) \
        if official.flagged else official
    html = render_template(
        "survey/flags.html", survey=survey, rows=rows, evidence=evidence, answers=answers, placements=placements,
        counts=counts, kinds=FLAG_KINDS, states=STATES, filters=filters, official=official, clean=clean,
        period=period, choices=web.period_choices(period, dep.plan), units=web._visible_units(dep.plan), within=within,
        page=page, more=more, error=error, unit_name=web.unit_names(dep.plan), summary=_summary, max_bulk=MAX_BULK,
        **plan_choice(dep.plan, dep),
        definition=lambda version: get_version(dep.db, survey_id, version), filter_args=_filter_args())
    return html, status


def _summary(definition, answers: dict[str, list[str]]) -> str:
    """A response's answers on one line, in the order of the version it answered: the satisfaction
    scores, then the first text answer (cut at 120 characters)."""
    scores, texts = [], []
    for q in definition.questions:
        values = answers.get(q.key)
        if not values:
            continue
        if q.type.value == "scale5":
            scores.append(values[0])
        elif not q.type.has_options:
            texts.append(values[0])
    out = ("Điểm: " + " ".join(scores)) if scores else ""
    if texts:
        text = texts[0]
        out += (" · " if out else "") + "“" + (text[:120] + "…" if len(text) > 120 else text) + "”"
    return out
