"""``[replication]``: settings, the written litestream.yml, the app's checkpoints, the lag, the
commands. The real Litestream runs in tests/test_restore_drill.py."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest
from ccch_testing import ROOT
from click.testing import CliRunner

from ccch_core import replication
from ccch_core.cli import make_cli
from ccch_core.config import ConfigError, config_from_dict
from ccch_core.testing import to_toml


def with_replication(dep, **table):
    path = dep.config.path
    path.write_text(path.read_text(encoding="utf-8") + "\n" + to_toml({"replication": table}), encoding="utf-8")
    from ccch_core.config import load_config

    return load_config(path)


@pytest.mark.parametrize("table, message", [
    ({"sync_interval_seconds": 1}, "replication.replica: a folder (/srv/ccch-replica) or s3://bucket/path is required"),
    ({"replica": "ftp://host/x"}, "only a folder, file:// or s3:// replicas are supported"),
    ({"replica": "s3:///x"}, "names no bucket"),
    ({"replica": "/srv/r", "endpoint": "https://s3.example.vn"}, "only for an s3:// replica"),
    ({"replica": "s3://b/p", "sync_interval_seconds": 0}, "replication.sync_interval_seconds: a whole number 1–3600, not 0"),
    ({"replica": "s3://b/p", "retention_hours": "7d"}, "replication.retention_hours: a whole number"),
    ({"replica": "s3://b/p", "metrics_address": "0.0.0.0:9391"}, "loopback only"),
    ({"replica": "/srv/r", "replicas": []}, "replication.replicas: unknown key"),
])
def test_bad_settings_are_config_errors_naming_key_and_value(table, message):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"deployment": {"plan": "plan.toml"}, "replication": table}, Path("/srv/ccch/ccch.toml"))
    assert message in str(caught.value)
    assert "/srv/ccch/ccch.toml" in str(caught.value)


def test_litestream_yml_for_a_folder_and_for_s3(make_deployment, tmp_path):
    dep = make_deployment()
    config = with_replication(dep, replica="../replica", sync_interval_seconds=5, retention_hours=72)
    settings = replication.settings_of(config)
    text = replication.render_litestream_config(config, settings)
    assert f'- path: "{config.database_path}"' in text
    assert "type: file" in text and f'path: "{(config.folder.parent / "replica").resolve()}"' in text
    assert "sync-interval: 5s" in text and "retention: 72h" in text
    config = with_replication(make_deployment(), replica="s3://ccch-ductho/db", endpoint="https://s3.example.vn",
                              region="hn", force_path_style=True)
    text = replication.render_litestream_config(config, replication.settings_of(config))
    for line in ("type: s3", 'bucket: "ccch-ductho"', 'path: "db"', 'endpoint: "https://s3.example.vn"',
                 'region: "hn"', "force-path-style: true"):
        assert line in text
    assert "access-key" not in text and "secret" not in text.split("LITESTREAM_SECRET_ACCESS_KEY")[1]


def test_connections_leave_checkpoints_to_litestream_only_when_replicated(make_deployment):
    from ccch_core import storage

    plain = make_deployment()
    # write_transaction has a thread checkpoint every CHECKPOINT_EVERY commits; SQLite's own is the backstop.
    assert plain.db.execute("pragma wal_autocheckpoint").fetchone()[0] == storage.BACKSTOP_CHECKPOINT_FRAMES
    assert getattr(plain.db, "_ccch_checkpoints", False)
    config = with_replication(make_deployment(), replica="../replica")
    from ccch_core.deployment import Deployment

    replicated = Deployment(config)
    try:
        assert replicated.db.execute("pragma wal_autocheckpoint").fetchone()[0] == 0
        assert replicated.db.execute("pragma journal_mode").fetchone()[0] == "wal"
        # Nor does write_transaction have it checkpointed: every page stays in the WAL.
        db = replicated.db
        db.execute("create table filler (x blob)")
        for _ in range(3 * storage.CHECKPOINT_EVERY):
            with storage.write_transaction(db):
                db.conn.executemany("insert into filler values (?)", [(os.urandom(3000),)] * 50)
        assert (str(config.database_path), os.getpid()) not in storage._checkpointers
        wal = Path(str(config.database_path) + "-wal").stat().st_size
        assert wal > 3 * storage.CHECKPOINT_EVERY * 50 * 3000  # past the backstop too: never copied
    finally:
        replicated.close()


def test_nothing_in_the_app_truncates_or_restarts_the_wal():
    """Litestream must see every WAL frame: no code of the core or a plugin runs a checkpoint,
    but the storage's own PASSIVE one, which replicated connections never run (above)."""
    found = []
    for folder in [ROOT / "src", *sorted((ROOT / "plugins").glob("*/src"))]:
        for path in folder.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for match in re.finditer(r"wal_checkpoint[^\n]*|VACUUM[^\n]*", text, re.IGNORECASE):
                found.append((str(path.relative_to(ROOT)), match.group(0)))
    assert found == [(str(Path("src/ccch_core/storage.py")), 'wal_checkpoint(PASSIVE)").fetchone())')]


