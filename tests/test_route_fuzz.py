"""A fuzz of every route, generated from the URL map (issue #17, part 3): no input gets a 500,
and no request takes more than 1 s of CPU.

Every installed plugin is enabled (as in test_access_all.py) on a deployment with real objects —
a published contest with its questions, a registered contestant with an attempt, a survey with a
poster and a response, a queued message, a unit contact — so that requests reach the handlers'
code rather than a 404. Then, for every route of the URL map and every method:

1. **A baseline** with real values, as anonymous and as each role. The form a page shows for the
   route (found by reading every page's HTML) gives a POST its fields and tokens; a link to the
   route with a query string gives a GET its query (``/xuat/bao-cao?period=…&format=…``).
2. **What the handler reads** is recorded: the app's request class keeps every key read from
   ``request.args``, ``request.form`` and ``request.files`` (through helpers too: ``_period()``,
   ``check_form(…, request.form)``). Those keys and the form's own fields are the parameters.
3. **The attack**: each path converter, query parameter and form field gets huge, negative,
   non-ASCII-digit (``²``, ``٣``), empty and 5,000-character values, and a repeated value. The
   role with the most access gets every value; each other role that reaches the handler gets two
   of them, in turn; roles the route refuses get one.

It fails on any 500 and on any request over 1 s of CPU (``time.process_time`` around the request:
a bound, not a benchmark; a runaway request is interrupted at 10 s). The keys the views read by
name (``request.args.get("trang")``) are also found by scanning their modules: one the fuzz did not
send fails the test, so a new parameter cannot be forgotten.
"""

from __future__ import annotations

import html.parser
import inspect
import io
import json
import re
import shutil
import time
from collections import defaultdict
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from click.testing import CliRunner
from flask import Request, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter

from ccch_core.accounts import Role
from ccch_core.plugins import installed_plugins
from ccch_core.testing import (
    PASSWORD,
    CpuTimeExceeded,
    cpu_limit,
    csrf_token,
    login,
    to_toml,
)

ROLES = [r.value for r in Role]
VALUES = (("huge", "99999999999999999999"), ("int64", "9223372036854775808"), ("negative", "-1"),
          ("superscript", "²"), ("arabic-indic", "٣"), ("empty", ""), ("long", "9" * 4999 + "x"))
"""What every converter and parameter gets (5,000 characters: 'long')."""
CPU_BOUND = 1.0
RUNAWAY = 10.0
SKIP_PARAMS = {"csrf_token": "test_access_all.py checks that every state-changing route refuses a bad token"}
LAST = ("contest_public.forget_view", "contest_public.erase_mine_view", "contest_manage.erase",
        "contest_manage.status", "survey.status", "survey.retire", "messages.cancel", "messages.contacts_remove",
        "auth.second_factor", "auth.login", "auth.logout")
"""Routes fuzzed after all others, in this order: they take down what the other routes need (the
contestant, the contest, the poster), throttle the address, end the sessions."""
UNREACHED: dict[str, str] = {
    "decision": "the contest's review queue shows its decision form only for flags of detection, and the fuzz's "
                "state has none; plugins/contest/tests/test_detection.py posts odd decisions and ids",
    "gui_lai": "the second form (resend the code) of the contest's code page, which the fuzz reaches only by its "
               "first form; plugins/contest/tests/test_verification.py resends until the limits refuse",
    "ma_tiep_tuc": "the second form (a written resume code) of the contest's /tiep-tuc; test_web_public.py and "
                   "test_verification.py post wrong, odd and over-limit codes",
}
"""Keys read by name in a view module that the fuzz may not reach, with the reason."""


