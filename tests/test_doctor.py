"""``ccch doctor``: each check on real files of a real deployment, both languages, the command."""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner

from ccch_core import doctor
from ccch_core.cli import make_cli
from ccch_core.config import load_config
from ccch_core.testing import to_toml


def levels(findings, check):
    return [f.level for f in findings if f.check == check]


def reconfigure(dep, **tables):
    """Add tables to the deployment's ccch.toml and read it again."""
    path = dep.config.path
    path.write_text(path.read_text(encoding="utf-8") + "\n" + to_toml(tables), encoding="utf-8")
    return load_config(path)


def test_files_with_personal_data_readable_by_others_are_a_problem(make_deployment):
    dep = make_deployment()
    config = dep.config
    assert levels(doctor.check_permissions(config), "permissions") == ["ok"]
    os.chmod(config.database_path, 0o644)
    (finding,) = doctor.check_permissions(config)
    assert finding.level == "problem"
    assert "ccch.db (644)" in finding.vi and "ccch.db (644)" in finding.en
    assert finding.fix_en.startswith("Run: chmod 600 ") and str(config.database_path) in finding.fix_en
    assert "người khác" in finding.vi


def test_ccch_toml_matters_only_when_it_holds_a_secret(make_deployment):
    dep = make_deployment()
    os.chmod(dep.config.path, 0o644)
    assert levels(doctor.check_permissions(dep.config), "permissions") == ["ok"]
    dep = make_deployment(web={"secret_key": "k" * 40})
    config = dep.config
    os.chmod(config.path, 0o644)
    assert levels(doctor.check_permissions(config), "permissions") == ["problem"]
    assert levels(doctor.check_secret_key(config), "secret_key") == ["problem"]
    os.chmod(dep.config.path, 0o600)
    assert levels(doctor.check_secret_key(config), "secret_key") == ["ok"]


def test_secret_key_file(make_deployment):
    dep = make_deployment()
    key = dep.config.folder / "secret_key"
    key.unlink(missing_ok=True)
    assert levels(doctor.check_secret_key(dep.config), "secret_key") == ["warning"]
    key.write_text("short")
    assert levels(doctor.check_secret_key(dep.config), "secret_key") == ["problem"]
    key.write_text("x" * 64)
    assert levels(doctor.check_secret_key(dep.config), "secret_key") == ["ok"]


@pytest.mark.parametrize("url, level", [
    ("http://127.0.0.1:8000", "problem"),
    ("https://192.168.1.20", "problem"),
    ("https://cchc.ductho.local", "problem"),
    ("http://cchc.ductho.hatinh.gov.vn", "warning"),
    ("https://cchc.ductho.hatinh.gov.vn", "ok"),
])
def test_public_base_url(make_deployment, url, level):
    dep = make_deployment(public_base_url=url)
    (finding,) = doctor.check_public_url(dep.config)
    assert finding.level == level and url in finding.vi and url in finding.en


def test_backup_age(make_deployment, tmp_path):
    dep = make_deployment()
    assert levels(doctor.check_backups(dep.config), "backup") == ["warning"]  # no backup_dir said
    backups = tmp_path / "backups"
    backups.mkdir()
    config = reconfigure(dep, replication={"replica": str(tmp_path / "replica"), "backup_dir": str(backups)})
    assert levels(doctor.check_backups(config), "backup") == ["problem"]  # none yet
    old = backups / "ccch-2026-12-01.db"
    old.write_bytes(b"x")
    two_days_ago = time.time() - 48 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    (finding,) = doctor.check_backups(config)
    assert finding.level == "problem" and "48" in finding.en and "48 giờ" in finding.vi
    (backups / "ccch-2026-12-03.db").write_bytes(b"x")
    assert levels(doctor.check_backups(config), "backup") == ["ok"]


def test_replication_never_run_is_a_problem_and_off_is_a_warning(make_deployment, tmp_path):
    dep = make_deployment()
    assert levels(doctor.check_replication(dep.config), "replication") == ["warning"]
    config = reconfigure(dep, replication={"replica": str(tmp_path / "replica")})
    (finding,) = doctor.check_replication(config)
    assert finding.level == "problem" and "never run" in finding.en


def test_time_zone(make_deployment):
    dep = make_deployment()
    assert levels(doctor.check_time_zone(dep.config, lambda: 7.0), "time_zone") == ["ok"]
    (finding,) = doctor.check_time_zone(dep.config, lambda: 0.0)
    assert finding.level == "warning" and "timedatectl set-timezone Asia/Ho_Chi_Minh" in finding.fix_vi


def test_mail_settings(make_deployment, monkeypatch):
    dep = make_deployment(messages={"channels": {"email": {"sender": "folder", "folder": "outbox"}}})
    assert levels(doctor.check_mail(dep.config), "mail") == ["warning"]
    smtp = {"sender": "smtp", "host": "mail.example.vn", "username": "vanthu", "password_env": "CCCH_TEST_SMTP_PW",
            "from_address": "vanthu@example.vn"}
    monkeypatch.setenv("CCCH_TEST_SMTP_PW", "x")
    dep = make_deployment(messages={"channels": {"email": smtp}})
    assert levels(doctor.check_mail(dep.config), "mail") == ["ok"]
    monkeypatch.delenv("CCCH_TEST_SMTP_PW")
    (finding,) = doctor.check_mail(dep.config)
    assert finding.level == "problem" and "CCCH_TEST_SMTP_PW" in finding.en


def test_the_command_in_both_languages(make_deployment):
    dep = make_deployment(public_base_url="http://127.0.0.1:8000")
    runner = CliRunner()
    vi = runner.invoke(make_cli(dep.config.path), ["doctor"])
    assert vi.exit_code == 1  # the loopback address is a problem
    assert vi.output.startswith("Kiểm tra triển khai: 1 cần xử lý")
    assert "✗ Địa chỉ công khai http://127.0.0.1:8000" in vi.output and "Cách sửa:" in vi.output
    en = runner.invoke(make_cli(dep.config.path), ["doctor", "--lang", "en", "--json"])
    assert en.exit_code == 1
    found = {item["check"]: item for item in json.loads(en.output)}
    assert found["public_base_url"]["level"] == "problem"
    assert found["public_base_url"]["fix"].startswith("Set public_base_url")
    assert found["disk"]["level"] in ("ok", "warning", "problem")
