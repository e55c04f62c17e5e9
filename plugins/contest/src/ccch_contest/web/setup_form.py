"""The contest manager's setup form ⇄ the definition's data.

The form is a flat HTML form; :func:`form_to_data` turns it into the same mapping a TOML file
gives, so one validator (``definition_from_dict``) checks both and reports problems at the same
paths (``rounds[1].closes``), which the template shows beside the fields.

Repeated parts are numbered fields: ``rounds-0-name``, ``audiences-1-quotas``… Quotas are written
one per line as ``Nhóm: số câu``; prizes one per line as ``Tên giải | số giải | trị giá``;
collective prizes as ``Tên giải | count hoặc rate | số giải | đơn vị, nhóm | trị giá | vòng: 1, 2 |
đối tượng: nhan-dan`` (the last three optional; the tags tell the rounds and the audience apart).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ccch_core.inputs import parse_int
from ccch_core.periods import VN_TZ
from ccch_core.text import fold

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


def _prizes(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    prizes, bad = [], []
    for line in _lines(text):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            bad.append(line)
            continue
        item: dict[str, Any] = {"name": parts[0], "count": _int_or_text(parts[1])}
        if len(parts) > 2 and parts[2]:
            item["value"] = parts[2]
        prizes.append(item)
    return prizes, bad


COLLECTIVE_FORMAT = ("Tên giải | count hoặc rate | số giải | mã đơn vị hoặc nhóm, cách nhau dấu phẩy | trị giá "
                     "| vòng: 1, 2 | đối tượng: mã đối tượng")
# Tags of a collective prize's optional parts, folded ("Vòng: 1, 2", "vong: 1,2", "rounds: 1").
ROUND_TAGS = ("vòng", "vong", "rounds")
AUDIENCE_TAGS = ("đối tượng", "doi tuong", "audience")


def _collective_line(line: str) -> tuple[dict[str, Any], str | None]:
    """A collective prize line ``Tên | count | 1 | units[ | trị giá][ | vòng: 1, 2][ | đối tượng: key]``:
    the prize's data, or the problem with the line. The optional parts after the units are told
    apart by their tag, so a prize without a value can still name its rounds."""
    parts = [p.strip() for p in line.split("|")]
    if len(parts) < 4:
        return {}, f"“{line}”: viết mỗi dòng “{COLLECTIVE_FORMAT}”"
    item: dict[str, Any] = {"name": parts[0], "measure": parts[1], "count": _int_or_text(parts[2]),
                            "among": [u.strip() for u in parts[3].split(",") if u.strip()]}
    for part in parts[4:]:
        tag, sep, rest = part.partition(":")
        tag = fold(tag) if sep else ""
        if tag in ROUND_TAGS:
            numbers = [n.strip() for n in rest.split(",") if n.strip()]
            if not numbers or not all(re.fullmatch(r"\d{1,4}", n) for n in numbers):
                return {}, (f"“{line}”: “{part}” — ghi các số vòng cách nhau dấu phẩy, ví dụ “vòng: 1, 2” "
                            "(bỏ phần này nếu giải xét mọi vòng)")
            item["rounds"] = [int(n) for n in numbers]
        elif tag in AUDIENCE_TAGS:
            if not rest.strip():
                return {}, f"“{line}”: “{part}” — ghi mã đối tượng, ví dụ “đối tượng: nhan-dan”"
            item["audience"] = rest.strip()
        elif part and "value" not in item:
            item["value"] = part
        elif part:
            return {}, f"“{line}”: “{part}” — mỗi giải chỉ có một trị giá; viết mỗi dòng “{COLLECTIVE_FORMAT}”"
    return item, None


def _collective_text(p) -> str:
    """A collective prize as the setup form's line (inverse of :func:`_collective_line`)."""
    parts = [p.name, p.measure, str(p.count), ", ".join(p.among)]
    if p.value:
        parts.append(p.value)
    if p.rounds:
        parts.append("vòng: " + ", ".join(str(n) for n in p.rounds))
    if p.audience:
        parts.append(f"đối tượng: {p.audience}")
    return " | ".join(parts)


def form_to_data(form, slug: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition data of a submitted setup form, and problems the form itself has (a
    line that is not ``Nhóm: số câu``…), keyed like the validator's paths."""
    problems: dict[str, str] = {}
    get = form.get
    contest: dict[str, Any] = {"slug": slug or (get("slug") or "").strip(), "title": get("title", "")}
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
    for i in range(audience_rows):
        p = f"audiences-{i}-"
        if not (get(p + "key") or "").strip() and not (get(p + "name") or "").strip():
            continue
        index = len(audiences)
        item = {"key": (get(p + "key") or "").strip(), "name": get(p + "name", "")}
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
        quotas = {}
        for line in _lines(get(p + "quotas", "")):
            category, sep, count = line.rpartition(":")
            if not sep or not category.strip():
                problems[f"audiences[{index}].quotas"] = f"“{line}”: viết mỗi dòng “Nhóm câu hỏi: số câu”"
                continue
            quotas[category.strip()] = _int_or_text(count)
        if quotas:
            item["quotas"] = quotas
        for field in ("prizes", "overall_prizes"):
            prizes, bad = _prizes(get(p + field, ""))
            if bad:
                problems[f"audiences[{index}].{field}"] = f"“{bad[0]}”: viết mỗi dòng “Tên giải | số giải | trị giá”"
            if prizes:
                item[field] = prizes
        audiences.append(item)

    collective = []
    for line in _lines(get("collective_prizes", "")):
        item, problem = _collective_line(line)
        if problem:
            problems["collective_prizes"] = problem
        else:
            collective.append(item)
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
                               "units": [], "quotas": "", "prizes": "", "overall_prizes": "", "verify": "",
                               "leaderboard_digits": 0}],
                "collective_prizes": ""}
    rounds = []
    for r in d.rounds:
        od, ot = _local_parts(r.opens)
        cd, ct = _local_parts(r.closes)
        rounds.append({"number": r.number, "name": r.name, "opens_date": od, "opens_time": ot, "closes_date": cd,
                       "closes_time": ct})
    audiences = [{"key": a.key, "name": a.name, "description": a.description or "",
                  "questions_per_attempt": a.questions_per_attempt or "", "units": list(a.units),
                  "quotas": "\n".join(f"{c}: {n}" for c, n in a.quotas),
                  "prizes": "\n".join(f"{p.name} | {p.count} | {p.value or ''}".rstrip(" |") for p in a.prizes),
                  "overall_prizes": "\n".join(f"{p.name} | {p.count} | {p.value or ''}".rstrip(" |")
                                              for p in a.overall_prizes),
                  "verify": a.verify_setting or "", "leaderboard_digits": a.leaderboard_digits} for a in d.audiences]
    collective = "\n".join(_collective_text(p) for p in d.collective_prizes)
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
        "collective_prizes", "phone_channel", "email_domains", "daily_codes")}
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
        "key", "name", "description", "questions_per_attempt", "quotas", "prizes", "overall_prizes", "verify",
        "leaderboard_digits")},
        units=form.getlist(f"audiences-{i}-units"))
        for i in range(row_count(form, "audience_count", "audiences", AUDIENCE_ROWS)[0])]
    # Drop blank repeated rows; the template adds empty ones again.
    values["rounds"] = [r for r in values["rounds"] if any(str(v).strip() for k, v in r.items() if k != "number")]
    values["audiences"] = [a for a in values["audiences"] if a["key"].strip() or a["name"].strip()]
    return values


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
