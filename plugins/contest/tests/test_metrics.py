"""The contest's figures on the operator's /metrics page, added through the register_metrics hook."""

from __future__ import annotations

from ccch_contest import attempts as A
from ccch_contest_testing import add_participant, answers_for
from prometheus_client.parser import text_string_to_metric_families


def figures(app) -> dict:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name.startswith("ccch_contest_")}


def test_registrations_and_attempts_are_counted_through_the_hook(dep, contest, make_app):
    app = make_app(dep)
    slug = (("contest", contest.slug),)
    assert figures(app)[("ccch_contest_registrations_total", slug)] == 0
    people = [add_participant(dep, contest, n) for n in range(3)]
    for person in people[:2]:
        attempt = A.start_attempt(dep, contest, person.id).attempt
        if person is people[0]:
            result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 3.0)
            assert result.outcome == "accepted"
    seen = figures(app)
    assert seen[("ccch_contest_registrations_total", slug)] == 3
    assert seen[("ccch_contest_attempts_total", (("state", "started"),))] == 2
    assert seen[("ccch_contest_attempts_total", (("state", "submitted"),))] == 1
    assert seen[("ccch_contest_attempts_open", ())] == 1
