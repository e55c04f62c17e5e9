"""The plugin manager: enabling, blocking, broken plugins, typos, registries and start-up.

The plugins used here are the small modules in ``tests/plugin_samples`` offered through
``available=``: nothing is installed and nothing of ours is mocked.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import sys

import pytest
from ccch_testing import (
    CORE_STEPS,
    DUC_THO_PLAN,
    load_plugin_samples,
    make_deployment_folder,
)
from click.testing import CliRunner

from ccch_core import hookspecs
from ccch_core.cli import make_cli
from ccch_core.config import load_config
from ccch_core.deployment import Deployment
from ccch_core.periods import Period
from ccch_core.planfile import loads_plan
from ccch_core.plugins import (
    CORE_NAME,
    DEFAULT_PLUGINS,
    AvailablePlugin,
    BrokenPlugin,
    PluginError,
    installed_plugins,
    make_plugin_manager,
)
from ccch_core.progress import MeasureContext, MeasureValue, Status, evaluate_indicator

samples = load_plugin_samples()

ALL_HOOKS = sorted(
    name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec")
)


def good_pm(*others: str, enabled=("good",), strict=True):
    return make_plugin_manager(list(enabled), strict=strict, available=samples.available("good", *others))


@pytest.fixture
def good_config(tmp_path):
    """A Đức Thọ deployment config that enables the "good" sample plugin."""
    return load_config(make_deployment_folder(tmp_path / "dep", plugins=["good"]))


# -- enabling, blocking ------------------------------------------------------------------------


def test_enabled_plugin_is_loaded_with_all_its_hooks():
    pm = good_pm()
    assert pm.enabled == ["good"]
    assert pm.get_plugin("good") is sys.modules[samples.module_name("good")]
    assert pm.versions["good"] == "1.0"
    # Core modules first, then the enabled plugins in order.
    assert pm.plugin_names() == [*DEFAULT_PLUGINS, "good"]
    assert pm.hooks_of("good") == ALL_HOOKS
    assert pm.blocked_names == []
    assert pm.broken == []


def test_core_plugins_are_always_loaded_without_being_enabled():
    pm = make_plugin_manager([], strict=True, available={})
    assert pm.plugin_names() == list(DEFAULT_PLUGINS)
    assert pm.hooks_of("ccch_core.builtin.schema") == ["register_migrations"]
    assert pm.hooks_of("ccch_core.builtin.commands") == ["register_commands"]
    assert pm.enabled == []


def test_installed_but_not_enabled_is_blocked_and_never_imported():
    loads = []

    def counting(name):
        def load():
            loads.append(name)
            return importlib.import_module(samples.module_name(name))
        return load

    available = {
        "good": AvailablePlugin(name="good", load=counting("good"), version="1.0"),
        "dup_measure": AvailablePlugin(name="dup_measure", load=counting("dup_measure"), version="1.0"),
        "typo": AvailablePlugin(name="typo", load=counting("typo"), version="1.0"),
    }
    pm = make_plugin_manager(["good"], strict=True, available=available)
    assert loads == ["good"]
    assert pm.blocked_names == ["dup_measure", "typo"]
    assert pm.is_blocked("dup_measure") and pm.is_blocked("typo")
    assert not pm.is_blocked("good")
    assert pm.get_plugin("dup_measure") is None
    # A blocked name cannot be registered by accident later.
    module = importlib.import_module(samples.module_name("dup_measure"))
    assert pm.register(module, name="dup_measure") is None
    assert [name for name, _ in pm.collect("register_measures")] == ["good"]


def test_plugin_names_lists_only_loaded_plugins_not_blocked_ones():
    """plugin_names() is documented as "names of the loaded plugins" (ccch plugins uses it)."""
    pm = good_pm("typo", "dup_measure")
    assert pm.is_blocked("typo")
    assert pm.plugin_names() == [*DEFAULT_PLUGINS, "good"]


def test_enabled_but_not_installed_names_the_plugin_and_what_is_installed():
    with pytest.raises(PluginError) as info:
        make_plugin_manager(["survey"], strict=True, available=samples.available("good"))
    message = str(info.value)
    assert '"survey"' in message
    assert "not installed" in message
    assert "installed plugins: good" in message


def test_enabled_but_not_installed_fails_even_when_not_strict():
    with pytest.raises(PluginError, match='"survey"'):
        make_plugin_manager(["survey"], strict=False, available={})


@pytest.mark.parametrize("name", [CORE_NAME, *DEFAULT_PLUGINS])
def test_core_cannot_be_enabled_by_name(name):
    with pytest.raises(PluginError) as info:
        make_plugin_manager([name], strict=True, available=samples.available("good"))
    assert name in str(info.value)
    assert "core" in str(info.value)


def test_broken_plugin_is_an_error_in_strict_mode():
    with pytest.raises(PluginError) as info:
        good_pm("broken", enabled=("good", "broken"), strict=True)
    message = str(info.value)
    assert '"broken"' in message
    assert "ImportError" in message
    assert "ccch_no_such_dependency" in message


def test_broken_plugin_is_skipped_with_a_warning_when_not_strict(caplog):
    with caplog.at_level(logging.WARNING, logger="ccch_core.plugins"):
        pm = good_pm("broken", enabled=("broken", "good"), strict=False)
    assert pm.enabled == ["good"]
    assert pm.get_plugin("broken") is None
    assert "broken" not in pm.plugin_names()
    assert pm.broken == [BrokenPlugin("broken", pm.broken[0].error)]
    assert pm.broken[0].error.startswith("ImportError: ")
    assert "ccch_no_such_dependency" in pm.broken[0].error
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "ccch_core.plugins"]
    assert len(warnings) == 1
    assert "broken" in warnings[0].getMessage()
    assert "ccch_no_such_dependency" in warnings[0].getMessage()
    # The rest of the app still works: the good plugin's hooks are there.
    assert [name for name, _ in pm.collect("register_measures")] == ["good"]


def test_hook_name_typo_stops_start_up():
    with pytest.raises(PluginError) as info:
        make_plugin_manager(["typo"], strict=False, available=samples.available("typo"))
    message = str(info.value)
    assert "register_comands" in message
    assert "typo" in message


def test_typo_plugin_that_is_not_enabled_does_no_harm():
    pm = good_pm("typo")
    assert pm.is_blocked("typo")


def test_each_call_makes_a_fresh_plugin_manager():
    with_good = good_pm()
    without = make_plugin_manager([], strict=True, available=samples.available("good"))
    again = good_pm()
    assert with_good is not again and with_good.hook is not again.hook
    assert without.get_plugin("good") is None
    assert without.is_blocked("good")
    assert [n for n, _ in without.collect("register_measures")] == []
    assert [n for n, _ in with_good.collect("register_measures")] == ["good"]
    # Unregistering from one manager leaves the other alone.
    with_good.unregister(name="good")
    assert with_good.get_plugin("good") is None
    assert again.get_plugin("good") is not None
    assert [n for n, _ in again.collect("register_measures")] == ["good"]


def test_collect_follows_the_enabling_order_and_names_each_plugin():
    available = samples.available("good", "dup_measure")
    first = make_plugin_manager(["dup_measure", "good"], strict=True, available=available)
    second = make_plugin_manager(["good", "dup_measure"], strict=True, available=available)
    assert [n for n, _ in first.collect("register_measures")] == ["dup_measure", "good"]
    assert [n for n, _ in second.collect("register_measures")] == ["good", "dup_measure"]
    migrations = first.collect("register_migrations")
    assert [(n, m.name) for n, m in migrations] == [("ccch_core.builtin.schema", "core"), ("good", "good")]


def test_installed_plugins_is_a_dict_keyed_by_plugin_name():
    found = installed_plugins()
    assert isinstance(found, dict)
    for name, plugin in found.items():
        assert isinstance(plugin, AvailablePlugin)
        assert plugin.name == name
        assert callable(plugin.load)


# -- the deployment's registries ----------------------------------------------------------------


def test_migration_set_must_carry_the_plugin_name(good_config):
    pm = make_plugin_manager(["wrong_set"], strict=True, available=samples.available("wrong_set"))
    with pytest.raises(PluginError) as info:
        Deployment(good_config, pm=pm)
    message = str(info.value)
    assert '"wrong_set"' in message
    assert '"not-the-plugin-name"' in message


def test_migration_set_named_after_its_plugin_under_another_name_is_refused(good_config):
    # The "good" module offered under the name "nice": its set "good" is not "nice".
    pm = make_plugin_manager(["nice"], strict=True, available=samples.available("good", names={"good": "nice"}))
    with pytest.raises(PluginError, match='"nice"'):
        Deployment(good_config, pm=pm)


def test_duplicate_measure_names_fail_naming_both_plugins(good_config):
    pm = good_pm("dup_measure", enabled=("good", "dup_measure"))
    with pytest.raises(PluginError) as info:
        Deployment(good_config, pm=pm)
    message = str(info.value)
    assert '"good_measure"' in message
    assert '"good"' in message
    assert '"dup_measure"' in message


def test_deployment_registries_contain_the_good_plugin(good_config, tmp_path):
    deployment = Deployment(good_config, pm=good_pm())
    assert [s.plugin for s in deployment.migration_sets] == ["core", "good"]
    assert [s.migrations.name for s in deployment.migration_sets] == ["core", "good"]
    assert set(deployment.measures) == {"good_measure"}
    assert set(deployment.exporters) == {"good-text"}
    exporter = deployment.exporters["good-text"]
    assert (exporter.extension, exporter.media_type) == ("txt", "text/plain; charset=utf-8")
    stream = io.StringIO()
    exporter.export("2024-03", stream)
    assert stream.getvalue() == "good report: 2024-03\n"


def test_deployment_without_the_plugin_has_empty_registries(good_config):
    deployment = Deployment(good_config, pm=make_plugin_manager([], strict=True, available=samples.available("good")))
    assert [s.plugin for s in deployment.migration_sets] == ["core"]
    assert deployment.measures == {}
    assert deployment.exporters == {}


def test_plugin_measure_computes_an_indicator(good_config, duc_tho_plan):
    text = DUC_THO_PLAN.read_text(encoding="utf-8")
    assert text.count('code = "I5"\n') == 1
    plan = loads_plan(text.replace('code = "I5"\n', 'code = "I5"\nsource = "plugin:good_measure"\n'), "plan.toml")
    indicator = plan.indicator("I5")
    assert indicator.measure_name == "good_measure"
    period = Period.parse("2024-03")
    deployment = Deployment(good_config, pm=good_pm(), plan=plan)
    deployment.migrate()
    try:
        result = evaluate_indicator(deployment.db, plan, indicator, period,
                                    measures=deployment.measures, deployment=deployment)
        assert result.value == 100.0
        assert result.status is Status.MET
        assert len(result.units) == 16 and result.units_without_data == []
        # The function gets a MeasureContext and returns MeasureValue per unit.
        context = MeasureContext(deployment, indicator, period, tuple(plan.resolve(indicator.applies_to, period)))
        values = deployment.measures["good_measure"](context)
        assert set(values) == {u.id for u in context.units}
        assert all(v == MeasureValue(1.0) for v in values.values())
        # Without the plugin the indicator has no data, and says why.
        missing = evaluate_indicator(deployment.db, plan, indicator, period, measures={}, deployment=deployment)
        assert missing.status is Status.NO_DATA
        assert "good_measure" in missing.explanation
    finally:
        deployment.close()


class _Request:
    def __init__(self, period):
        self.period = period


def test_web_hooks_of_the_good_plugin(good_config):
    pm = good_pm()
    deployment = Deployment(good_config, pm=pm)
    blueprints = [b for b in pm.collect("register_blueprints", deployment=deployment) if b[0] == "good"]
    assert len(blueprints) == 1
    owner, ((blueprint,), kwargs) = blueprints[0]
    assert owner == "good" and blueprint.name == "good" and kwargs == {"url_prefix": "/good"}
    assert [items for items in pm.hook.navigation_items(deployment=deployment, user=None) if items] == [
        [{"label": "Good", "endpoint": "good.index", "order": 50}]
    ]
    panels = pm.hook.dashboard_panels(deployment=deployment, user=None, period=Period.parse("2024-03"))
    assert panels == [[{"title": "Good panel", "template": "good/panel.html",
                        "context": {"period": "2024-03"}, "order": 50}]]
    [[section]] = [s for s in pm.hook.report_sections(report=_Request("2024-03")) if s]
    assert (section.key, section.title, section.blocks[0].text) == ("good", "Good section", "Good things in 2024-03")


def test_startup_runs_when_the_deployment_is_opened(good_config):
    # What Deployment.open does, with the test plugins offered through ``available``.
    deployment = Deployment(good_config, pm=good_pm())
    try:
        deployment.plan  # noqa: B018
        applied = deployment.prepare_database(migrate=True)
        assert applied == {"core": CORE_STEPS, "good": ["m001_good_things"]}
        assert deployment.db["good_things"].exists()
        assert not hasattr(deployment, "started_plugins")
        deployment.pm.hook.startup(deployment=deployment)
        assert deployment.started_plugins == ["good"]
    finally:
        deployment.close()


def test_startup_and_plugin_command_through_the_cli(good_config):
    cli = make_cli(good_config.path, available=samples.available("good"))
    result = CliRunner().invoke(cli, ["good", "hello"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello from Thử nghiệm; startup ran: yes"
    # The CLI migrated the plugin's tables too.
    assert "good_things" in _tables(good_config.database_path)


def test_plugin_command_is_absent_when_the_plugin_is_not_enabled(deployment_config):
    cli = make_cli(deployment_config, available=samples.available("good"))
    result = CliRunner().invoke(cli, ["good", "hello"])
    assert result.exit_code == 2
    assert "No such command 'good'" in result.output


def test_cli_in_strict_mode_refuses_a_broken_plugin(tmp_path):
    config = make_deployment_folder(tmp_path / "dep", plugins=["good", "broken"])
    cli = make_cli(config, available=samples.available("good", "broken"))
    result = CliRunner().invoke(cli, ["status", "--period", "2024-03"])
    assert result.exit_code == 1
    assert 'plugin "broken" failed to load' in result.output


def test_cli_when_not_strict_skips_a_broken_plugin(tmp_path, monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "0")
    config = make_deployment_folder(tmp_path / "dep", plugins=["broken", "good"])
    cli = make_cli(config, available=samples.available("good", "broken"))
    result = CliRunner().invoke(cli, ["good", "hello"])
    assert result.exit_code == 0, result.output
    assert "startup ran: yes" in result.output


def _tables(path) -> set[str]:
    import sqlite3

    conn = sqlite3.connect(str(path))
    try:
        return {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    finally:
        conn.close()
