"""The deployment config file, ccch.toml: reading, validation, discovery and rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccch_core.config import (
    CONFIG_FILENAME,
    ConfigError,
    DeploymentConfig,
    find_config,
    load_config,
    render_config,
)

GOOD = """\
[deployment]
name = "Huyện Đức Thọ"
plan = "plans/plan.toml"
database = "data/ccch.db"
public_base_url = "https://cchc.ductho.hatinh.gov.vn/"
plugins = ["contest", "survey", "export"]
strict_plugins = true

[plugins.survey]
short_path = "k"
posters = 40

[plugins.export]
formats = ["xlsx", "csv"]

[web]
max_request_bytes = 2000000
"""


def write(folder: Path, text: str, name: str = CONFIG_FILENAME) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def minimal(**deployment) -> str:
    """A [deployment] table with plan = "plan.toml" plus the given keys (already TOML text)."""
    lines = ["[deployment]", 'plan = "plan.toml"']
    lines += [f"{key} = {value}" for key, value in deployment.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def no_env_strict(monkeypatch):
    """conftest forces CCCH_STRICT_PLUGINS=1; tests of the file's own value remove it."""
    monkeypatch.delenv("CCCH_STRICT_PLUGINS", raising=False)


# -- a good config --------------------------------------------------------------------------


def test_good_config(tmp_path, no_env_strict):
    path = write(tmp_path / "dep", GOOD)
    config = load_config(path)
    assert isinstance(config, DeploymentConfig)
    assert config.path == path.resolve()
    assert config.folder == (tmp_path / "dep").resolve()
    assert config.name == "Huyện Đức Thọ"
    assert config.plan_path == (tmp_path / "dep" / "plans" / "plan.toml").resolve()
    assert config.database_path == (tmp_path / "dep" / "data" / "ccch.db").resolve()
    assert config.plan_path.is_absolute() and config.database_path.is_absolute()
    # the trailing slash is dropped so that links can be joined with "/"
    assert config.public_base_url == "https://cchc.ductho.hatinh.gov.vn"
    assert config.plugins == ("contest", "survey", "export")
    assert isinstance(config.plugins, tuple)
    assert config.strict_plugins is True
    assert config.plugin_settings == {
        "survey": {"short_path": "k", "posters": 40},
        "export": {"formats": ["xlsx", "csv"]},
    }
    assert config.web == {"max_request_bytes": 2000000}


def test_paths_are_relative_to_the_config_file_not_the_working_directory(tmp_path, monkeypatch):
    path = write(tmp_path / "dep", minimal(database='"../shared/ccch.db"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path)
    assert config.plan_path == (tmp_path / "dep" / "plan.toml").resolve()
    assert config.database_path == (tmp_path / "shared" / "ccch.db").resolve()


def test_relative_config_path_is_resolved(tmp_path, monkeypatch):
    write(tmp_path / "dep", minimal())
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("dep") / CONFIG_FILENAME)
    assert config.path == (tmp_path / "dep" / CONFIG_FILENAME).resolve()
    assert config.plan_path == (tmp_path / "dep" / "plan.toml").resolve()


def test_absolute_plan_path_is_kept(tmp_path):
    plan = (tmp_path / "plans" / "p.toml").resolve()
    path = write(tmp_path / "dep", f'[deployment]\nplan = "{plan.as_posix()}"\n')
    assert load_config(path).plan_path == plan


def test_defaults(tmp_path, no_env_strict):
    path = write(tmp_path, minimal())
    config = load_config(path)
    assert config.name == "ccch"
    assert config.database_path == (tmp_path / "ccch.db").resolve()
    assert config.public_base_url == "http://127.0.0.1:8000"
    assert config.plugins == ()
    assert config.strict_plugins is False
    assert config.plugin_settings == {}
    assert config.web == {}


def test_in_memory_database_is_not_a_path(tmp_path):
    path = write(tmp_path, minimal(database='":memory:"'))
    assert load_config(path).database_path == ":memory:"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://cchc.ductho.hatinh.gov.vn", "https://cchc.ductho.hatinh.gov.vn"),
        ("https://hatinh.gov.vn/cchc/", "https://hatinh.gov.vn/cchc"),
    ],
)
def test_good_public_base_urls(tmp_path, url, expected):
    path = write(tmp_path, minimal(public_base_url=f'"{url}"'))
    assert load_config(path).public_base_url == expected


# -- errors ---------------------------------------------------------------------------------


def config_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path.resolve()) in message, "the message must name the file"
    return message


