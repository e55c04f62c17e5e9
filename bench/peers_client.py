"""The peers' load generator: the flow LimeSurvey's and Moodle's published figures were measured
with, run against ccch in a process of its own.

Each simulated user has fresh cookies, sends what a browser sends (``Accept-Encoding: gzip``
included, and decodes the answer), and **parses every form** it gets with an HTML parser — hidden
fields, radio groups, check boxes, selects — and fills it in as a person would (a choice for every
question, the visible text fields by their meaning, a honeypot left empty), rather than replaying
prepared requests:

- ``survey``: the poster's page, then the filled-in form; a completion is a thank-you page
  (``X-Survey-Result: stored``). LimeSurvey's reference: 19.4 completed responses a second.
- ``contest``: the landing page, the registration form (an audience without a code, "start now"
  left checked), the attempt page that answers it, one autosave of the answers (what the page's
  script does), the submission; a finished attempt is the result page
  (``X-Contest-Submission: accepted``). Moodle's reference: 9.5 finished attempts a second.

It prints one JSON line: completions, their rate and the multiple of the peer's figure, latency
percentiles, errors, the acknowledged tokens (for the caller's count check) and this process's own
CPU time — a client that used most of a core was the limit, not the server (the caller compares
it with the server's CPU time).

    python bench/peers_client.py survey --port P --target CODE --seconds 30 --users 50
    python bench/peers_client.py contest --port P --target SLUG --seconds 30 --users 50
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import time
import urllib.parse
from html.parser import HTMLParser

from contest_bench import Connection, percentile, run_client

PEERS = {"survey": ("LimeSurvey", 19.4), "contest": ("Moodle", 9.5)}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "Accept-Encoding": "gzip, deflate, br", "Accept-Language": "vi-VN,vi;q=0.9"}


class Form:
    def __init__(self, action: str, method: str):
        self.action, self.method = action, method.upper()
        self.fields: list[tuple[str, str]] = []  # hidden and pre-filled values, in order
        self.text: list[tuple[str, str]] = []  # (name, type) of visible text inputs
        self.radios: dict[str, list[str]] = {}
        self.checkboxes: dict[str, list[tuple[str, bool]]] = {}
        self.selects: dict[str, list[str]] = {}
        self.hidden_boxes: set[str] = set()  # fields inside an element hidden from people (honeypots)


class FormParser(HTMLParser):
    """Every form of a page with its controls."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: str | None = None
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or "", a.get("method") or "get"))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "div" and ("hidden" in a or "hp" in (a.get("class") or "").split() or a.get("aria-hidden") == "true"):
            self._hidden_depth += 1
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if self._hidden_depth and kind != "hidden":  # a honeypot: people do not see it
                form.hidden_boxes.add(name)
                return
            if kind == "hidden":
                form.fields.append((name, a.get("value", "")))
            elif kind == "radio":
                form.radios.setdefault(name, []).append(a.get("value", "on"))
            elif kind == "checkbox":
                form.checkboxes.setdefault(name, []).append((a.get("value", "on"), "checked" in a))
            elif kind in ("submit", "button", "reset"):
                return
            else:
                form.text.append((name, kind))
        elif tag == "select" and name:
            self._select = name
            form.selects[name] = []
        elif tag == "option" and self._select is not None and a.get("value"):
            form.selects[self._select].append(a["value"])
        elif tag == "textarea" and name:
            form.text.append((name, "textarea"))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "div" and self._hidden_depth:
            self._hidden_depth -= 1


def forms_of(body: bytes) -> list[Form]:
    parser = FormParser()
    parser.feed(body.decode("utf-8", "replace"))
    return parser.forms


TEXT_VALUES = {"full_name": lambda n: f"Người Dự Thi {chr(65 + n % 26)}{chr(65 + n // 26 % 26)}",
               "phone": lambda n: f"09{n:08d}", "birth_year": lambda n: "1985", "du_doan": lambda n: str(n % 5000)}


