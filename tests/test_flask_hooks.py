"""The app asks once per view or hook function whether it is a coroutine function (Flask asks
before every call: eleven times a request, issue #16), and still runs an ``async def`` view
through ``async_to_sync``."""

from __future__ import annotations

import flask.app
import pytest

from ccch_core.web import create_app


@pytest.fixture
def app(deployment_config):
    app = create_app(deployment_config, test_config={"TESTING": True})
    yield app
    app.extensions["ccch"].close()


def test_each_function_is_asked_once(app, monkeypatch):
    asked = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: asked.append(func) or real(func))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    first = len(asked)
    assert first >= 3  # the view and the hooks around it
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert len(asked) == first  # the same functions: not asked again


def test_a_coroutine_view_is_still_run_through_async_to_sync(app, monkeypatch):
    async def hello():
        return "xin chào"

    hello.ccch_access = "public"
    app.add_url_rule("/_t/async", "async_hello", hello)
    ran = []

    def to_sync(func):
        def run(*args, **kwargs):
            ran.append(func)
            coroutine = func(*args, **kwargs)
            try:
                coroutine.send(None)
            except StopIteration as done:
                return done.value
            raise AssertionError("the view awaited something")

        return run

    monkeypatch.setattr(app, "async_to_sync", to_sync)
    client = app.test_client()
    for _ in range(2):
        response = client.get("/_t/async")
        assert response.status_code == 200 and response.get_data(as_text=True) == "xin chào"
    assert ran == [hello, hello]


def test_per_request_closures_do_not_grow_the_memo(app):
    @app.route("/_t/closure")
    def closure():
        @flask.after_this_request
        def mark(response):
            response.headers["X-Mark"] = "1"
            return response

        return "ok"

    closure.ccch_access = "public"
    app.sync_memo_limit = 40
    client = app.test_client()
    for _ in range(100):
        assert client.get("/_t/closure").headers["X-Mark"] == "1"
    assert len(app.__dict__["_ccch_sync"]) <= 40
