"""Metrics in the Prometheus text format at ``/metrics``, for the operator's monitoring only.

The client library is the Prometheus project's own Python client, ``prometheus_client``. Two kinds
of figures:

- counted as requests are served: the histogram ``ccch_http_request_duration_seconds{group,status}``
  (its ``_count`` is the number of requests), where ``group`` is the blueprint that served the
  request (``survey_public``, ``contest_public``, ``core``…) — a handful of values, never a path —
  and ``status`` the class (``2xx``, ``4xx``…); ``/healthz`` is not counted. Each process counts
  in its own memory (:class:`RequestStats`); under gunicorn every worker writes its counts to a
  file of a folder that ``ccch serve`` makes, at most once a second, and a scrape adds them up;
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

import bisect
import glob
import ipaddress
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")
LOG_FORMATS = ("text", "json")
ENV_DIR = "CCCH_METRICS_DIR"
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


# -- request counts across gunicorn's workers -----------------------------------------------------


def start_multiprocess() -> str:
    """Make a fresh folder where each gunicorn worker leaves its request counts (before the workers
    fork: they inherit ``$CCCH_METRICS_DIR``). Returns the folder; :func:`stop_multiprocess`
    removes it."""
    folder = tempfile.mkdtemp(prefix="ccch-metrics-")
    os.environ[ENV_DIR] = folder
    return folder


def stop_multiprocess(folder: str | None) -> None:
    """Remove the folder of :func:`start_multiprocess`."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get(ENV_DIR) == folder:
            del os.environ[ENV_DIR]


class RequestStats:
    """This process's request counts and latency histogram by (route group, status class).

    Counting is a few list operations in this process's memory (about a microsecond): a
    prometheus_client metric in its multiprocess mode writes to a memory-mapped file under a lock
    on every observation (6–13 µs measured, 1–3 % of a survey page). Under gunicorn the counts are
    written to ``<folder>/requests-<pid>.json`` at most once a second, when a request ends, and a
    scrape adds up every worker's file (its own written first), so another worker's last second
    shows once that worker serves again. Files of recycled workers stay: the totals only grow until
    ``ccch serve`` restarts, as a Prometheus counter may.
    """

    def __init__(self, folder: str | None, interval: float = 1.0):
        self.folder = folder
        self.interval = interval
        self.rows: dict[tuple[str, str], list[float]] = {}  # bucket counts (last: +Inf), then the sum
        self.due = 0.0
        self.dirty = False

    def observe(self, group: str, status: str, seconds: float, now: float) -> None:
        """Count one request that took ``seconds`` (``now``: a monotonic clock, for the flush)."""
        row = self.rows.get((group, status))
        if row is None:
            row = self.rows[(group, status)] = [0] * (len(BUCKETS) + 1) + [0.0]
        row[bisect.bisect_left(BUCKETS, seconds)] += 1
        row[-1] += seconds
        self.dirty = True
        if self.folder is not None and now >= self.due:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Write this process's counts to its file (atomically: a scrape never reads half a file)."""
        if self.folder is None or not self.dirty:
            return
        self.due = (time.monotonic() if now is None else now) + self.interval
        self.dirty = False
        path = os.path.join(self.folder, f"requests-{os.getpid()}.json")
        partial = path + ".partial"
        try:
            with open(partial, "w", encoding="utf-8") as handle:
                json.dump([[g, s, row] for (g, s), row in self.rows.items()], handle)
            os.replace(partial, path)
        except OSError:  # the folder was removed (the server is stopping): the counts are for it only
            self.dirty = True

    def merged(self) -> dict[tuple[str, str], list[float]]:
        """Every worker's counts added up (this process's alone without a folder)."""
        if self.folder is None:
            return {key: list(row) for key, row in self.rows.items()}
        self.flush()
        total: dict[tuple[str, str], list[float]] = {}
        for path in glob.glob(os.path.join(self.folder, "requests-*.json")):
            try:
                with open(path, encoding="utf-8") as handle:
                    rows = json.load(handle)
            except (OSError, ValueError):
                continue
            for group, status, row in rows:
                into = total.setdefault((group, status), [0] * (len(BUCKETS) + 1) + [0.0])
                for index, value in enumerate(row):
                    into[index] += value
        return total

    def collect(self) -> Iterable[Any]:
        """The histogram ``ccch_http_request_duration_seconds{group,status}``."""
        from prometheus_client.core import HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        family = HistogramMetricFamily("ccch_http_request_duration_seconds", "Requests served and the time each "
                                       "took, by route group and status class.", labels=["group", "status"])
        for (group, status), row in sorted(self.merged().items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), row[:-1], strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            family.add_metric([group, status], buckets, row[-1])
        yield family


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
    from prometheus_client import CollectorRegistry

    from .web import deployment as current_deployment

    stats = RequestStats(os.environ.get(ENV_DIR) or None)
    statuses = {n: f"{n}xx" for n in range(1, 6)}
    config = app.extensions["ccch"].config
    networks = allowed_networks(config)
    proxies = int(config.web.get("proxy_count", 0))
    perf_counter = time.perf_counter

    # The request object, not the proxy: a read through a werkzeug proxy costs ~20x (issue #16).
    def start():
        req = request._get_current_object()
        if req.endpoint != "health":  # /healthz stays as cheap as it was: monitors poll it
            req.environ[_START] = perf_counter()

    app.before_request_funcs.setdefault(None, []).insert(0, start)  # first, before sign-in

    @app.after_request
    def count(response):
        req = request._get_current_object()
        started = req.environ.get(_START)
        if started is not None:
            now = perf_counter()
            group = req.blueprint or ("core" if req.url_rule is not None else "unmatched")
            stats.observe(group, statuses.get(response.status_code // 100, "other"), now - started, now)
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
        registry.register(stats)
        for collector in collector_cache:
            registry.register(collector)
        return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}

    # No sign-in: monitoring scrapes without a session; the address check above is the gate.
    metrics_view.ccch_access = "public"
    app.add_url_rule("/metrics", "metrics", metrics_view)