def _ltx(folder: Path, level: int, txid: int, when: float) -> None:
    path = folder / "ltx" / str(level) / f"{txid:016x}-{txid:016x}.ltx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (when, when))


def test_lag_from_litestream_state_and_the_replica(make_deployment, tmp_path):
    config = with_replication(make_deployment(), replica=str(tmp_path / "replica"))
    settings = replication.settings_of(config)
    status = replication.status(config, settings)
    assert status.lag_seconds is None and "never run" in status.problem
    now = time.time()
    database = Path(config.database_path)
    local = database.with_name(f".{database.name}-litestream")
    wal = Path(str(database) + "-wal")
    os.utime(wal, (now - 100, now - 100))
    for txid in (1, 2, 3):
        _ltx(local, 0, txid, now - 40 + txid * 10)  # written 30, 20 and 10 s ago
    _ltx(tmp_path / "replica", 0, 1, now - 29)
    status = replication.status(config, settings, now=now)
    assert status.local_txid == 3 and status.replica_txid == 1
    assert status.lag_seconds == pytest.approx(20, abs=0.5)  # transaction 2 waits since 20 s ago
    _ltx(tmp_path / "replica", 9, 3, now - 5)  # a compacted file holding up to 3
    status = replication.status(config, settings, now=now)
    assert status.lag_seconds == 0 and status.replica_updated_at is not None
    os.utime(wal, (now - 2, now - 2))  # the WAL changed after Litestream's last look: it is not running
    assert replication.status(config, settings, now=now).lag_seconds == pytest.approx(10, abs=0.5)


def test_parse_instant_reads_vietnam_time():
    assert replication.parse_instant("2026-12-06 15:55") == dt.datetime(2026, 12, 6, 8, 55, tzinfo=dt.UTC)
    assert replication.parse_instant("2026-12-06T08:55:00+00:00") == dt.datetime(2026, 12, 6, 8, 55, tzinfo=dt.UTC)
    with pytest.raises(replication.ReplicationError, match="--at 'hôm qua'"):
        replication.parse_instant("hôm qua")


def test_commands(make_deployment, tmp_path):
    runner = CliRunner()
    plain = make_deployment()
    result = runner.invoke(make_cli(plain.config.path), ["replication", "status"])
    assert result.exit_code == 1 and "no [replication] table" in result.output
    config = with_replication(make_deployment(), replica=str(tmp_path / "replica"))
    cli = make_cli(config.path)
    printed = runner.invoke(cli, ["replication", "config", "--output", "-"])
    assert printed.exit_code == 0 and "type: file" in printed.output
    written = runner.invoke(make_cli(config.path), ["replication", "config"])
    assert written.exit_code == 0
    assert (config.folder / "litestream.yml").stat().st_mode & 0o077 == 0
    status = runner.invoke(make_cli(config.path), ["replication", "status"])
    assert status.exit_code == 1 and "never run" in status.output
    refused = runner.invoke(make_cli(config.path), ["restore"])
    assert refused.exit_code == 1 and "exists; stop the server and Litestream, then pass --force" in refused.output
    bad_time = runner.invoke(make_cli(config.path), ["restore", "--at", "mai", "--output", str(tmp_path / "x.db")])
    assert bad_time.exit_code == 1 and "write a time like 2026-12-06 15:55" in bad_time.output
