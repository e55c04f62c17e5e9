"""One way of addressing the citizen (#18 part 6): the survey's questions say "Ông/Bà", so the
contact block, the anonymity note and the thank-you page do too — never "bạn" or "tôi"."""

from __future__ import annotations

import re

from ccch_survey_testing import answers, submit


def words(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_form_and_thanks_address_the_citizen_as_ong_ba(app, poster):
    client = app.test_client()
    form = words(client.get(f"/k/{poster.code}").get_data(as_text=True))
    assert "Ông/Bà" in form
    # "chúng tôi" is the agency speaking, and stays.
    assert not re.search(r"\bbạn\b|(?<!chúng )\btôi\b", form, re.IGNORECASE), re.findall(r".{30}\bbạn\b.{10}", form)
    thanks = words(submit(client, f"/k/{poster.code}", answers("4")).get_data(as_text=True))
    assert "Cảm ơn Ông/Bà đã góp ý" in thanks and "Ý kiến của Ông/Bà đã được ghi nhận" in thanks
    assert not re.search(r"\bbạn\b|(?<!chúng )\btôi\b", thanks, re.IGNORECASE)
