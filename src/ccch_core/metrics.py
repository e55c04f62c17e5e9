"""Metrics in the Prometheus text format at ``/metrics``, for the operator's monitoring only.

The client library is the Prometheus project's own Python client, ``prometheus_client``. Two kinds
of figures:

- counted as requests are served: the histogram ``ccch_http_request_duration_seconds{group,status}``
  (its ``_count`` is the number of requests), where ``group`` is the blueprint that served the
  request (``survey_public``, ``contest_public``, ``core``…) — a handful of values, never a path —
  and ``status`` the class (``2xx``, ``4xx``…); ``/healthz`` is not counted. Under
  gunicorn every worker counts in its own memory-mapped file in a folder that ``ccch serve``
  makes (prometheus_client's multiprocess mode), and a scrape adds them up;
- read from the database and the files when scraped: the messages outbox depth and the age of its
  oldest message, the database and WAL sizes, the replication lag, and whatever plugins add
  through the ``register_metrics`` hook (survey responses, contest attempts and registrations).
  Counting at scrape time costs the hot paths nothing and is exact across workers and restarts.

``/metrics`` answers only visitors whose address is in ``[web] metrics_allow`` (default: loopback)
— others get a 404, as for a page that does not exist. A request that came through a proxy (it
carries ``X-Forwarded-For``) while ``[web] proxy_count`` is 0 is refused too: its address is the
proxy's own, so every visitor of the public site would look like loopback.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")
LOG_FORMATS = ("text", "json")
ENV_DIR = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_START = "ccch.metrics.start"


def check_web_setting(key: str, value: Any, where: str) -> list[str]:
    """Problems of ``[web] metrics_allow`` (a list of addresses or networks) or ``[web] log_format``."""
    if key == "log_format":
        return [] if value in LOG_FORMATS else [f"{where}: {' or '.join(map(repr, LOG_FORMATS))}, not {value!r}"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [f"{where}: a list of addresses or networks (\"10.0.0.5\", \"10.0.0.0/24\"), not {value!r}"]
    problems = []
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(f"{where}: {item!r} is not an IP address or network")
    return problems


def allowed_networks(config) -> list[ipaddress._BaseNetwork]:
    """The networks ``/metrics`` answers (``[web] metrics_allow``, default loopback)."""
    return [ipaddress.ip_network(item, strict=False) for item in config.web.get("metrics_allow", DEFAULT_ALLOW)]


def is_allowed(address: str | None, networks, *, forwarded: bool, proxies: int) -> bool:
    """Whether a visitor at ``address`` may read the metrics."""
    if not address or (forwarded and proxies == 0):
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


# -- multiprocess mode (gunicorn) ---------------------------------------------------------------


def start_multiprocess() -> str:
    """Make a fresh folder for the workers' metric files and switch prometheus_client to its
    multiprocess mode (before the workers fork). Returns the folder; :func:`stop_multiprocess`
    removes it."""
    folder = tempfile.mkdtemp(prefix="ccch-metrics-")
    os.environ[ENV_DIR] = folder
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # decided at import time otherwise
    return folder


def stop_multiprocess(folder: str | None) -> None:
    """Remove the folder of :func:`start_multiprocess`."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get(ENV_DIR) == folder:
            del os.environ[ENV_DIR]


# -- the collectors ---------------------------------------------------------------------------


