"""``/metrics``: scraped with Flask's test client and parsed with the Prometheus text parser; who may
read it; the request counts by group; the outbox, database and plugin figures; the hook."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ccch_core import hookimpl, metrics
from ccch_core.config import ConfigError, config_from_dict
from ccch_core.plugins import AvailablePlugin
from ccch_core.storage import utc_now_iso, write_transaction


def scrape(client, **kwargs) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_requests_are_counted_by_route_group_and_status(make_deployment, make_app):
    app = make_app(make_deployment())
    client = app.test_client()
    for _ in range(3):
        assert client.get("/dang-nhap").status_code == 200
    assert client.get("/").status_code == 302  # to the login page
    assert client.get("/khong-co-trang-nay").status_code == 404
    for _ in range(5):
        assert client.get("/healthz").status_code == 200  # not counted: it stays as cheap as it was
    figures = scrape(client)
    counts = figures["ccch_http_request_duration_seconds_count"]
    assert counts[(("group", "auth"), ("status", "2xx"))] == 3
    assert counts[(("group", "dashboard"), ("status", "3xx"))] == 1
    assert counts[(("group", "unmatched"), ("status", "4xx"))] == 1
    assert not any(("group", "core") in key for key in counts)
    assert figures["ccch_http_request_duration_seconds_sum"][(("group", "auth"), ("status", "2xx"))] > 0
    assert figures["ccch_http_request_duration_seconds_bucket"][
        (("group", "auth"), ("le", "+Inf"), ("status", "2xx"))] == 3
    # The scrape itself is counted, after it answered.
    assert scrape(client)["ccch_http_request_duration_seconds_count"][(("group", "core"), ("status", "2xx"))] == 1


def test_outbox_database_and_wal_figures(make_deployment, make_app):
    dep = make_deployment()
    client = make_app(dep).test_client()
    figures = scrape(client)
    assert figures["ccch_messages_outbox_depth"][()] == 0
    assert figures["ccch_messages_outbox_oldest_age_seconds"][()] == 0
    assert figures["ccch_database_size_bytes"][()] == dep.config.database_path.stat().st_size > 0
    assert figures["ccch_database_wal_size_bytes"][()] >= 0
    an_hour_ago = utc_now_iso(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    with write_transaction(dep.db):
        for n, state in enumerate(("queued", "queued", "sending", "sent")):
            dep.db.execute(
                "insert into messages (channel, address, address_masked, purpose, template, idempotency_key, state, "
                "created_at, next_attempt_at) values ('sms', null, '09******78', 'otp', 'otp', ?, ?, ?, ?)",
                [f"k{n}", state, an_hour_ago if n == 1 else utc_now_iso(), utc_now_iso()])
    figures = scrape(client)
    assert figures["ccch_messages_outbox_depth"][()] == 3
    assert 3590 < figures["ccch_messages_outbox_oldest_age_seconds"][()] < 3700
    assert "ccch_replication_lag_seconds" not in figures  # no [replication]


def test_only_the_operators_addresses_may_read_it(make_deployment, make_app):
    app = make_app(make_deployment())
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    # Through a proxy that the config does not know about, every visitor is 127.0.0.1: refused.
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404
    configured = make_app(make_deployment(web={"metrics_allow": ["10.0.0.0/24"], "proxy_count": 1})).test_client()
    assert configured.get("/metrics", headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 200
    assert configured.get("/metrics", headers={"X-Forwarded-For": "10.0.1.7"}).status_code == 404
    assert configured.get("/metrics").status_code == 404  # loopback is no longer in the list


@pytest.mark.parametrize("value, message", [
    (["10.0.0.0/33"], "'10.0.0.0/33' is not an IP address or network"),
    ("127.0.0.1", "a list of addresses or networks"),
])
def test_a_bad_allow_list_is_a_config_error_naming_the_value(value, message):
    with pytest.raises(ConfigError, match="web.metrics_allow") as caught:
        config_from_dict({"deployment": {"plan": "plan.toml"}, "web": {"metrics_allow": value}})
    assert message in str(caught.value)


def test_is_allowed_handles_odd_addresses():
    networks = [__import__("ipaddress").ip_network(n) for n in metrics.DEFAULT_ALLOW]
    assert metrics.is_allowed("::ffff:127.0.0.1", networks, forwarded=False, proxies=0)
    assert not metrics.is_allowed("not an address", networks, forwarded=False, proxies=0)
    assert not metrics.is_allowed(None, networks, forwarded=False, proxies=0)
    assert metrics.is_allowed("127.0.0.1", networks, forwarded=True, proxies=1)


def test_plugins_add_figures_through_the_hook(make_deployment, make_app):
    module = types.ModuleType("gauges")

    @hookimpl
    def register_metrics(register, deployment):
        from prometheus_client.core import GaugeMetricFamily

        class Collector:
            def collect(self):
                family = GaugeMetricFamily("ccch_gauges_units", "Units of the plan.")
                family.add_metric([], len(deployment.plan.units))
                yield family

        register(Collector())

    module.register_metrics = register_metrics
    dep = make_deployment(["gauges"], available={"gauges": AvailablePlugin(name="gauges", load=lambda: module,
                                                                             version="1")})
    figures = scrape(make_app(dep).test_client())
    assert figures["ccch_gauges_units"][()] == len(dep.plan.units) > 1


def test_healthz_stays_plain(make_deployment, make_app):
    response = make_app(make_deployment()).test_client().get("/healthz")
    assert response.get_data() == b"ok\n" and response.headers["Cache-Control"] == "no-store"


def _child_counts(folder):
    from ccch_core.metrics import RequestStats

    stats = RequestStats(folder)
    for seconds in (0.001, 0.02, 3.0):
        stats.observe("survey_public", "2xx", seconds, now=0.0)
    stats.flush()


def test_workers_counts_are_added_up_from_their_files(tmp_path):
    import multiprocessing

    from ccch_core.metrics import RequestStats

    child = multiprocessing.get_context("fork").Process(target=_child_counts, args=(str(tmp_path),))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    stats = RequestStats(str(tmp_path), interval=3600)
    stats.observe("survey_public", "2xx", 0.004, now=0.0)  # written at once (first flush is due)
    stats.observe("survey_public", "4xx", 0.004, now=1.0)  # not yet: the scrape writes it first
    assert len(list(tmp_path.glob("requests-*.json"))) == 2
    (family,) = list(stats.collect())
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    ok = (("group", "survey_public"), ("status", "2xx"))
    assert samples[("ccch_http_request_duration_seconds_count", ok)] == 4
    assert samples[("ccch_http_request_duration_seconds_bucket", (*ok[:1], ("le", "0.005"), ok[1]))] == 2
    assert samples[("ccch_http_request_duration_seconds_bucket", (*ok[:1], ("le", "2.5"), ok[1]))] == 3
    assert samples[("ccch_http_request_duration_seconds_sum", ok)] == pytest.approx(3.025)
    assert samples[("ccch_http_request_duration_seconds_count", (("group", "survey_public"), ("status", "4xx")))] == 1
