"""A deployment: the config, the plan, the plugin manager and the database, opened together.

This is the object plugins receive in hooks (``deployment``). It is the stable facade of the
core for plugins: config and per-plugin settings, the plan, database connections, registries
built from hooks.
"""

from __future__ import annotations

import copy
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from . import storage
from .config import DeploymentConfig, load_config
from .model import Plan
from .plancache import load_plan_cached
from .plugins import (
    CORE_NAME,
    DEFAULT_PLUGINS,
    CcchPluginManager,
    PluginError,
    make_plugin_manager,
)

__all__ = [
    "Deployment",
]


def secret_key_of(config: DeploymentConfig) -> str:
    """The deployment's secret: ``[web] secret_key``, ``$CCCH_SECRET_KEY``, or a random key kept in
    ``secret_key`` next to ccch.toml (created on first use, readable by the owner only). It signs
    session cookies and keys the hashes of personal data; keep it in backups."""
    if config.web.get("secret_key"):
        return str(config.web["secret_key"])
    if os.environ.get("CCCH_SECRET_KEY"):
        return os.environ["CCCH_SECRET_KEY"]
    path = config.folder / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker created it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Deployment:
    """An opened deployment. Build with :meth:`open` (from ``ccch.toml``) or the constructor."""

    def __init__(self, config: DeploymentConfig, pm: CcchPluginManager | None = None, plan: Plan | None = None):
        self.config = config
        self.pm = pm or make_plugin_manager(config.plugins, strict=config.strict_plugins)
        self._plan = plan
        self._local = threading.local()
        self.migration_sets = self._collect_migrations()
        self.measures = self._collect_named("register_measures", "measure")
        self.exporters = self._collect_exporters()
        self.data_tables = self._collect_data_tables()
        self.messaging = self._build_messaging()

    @classmethod
    def open(cls, config_path: str | Path, *, migrate: bool = False) -> Deployment:
        """Open the deployment described by ``config_path``.

        Loads the plan (all problems reported at once), checks the database schema (refuses a
        database written by a newer ccch), applies pending migrations when ``migrate`` is true,
        and calls every plugin's ``startup`` hook.
        """
        deployment = cls(load_config(config_path))
        deployment.plan  # noqa: B018 - load and validate now, not on first use
        deployment.plans  # noqa: B018 - and the other years' plans
        deployment.prepare_database(migrate=migrate)
        deployment.pm.hook.startup(deployment=deployment)
        return deployment

    # -- plan and settings --------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        """The plan this deployment runs (loaded on first use, through the plan cache:
        :func:`ccch_core.plancache.load_plan_cached`)."""
        if self._plan is None:
            self._plan = self._load_plan(self.config.plan_path)
        return self._plan

    def _load_plan(self, path: Path) -> Plan:
        # The cache file lives next to ccch.toml; a config built in memory (no file) keeps the
        # parsed plan in this process only.
        folder = self.config.folder if self.config.path is not None else None
        return load_plan_cached(path, limits=self.config.limits, folder=folder)

    @property
    def plans(self) -> dict[str, Plan]:
        """Every plan of the deployment by id, the default (:attr:`plan`) first, then those of
        ``[deployment] plans`` (other years: 2025's beside 2024's). Stored reports and figures
        are keyed by unit and period, so one year's plan never changes another year's figures.
        Raises :class:`ccch_core.planfile.PlanFileError` for a bad file and ``ValueError`` for two
        plans with one id or two plans of the same issuing unit and year."""
        if getattr(self, "_plans", None) is None:
            plans = {self.plan.id: self.plan}
            years = {(self.plan.issuing_unit, self.plan.year): self.plan.id}
            for path in self.config.more_plan_paths:
                other = self._load_plan(path)
                if other.id in plans:
                    raise ValueError(f"{path}: plan id {other.id!r} is already the id of another plan of this deployment")
                key = (other.issuing_unit, other.year)
                if key in years:
                    raise ValueError(f"{path}: {other.year} already has a plan of {other.issuing_unit} "
                                     f"({years[key]!r}); one plan per issuing unit and year")
                plans[other.id], years[key] = other, other.id
            self._plans = plans
        return dict(self._plans)

    def plan_by_id(self, plan_id: str | None) -> Plan:
        """The plan with ``plan_id`` (None: the default plan); KeyError naming the choices."""
        if plan_id is None:
            return self.plan
        try:
            return self.plans[plan_id]
        except KeyError:
            raise KeyError(f"no plan {plan_id!r} in this deployment (plans: {', '.join(self.plans)})") from None

    def with_plan(self, plan: Plan) -> Deployment:
        """This deployment seen through another of its plans (``plan``, one of :attr:`plans`):
        the same configuration, database, plugins and registries, with ``plan`` as
        :attr:`plan`. A page showing another year (``?plan=``, :mod:`ccch_core.web.plan_choice`)
        hands it to code written for ``deployment.plan`` (a report, a plugin's panel) so that
        the code reads the chosen year. Do not close the view: it shares the connection.
        ``plan`` that is the default plan returns this deployment itself."""
        plans = self.plans  # worked out on the deployment itself, shared by the view
        if plan.id not in plans or plans[plan.id] is not plan:
            raise KeyError(f"plan {plan.id!r} is not one of this deployment's plans (plans: {', '.join(plans)})")
        if plan is self.plan:
            return self
        # One view per plan, kept: caches keyed by the deployment object (a plugin's settings, its
        # contests) stay warm from one evaluation of another year's figures to the next. The dict
        # is shared with the views (a shallow copy), so a view's own with_plan finds them too.
        views = self.__dict__.setdefault("_plan_views", {})
        view = views.get(plan.id)
        if view is None or view.plan is not plan:
            view = copy.copy(self)
            view._plan = plan
            views[plan.id] = view
        return view

    def plugin_settings(self, name: str) -> dict[str, Any]:
        """The ``[plugins.NAME]`` table of ``ccch.toml`` (empty if absent)."""
        return dict(self.config.plugin_settings.get(name, {}))

    @property
    def secret_key(self) -> str:
        """The deployment's secret (see :func:`secret_key_of`)."""
        if getattr(self, "_secret", None) is None:
            self._secret = secret_key_of(self.config)
        return self._secret

    @property
    def public_base_url(self) -> str:
        """The absolute URL citizens reach, without a trailing slash (QR codes carry it)."""
        return self.config.public_base_url

    # -- database -----------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        """This thread's connection to the deployment database (opened on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            from .replication import is_replicated

            db = storage.connect(self.config.database_path, busy_timeout_ms=self.config.busy_timeout_ms,
                                 autocheckpoint=not is_replicated(self.config))
            self._local.db = db
        return db

    def close(self) -> None:
        """Close this thread's database connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def prepare_database(self, *, migrate: bool) -> dict[str, list[str]]:
        """Check the schema and, if ``migrate``, apply pending migrations.

        Returns what was (or would be) applied per migration set.
        """
        if migrate:
            return storage.migrate(self.db, self.migration_sets)
        return storage.check_schema(self.db, self.migration_sets)

    def migrate(self) -> dict[str, list[str]]:
        """Apply pending migrations of the core and every enabled plugin."""
        return storage.migrate(self.db, self.migration_sets)

    # -- registries ---------------------------------------------------------------------------

    def _owner(self, plugin_name: str) -> str:
        return CORE_NAME if plugin_name in DEFAULT_PLUGINS else plugin_name

    def _collect_migrations(self) -> list[storage.MigrationSet]:
        sets: list[storage.MigrationSet] = []
        seen: dict[str, str] = {}
        for plugin_name, migrations in self.pm.collect("register_migrations"):
            owner = self._owner(plugin_name)
            if migrations.name != owner:
                raise PluginError(
                    f'plugin "{owner}" registered a migration set named "{migrations.name}"; '
                    f'a plugin\'s migration set must carry the plugin\'s name ("{owner}")'
                )
            if migrations.name in seen:
                raise PluginError(f'migration set "{migrations.name}" is registered twice')
            seen[migrations.name] = plugin_name
            sets.append(storage.MigrationSet(owner, migrations))
        return sets

    def _collect_named(self, hook: str, what: str) -> dict[str, Any]:
        registry: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin_name, item in self.pm.collect(hook):
            (name, function), _ = item
            owner = self._owner(plugin_name)
            if name in registry:
                raise PluginError(f'{what} "{name}" is registered by both "{owners[name]}" and "{owner}"')
            registry[name] = function
            owners[name] = owner
        return registry

    def _collect_data_tables(self) -> dict[str, Any]:
        registry: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin_name, table in self.pm.collect("register_data_tables"):
            owner = self._owner(plugin_name)
            if table.name in registry:
                raise PluginError(f'data table "{table.name}" is registered by both "{owners[table.name]}" and "{owner}"')
            registry[table.name] = table
            owners[table.name] = owner
        return registry

    def _build_messaging(self):
        from .config import ConfigError
        from .messages.outbox import Messaging
        from .messages.settings import parse_messaging

        where = str(self.config.path or "ccch.toml")
        settings, problems = parse_messaging(self.config.messages, where)
        templates: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin_name, template in self.pm.collect("register_message_templates"):
            owner = self._owner(plugin_name)
            if template.key in templates:
                raise PluginError(f'message template "{template.key}" is registered by both '
                                  f'"{owners[template.key]}" and "{owner}"')
            templates[template.key] = template
            owners[template.key] = owner
        kinds: dict[str, Any] = {}
        owners = {}
        for plugin_name, kind in self.pm.collect("register_message_senders"):
            owner = self._owner(plugin_name)
            if kind.name in kinds:
                raise PluginError(f'message sender "{kind.name}" is registered by both "{owners[kind.name]}" '
                                  f'and "{owner}"')
            kinds[kind.name] = kind
            owners[kind.name] = owner
        messaging = Messaging(settings, templates, kinds, where)
        problems.extend(messaging.problems)
        if problems:
            raise ConfigError("\n".join(problems))
        return messaging

    def _collect_exporters(self) -> dict[str, Any]:
        registry: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin_name, exporter in self.pm.collect("register_exporters"):
            owner = self._owner(plugin_name)
            name = exporter.name
            if name in registry:
                raise PluginError(f'exporter "{name}" is registered by both "{owners[name]}" and "{owner}"')
            registry[name] = exporter
            owners[name] = owner
        return registry