class CoreCollector:
    """The core's figures read at scrape time: outbox, database files, replication (registered
    through ``register_metrics`` by ``ccch_core.builtin.operations``, as a plugin would)."""

    def __init__(self, deployment):
        self.deployment = deployment

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from .storage import parse_utc

        dep = self.deployment
        db = dep.db
        row = db.execute("select count(*), min(created_at) from messages where state in ('queued', 'sending')"
                         ).fetchone()
        depth = GaugeMetricFamily("ccch_messages_outbox_depth", "Messages waiting to be delivered (queued or being sent).")
        depth.add_metric([], row[0])
        yield depth
        oldest = GaugeMetricFamily("ccch_messages_outbox_oldest_age_seconds",
                                   "Age of the oldest message waiting to be delivered (0 when none waits).")
        oldest.add_metric([], max(0.0, time.time() - parse_utc(row[1]).timestamp()) if row[1] else 0.0)
        yield oldest
        path = str(dep.config.database_path)
        if path != ":memory:":
            for name, suffix, text in (("ccch_database_size_bytes", "", "Size of the database file."),
                                       ("ccch_database_wal_size_bytes", "-wal", "Size of the database's WAL file.")):
                family = GaugeMetricFamily(name, text)
                try:
                    family.add_metric([], os.stat(path + suffix).st_size)
                except OSError:
                    family.add_metric([], 0)
                yield family
        from . import replication

        settings = replication.settings_of(dep.config)
        if settings is not None:
            status = replication.status(dep.config, settings)
            up = GaugeMetricFamily("ccch_replication_up", "1 when the replication lag can be told, 0 when not "
                                                          "(Litestream never ran, or the replica cannot be read).")
            up.add_metric([], 0 if status.lag_seconds is None else 1)
            yield up
            if status.lag_seconds is not None:
                lag = GaugeMetricFamily("ccch_replication_lag_seconds",
                                        "How long the oldest write not yet in the replica has waited (0: current).")
                lag.add_metric([], status.lag_seconds)
                yield lag


class FunctionCollector:
    """A collector from a function returning metric families (what plugins may register)."""

    def __init__(self, function: Callable[[], Iterable[Any]]):
        self.function = function

    def collect(self) -> Iterable[Any]:
        return self.function()


def plugin_collectors(deployment) -> list[Any]:
    """The collectors the core and the plugins register through ``register_metrics``."""
    found: list[Any] = []
    for _plugin, collector in deployment.pm.collect("register_metrics", deployment=deployment):
        found.append(collector if hasattr(collector, "collect") else FunctionCollector(collector))
    return found


# -- the web side -----------------------------------------------------------------------------


def install(app) -> None:
    """Count requests by group and status and time them; add the ``/metrics`` route."""
    from flask import request
    from prometheus_client import CollectorRegistry, Histogram

    from .web import deployment as current_deployment

    multiprocess = bool(os.environ.get(ENV_DIR))
    own = CollectorRegistry()  # one registry per app: tests build many apps in one process
    # One histogram, its _count the requests: under gunicorn each observation is a locked write to
    # a memory-mapped file (4-7 µs), so one instrument a request, not a counter and a histogram.
    duration = Histogram("ccch_http_request_duration_seconds", "Requests served and the time each took, by "
                         "route group and status class.", ["group", "status"], buckets=BUCKETS,
                         registry=None if multiprocess else own)
    children: dict[tuple[str, int], Any] = {}  # label lookups cost more than the observation
    config = app.extensions["ccch"].config
    networks = allowed_networks(config)
    proxies = int(config.web.get("proxy_count", 0))
    perf_counter = time.perf_counter

    def start():
        if request.endpoint != "health":  # /healthz stays as cheap as it was: monitors poll it
            request.environ[_START] = perf_counter()

    app.before_request_funcs.setdefault(None, []).insert(0, start)  # first, before sign-in

    @app.after_request
    def count(response):
        started = request.environ.get(_START)
        if started is not None:
            group = request.blueprint or ("core" if request.url_rule is not None else "unmatched")
            key = (group, response.status_code // 100)
            child = children.get(key)
            if child is None:
                child = children[key] = duration.labels(group, f"{key[1]}xx")
            child.observe(perf_counter() - started)
        return response

    collector_cache: list[Any] = []

    def metrics_view():
        from flask import abort
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if not is_allowed(request.remote_addr, networks, forwarded="X-Forwarded-For" in request.headers,
                          proxies=proxies):
            abort(404)
        dep = current_deployment()
        if not collector_cache:
            collector_cache.extend(plugin_collectors(dep))
        registry = CollectorRegistry()
        if multiprocess:
            from prometheus_client import multiprocess as mp

            mp.MultiProcessCollector(registry)
        else:
            registry.register(_Forward(own))
        for collector in collector_cache:
            registry.register(collector)
        return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}

    # No sign-in: monitoring scrapes without a session; the address check above is the gate.
    metrics_view.ccch_access = "public"
    app.add_url_rule("/metrics", "metrics", metrics_view)


class _Forward:
    """The app's own registry as a collector of the scrape's registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()
