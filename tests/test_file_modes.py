"""Files that hold personal data are the owner's only (Decree 13/2023/NĐ-CP): the database, its WAL
and shm files, backups, and files written with ``storage.open_private`` (exports)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccch_core.storage import backup, connect


def _mode(path) -> int:
    return os.stat(path).st_mode & 0o777


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_database_its_wal_and_shm_and_backups_are_owner_only(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask: new files would be 0644
    try:
        path = tmp_path / "ccch.db"
        db = connect(path)
        db.execute("create table t (x)")
        db.execute("insert into t values (1)")
        db.conn.commit()
        assert _mode(path) == 0o600
        assert _mode(str(path) + "-wal") == 0o600 and _mode(str(path) + "-shm") == 0o600
        copy = backup(path, tmp_path / "backups" / "ccch-2024-04-05.db")
        assert _mode(copy) == 0o600
        db.close()
        # A database made world-readable by an older version (or by hand) is tightened on open.
        os.chmod(path, 0o644)
        connect(path).close()
        assert _mode(path) == 0o600
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_open_private_creates_owner_only_files_whatever_the_umask(tmp_path):
    from ccch_core.storage import open_private

    old_umask = os.umask(0)
    try:
        with open_private(tmp_path / "export.csv", "w", encoding="utf-8") as handle:
            handle.write("Họ tên\n")
        assert _mode(tmp_path / "export.csv") == 0o600
        (tmp_path / "old.xlsx").write_bytes(b"x")
        os.chmod(tmp_path / "old.xlsx", 0o666)
        with open_private(tmp_path / "old.xlsx", "wb") as handle:
            handle.write(b"y")
        assert _mode(tmp_path / "old.xlsx") == 0o600 and (tmp_path / "old.xlsx").read_bytes() == b"y"
        with pytest.raises(ValueError):
            open_private(tmp_path / "export.csv", "r")
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_every_export_command_writes_owner_only_files(make_deployment, tmp_path):
    """Issue #16 part 5: the contest's, the export plugin's and the survey's export files hold
    personal data; with the usual umask they would be world-readable."""
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    examples = Path(__file__).resolve().parent.parent / "examples"
    dep = make_deployment(plugins=("contest", "export", "survey"))
    old_umask = os.umask(0o022)
    try:
        def run(*args):
            result = CliRunner().invoke(make_cli(dep.config.path), [str(a) for a in args])
            assert result.exit_code == 0, result.output

        run("contest", "load", examples / "duc-tho-2024" / "contest.toml")
        run("survey", "load", examples / "surveys" / "sipas.toml")
        run("contest", "export", "tim-hieu-cchc-2024", "participants", tmp_path / "participants.csv")
        for fmt in ("csv", "xlsx", "json"):
            run("export", "contest_participants", "--format", fmt, "-o", tmp_path / f"table.{fmt}")
        run("export", "measurements", "-o", tmp_path / "measurements.csv")
        run("survey", "export", "sipas", "-o", tmp_path / "responses.csv")
        written = ["participants.csv", "table.csv", "table.xlsx", "table.json", "measurements.csv", "responses.csv"]
        assert {name: _mode(tmp_path / name) for name in written} == {name: 0o600 for name in written}
    finally:
        os.umask(old_umask)
