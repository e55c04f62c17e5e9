"""The contest manager's setup form ⇄ the definition's data.

The form is a flat HTML form; :func:`form_to_data` turns it into the same mapping a TOML file
gives, so one validator (``definition_from_dict``) checks both and reports problems at the same
paths (``rounds[1].closes``), which the template shows beside the fields.

Repeated parts are numbered fields, one row of ordinary fields each, never a syntax to learn:
``rounds-0-name``; an audience's quotas ``audiences-1-quota-0-category`` / ``-count``, its prizes
``audiences-1-prize-0-name`` / ``-count`` / ``-value`` (overall prizes ``-overall-0-…``); collective
prizes ``collective-0-name``, ``-measure`` (a choice in words), ``-count``, ``-among`` (units and
groups picked by name), ``-value``, ``-rounds`` (checkboxes), ``-audience`` (a choice by name). A
row whose name is blank is left out: that is how a row is removed. Codes never have to be typed:
a new contest's address and a new audience's key are made from their names.

Problems come back at the validator's paths (``collective_prizes[0].among``); :func:`field_label`
names each in words and :func:`message_vi` says the validator's message in Vietnamese.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ccch_core.inputs import parse_int
from ccch_core.periods import VN_TZ
from ccch_core.text import slugify

from ..definition import (
    MAX_AUDIENCES,
    MAX_ROUNDS,
    ContestDefinition,
    default_unit_choices,
)

EXTRA_ROUNDS = 2
EXTRA_AUDIENCES = 1


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _int_or_text(value: str) -> Any:
    """A whole number typed in a field, or the text as typed for the validator to report (ASCII
    digits only, at most 18: "٣" and 5,000 digits are text, not numbers)."""
    value = (value or "").strip()
    return int(value) if re.fullmatch(r"-?[0-9]{1,18}", value) else (value or None)


ROUND_ROWS = MAX_ROUNDS + EXTRA_ROUNDS
"""The most rows of rounds the form has (a full contest and its blank rows)."""
AUDIENCE_ROWS = MAX_AUDIENCES + EXTRA_AUDIENCES


def row_count(form, field: str, prefix: str, most: int) -> tuple[int, bool]:
    """How many numbered rows (``rounds-0-…``, ``rounds-1-…``) the form sent, from its hidden
    ``field`` (``round_count``), 0 to ``most``, and True; or, when that field is not such a number
    (a damaged or forged form), the rows its field names show (at most ``most``) and False. Never
    a loop as long as a number the visitor chose."""
    count = parse_int(form.get(field) or "0", 0, most)
    if count is not None:
        return count, True
    pattern = re.compile(re.escape(prefix) + r"-([0-9]{1,4})-")
    present = [int(m.group(1)) for key in form if (m := pattern.match(key)) and int(m.group(1)) < most]
    return (max(present) + 1 if present else 0), False


def _datetime(date_text: str, time_text: str, end: bool) -> Any:
    date_text = (date_text or "").strip()
    time_text = (time_text or "").strip()
    if not date_text:
        return None
    try:
        day = dt.date.fromisoformat(date_text)
    except ValueError:
        return f"{date_text} {time_text}".strip()
    if not time_text:
        return day
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            moment = dt.datetime.strptime(time_text, fmt).time()
            return dt.datetime.combine(day, moment)
        except ValueError:
            pass
    return f"{date_text} {time_text}"


PRIZE_ROWS = 20
"""Prize rows read per list at most (a list holds up to 20 prizes)."""
QUOTA_ROWS = 30
COLLECTIVE_ROWS = 20
EXTRA_ROWS = 2
"""Blank rows the form adds after the filled ones of each list."""
MEASURE_LABELS = {"count": "Nhiều người dự thi nhất", "rate": "Tỷ lệ người dự thi trên biên chế cao nhất"}


def _prize_rows(form, prefix: str) -> list[dict[str, Any]]:
    """The prizes of rows ``<prefix>-0-name`` … whose name is filled."""
    prizes = []
    for j in range(PRIZE_ROWS):
        name = (form.get(f"{prefix}-{j}-name") or "").strip()
        if not name:
            continue
        item: dict[str, Any] = {"name": name, "count": _int_or_text(form.get(f"{prefix}-{j}-count", ""))}
        if (form.get(f"{prefix}-{j}-value") or "").strip():
            item["value"] = form.get(f"{prefix}-{j}-value").strip()
        prizes.append(item)
    return prizes


def _quota_rows(form, prefix: str) -> dict[str, Any]:
    quotas: dict[str, Any] = {}
    for j in range(QUOTA_ROWS):
        category = (form.get(f"{prefix}-{j}-category") or "").strip()
        if category:
            quotas[category] = _int_or_text(form.get(f"{prefix}-{j}-count", ""))
    return quotas


def _collective_rows(form, audience_keys: dict[str, str]) -> list[dict[str, Any]]:
    """Collective prizes from their rows; ``audience_keys`` maps an audience's form index to its key."""
    collective = []
    for i in range(COLLECTIVE_ROWS):
        p = f"collective-{i}-"
        name = (form.get(p + "name") or "").strip()
        if not name:
            continue
        item: dict[str, Any] = {"name": name, "measure": form.get(p + "measure") or "count",
                                "count": _int_or_text(form.get(p + "count", "")),
                                "among": [u for u in form.getlist(p + "among") if u]}
        if (form.get(p + "value") or "").strip():
            item["value"] = form.get(p + "value").strip()
        rounds = [int(n) for n in form.getlist(p + "rounds") if re.fullmatch(r"[0-9]{1,4}", n or "")]
        if rounds:
            item["rounds"] = rounds
        audience = form.get(p + "audience") or ""
        if audience:
            item["audience"] = audience_keys.get(audience, audience)
        collective.append(item)
    return collective