def test_unknown_deployment_key_with_suggestion(tmp_path):
    message = config_error(tmp_path, minimal(plugns='["survey"]'))
    assert "deployment.plugns" in message
    assert "unknown key" in message
    assert 'did you mean "plugins"' in message


def test_unknown_top_level_key_with_suggestion(tmp_path):
    message = config_error(tmp_path, minimal() + "\n[plugin.survey]\nshort_path = 'k'\n")
    assert "unknown top-level key 'plugin'" in message
    assert 'did you mean "plugins"' in message


@pytest.mark.parametrize(
    "url",
    [
        "cchc.example",  # no scheme
        "ftp://x",  # not http(s)
        "https://cchc.example.gov.vn/?utm=poster",  # query
        "https://cchc.example.gov.vn/#top",  # fragment
        "https://",  # no host
        "",  # empty
    ],
)
def test_bad_public_base_url(tmp_path, url):
    message = config_error(tmp_path, minimal(public_base_url=f'"{url}"'))
    assert "deployment.public_base_url" in message
    assert repr(url) in message if url else "must not be empty" in message


def test_public_base_url_must_be_text(tmp_path):
    message = config_error(tmp_path, minimal(public_base_url="8000"))
    assert "deployment.public_base_url: must be text" in message


def test_duplicate_plugin(tmp_path):
    message = config_error(tmp_path, minimal(plugins='["survey", "export", "survey"]'))
    assert "deployment.plugins" in message
    assert "survey listed twice" in message


def test_bad_plugin_names(tmp_path):
    message = config_error(tmp_path, minimal(plugins='["Survey"]'))
    assert "'Survey' is not a plugin name" in message
    message = config_error(tmp_path, minimal(plugins='"survey"'))
    assert "deployment.plugins: must be a list of plugin names" in message


def test_settings_for_a_plugin_not_enabled(tmp_path):
    text = minimal(plugins='["survey"]') + "\n[plugins.survy]\nshort_path = 'k'\n"
    message = config_error(tmp_path, text)
    assert "[plugins.survy] has settings but 'survy' is not in deployment.plugins" in message
    assert 'did you mean "survey"' in message


def test_plugin_settings_must_be_tables(tmp_path):
    text = minimal(plugins='["survey"]') + "\n[plugins]\nsurvey = 5\n"
    message = config_error(tmp_path, text)
    assert "[plugins.NAME] sections must be tables" in message


@pytest.mark.parametrize("value", ['"yes"', "1", '"true"'])
def test_strict_plugins_not_a_bool(tmp_path, value):
    message = config_error(tmp_path, minimal(strict_plugins=value))
    assert "deployment.strict_plugins: must be true or false" in message


def test_missing_plan(tmp_path):
    message = config_error(tmp_path, '[deployment]\nname = "Đức Thọ"\n')
    assert "deployment.plan: missing required field" in message


def test_missing_deployment_table_reports_missing_plan(tmp_path):
    message = config_error(tmp_path, "[web]\nmax_request_bytes = 2000000\n")
    assert "deployment.plan: missing required field" in message


def test_empty_plan_is_an_error(tmp_path):
    """plan = "" would make plan_path the deployment folder itself."""
    message = config_error(tmp_path, '[deployment]\nplan = ""\n')
    assert "deployment.plan" in message


def test_plan_must_be_text(tmp_path):
    message = config_error(tmp_path, "[deployment]\nplan = 2024\n")
    assert "deployment.plan: must be text, not 2024" in message


def test_several_problems_are_reported_together(tmp_path):
    text = '[deployment]\nplugins = ["survey", "survey"]\nstrict_plugins = "no"\nplann = "x"\n'
    message = config_error(tmp_path, text)
    assert "deployment.plan: missing required field" in message
    assert "listed twice" in message
    assert "strict_plugins" in message
    assert "deployment.plann: unknown key" in message
    assert len(message.splitlines()) == 4


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / CONFIG_FILENAME
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path.resolve()) in message
    assert "no such config file" in message


def test_invalid_toml(tmp_path):
    message = config_error(tmp_path, '[deployment]\nplan = "plan.toml\n')
    assert "not valid TOML" in message
    assert "line 2" in message


