"""Scheduled work: plugins' ``scheduled_work`` hook, ``ccch scheduled-work`` and the runner beside
``ccch serve`` (ccch_core.scheduled)."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import types

import pytest
from click.testing import CliRunner

from ccch_core import hookimpl, scheduled
from ccch_core.cli import make_cli
from ccch_core.plugins import AvailablePlugin, installed_plugins


def _plugin(name: str, work):
    module = types.ModuleType(f"{name}_scheduled_plugin")
    module.calls = []

    @hookimpl
    def scheduled_work(deployment, now):
        module.calls.append(now)
        return work(now)

    module.scheduled_work = scheduled_work
    sys.modules[module.__name__] = module
    return module


def _broken(now):
    raise RuntimeError("the gateway is down")


@pytest.fixture
def plugins():
    return {"diligent": _plugin("diligent", lambda now: ["closed round 1", "closed round 2"]),
            "idle": _plugin("idle", lambda now: None),
            "broken": _plugin("broken", _broken)}


@pytest.fixture
def available(plugins):
    return {name: AvailablePlugin(name=name, load=lambda m=module: m, version="1") for name, module in plugins.items()}


@pytest.fixture
def dep(make_deployment, available):
    return make_deployment(plugins=("broken", "diligent", "idle"), available=available)


def ccch(dep, available, *args):
    return CliRunner().invoke(make_cli(dep.config.path, available={**installed_plugins(), **available}), list(args))


def test_every_plugin_runs_even_when_another_fails(dep, plugins):
    now = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
    outcomes = {o.plugin: o for o in scheduled.run_once(dep, now)}
    assert set(outcomes) == {"broken", "diligent", "idle"}
    assert outcomes["diligent"].done == "closed round 1; closed round 2" and outcomes["diligent"].error is None
    assert outcomes["idle"].done is None and outcomes["idle"].error is None
    assert outcomes["broken"].error == "RuntimeError: the gateway is down" and outcomes["broken"].done is None
    assert all(module.calls == [now] for module in plugins.values())


def test_the_command_says_what_was_done_and_exits_1_on_a_failure(dep, available, plugins):
    result = ccch(dep, available, "scheduled-work")
    assert result.exit_code == 1, result.output
    assert "diligent: closed round 1; closed round 2" in result.output
    assert "broken: lỗi: RuntimeError: the gateway is down" in result.output
    assert "idle" not in result.output


def test_the_command_with_nothing_due(make_deployment):
    dep = make_deployment()
    result = ccch(dep, {}, "scheduled-work")
    assert result.exit_code == 0, result.output
    assert "Không có việc định kỳ nào đến hạn." in result.output


def test_one_runner_at_a_time(dep, available, plugins):
    first = scheduled.Runner(dep)
    first.acquire()
    try:
        with pytest.raises(scheduled.RunnerBusy):
            scheduled.Runner(dep).acquire()
        # The command leaves the work to the runner that holds the lock, and says so.
        result = ccch(dep, available, "scheduled-work")
        assert result.exit_code == 0 and "tiến trình khác" in result.output
        assert plugins["diligent"].calls == []
    finally:
        first.release()
    second = scheduled.Runner(dep)
    second.acquire()  # free again once released
    second.release()


def test_the_loop_runs_a_pass_every_period_until_stopped_and_waits_for_the_lock(dep, plugins):
    holder = scheduled.Runner(dep)
    holder.acquire()
    slept = []
    reported = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 3:
            holder.release()  # the other runner stops: this one takes over

    runner = scheduled.Runner(dep, every=2.5)
    runner.run_forever(stop=lambda: len(plugins["diligent"].calls) >= 2 and len(slept) >= 6, sleep=sleep,
                       report=reported.append)
    assert len(plugins["diligent"].calls) == 2
    # Three seconds waiting for the lock, then a pass, 2.5 s in steps of at most a second, a pass.
    assert slept[:3] == [1, 1, 1] and slept[3:6] == [1.0, 1.0, 0.5]
    assert sorted(o.plugin for o in reported) == ["broken", "broken", "diligent", "diligent"]  # idle did nothing
    scheduled.Runner(dep).acquire()  # the loop let go of the lock when it stopped


def test_the_loop_stops_on_sigterm(make_deployment):
    import os
    import signal
    import subprocess
    import time

    dep = make_deployment()
    child = subprocess.Popen([sys.executable, "-c", "from ccch_core.cli import main; main()", "--config",
                              str(dep.config.path), "scheduled-work", "--loop", "--every", "5"],
                             stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("every 5 s" in line for line in lines) and child.poll() is None:
            time.sleep(0.1)
        assert child.poll() is None, lines  # still looping
        started = time.monotonic()
        os.kill(child.pid, signal.SIGTERM)
        assert child.wait(timeout=30) == 0
        assert time.monotonic() - started < 5  # stopped within its one-second steps, not after a period
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_serve_runs_the_scheduled_work_beside_the_server_only_where_a_plugin_has_some(
        dep, available, make_deployment, monkeypatch):
    import contextlib

    from ccch_core.web import server

    started = []

    @contextlib.contextmanager
    def worker(config):
        started.append(None if config is None else config.path)
        yield None

    monkeypatch.setattr(server, "run_server", lambda config, **options: None)
    monkeypatch.setattr(server, "scheduled_worker", worker)
    assert ccch(dep, available, "serve", "--no-deliver").exit_code == 0
    assert ccch(dep, available, "serve", "--no-deliver", "--no-scheduled-work").exit_code == 0
    plain = make_deployment()  # no plugin has scheduled work: no process for it
    assert ccch(plain, {}, "serve", "--no-deliver").exit_code == 0
    assert started == [dep.config.path, None, None]
