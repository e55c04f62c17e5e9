"""The setup form loses nothing: a definition shown in the web UI's setup form and saved again
unchanged, as a browser would submit it, is the same definition — for the example contest and for
one that uses every optional field (a collective prize's rounds and audience among them)."""

from __future__ import annotations

import copy
from html.parser import HTMLParser

import pytest
from ccch_contest.contests import get_contest
from ccch_contest.definition import definition_from_dict
from ccch_contest.web.setup_form import definition_to_form, form_to_data
from ccch_contest_testing import example_document, load_contest
from werkzeug.datastructures import MultiDict

from ccch_core.testing import csrf_token, login


class FormFields(HTMLParser):
    """The fields a browser submits for the first <form method="post"> of a page, untouched."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.in_form = False
        self.select: dict | None = None
        self.textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self.select = {"name": a.get("name"), "multiple": "multiple" in a, "options": [], "chosen": []}
        elif tag == "option" and self.select is not None:
            self.select["options"].append(a.get("value") or "")
            if "selected" in a:
                self.select["chosen"].append(a.get("value") or "")
        elif tag == "textarea":
            self.textarea = [a.get("name"), ""]

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select is not None:
            s = self.select
            chosen = s["chosen"] if s["multiple"] else (s["chosen"][-1:] or s["options"][:1])
            self.fields += [(s["name"], v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # A browser drops one newline right after <textarea>.
            self.fields.append((name, text.removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data


def every_field_document() -> dict:
    """The example contest with every optional field set, most away from its default."""
    doc = copy.deepcopy(example_document())
    doc["contest"].update(
        slug="moi-truong-day-du", counted_attempt="first", attempts_per_round=3, review="never", score_disclosure="never",
        citizen_id="required", ask_occupation=False, live_leaderboard=False, leaderboard_size=25,
        one_prize_per_person=True, overdue="discard", shuffle_questions=False, shuffle_options=False,
        tie_breaks=["time", "submitted", "prediction"], time_limit_minutes=12, questions_per_attempt=18,
        consent_text="Tôi đồng ý cho Ban Tổ chức xử lý dữ liệu cá nhân của tôi để tổ chức cuộc thi.",
    )
    doc["contest"]["prediction"] = {"kind": "percent", "prompt": "Bao nhiêu phần trăm người dự thi đúng hết?"}
    doc["contest"]["eligibility"] = {"who": "listed_units", "min_age": 16, "units": ["cac-xa-thi-tran"],
                                     "excluded_units": ["phong-noi-vu"]}
    doc["contest"]["verification"] = {"phone_channel": "zalo", "email_domains": ["hatinh.gov.vn", "gov.vn"],
                                      "daily_codes": 500}
    doc["audiences"][0]["questions_per_attempt"] = 18
    doc["audiences"][0]["leaderboard_digits"] = 2
    doc["audiences"][1]["verify"] = "none"
    doc["audiences"][1]["overall_prizes"] = [{"name": "Giải Đặc biệt", "count": 1, "value": "2.000.000 đồng"},
                                             {"name": "Giải Nhất toàn cuộc thi", "count": 2}]
    doc["audiences"][1]["prizes"].append({"name": "Giải Triển vọng", "count": 4})
    doc["collective_prizes"][0].update(rounds=[1, 2], audience="nhan-dan")
    doc["collective_prizes"][1].update(rounds=[4], audience="cbccvc")
    doc["collective_prizes"].append({"name": "Giải tập thể không kèm tiền thưởng", "measure": "count", "count": 2,
                                     "among": ["cac-xa-thi-tran", "phong-ban-nganh-huyen"], "rounds": [3]})
    return doc


@pytest.fixture
def manager(dep, make_app, make_user):
    client = make_app(dep).test_client()
    username, password = make_user(dep, "contest_manager", None)
    assert login(client, username, password).status_code == 302
    return client


@pytest.mark.parametrize("document", [example_document, every_field_document], ids=["example", "every-field"])
def test_setup_form_round_trip_loses_nothing(dep, manager, document):
    contest = load_contest(dep, document(), questions=None, publish=False)
    before = contest.definition
    url = f"/cuoc-thi/quan-ly/{contest.slug}/thiet-lap"
    page = manager.get(url)
    assert page.status_code == 200
    parser = FormFields()
    parser.feed(page.get_data(as_text=True))
    form = MultiDict(parser.fields)
    # The page carries its own form token (a second GET would sign another one when the second turns).
    assert form.get("csrf_token")
    response = manager.post(url, data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    after = get_contest(dep, contest.slug).definition
    lost = {f.name: (getattr(before, f.name), getattr(after, f.name)) for f in type(before).__attrs_attrs__
            if getattr(after, f.name) != getattr(before, f.name)}
    assert not lost
    assert after == before


def test_collective_prize_rounds_and_audience_survive_the_form_functions(dep):
    """definition → form values (rows of fields: rounds ticked, the audience chosen by its place in
    the form) → submitted form → definition."""
    doc = example_document()
    doc["collective_prizes"][0].update(rounds=[1, 2], audience="nhan-dan")
    before = definition_from_dict(doc, dep.plan)
    values = definition_to_form(before)
    first = values["collective_prizes"][0]
    assert first["rounds"] == ["1", "2"] and first["audience"] == "1" and first["measure"] == "count"
    form = MultiDict({"title": values["title"], "prediction_kind": "count", "audience_count": "2",
                      "audiences-0-key": "cbccvc", "audiences-0-name": "CB", "audiences-1-key": "nhan-dan",
                      "audiences-1-name": "Nhân dân", "round_count": str(len(values["rounds"]))})
    for i, r in enumerate(values["rounds"]):
        for key, value in r.items():
            form[f"rounds-{i}-{key}"] = str(value)
    for i, c in enumerate(values["collective_prizes"]):
        for key in ("name", "measure", "count", "value", "audience"):
            form[f"collective-{i}-{key}"] = str(c[key])
        form.setlist(f"collective-{i}-among", c["among"])
        form.setlist(f"collective-{i}-rounds", c["rounds"])
    data, problems = form_to_data(form, before.slug)
    assert not problems
    after = definition_from_dict(data, dep.plan)
    assert after.collective_prizes == before.collective_prizes
    assert after.collective_prizes[0].rounds == (1, 2) and after.collective_prizes[0].audience == "nhan-dan"


def test_a_contest_is_created_without_typing_a_code(dep, manager):
    """Title, a round, an audience by name, a prize row, a collective prize by unit: the address and
    the audience key are made from the names; nothing is typed as syntax."""
    url = "/cuoc-thi/quan-ly/tao"
    form = MultiDict({"csrf_token": csrf_token(manager, url), "title": "Tìm hiểu cải cách hành chính năm 2025",
                      "questions_per_attempt": "10", "time_limit_minutes": "15", "attempts_per_round": "1",
                      "leaderboard_size": "50", "prediction_kind": "none", "eligibility_who": "everyone",
                      "eligibility_min_age": "18", "phone_channel": "sms", "daily_codes": "1000",
                      "round_count": "1", "rounds-0-number": "1", "rounds-0-name": "Tuần 1",
                      "rounds-0-opens_date": "2025-03-03", "rounds-0-opens_time": "07:00:00",
                      "rounds-0-closes_date": "2025-03-09", "rounds-0-closes_time": "23:59:59",
                      "audience_count": "1", "audiences-0-key": "", "audiences-0-name": "Cán bộ, công chức, viên chức",
                      "audiences-0-prize-0-name": "Giải Nhất", "audiences-0-prize-0-count": "1",
                      "audiences-0-prize-0-value": "1.000.000 đồng",
                      "audiences-0-quota-0-category": "Văn bản", "audiences-0-quota-0-count": "3",
                      "collective-0-name": "Xã có nhiều người dự thi nhất", "collective-0-measure": "count",
                      "collective-0-count": "1", "collective-0-audience": "0"})
    form.setlist("collective-0-among", ["cac-xa-thi-tran"])
    form.setlist("collective-0-rounds", ["1"])
    response = manager.post(url, data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    contest = get_contest(dep, "tim-hieu-cai-cach-hanh-chinh-nam-2025")
    d = contest.definition
    assert [a.key for a in d.audiences] == ["can-bo-cong-chuc-vien-chuc"]
    assert [(p.name, p.count, p.value) for p in d.audiences[0].prizes] == [("Giải Nhất", 1, "1.000.000 đồng")]
    assert dict(d.audiences[0].quotas) == {"Văn bản": 3}
    (prize,) = d.collective_prizes
    assert (prize.among, prize.rounds, prize.audience) == (("cac-xa-thi-tran",), (1,), "can-bo-cong-chuc-vien-chuc")
    page = manager.get(f"/cuoc-thi/quan-ly/{contest.slug}/thiet-lap").get_data(as_text=True)
    assert "cac-xa-thi-tran |" not in page and "Mã đối tượng" not in page  # no syntax, no code field


def test_problems_are_named_in_words(dep, manager):
    contest = load_contest(dep, example_document(), questions=None, publish=False)
    url = f"/cuoc-thi/quan-ly/{contest.slug}/thiet-lap"
    parser = FormFields()
    parser.feed(manager.get(url).get_data(as_text=True))
    form = MultiDict(parser.fields)
    form["collective-0-count"] = "0"
    form["time_limit_minutes"] = "abc"
    response = manager.post(url, data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Giải tập thể 1: số lượng: cần một số nguyên từ 1 đến" in html
    assert "Thời gian làm bài: cần một số nguyên từ 1 đến 600 (đang ghi &#39;abc&#39;)" in html
    assert "collective_prizes[0]" not in html.split('<form')[0]  # the summary names places in words