def test_non_utf8_config(tmp_path):
    path = tmp_path / CONFIG_FILENAME
    path.write_bytes('[deployment]\nname = "Đức Thọ"\nplan = "plan.toml"\n'.encode("cp1258", "replace"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path.resolve()) in str(info.value)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# -- CCCH_STRICT_PLUGINS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, in_file, expected",
    [
        ("1", "false", True),
        ("true", "false", True),
        ("YES", "false", True),
        ("on", "false", True),
        ("0", "true", False),
        ("false", "true", False),
        ("no", "true", False),
    ],
)
def test_env_overrides_strict_plugins(tmp_path, monkeypatch, env, in_file, expected):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", env)
    path = write(tmp_path, minimal(strict_plugins=in_file))
    assert load_config(path).strict_plugins is expected


@pytest.mark.parametrize("in_file, expected", [("true", True), ("false", False)])
def test_without_env_the_file_decides(tmp_path, no_env_strict, in_file, expected):
    path = write(tmp_path, minimal(strict_plugins=in_file))
    assert load_config(path).strict_plugins is expected


def test_env_does_not_hide_a_bad_strict_value(tmp_path, monkeypatch):
    monkeypatch.setenv("CCCH_STRICT_PLUGINS", "1")
    message = config_error(tmp_path, minimal(strict_plugins='"sometimes"'))
    assert "strict_plugins" in message


# -- find_config ----------------------------------------------------------------------------


def test_find_config_explicit_wins(tmp_path, monkeypatch):
    write(tmp_path / "cwd", minimal())
    env_config = write(tmp_path / "env", minimal())
    explicit = write(tmp_path / "explicit", minimal(), name="other.toml")
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("CCCH_CONFIG", str(env_config))
    assert find_config(explicit) == explicit
    assert find_config(str(explicit)) == explicit


def test_find_config_env_beats_working_directory(tmp_path, monkeypatch):
    write(tmp_path / "cwd", minimal())
    env_config = write(tmp_path / "env", minimal())
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("CCCH_CONFIG", str(env_config))
    assert find_config() == env_config
    assert find_config(None) == env_config


def test_find_config_working_directory(tmp_path, monkeypatch):
    local = write(tmp_path / "cwd", minimal())
    monkeypatch.chdir(tmp_path / "cwd")
    found = find_config()
    assert found is not None
    assert found.resolve() == local.resolve()


def test_find_config_nothing(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    assert find_config() is None


def test_find_config_ignores_empty_env(tmp_path, monkeypatch):
    local = write(tmp_path / "cwd", minimal())
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv("CCCH_CONFIG", "")
    assert find_config().resolve() == local.resolve()


# -- render_config --------------------------------------------------------------------------


def test_render_config_loads_back(tmp_path, no_env_strict):
    text = render_config(
        name="Huyện Đức Thọ",
        plan="plan.toml",
        database="ccch.db",
        public_base_url="https://cchc.ductho.hatinh.gov.vn",
        plugins=["contest", "survey", "export"],
    )
    config = load_config(write(tmp_path, text))
    assert config.name == "Huyện Đức Thọ"
    assert config.plan_path == (tmp_path / "plan.toml").resolve()
    assert config.database_path == (tmp_path / "ccch.db").resolve()
    assert config.public_base_url == "https://cchc.ductho.hatinh.gov.vn"
    assert config.plugins == ("contest", "survey", "export")
    assert config.strict_plugins is False


def test_render_config_without_plugins_loads_back(tmp_path):
    text = render_config(name="X", plan="p.toml", database=":memory:",
                         public_base_url="http://127.0.0.1:8000", plugins=[])
    config = load_config(write(tmp_path, text))
    assert config.plugins == ()
    assert config.database_path == ":memory:"


def test_render_config_escapes_quotes_and_backslashes(tmp_path):
    name = 'UBND "Đức Thọ" \\ thử'
    text = render_config(name=name, plan="sub dir/plan.toml", database="data\\ccch.db",
                         public_base_url="https://x.gov.vn", plugins=["survey"])
    config = load_config(write(tmp_path, text))
    assert config.name == name
    assert config.plan_path == (tmp_path / "sub dir" / "plan.toml").resolve()
    assert config.database_path == (tmp_path / "data\\ccch.db").resolve()


def test_render_config_has_comments():
    text = render_config(name="X", plan="p.toml", database="c.db",
                         public_base_url="https://x.gov.vn", plugins=[])
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) >= 5


@pytest.mark.parametrize(
    ("web", "expected"),
    [
        ("port = 8000", "web.port: unknown key"),
        ('secret_key = "short"', "web.secret_key: must be text of at least 32 characters"),
        ("max_request_bytes = 10", "web.max_request_bytes: must be a whole number"),
    ],
)
def test_bad_web_settings(tmp_path, web, expected):
    message = config_error(tmp_path, minimal() + f"\n[web]\n{web}\n")
    assert expected in message
