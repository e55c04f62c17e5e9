"""The deployment config file, ``ccch.toml``.

One file says which plan a deployment runs, where its database is, the public base URL that QR
codes carry, and which plugins are enabled (in order) with their settings::

    [deployment]
    name = "Huyện Đức Thọ"
    plan = "plan.toml"              # relative to this file
    database = "ccch.db"            # relative to this file
    public_base_url = "https://cchc.ductho.hatinh.gov.vn"
    plugins = ["contest", "survey", "export"]
    strict_plugins = false          # true: a plugin that fails to load stops start-up

    [plugins.survey]                # settings of one plugin, read by that plugin
    short_path = "k"

    [limits]                        # bounds of every import (ccch_core.limits); defaults are safe
    max_rows = 20000

Unknown keys are errors, as in plan files.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from .limits import DEFAULT_LIMITS, ImportLimits, parse_limits

__all__ = [
    "CONFIG_FILENAME",
    "ConfigError",
    "DeploymentConfig",
    "find_config",
    "load_config",
]

CONFIG_FILENAME = "ccch.toml"
"""The name of a deployment's config file, found in the current folder when no path is given."""
ENV_CONFIG = "CCCH_CONFIG"
ENV_STRICT = "CCCH_STRICT_PLUGINS"

PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")

DEPLOYMENT_KEYS = ("name", "plan", "plans", "database", "public_base_url", "plugins", "strict_plugins", "busy_timeout_ms")
TOP_KEYS = ("deployment", "plugins", "web", "messages", "limits", "replication")
WEB_KEYS = ("secret_key", "max_request_bytes", "proxy_count", "require_totp_for", "metrics_allow", "log_format",
            "queue_limit_seconds", "retry_after_seconds")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the key and the value."""


@attrs.frozen
class DeploymentConfig:
    """A parsed ``ccch.toml``. Paths are absolute, resolved against the config file's folder."""

    path: Path | None
    plan_path: Path
    database_path: Path | str
    more_plan_paths: tuple[Path, ...] = ()
    """``[deployment] plans``: more plan files beside ``plan`` (other years), relative to the
    config; ``plan`` stays the default plan (``Deployment.plan``)."""
    name: str = "ccch"
    public_base_url: str = "http://127.0.0.1:8000"
    plugins: tuple[str, ...] = ()
    strict_plugins: bool = False
    busy_timeout_ms: int = 10_000
    plugin_settings: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    web: dict[str, Any] = attrs.field(factory=dict)
    messages: dict[str, Any] = attrs.field(factory=dict)
    """The raw ``[messages]`` table (parsed by :mod:`ccch_core.messages.settings`)."""
    limits: ImportLimits = DEFAULT_LIMITS
    """The bounds of every import (``[limits]``, :mod:`ccch_core.limits`)."""
    replication: dict[str, Any] = attrs.field(factory=dict)
    """The raw ``[replication]`` table (parsed by :mod:`ccch_core.replication`); empty: none."""

    @property
    def folder(self) -> Path:
        """The deployment folder (where ``ccch.toml`` lives)."""
        return self.path.parent if self.path else Path.cwd()


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _check_roles(value: Any, where: str) -> list[str]:
    """Problems of a list of role names (``[web] require_totp_for``)."""
    from .accounts import Role

    names = [r.value for r in Role]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return [f"{where}: must be a list of role names ({', '.join(names)}), not {value!r}"]
    return [f"{where}: {v!r} is not a role{_suggest(v, names)} (roles: {', '.join(names)})"
            for v in value if v not in names]