class RecordingDict(ImmutableMultiDict):
    """The request's args, form and files, remembering every key the app read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: set[str] = set()

    def __getitem__(self, key):
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.seen.add(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):
        self.seen.add(key)
        return super().getlist(key, type)


class RecordingRequest(Request):
    parameter_storage_class = RecordingDict


class PageForms(html.parser.HTMLParser):
    """The forms of a page (action, method, fields with the values the page gives them, file
    fields) and its links."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": [], "files": [], "radios": {}, "unticked": []}
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                self._form["files"].append(name)
            elif kind == "radio":
                self._form["radios"].setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "on")))
            elif kind == "checkbox":
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "on")))
                elif all(k != name for k, _ in self._form["unticked"]):
                    self._form["unticked"].append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset"):
                self._form["fields"].append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in a, "options": [], "selected": []}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select["options"].append(value)
            if "selected" in a:
                self._select["selected"].append(value)
        elif tag == "textarea" and name:
            self._textarea = [name, []]
        elif tag == "button" and name and not any(k == name for k, _ in self._form["fields"]):
            self._form["fields"].append((name, a.get("value", "")))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            # A group of radio buttons none of which is ticked: the first choice, as a person would.
            named = {k for k, _ in self._form["fields"]}
            self._form["fields"].extend((k, v[0]) for k, v in self._form["radios"].items() if k not in named)
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["selected"] or self._select["options"][:1]
            self._form["fields"].extend((self._select["name"], v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append((self._textarea[0], "".join(self._textarea[1]).removeprefix("\n")))
            self._textarea = None


class Fuzz:
    """The app, one client per role, and what was learnt about each route."""

    def __init__(self, app, dep, values):
        self.app = app
        self.dep = dep
        self.values = values
        self.clients: dict[str, object] = {}
        self.tokens: dict[str, str] = {}
        self.forms: dict[str, dict[str, dict]] = defaultdict(dict)   # role -> action path -> form
        self.queries: dict[str, list] = {}                             # path -> query of a link to it
        self.reads: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        self.requests = 0
        self.slowest = (0.0, "")
        self.problems: list[str] = []
        self.last_reads: dict[str, set] = {}

    def sign_in(self, role):
        client = self.app.test_client()
        if role != "anonymous":
            assert login(client, role.replace("_", "-"), PASSWORD).status_code == 302, role
        self.clients[role] = client
        self.tokens[role] = csrf_token(client, "/dang-nhap")

    def send(self, role, method, url, data=None, note=""):
        client = self.clients[role]
        self.last_reads = {}
        start = time.process_time()
        try:
            # Each request from its own address, as from a botnet: the limits per address would
            # otherwise answer 429 before the handlers read what the fuzz sends.
            address = f"10.{self.requests >> 16 & 255}.{self.requests >> 8 & 255}.{self.requests & 255}"
            with cpu_limit(RUNAWAY, f"{method} {url[:120]}"):
                response = client.open(url, method=method, data=data, environ_base={"REMOTE_ADDR": address})
                # A streamed download (an export, a survey's CSV) does its work while it is read:
                # read it within the bound, and close it, or its request context outlives the test.
                response.get_data()
                response.close()
        except CpuTimeExceeded as exc:
            self.problems.append(f"{method} {url[:200]} as {role}{note}: {exc}")
            return None
        used = time.process_time() - start
        self.requests += 1
        where = f"{method} {url[:200]} as {role}{note}"
        if used > self.slowest[0]:
            self.slowest = (used, where)
        if response.status_code >= 500:
            self.problems.append(f"{where}: {response.status_code}")
        if used > CPU_BOUND:
            self.problems.append(f"{where}: {used:.2f} s of CPU")
        if method == "GET" and response.status_code == 200 and response.mimetype == "text/html":
            self.learn(role, url, response.get_data(as_text=True))
        return response

    def learn(self, role, url, page):
        parser = PageForms()
        parser.feed(page)
        for form in parser.forms:
            action = urlsplit(form["action"] or url)
            path = action.path or urlsplit(url).path
            if form["method"] == "post":
                self.forms[role].setdefault(path, {**form, "query": action.query})
        for link in parser.links:
            parts = urlsplit(link)
            if parts.query and not parts.netloc and parts.path:
                self.queries.setdefault(parts.path, parse_qsl(parts.query, keep_blank_values=True))


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    """Every installed plugin on a deployment with real objects, a client per role."""
    from ccch_testing import DUC_THO_PLAN, ROOT

    from ccch_core import accounts
    from ccch_core.cli import make_cli
    from ccch_core.config import load_config
    from ccch_core.contacts import add_contact
    from ccch_core.deployment import Deployment
    from ccch_core.messages import queue_message
    from ccch_core.plugins import make_plugin_manager
    from ccch_core.web import create_app

    folder = tmp_path_factory.mktemp("route-fuzz")
    shutil.copyfile(DUC_THO_PLAN, folder / "plan.toml")
    plugins = sorted(installed_plugins())
    (folder / "ccch.toml").write_text(to_toml({
        "deployment": {"name": "Fuzz", "plan": "plan.toml", "database": "ccch.db", "public_base_url": "https://x.example",
                       "plugins": plugins, "strict_plugins": True},
        "messages": {"channels": {"email": {"sender": "folder"}, "sms": {"sender": "folder"}}}}), encoding="utf-8")
    config = load_config(folder / "ccch.toml")
    cli = make_cli(folder / "ccch.toml")
    examples = ROOT / "examples"
    for command in (["contest", "load", examples / "duc-tho-2024" / "contest.toml", "--trial"],
                    ["contest", "questions", "import", "tim-hieu-cchc-2024", examples / "duc-tho-2024" / "questions.csv"],
                    ["contest", "publish", "tim-hieu-cchc-2024"],
                    ["survey", "load", examples / "surveys" / "sipas.toml"],
                    ["survey", "place", "sipas", "xa-an-dung.mot-cua", "--place", "Quầy tiếp nhận hồ sơ"],
                    ["survey", "place", "sipas", "xa-an-dung.mot-cua", "--place", "Quầy 2", "--kiosk"],
                    ["initiatives", "load", examples / "duc-tho-2024" / "initiatives.toml", "--trial"],
                    ["initiatives", "entries", "load", "sang-kien-cchc-2024",
                     examples / "duc-tho-2024" / "initiatives-entries.toml"]):
        result = CliRunner().invoke(cli, [str(c) for c in command])
        assert result.exit_code == 0, (command, result.output)
    dep = Deployment(config, pm=make_plugin_manager(config.plugins, strict=True))
    dep.migrate()
    dep.pm.hook.startup(deployment=dep)
    app = create_app(deployment_obj=dep, test_config={"TESTING": True})
    app.request_class = RecordingRequest

    @app.teardown_request
    def keep_reads(_error):
        for kind in ("args", "form", "files"):
            found = request.__dict__.get(kind)
            if isinstance(found, RecordingDict):
                state.last_reads[kind] = set(found.seen)

    for role in ROLES:
        unit = "xa-an-dung" if role == "unit_officer" else None
        accounts.create_user(dep.db, dep.plan, role.replace("_", "-"), PASSWORD, role, unit_id=unit)
    # The viewer account is a judge of the call for initiatives, with an entry to score.
    for command in (["initiatives", "panel", "add", "sang-kien-cchc-2024", "viewer", "--role", "judge"],
                    ["initiatives", "assign", "sang-kien-cchc-2024"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0, (command, result.output)
    code = dep.db.execute("select code from survey_placements where mode = 'poster'").fetchone()[0]
    contact = add_contact(dep, "xa-an-dung", "email", "van-thu@andung.example.vn", "Văn thư")
    message_id = queue_message(dep, channel="email", address="van-thu@andung.example.vn", template="test",
                               params={"deployment": "Fuzz"}, unit_id="xa-an-dung", source="fuzz")
    state = Fuzz(app, dep, {})
    for role in ["anonymous", *ROLES]:
        state.sign_in(role)
    # A contestant with an attempt, and a survey response, through the public pages.
    anonymous = state.clients["anonymous"]
    slug = "tim-hieu-cchc-2024"
    page = anonymous.get(f"/cuoc-thi/{slug}/dang-ky").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = anonymous.post(f"/cuoc-thi/{slug}/dang-ky", data={
        "csrf_token": token, "full_name": "Trần Thị Mai", "phone": "0912000111", "birth_year": "1985",
        "audience": "cbccvc", "unit_id": "xa-an-dung", "consent": "1", "start_now": "1"})
    # The example verifies with a code to the phone: the registration answers with the code page itself.
    assert sent.status_code == 200 and 'name="ma"' in sent.get_data(as_text=True), sent.status_code
    otp = json.loads(dep.db.execute("select params from messages where template = 'otp'").fetchone()[0])["code"]
    page = sent.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    started = anonymous.post(f"/cuoc-thi/{slug}/xac-nhan", data={"csrf_token": token, "ma": otp})
    assert started.status_code == 200, started.status_code
    attempt = re.search(r'data-canonical="/cuoc-thi/[^/]+/bai-thi/([^"]+)"', started.get_data(as_text=True)).group(1)
    parser = PageForms()
    parser.feed(anonymous.get(f"/k/{code}").get_data(as_text=True))
    answer = next(f for f in parser.forms if f["method"] == "post")
    assert anonymous.post(f"/k/{code}", data=MultiDict(answer["fields"])).status_code == 200
    participant, attempt_id = dep.db.execute("select participant_id, id from contest_attempts").fetchone()
    kiosk = dep.db.execute("select code from survey_placements where mode = 'kiosk'").fetchone()[0]
    state.values = {
        "slug": [slug, "sang-kien-cchc-2024"], "token": [attempt], "pid": [str(participant)], "aid": [str(attempt_id)],
        "number": ["1"],
        "key": [dep.db.execute("select key from contest_questions limit 1").fetchone()[0]],
        "fmt": ["csv", "svg", "xlsx"], "name": ["participants", "measurements"],
        "filename": ["app.css", "contest.css", "survey.css"], "period_text": ["2024-03"],
        "unit_id": ["xa-an-dung", "phong-vhtt"],  # Phòng VH-TT: the one that sends further reports (deliveries)
        "code": [code, kiosk], "survey_id": ["sipas"], "version": ["1"],
        "response_id": [str(dep.db.execute("select id from survey_responses").fetchone()[0])],
        "message_id": [str(message_id)], "contact_id": [str(contact.id)],
        "entry_id": [str(dep.db.execute("select min(id) from initiative_entries").fetchone()[0])],
        "assignment_id": [str(dep.db.execute("select min(id) from initiative_assignments").fetchone()[0])],
    }
    """Real values for each converter; where there are several, each route takes the one it answers
    best to (a poster's code or a kiosk's, a format the route has)."""
    sid = dict(answer["fields"])["sid"]
    state.base_queries = {"survey_public.token": [("sid", sid)], "export.download_report": [("period", "2024-03")],
                          "export.data_download": [("period", "2024-03")]}
    """Queries no page links to (a kiosk's script asks for a token; the export page is a form)."""
    yield state
    dep.close()


def url_of(rule, values) -> str:
    """The rule's path with ``values`` (a converter without one: 1 for a number, else a code that
    names nothing)."""

    def value(match):
        name = match.group(1)
        if name not in values:
            return "1" if isinstance(rule._converters[name], IntegerConverter) else "khong-co"
        return quote(values[name], safe="")

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", value, rule.rule)


def ordered_routes(app):
    rules = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((rule, method))
    return sorted(rules, key=lambda item: (item[0].endpoint in LAST, LAST.index(item[0].endpoint)
                                           if item[0].endpoint in LAST else 0, item[1] != "GET", item[0].rule))


def reaches(response) -> bool:
    """Whether the request got past the route's access check."""
    if response is None:
        return False
    to_login = response.status_code == 302 and "/dang-nhap" in response.headers.get("Location", "")
    return response.status_code not in (403, 405) and not to_login


ORDER = ["anonymous", "system_admin", "plan_admin", "contest_manager", "unit_officer", "viewer"]


def candidates(state, rule) -> list[dict[str, str]]:
    """The ways to fill the rule's converters with real values (one, unless a converter has several)."""
    combos: list[dict[str, str]] = [{}]
    for name in sorted(rule.arguments):
        options = state.values.get(name) or (["1"] if isinstance(rule._converters[name], IntegerConverter)
                                             else ["khong-co"])
        combos = [{**combo, name: option} for combo in combos for option in options]
    return combos


def base_request(state, rule, method, role, url, ticked=False):
    """(query, form data, files) of the route's baseline for ``role``: the page's form for a POST
    (its fields, the role's own token; ``ticked``: with the first box of each unticked group
    ticked too, as a person ticks "I confirm"), a link's query for a GET."""
    path = urlsplit(url).path
    query = list(state.base_queries.get(rule.endpoint, state.queries.get(path, [])))
    data: list = []
    files: list = []
    if method != "GET":
        form = state.forms[role].get(path) or next((f[path] for f in state.forms.values() if path in f), None)
        if form is not None:
            query = parse_qsl(form["query"], keep_blank_values=True) or query
            data = [(k, v) for k, v in form["fields"] if k != "csrf_token" or path in state.forms[role]]
            if ticked:
                data += [(k, v) for k, v in form["unticked"] if all(k != name for name, _ in data)]
            files = [(name, "tep.csv") for name in form["files"]]
        if not any(k == "csrf_token" for k, _ in data):
            data.append(("csrf_token", state.tokens[role]))
    return query, data, files


def attacks(kind, key, index, reached, refused):
    """(role, (label, value)) pairs to send for one converter or parameter."""
    plan = []
    if reached:
        plan += [(reached[0], value) for value in VALUES]
        if kind != "path":  # a path has one value per converter
            plan.append((reached[0], ("repeated", None)))
        for offset, role in enumerate(reached[1:]):
            turn = (index + offset) * 2
            plan += [(role, VALUES[turn % len(VALUES)]), (role, VALUES[(turn + 1) % len(VALUES)])]
    if index == 0:
        plan += [(role, VALUES[0]) for role in refused]
    return plan


def test_every_route_survives_every_odd_input(fuzz):
    state = fuzz
    routes = ordered_routes(state.app)
    chosen: dict[str, dict[str, str]] = {}
    # Every page first, as every role: the forms and links the requests below start from, and for
    # a converter with several real values, the one the route answers to.
    for rule, method in routes:
        if method != "GET":
            continue
        best = None
        for values in candidates(state, rule):
            statuses = [state.send(role, "GET", url_of(rule, values)) for role in ORDER]
            score = sum(1 for r in statuses if r is not None and r.status_code < 400)
            if best is None or score > best[0]:
                best = (score, values)
        chosen[rule.rule] = best[1]
    sent_keys: set[str] = set()
    targets_sent = 0
    for rule, method in routes:
        values = chosen.get(rule.rule)
        if values is None:  # a POST-only route: the values it answers best to, as system_admin
            scored = []
            for option in candidates(state, rule):
                url = url_of(rule, option)
                response = send(state, "system_admin", method, url, *base_request(state, rule, method, "system_admin", url),
                                " (choosing values)")
                scored.append((response is not None and response.status_code not in (404, 410), option))
            values = next((option for ok, option in scored if ok), scored[0][1])
        url = url_of(rule, values)
        reached, keys = [], {"args": set(), "form": set(), "files": set()}
        bases = {}
        for role in ORDER:
            bases[role] = base_request(state, rule, method, role, url)
            query, data, files = bases[role]
            response = send(state, role, method, url, query, data, files, " (baseline)")
            for kind, found in state.last_reads.items():
                keys[kind].update(found)
            ticked = base_request(state, rule, method, role, url, ticked=True)
            if ticked != bases[role]:  # the boxes ticked: deeper, unless that form is refused and the other not
                deeper = send(state, role, method, url, *ticked, " (baseline, boxes ticked)")
                for kind, found in state.last_reads.items():
                    keys[kind].update(found)
                if deeper is not None and (deeper.status_code < 400 or response is None or response.status_code >= 400):
                    bases[role], response = ticked, deeper
                    query, data, files = ticked
            keys["args"].update(k for k, _ in query)
            if method != "GET":
                keys["form"].update(k for k, _ in data)
            if reaches(response):
                reached.append(role)
                if files:  # the same form without its file (a definition may come as text instead)
                    send(state, role, method, url, query, data, [], " (baseline without files)")
                    for kind, found in state.last_reads.items():
                        keys[kind].update(found)
        # The path's converters, then every parameter.
        targets = [("path", arg) for arg in sorted(rule.arguments)]
        targets += [(kind, key) for kind in ("args", "form", "files") for key in sorted(keys[kind])
                    if key not in SKIP_PARAMS and (kind != "form" or method != "GET")]
        # Rows of one repeated list (``audiences-1-prize-3-name``, ``q-12-option-4-label``) are read by
        # the same code: the first field of each family is attacked, the others only ride along in
        # the baseline (a setup form of 150 row fields made 3,000 requests of the same handling).
        families: set[tuple[str, str]] = set()
        kept = []
        for kind, key in targets:
            family = (kind, re.sub(r"[0-9]+", "N", key)) if kind != "path" else (kind, key)
            if family in families:
                sent_keys.add(key)
                continue
            families.add(family)
            kept.append((kind, key))
        targets = kept
        refused = [r for r in ORDER if r not in reached]
        targets_sent += len(targets)
        for index, (kind, key) in enumerate(targets):
            sent_keys.add(key)
            for role, (label, value) in attacks(kind, key, index, reached, refused):
                query, data, files = bases[role]
                attack_url, attack_query, attack_data, attack_files = url, list(query), list(data), list(files)
                if kind == "path":
                    attack_url = url_of(rule, {**values, key: value})
                elif kind == "files":
                    name = "tep.csv" if value is None else f"{value[:200]}.csv"
                    attack_files = [(k, n) for k, n in attack_files if k != key] + [(key, name)]
                else:
                    pairs = attack_query if kind == "args" else attack_data
                    current = [v for k, v in pairs if k == key]
                    pairs[:] = [(k, v) for k, v in pairs if k != key]
                    if label == "repeated":
                        pairs += [(key, "٣"), (key, current[0] if current else "1"), (key, "9" * 5000)]
                    else:
                        pairs.append((key, value))
                send(state, role, method, attack_url, attack_query, attack_data, attack_files, f" ({kind} {key}={label})")
    # The keys views read by name were all sent.
    missing = sorted(key for key in read_by_name(state.app) if key not in sent_keys and key not in UNREACHED
                     and key not in SKIP_PARAMS)
    print(f"\nroute fuzz: {len(routes)} route-method pairs, {targets_sent} converters and parameters, "
          f"{state.requests} requests, slowest {state.slowest[0]:.3f} s CPU ({state.slowest[1]})")
    assert not state.problems, f"{len(state.problems)} problem(s):\n" + "\n".join(state.problems[:60])
    assert not missing, ("views read these keys but the fuzz never sent them (give the route a base value or "
                         f"list the key in UNREACHED with the reason): {missing}")
    assert state.requests > 3000


def send(state, role, method, url, query, data, files, note):
    if query:
        url = f"{url}?{urlencode(query)}"
    if method == "GET":
        return state.send(role, method, url, None, note)
    payload = list(data) + [(name, (io.BytesIO(b"key,prompt\n1,2\n"), filename)) for name, filename in files]
    return state.send(role, method, url, MultiDict(payload), note)


_READ_BY_NAME = re.compile(r"""request\.(?:args|form|values|files)(?:\.get(?:list)?\(|\[)\s*["']([^"']+)["']"""
                           r"""|["']([^"']+)["']\s+(?:not\s+)?in\s+request\.(?:args|form|values|files)\b"""
                           r"""|\b(?:int|id|period|page)_arg\(\s*["']([^"']+)["']""")


def read_by_name(app) -> set[str]:
    """The keys the views' modules read by name from the request (``request.args.get("trang")``,
    ``request.form["sid"]``, ``"v" in request.form``, ``id_arg("response_id", …)``)."""
    modules = {inspect.getmodule(inspect.unwrap(view)) for view in app.view_functions.values()}
    found: set[str] = set()
    for module in modules:
        if module is None or not module.__name__.startswith("ccch"):
            continue  # Flask's own static view
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            continue
        for match in _READ_BY_NAME.finditer(source):
            found.add(match.group(1) or match.group(2) or match.group(3))
    return found


def test_the_scan_finds_what_views_read(fuzz):
    """The cross-check above is only as good as the scan: it must see the keys known to be read."""
    keys = read_by_name(fuzz.app)
    assert {"trang", "vong", "v", "sid", "response_id", "period", "ky", "doi-tuong"} <= keys