def new_key(name: str, taken: set[str], fallback: str) -> str:
    """A key made from a name ("Cán bộ, công chức" → "can-bo-cong-chuc"), unique among ``taken``."""
    base = slugify(name)[:36].strip("-") or fallback
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def form_to_data(form, slug: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition data of a submitted setup form, and problems the form itself has (a
    line that is not ``Nhóm: số câu``…), keyed like the validator's paths."""
    problems: dict[str, str] = {}
    get = form.get
    typed_slug = (get("slug") or "").strip()
    contest: dict[str, Any] = {"slug": slug or typed_slug or slugify(get("title", ""))[:60].strip("-"),
                               "title": get("title", "")}
    for key in ("organiser", "rules", "consent_text"):
        if (get(key) or "").strip():
            contest[key] = get(key)
    for key in ("questions_per_attempt", "time_limit_minutes", "attempts_per_round", "leaderboard_size"):
        contest[key] = _int_or_text(get(key, ""))
    for key in ("counted_attempt", "review", "score_disclosure", "citizen_id", "overdue"):
        if get(key):
            contest[key] = get(key)
    for key in ("shuffle_questions", "shuffle_options", "ask_occupation", "live_leaderboard",
                "one_prize_per_person"):
        contest[key] = get(key) == "1"
    verification: dict[str, Any] = {"phone_channel": get("phone_channel") or "sms",
                                    "daily_codes": _int_or_text(get("daily_codes", "") or "1000")}
    domains = [d.strip() for d in re.split(r"[\s,;]+", get("email_domains", "")) if d.strip()]
    if domains:
        verification["email_domains"] = domains
    contest["verification"] = verification
    units = form.getlist("units")
    if units:
        contest["units"] = units
    contest["tie_breaks"] = [v for v in (get("tie_break_1"), get("tie_break_2"), get("tie_break_3")) if v]
    contest["prediction"] = {"kind": get("prediction_kind") or "none"}
    if (get("prediction_prompt") or "").strip():
        contest["prediction"]["prompt"] = get("prediction_prompt")
    eligibility: dict[str, Any] = {"who": get("eligibility_who") or "everyone",
                                   "min_age": _int_or_text(get("eligibility_min_age", "") or "18")}
    if form.getlist("eligibility_units"):
        eligibility["units"] = form.getlist("eligibility_units")
    if form.getlist("excluded_units"):
        eligibility["excluded_units"] = form.getlist("excluded_units")
    contest["eligibility"] = eligibility

    round_rows, counted = row_count(form, "round_count", "rounds", ROUND_ROWS)
    if not counted:
        problems["rounds"] = (f"Biểu mẫu gửi số dòng vòng thi không hợp lệ; một cuộc thi có nhiều nhất {MAX_ROUNDS} "
                              "vòng. Kiểm tra các vòng bên dưới rồi bấm Lưu lại.")
    rounds = []
    for i in range(round_rows):
        p = f"rounds-{i}-"
        if not any((get(p + k) or "").strip() for k in ("name", "opens_date", "closes_date")):
            continue
        item: dict[str, Any] = {"number": _int_or_text(get(p + "number", "")) or len(rounds) + 1}
        if (get(p + "name") or "").strip():
            item["name"] = get(p + "name")
        opens = _datetime(get(p + "opens_date", ""), get(p + "opens_time", ""), False)
        closes = _datetime(get(p + "closes_date", ""), get(p + "closes_time", ""), True)
        if opens is not None:
            item["opens"] = opens
        if closes is not None:
            item["closes"] = closes
        rounds.append(item)

    audience_rows, counted = row_count(form, "audience_count", "audiences", AUDIENCE_ROWS)
    if not counted:
        problems["audiences"] = (f"Biểu mẫu gửi số đối tượng dự thi không hợp lệ; một cuộc thi có nhiều nhất "
                                 f"{MAX_AUDIENCES} đối tượng. Kiểm tra các đối tượng bên dưới rồi bấm Lưu lại.")
    audiences = []
    audience_keys: dict[str, str] = {}
    taken = {(get(f"audiences-{i}-key") or "").strip() for i in range(audience_rows)}
    for i in range(audience_rows):
        p = f"audiences-{i}-"
        if not (get(p + "key") or "").strip() and not (get(p + "name") or "").strip():
            continue
        index = len(audiences)
        key = (get(p + "key") or "").strip() or new_key(get(p + "name", ""), taken, f"doi-tuong-{index + 1}")
        taken.add(key)
        audience_keys[str(i)] = key
        item = {"key": key, "name": get(p + "name", "")}
        if (get(p + "description") or "").strip():
            item["description"] = get(p + "description")
        if (get(p + "questions_per_attempt") or "").strip():
            item["questions_per_attempt"] = _int_or_text(get(p + "questions_per_attempt"))
        if get(p + "verify"):
            item["verify"] = get(p + "verify")
        if (get(p + "leaderboard_digits") or "0").strip() != "0":
            item["leaderboard_digits"] = _int_or_text(get(p + "leaderboard_digits"))
        if form.getlist(p + "units"):
            item["units"] = form.getlist(p + "units")
        quotas = _quota_rows(form, p + "quota")
        if quotas:
            item["quotas"] = quotas
        for field, prefix in (("prizes", "prize"), ("overall_prizes", "overall")):
            prizes = _prize_rows(form, p + prefix)
            if prizes:
                item[field] = prizes
        audiences.append(item)

    collective = _collective_rows(form, audience_keys)
    data: dict[str, Any] = {"format": 1, "contest": contest, "audiences": audiences, "rounds": rounds}
    if collective:
        data["collective_prizes"] = collective
    return data, problems


def _local_parts(value: dt.datetime) -> tuple[str, str]:
    local = value.astimezone(VN_TZ)
    return local.date().isoformat(), local.strftime("%H:%M:%S")


def definition_to_form(d: ContestDefinition | None) -> dict[str, Any]:
    """The values the setup form shows for a definition (None: a new contest's defaults)."""
    if d is None:
        return {"slug": "", "title": "", "organiser": "", "rules": "", "consent_text": "", "questions_per_attempt": 20,
                "time_limit_minutes": 15, "attempts_per_round": 1, "leaderboard_size": 50, "counted_attempt": "best",
                "review": "after_close", "citizen_id": "no", "overdue": "submit_saved", "shuffle_questions": True,
                "shuffle_options": True, "score_disclosure": "after_close", "ask_occupation": True,
                "live_leaderboard": True, "phone_channel": "sms", "email_domains": "", "daily_codes": 1000,
                "one_prize_per_person": False, "units": [], "tie_breaks": ["prediction", "time", "submitted"],
                "prediction_kind": "count", "prediction_prompt": "", "eligibility_who": "everyone",
                "eligibility_min_age": 18, "eligibility_units": [], "excluded_units": [],
                "rounds": [{"number": 1, "name": "", "opens_date": "", "opens_time": "07:00:00", "closes_date": "",
                            "closes_time": "23:59:59"}],
                "audiences": [{"key": "chung", "name": "Mọi người dự thi", "description": "", "questions_per_attempt": "",
                               "units": [], "quotas": [], "prizes": [], "overall_prizes": [], "verify": "",
                               "leaderboard_digits": 0}],
                "collective_prizes": []}
    rounds = []
    for r in d.rounds:
        od, ot = _local_parts(r.opens)
        cd, ct = _local_parts(r.closes)
        rounds.append({"number": r.number, "name": r.name, "opens_date": od, "opens_time": ot, "closes_date": cd,
                       "closes_time": ct})
    audiences = [{"key": a.key, "name": a.name, "description": a.description or "",
                  "questions_per_attempt": a.questions_per_attempt or "", "units": list(a.units),
                  "quotas": [{"category": c, "count": n} for c, n in a.quotas],
                  "prizes": [{"name": p.name, "count": p.count, "value": p.value or ""} for p in a.prizes],
                  "overall_prizes": [{"name": p.name, "count": p.count, "value": p.value or ""}
                                     for p in a.overall_prizes],
                  "verify": a.verify_setting or "", "leaderboard_digits": a.leaderboard_digits} for a in d.audiences]
    index_of = {a.key: str(i) for i, a in enumerate(d.audiences)}
    collective = [{"name": p.name, "measure": p.measure, "count": p.count, "among": list(p.among),
                   "value": p.value or "", "rounds": [str(n) for n in p.rounds],
                   "audience": index_of.get(p.audience, "") if p.audience else ""} for p in d.collective_prizes]
    return {"slug": d.slug, "title": d.title, "organiser": d.organiser or "", "rules": d.rules or "",
            "consent_text": d.consent_text or "", "questions_per_attempt": d.questions_per_attempt,
            "time_limit_minutes": d.time_limit_minutes, "attempts_per_round": d.attempts_per_round,
            "leaderboard_size": d.leaderboard_size, "counted_attempt": d.counted_attempt, "review": d.review,
            "citizen_id": d.citizen_id, "overdue": d.overdue, "shuffle_questions": d.shuffle_questions,
            "shuffle_options": d.shuffle_options, "score_disclosure": d.score_disclosure,
            "ask_occupation": d.ask_occupation, "phone_channel": d.verification.phone_channel,
            "email_domains": " ".join(d.verification.email_domains), "daily_codes": d.verification.daily_codes,
            "live_leaderboard": d.live_leaderboard, "one_prize_per_person": d.one_prize_per_person,
            "units": list(d.units), "tie_breaks": list(d.tie_breaks), "prediction_kind": d.prediction,
            "prediction_prompt": d.prediction_prompt or "", "eligibility_who": d.eligibility.who,
            "eligibility_min_age": d.eligibility.min_age, "eligibility_units": list(d.eligibility.units),
            "excluded_units": list(d.eligibility.excluded_units), "rounds": rounds, "audiences": audiences,
            "collective_prizes": collective}


def submitted_to_form(form) -> dict[str, Any]:
    """The values of a rejected form, to show it again exactly as typed."""
    values: dict[str, Any] = {k: form.get(k, "") for k in (
        "slug", "title", "organiser", "rules", "consent_text", "questions_per_attempt", "time_limit_minutes",
        "attempts_per_round", "leaderboard_size", "counted_attempt", "review", "score_disclosure", "citizen_id",
        "overdue", "prediction_kind", "prediction_prompt", "eligibility_who", "eligibility_min_age",
        "phone_channel", "email_domains", "daily_codes")}
    for key in ("shuffle_questions", "shuffle_options", "ask_occupation", "live_leaderboard",
                "one_prize_per_person"):
        values[key] = form.get(key) == "1"
    values["units"] = form.getlist("units")
    values["eligibility_units"] = form.getlist("eligibility_units")
    values["excluded_units"] = form.getlist("excluded_units")
    values["tie_breaks"] = [form.get(f"tie_break_{i}", "") for i in (1, 2, 3)]
    values["rounds"] = [{k: form.get(f"rounds-{i}-{k}", "") for k in ("number", "name", "opens_date", "opens_time",
                                                                      "closes_date", "closes_time")}
                        for i in range(row_count(form, "round_count", "rounds", ROUND_ROWS)[0])]
    values["audiences"] = [dict({k: form.get(f"audiences-{i}-{k}", "") for k in (
        "key", "name", "description", "questions_per_attempt", "verify", "leaderboard_digits")},
        units=form.getlist(f"audiences-{i}-units"),
        quotas=_typed_rows(form, f"audiences-{i}-quota", QUOTA_ROWS, ("category", "count")),
        prizes=_typed_rows(form, f"audiences-{i}-prize", PRIZE_ROWS, ("name", "count", "value")),
        overall_prizes=_typed_rows(form, f"audiences-{i}-overall", PRIZE_ROWS, ("name", "count", "value")))
        for i in range(row_count(form, "audience_count", "audiences", AUDIENCE_ROWS)[0])]
    values["collective_prizes"] = [
        dict(row, among=form.getlist(f"collective-{i}-among"), rounds=form.getlist(f"collective-{i}-rounds"))
        for i, row in _typed_rows(form, "collective", COLLECTIVE_ROWS, ("name", "measure", "count", "value", "audience"),
                                  with_index=True)]
    # Drop blank repeated rows; the template adds empty ones again.
    values["rounds"] = [r for r in values["rounds"] if any(str(v).strip() for k, v in r.items() if k != "number")]
    values["audiences"] = [a for a in values["audiences"] if a["key"].strip() or a["name"].strip()]
    return values


def _typed_rows(form, prefix: str, most: int, keys: tuple[str, ...], with_index: bool = False) -> list:
    """The rows of a repeated list as typed (a row with any field filled), to show them again."""
    rows = []
    for j in range(most):
        row = {k: form.get(f"{prefix}-{j}-{k}", "") for k in keys}
        if any(str(v).strip() for k, v in row.items() if k not in ("measure", "audience")) or \
                (with_index and form.getlist(f"{prefix}-{j}-among")):
            rows.append((j, row) if with_index else row)
    return rows


def unit_options(plan) -> list[tuple[str, str]]:
    """(id, label) of the unit groups and units a contest may offer or restrict."""
    options = [(g.id, f"Nhóm: {g.name}") for g in plan.unit_groups]
    defaults = set(default_unit_choices(plan))
    for unit in plan.units:
        if unit.external or (unit.parent and not plan.has_unit(unit.parent)):
            continue
        if unit.id in defaults or unit.kind in ("party_board", "front", "mass_organisation", "association",
                                                "department", "centre", "office", "commune", "town"):
            options.append((unit.id, unit.name))
    return options


# -- problems in words ----------------------------------------------------------------------------

_FIELD_WORDS = {
    "slug": "địa chỉ trang thi", "title": "tên cuộc thi", "organiser": "đơn vị tổ chức", "rules": "thể lệ",
    "consent_text": "nội dung đồng ý xử lý dữ liệu cá nhân", "questions_per_attempt": "số câu hỏi mỗi lượt",
    "time_limit_minutes": "thời gian làm bài", "attempts_per_round": "số lượt thi mỗi vòng",
    "leaderboard_size": "số người trên bảng xếp hạng", "tie_breaks": "tiêu chí phụ", "prediction": "câu dự đoán",
    "prompt": "nội dung", "eligibility": "người được dự thi", "who": "ai được dự thi", "min_age": "tuổi tối thiểu",
    "units": "đơn vị", "excluded_units": "đơn vị không được dự thi", "verification": "xác nhận người đăng ký",
    "daily_codes": "số mã gửi mỗi ngày", "email_domains": "tên miền thư công vụ", "number": "số vòng",
    "name": "tên", "opens": "ngày mở", "closes": "ngày đóng", "opens_time": "giờ mở", "closes_time": "giờ đóng",
    "key": "mã", "description": "mô tả", "quotas": "định mức câu hỏi", "prizes": "giải mỗi vòng",
    "overall_prizes": "giải toàn cuộc thi", "count": "số lượng", "value": "trị giá", "measure": "cách xét",
    "among": "đơn vị được xét", "rounds": "vòng xét giải", "audience": "đối tượng", "verify": "cách xác nhận",
    "leaderboard_digits": "số chữ số điện thoại hiện trên bảng", "citizen_id": "số căn cước",
    "score_disclosure": "xem điểm", "review": "xem lại đáp án", "counted_attempt": "lượt được tính",
    "overdue": "bài không nộp kịp",
}
_LISTS = {"rounds": "Vòng", "audiences": "Đối tượng", "collective_prizes": "Giải tập thể", "prizes": "giải",
          "overall_prizes": "giải toàn cuộc thi"}


def field_label(path: str) -> str:
    """A problem's place in words: ``rounds[1].closes`` → "Vòng 2: ngày đóng",
    ``audiences[0].prizes[2].count`` → "Đối tượng 1, giải 3: số lượng", ``contest.title`` → "Tên cuộc thi"."""
    parts = []
    for n, piece in enumerate(path.split(".")):
        match = re.fullmatch(r"([a-z_]+)\[([0-9]{1,4})\]", piece)
        if match and match.group(1) in _LISTS:
            parts.append(f"{_LISTS[match.group(1)]} {int(match.group(2)) + 1}")
        elif piece in _LISTS and (n == 0 or piece not in _FIELD_WORDS):
            parts.append("Vòng thi" if piece == "rounds" else _LISTS[piece])
        elif piece != "contest":
            parts.append(_FIELD_WORDS.get(piece, piece.replace("_", " ")))
    if not parts:
        return "Cuộc thi"
    head, *rest = parts
    text = head if not rest else (", ".join([head, *rest[:-1]]) + ": " + rest[-1])
    return text[:1].upper() + text[1:]


_MESSAGES = (
    (re.compile(r"^missing required field$"), lambda m: "chưa điền"),
    (re.compile(r"^must not be empty$"), lambda m: "không được để trống"),
    (re.compile(r"^longer than ([0-9]+) characters$"), lambda m: f"dài quá {m.group(1)} ký tự"),
    (re.compile(r"^must be a whole number ([0-9]+)–([0-9]+), not (.*)$", re.DOTALL),
     lambda m: f"cần một số nguyên từ {m.group(1)} đến {m.group(2)} (đang ghi {m.group(3)})"),
    (re.compile(r"^must be text, not (.*)$", re.DOTALL), lambda m: "cần ghi bằng chữ"),
    (re.compile(r"^(.*) is not one of (.*)$", re.DOTALL), lambda m: f"{m.group(1)} không phải một lựa chọn trong danh sách"),
    (re.compile(r"^'?([^']*)'? is not a unit or unit group of the plan.*$", re.DOTALL),
     lambda m: f"“{m.group(1)}” không có trong danh sách đơn vị của kế hoạch"),
    (re.compile(r"^'?([^']*)'? is not a unit of the plan.*$", re.DOTALL),
     lambda m: f"“{m.group(1)}” không có trong danh sách đơn vị của kế hoạch"),
    (re.compile(r"^round ([0-9]+) is defined twice$"), lambda m: f"vòng {m.group(1)} được khai báo hai lần"),
    (re.compile(r"^must be after opens$"), lambda m: "phải sau ngày giờ mở"),
    (re.compile(r"^round ([0-9]+) opens before round ([0-9]+) has closed.*$", re.DOTALL),
     lambda m: f"vòng {m.group(1)} mở trước khi vòng {m.group(2)} đóng; các vòng không được chồng lên nhau"),
    (re.compile(r"^there is no round ([0-9]+)$"), lambda m: f"không có vòng {m.group(1)}"),
    (re.compile(r"^'([^']*)' is used by another audience$"), lambda m: "trùng với một đối tượng khác"),
    (re.compile(r"^'([^']*)': 2–60 of a-z.*$", re.DOTALL),
     lambda m: "chỉ gồm chữ thường không dấu, số và dấu gạch ngang (2–60 ký tự); đặt lại tên cuộc thi hoặc địa chỉ"),
    (re.compile(r"^a tie-break is listed twice$"), lambda m: "một tiêu chí phụ được chọn hai lần"),
    (re.compile(r"^write at least one \[\[rounds\]\].*$", re.DOTALL), lambda m: "cần ít nhất một vòng thi có ngày mở và ngày đóng"),
    (re.compile(r"^write at least one \[\[audiences\]\].*$", re.DOTALL), lambda m: "cần ít nhất một đối tượng dự thi"),
    (re.compile(r"^the quotas add up to ([0-9]+) questions, more than the ([0-9]+) drawn per attempt$"),
     lambda m: f"các định mức cộng lại {m.group(1)} câu, nhiều hơn {m.group(2)} câu mỗi lượt thi"),
)


def message_vi(message: str) -> str:
    """The definition validator's message (written for the TOML file) in Vietnamese for the form;
    a message it does not know is kept, so nothing is hidden."""
    for pattern, words in _MESSAGES:
        match = pattern.match(message)
        if match:
            return words(match)
    return message
