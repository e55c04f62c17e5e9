"""Survey results in words (#18 part 2): charts and tables name questions by their prompts and
the survey by its title, never by keys such as "tiep-can.1", "mong-muon" or "sipas"."""

from __future__ import annotations

import html
import re

from ccch_survey_testing import answers, submit

from ccch_core.testing import login


def test_results_page_shows_prompts_not_keys(app, dep, poster, make_user):
    submit(app.test_client(), f"/k/{poster.code}", {**answers("4"), "q-linh-vuc": "ho-tich"})
    client = app.test_client()
    username, password = make_user(dep, "plan_admin")
    assert login(client, username, password).status_code == 302
    page = html.unescape(client.get("/khao-sat/sipas").get_data(as_text=True))
    visible = re.sub(r"<[^>]+>", " ", re.sub(r'(href|id|for|name|aria-labelledby|value)="[^"]*"', "", page))
    for key in ("tiep-can.1", "cong-chuc.2", "mong-muon.", "linh-vuc.", "sipas"):
        assert key not in visible, key
    assert "Khảo sát sự hài lòng" in visible
    svg = re.search(r"<svg .*?</svg>", page, re.DOTALL).group(0)
    assert re.search(r"<text[^>]*>Ông/Bà|<text[^>]*>[^<]*\w", svg)
    assert "tiep-can" not in svg