def check_base_url(url: str, where: str = "public_base_url") -> str:
    """Validate the public base URL that QR codes and links carry: absolute http(s), no query."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{where}: {url!r} must be an absolute http(s) URL without query or fragment, "
            "e.g. https://cchc.ductho.hatinh.gov.vn"
        )
    return url.rstrip("/")


def load_config(path: str | Path) -> DeploymentConfig:
    """Read and validate a ``ccch.toml``; raises :class:`ConfigError` naming the problem."""
    path = Path(path).resolve()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one with `ccch init`)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return config_from_dict(doc, path)


def config_from_dict(doc: dict[str, Any], path: Path | None = None) -> DeploymentConfig:
    """Build a config from parsed TOML (tests use this directly)."""
    where = str(path) if path else "config"
    problems = []
    for key in doc:
        if key not in TOP_KEYS:
            problems.append(f"{where}: unknown top-level key {key!r}{_suggest(key, TOP_KEYS)}")
    deployment = doc.get("deployment", {})
    if not isinstance(deployment, dict):
        raise ConfigError(f"{where}: [deployment] must be a table")
    for key in deployment:
        if key not in DEPLOYMENT_KEYS:
            problems.append(f"{where}: deployment.{key}: unknown key{_suggest(key, DEPLOYMENT_KEYS)}")
    folder = path.parent if path else Path.cwd()

    def text(key, default=None):
        value = deployment.get(key, default)
        if value is None:
            problems.append(f"{where}: deployment.{key}: missing required field")
        elif not isinstance(value, str):
            problems.append(f"{where}: deployment.{key}: must be text, not {value!r}")
            return default
        elif not value.strip():
            problems.append(f"{where}: deployment.{key}: must not be empty")
            return None
        return value

    plan = text("plan")
    more_plans = deployment.get("plans", [])
    if not isinstance(more_plans, list) or not all(isinstance(p, str) and p.strip() for p in more_plans):
        problems.append(f"{where}: deployment.plans: must be a list of plan file paths, not {more_plans!r}")
        more_plans = []
    elif len(more_plans) > 20:
        problems.append(f"{where}: deployment.plans: at most 20 more plan files, not {len(more_plans)}")
        more_plans = []
    database = text("database", "ccch.db")
    name = text("name", "ccch")
    base_url = text("public_base_url", "http://127.0.0.1:8000")
    try:
        if base_url is not None:
            base_url = check_base_url(base_url, f"{where}: deployment.public_base_url")
    except ConfigError as exc:
        problems.append(str(exc))
    plugins = deployment.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        problems.append(f"{where}: deployment.plugins: must be a list of plugin names, not {plugins!r}")
        plugins = []
    for name_ in plugins:
        if not PLUGIN_NAME.match(name_):
            problems.append(f"{where}: deployment.plugins: {name_!r} is not a plugin name")
    duplicates = sorted({p for p in plugins if plugins.count(p) > 1})
    if duplicates:
        problems.append(f"{where}: deployment.plugins: {', '.join(duplicates)} listed twice")
    strict = deployment.get("strict_plugins", False)
    if not isinstance(strict, bool):
        problems.append(f"{where}: deployment.strict_plugins: must be true or false, not {strict!r}")
        strict = False
    busy = deployment.get("busy_timeout_ms", 10_000)
    if isinstance(busy, bool) or not isinstance(busy, int) or not 100 <= busy <= 600_000:
        problems.append(f"{where}: deployment.busy_timeout_ms: a whole number of milliseconds 100–600000, not {busy!r}")
        busy = 10_000
    settings = doc.get("plugins", {})
    if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
        problems.append(f"{where}: [plugins.NAME] sections must be tables")
        settings = {}
    for plugin_name in settings:
        if plugin_name not in plugins:
            problems.append(
                f"{where}: [plugins.{plugin_name}] has settings but {plugin_name!r} is not in "
                f"deployment.plugins{_suggest(plugin_name, plugins)}"
            )
    web = doc.get("web", {})
    if not isinstance(web, dict):
        problems.append(f"{where}: [web] must be a table")
        web = {}
    for key, value in web.items():
        if key not in WEB_KEYS:
            problems.append(f"{where}: web.{key}: unknown key{_suggest(key, WEB_KEYS)}")
        elif key == "secret_key" and (not isinstance(value, str) or len(value) < 32):
            problems.append(f"{where}: web.secret_key: must be text of at least 32 characters")
        elif key == "proxy_count" and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5):
            problems.append(f"{where}: web.proxy_count: must be a whole number 0–5 (reverse proxies in front), not {value!r}")
        elif key == "max_request_bytes" and (isinstance(value, bool) or not isinstance(value, int) or value < 10_000):
            problems.append(f"{where}: web.max_request_bytes: must be a whole number ≥ 10000, not {value!r}")
        elif key == "queue_limit_seconds" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                               or not 0 <= value <= 600):
            problems.append(f"{where}: web.queue_limit_seconds: must be a number of seconds 0–600 (0: never refuse "
                            f"a request for having waited), not {value!r}")
        elif key == "retry_after_seconds" and (isinstance(value, bool) or not isinstance(value, int)
                                               or not 1 <= value <= 3600):
            problems.append(f"{where}: web.retry_after_seconds: must be a whole number of seconds 1–3600, not {value!r}")
        elif key == "require_totp_for":
            problems.extend(_check_roles(value, f"{where}: web.require_totp_for"))
        elif key in ("metrics_allow", "log_format"):
            from .metrics import check_web_setting

            problems.extend(check_web_setting(key, value, f"{where}: web.{key}"))
    messages = doc.get("messages", {})
    if not isinstance(messages, dict):
        problems.append(f"{where}: [messages] must be a table")
        messages = {}
    else:
        from .messages.settings import parse_messaging

        problems.extend(parse_messaging(messages, where)[1])
    limits, limit_problems = parse_limits(doc.get("limits", {}), where)
    problems.extend(limit_problems)
    replication = doc.get("replication", {})
    if not isinstance(replication, dict):
        problems.append(f"{where}: [replication] must be a table")
        replication = {}
    else:
        from .replication import parse_replication

        problems.extend(parse_replication(replication, where, folder)[1])
    if problems:
        raise ConfigError("\n".join(problems))
    env_strict = os.environ.get(ENV_STRICT, "").strip()
    if env_strict:
        strict = env_strict.strip().lower() in ("1", "true", "yes", "on")
    database_path: Path | str = database if database == ":memory:" else (folder / database).resolve()
    return DeploymentConfig(
        path=path,
        plan_path=(folder / plan).resolve(),
        more_plan_paths=tuple((folder / p).resolve() for p in more_plans),
        database_path=database_path,
        name=name,
        public_base_url=base_url,
        plugins=tuple(plugins),
        strict_plugins=strict,
        busy_timeout_ms=busy,
        plugin_settings=settings,
        web=web,
        messages=messages,
        limits=limits,
        replication=replication,
    )


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config to use: ``explicit``, else ``$CCCH_CONFIG``, else ``./ccch.toml`` if present."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    candidate = Path.cwd() / CONFIG_FILENAME
    return candidate if candidate.exists() else None


def render_messages_config() -> str:
    """The ``[messages]`` section of a new ``ccch.toml`` (development senders)."""
    from .messages.settings import render_messages_config as render

    return render()


def render_config(
    *, name: str, plan: str, database: str, public_base_url: str, plugins: list[str], messages: bool = True
) -> str:
    """The text of a new ``ccch.toml`` (used by ``ccch init``), with comments for each key."""

    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    plugin_list = ", ".join(q(p) for p in plugins)
    return (
        # No path into a checkout here: a deployment installed from wheels has no docs/ folder.
        "# ccch deployment config, written by `ccch init`. Each key is explained beside it; the\n"
        "# deployment guide (deploy.md in the ccch documentation) has the rest, and `ccch doctor`\n"
        "# checks the deployment.\n"
        "[deployment]\n"
        f"name = {q(name)}\n"
        "# The plan file this deployment runs, relative to this file.\n"
        f"plan = {q(plan)}\n"
        "# The SQLite database, relative to this file.\n"
        f"database = {q(database)}\n"
        "# The address citizens reach; QR codes on posters carry it. Set it before printing.\n"
        f"public_base_url = {q(public_base_url)}\n"
        "# Enabled plugins, in order. Installed but not listed here means not loaded.\n"
        f"plugins = [{plugin_list}]\n"
        "# true: a plugin that fails to load stops start-up instead of being skipped.\n"
        "strict_plugins = false\n"
    ) + (render_messages_config() if messages else "")
