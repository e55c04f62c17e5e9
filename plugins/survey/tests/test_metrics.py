"""The survey's figure on the operator's /metrics page, added through the register_metrics hook."""

from __future__ import annotations

from ccch_survey_testing import submit
from prometheus_client.parser import text_string_to_metric_families


def responses(client) -> dict:
    text = client.get("/metrics").get_data(as_text=True)
    return {s.labels["survey"]: s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == "ccch_survey_responses_total"}


def test_responses_are_counted_per_survey_through_the_hook(app, poster):
    assert responses(app.test_client()) == {}
    for _ in range(3):
        assert submit(app.test_client(), f"/k/{poster.code}").status_code == 200  # stored: the thank-you page
    assert responses(app.test_client()) == {"sipas": 3.0}
