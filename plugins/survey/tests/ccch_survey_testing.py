"""Helpers shared by the survey plugin's test modules (imported as ``ccch_survey_testing``;
conftest.py puts this folder on ``sys.path``; the name is unique so it cannot clash)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SIPAS = ROOT / "examples" / "surveys" / "sipas.toml"
SCALE_KEYS = ("tiep-can.1", "tiep-can.2", "tiep-can.3", "thu-tuc.1", "thu-tuc.2", "cong-chuc.1", "cong-chuc.2",
              "cong-chuc.3", "ket-qua.1", "ket-qua.2", "gop-y.1", "gop-y.2", "chung")
REQUIRED_SCALE = tuple(k for k in SCALE_KEYS if k != "gop-y.2")
SATISFACTION_INDICATOR = '''

[[indicators]]
code = "KS1"
short_name = "Mức độ hài lòng của người dân"
text = "Chỉ số hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan hành chính đạt từ 90% trở lên"
kind = "ratio"
target = 90
applies_to = ["trung-tam-hcc", "bo-phan-mot-cua-xa"]
numerator = "Số câu trả lời Hài lòng và Rất hài lòng"
denominator = "Tổng số câu trả lời về mức độ hài lòng"
source = "plugin:survey_satisfaction"
period_type = "month"
'''

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SID_RE = re.compile(r'name="sid" value="([^"]+)"')


def open_form(client, path: str):
    """GET the survey page; returns (response, csrf token, submission id)."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return response, CSRF_RE.search(html).group(1), SID_RE.search(html).group(1)


def answers(score: str | dict = "5") -> dict:
    """Form data answering every required satisfaction question (one ``score``, or per key)."""
    return {f"q-{key}": (score.get(key, "5") if isinstance(score, dict) else score) for key in REQUIRED_SCALE}


def submit(client, path: str, data: dict | None = None, **extra):
    """Open the form and submit ``data`` (default: all 5) with its token and submission id."""
    _, token, sid = open_form(client, path)
    form = {"csrf_token": token, "sid": sid, "v": "1", **(answers() if data is None else data), **extra}
    return client.post(path, data=form)


def new_enrolment(dep, placement, label: str = "Máy tính bảng quầy 1", by: str = "vhtt") -> str:
    """An enrolment code for a kiosk placement, created as the officer's page creates one."""
    from ccch_survey.review import ENROL_LINK_PURPOSE
    from ccch_survey.store import create_enrolment, new_enrolment_code

    from ccch_core.privacy import keyed_hash

    code = new_enrolment_code()
    create_enrolment(dep.db, placement, keyed_hash(dep.secret_key, ENROL_LINK_PURPOSE, code), label, by=by,
                     minutes=15)
    return code


def enrol(client, dep, placement, label: str = "Máy tính bảng quầy 1"):
    """Enrol ``client`` as the placement's kiosk tablet through the real enrolment page (the code
    typed by hand); returns the answer (a 303 to the kiosk page, with the device secret's cookie)."""
    code = new_enrolment(dep, placement, label)
    page = client.get(f"/k/{placement.code}/dang-ky")
    assert page.status_code == 200, page.status_code
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    response = client.post(f"/k/{placement.code}/dang-ky", data={"csrf_token": token, "ma": f"{code[:4]}-{code[4:]}"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def count(db, table: str, where: str = "1", args=()) -> int:
    return db.execute(f"select count(*) from {table} where {where}", list(args)).fetchone()[0]


def store_response(dep, placement, scores: dict, *, when=None, sid=None, text=None, version=None):
    """Store one response directly (crafted data for arithmetic tests): ``scores`` maps question keys
    to option keys; ``when`` an aware datetime (default: 10:00 on 15 March 2024 in Vietnam)."""
    import datetime as dt
    import secrets

    from ccch_survey.settings import SurveySettings
    from ccch_survey.store import (
        Entry,
        Submission,
        get_survey,
        get_version,
        store_submission,
    )

    number = version or get_survey(dep.db, placement.survey_id).current_version
    entry = Entry(placement, "open", number, get_version(dep.db, placement.survey_id, number))
    values = {k: (v if isinstance(v, tuple) else (v,)) for k, v in scores.items()}
    if text:
        values.update(text)
    when = when or dt.datetime(2024, 3, 15, 3, tzinfo=dt.UTC)
    # Crafted data for arithmetic: no limit and no flag (test_trust.py tests those).
    return store_submission(dep.db, SurveySettings(responses_per_device_per_day=0,
                                                   submissions_per_address_per_hour=0,
                                                   flag_responses_per_address_per_hour=0, flag_identical_answers=0),
                            Submission(entry, values, sid or secrets.token_urlsafe(18), None, "test"), now=when)
