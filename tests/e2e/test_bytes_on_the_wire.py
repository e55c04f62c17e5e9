"""Bytes on the wire in a real browser (issue #20): Chromium asks for gzip as phones do, decodes the
survey page the server assembled from stored compressed parts and never-compressed tokens, applies
the content-hashed stylesheet that is cached for a year, and the whole first visit stays under
6 KB as Chromium counts it (headers and encoded bodies)."""

from __future__ import annotations

import re

from .conftest import ROOT, ccch

PLUGINS = ("survey",)


def test_citizen_first_visit_is_small_and_renders(server, browser):
    ccch(server.config, "survey", "load", ROOT / "examples" / "surveys" / "sipas.toml")
    code = ccch(server.config, "survey", "place", "sipas", "xa-an-dung.mot-cua", "--place", "Quầy 1").split()[0]
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True)
    page = phone.new_page()
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(f"{server.base}/k/{code}")
    page.wait_for_load_state("load")
    assert "hài lòng" in page.content()
    by_url = {r.url: r for r in responses}
    document = by_url[f"{server.base}/k/{code}"]
    assert document.response().headers["content-encoding"] == "gzip"
    stylesheets = [r for u, r in by_url.items() if u.endswith(".css")]
    assert len(stylesheets) == 1 and re.search(r"/static/public\.[0-9a-f]{12}\.css$", stylesheets[0].url)
    css = stylesheets[0].response().headers
    assert css["cache-control"] == "public, max-age=31536000, immutable" and css["content-encoding"] == "gzip"
    # The stylesheet applied: public.css sets the page's width limit on <main>.
    assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") != "none"
    total = sum(r.sizes()["responseHeadersSize"] + r.sizes()["responseBodySize"] for r in responses)
    assert total <= 6144, f"{total} bytes on the first visit"
    # The form works: the token spliced into the compressed page is read back by the server.
    for fieldset in page.locator("fieldset[data-required]").all():
        name = fieldset.get_attribute("id")
        page.check(f"input[name='{name}'][value='5']")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "cảm ơn" in page.content().lower()
    phone.close()