def fill(form: Form, number: int, rng: random.Random, *, choose: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The form as a person fills it in: every question answered, known text fields typed, check
    boxes that are checked left so, a consent box ticked; honeypots and free comments left empty."""
    data = list(form.fields)
    for name, kind in form.text:
        make = TEXT_VALUES.get(name)
        if make is not None and name not in form.hidden_boxes:
            data.append((name, make(number)))
    for name, values in form.radios.items():
        data.append((name, (choose or {}).get(name) or rng.choice(values)))
    for name, boxes in form.checkboxes.items():
        checked = [v for v, on in boxes if on]
        if not checked and (name in ("consent", "dong-y") or name.startswith("q")):
            checked = [rng.choice(boxes)[0]]
        data += [(name, v) for v in checked]
    for name, values in form.selects.items():
        if values:
            data.append((name, (choose or {}).get(name) or rng.choice(values)))
    return data


class User:
    def __init__(self, host: str, port: int):
        self.conn = Connection(host, port)
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []

    async def go(self, method: str, path: str, data=None, headers=None):
        r = await self.conn.request(method, path, cookies=self.cookies, form=data, headers={**BROWSER, **(headers or {})})
        self.cookies.update(r.cookies)
        self.latencies.append(r.seconds)
        if r.headers.get("content-encoding") == "gzip":
            r.body = gzip.decompress(r.body)
        return r


async def survey_user(host, port, code, number, rng, acked):
    user = User(host, port)
    page = await user.go("GET", f"/k/{code}")
    assert page.status == 200, page.status
    form = forms_of(page.body)[0]
    data = fill(form, number, rng)
    r = await user.go("POST", urllib.parse.urljoin(f"/k/{code}", form.action or f"/k/{code}"), data)
    if r.status == 200 and r.headers.get("x-survey-result") == "stored":
        acked.append(dict(form.fields).get("sid", ""))
        return user.latencies
    raise AssertionError(f"survey submission answered {r.status}: {r.body[:200]!r}")


async def contest_user(host, port, slug, number, rng, acked):
    user = User(host, port)
    base = f"/cuoc-thi/{slug}"
    landing = await user.go("GET", base)
    assert landing.status == 200, landing.status
    page = await user.go("GET", base + "/dang-ky")
    form = next(f for f in forms_of(page.body) if any(n == "phone" for n, _ in f.text))
    data = fill(form, number, rng, choose={"audience": "khach"})
    attempt = await user.go("POST", form.action or base + "/dang-ky", data)
    assert attempt.status == 200, (attempt.status, attempt.body[:300])
    form = next(f for f in forms_of(attempt.body) if f.radios or f.checkboxes)
    answers = fill(form, number, rng)
    saved = await user.go("POST", form.action.rsplit("/", 1)[0] + "/luu", answers,
                          {"X-Requested-With": "fetch", "Accept": "application/json"})
    assert saved.status == 200, (saved.status, saved.body[:200])
    result = await user.go("POST", form.action, answers)
    if result.status == 200 and result.headers.get("x-contest-submission") == "accepted":
        acked.append(form.action.split("/bai-thi/", 1)[1].split("/", 1)[0])
        return user.latencies
    raise AssertionError(f"submission answered {result.status}: {result.body[:200]!r}")


async def run(kind, host, port, target, users, seconds, first_number):
    rng = random.Random(first_number)
    acked: list[str] = []
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(first_number, first_number + 10_000_000))
    flow = survey_user if kind == "survey" else contest_user
    deadline = time.perf_counter() + seconds

    async def worker():
        while time.perf_counter() < deadline:
            try:
                latencies.extend(await flow(host, port, target, next(counter), rng, acked))
            except (AssertionError, ConnectionError, asyncio.IncompleteReadError, StopIteration) as error:
                errors.append(str(error)[:200])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(users)))
    return acked, latencies, errors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=PEERS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True, help="the poster's code (survey) or the contest's slug")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--first-number", type=int, default=50_000_000, help="first phone number suffix (unique per run)")
    args = parser.parse_args()
    cpu = time.process_time()
    acked, latencies, errors, elapsed = run_client(run(args.kind, args.host, args.port, args.target, args.users,
                                                       args.seconds, args.first_number))
    cpu = time.process_time() - cpu
    peer, reference = PEERS[args.kind]
    rate = len(acked) / elapsed
    print(json.dumps({"kind": args.kind, "completions": len(acked), "seconds": round(elapsed, 2),
                      "rate": round(rate, 1), "peer": peer, "peer_rate": reference,
                      "multiple": round(rate / reference, 1),
                      "p50_ms": round(percentile(latencies, 50) * 1000, 1) if latencies else None,
                      "p99_ms": round(percentile(latencies, 99) * 1000, 1) if latencies else None,
                      "errors": len(errors), "first_errors": errors[:3], "client_cpu_share": round(cpu / elapsed, 2),
                      "acknowledged": acked}))


if __name__ == "__main__":
    main()


def run_peers(kind: str, port: int, target: str, *, seconds: float, users: int, runs: int, server_pgid: int,
              server_cpu, first_number: int) -> list[dict]:
    """Run this client ``runs`` times as a separate process against the server (process group
    ``server_pgid``; ``server_cpu(pgid)`` gives its CPU seconds so far) and print, for each run,
    the rate, the multiple of the peer's figure and which side was the limit."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cores = os.cpu_count() or 1
    results = []
    for run_number in range(runs):
        before = server_cpu(server_pgid)
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), kind, "--port", str(port), "--target",
                               target, "--seconds", str(seconds), "--users", str(users), "--first-number",
                               str(first_number + run_number * 1_000_000)],
                              check=True, capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        server_share = (server_cpu(server_pgid) - before) / result["seconds"]
        client_share = result["client_cpu_share"]
        # One Python process cannot use more than one core: near it, the client is what limits.
        if client_share >= 0.9:
            limit = f"the client (it used {client_share:.0%} of a core; the server {server_share:.0%} of {cores} cores)"
        elif server_share >= 0.9 * (cores - client_share):
            limit = f"the server ({server_share:.0%} of {cores} cores; the client {client_share:.0%} of one)"
        else:
            limit = f"neither alone (server {server_share:.0%} of {cores} cores, client {client_share:.0%} of one)"
        result.update(server_cpu_share=round(server_share, 2), limit=limit)
        print(f"peers' flow ({kind}), run {run_number + 1}: {result['completions']:,} in {result['seconds']:.0f} s = "
              f"{result['rate']:,.1f}/s = {result['multiple']:.1f}x {result['peer']}'s {result['peer_rate']}/s; "
              f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms per request; {result['errors']} errors"
              + (f" ({result['first_errors'][0]})" if result["errors"] else "") + f"; limit: {limit}")
        results.append(result)
    return results
