"""``ccch users totp enable|reset|disable``: the key shown once, sealed in the database, every
change audited, and the errors an administrator can make."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from ccch_core import accounts, audit, totp
from ccch_core.cli import make_cli
from ccch_core.testing import PASSWORD


@pytest.fixture
def deployment_with_admin(make_deployment, make_user):
    dep = make_deployment(web={"require_totp_for": ["plan_admin"]})
    name, _ = make_user(dep, "plan_admin", username="vhtt")
    return dep, name


def run(dep, *args):
    return CliRunner().invoke(make_cli(dep.config.path), [str(a) for a in args])


def key_of(output: str) -> str:
    match = re.search(r"Key:\s+((?:[A-Z2-7]{4} ?){8})", output)
    assert match, output
    return match.group(1).replace(" ", "")


def test_enable_prints_the_key_and_uri_once(deployment_with_admin):
    dep, name = deployment_with_admin
    result = run(dep, "users", "totp", "enable", name, "--no-qr")
    assert result.exit_code == 0, result.output
    key = key_of(result.output)
    assert f"otpauth://totp/Th%E1%BB%AD%20nghi%E1%BB%87m%3Avhtt?secret={key}" in result.output
    assert "in person" in result.output
    user = accounts.find_user(dep.db, name)
    assert user.totp_enabled
    assert key not in "\n".join(dep.db.conn.iterdump())  # stored sealed only
    assert accounts.verify_second_factor(dep.db, user, totp.code_at(key, totp.current_step()), address_key="a",
                                         secret=dep.secret_key)
    again = run(dep, "users", "totp", "enable", name, "--no-qr")
    assert again.exit_code == 1 and "already has a second factor" in again.output
    assert "Key:" not in again.output  # never shown a second time
    listing = json.loads(run(dep, "users", "list", "--json").output)
    assert [u["totp"] for u in listing if u["username"] == name] == [True]
    assert "2FA" in run(dep, "users", "list").output


def test_qr_code_only_when_asked_for_and_available(deployment_with_admin):
    dep, name = deployment_with_admin
    result = run(dep, "users", "totp", "enable", name, "--qr")
    assert result.exit_code == 0, result.output
    try:
        import qrcode  # noqa: F401 - installed with the survey plugin, not by the core
    except ImportError:
        assert "the qrcode package is not installed" in result.output
    else:
        assert "█" in result.output or "▀" in result.output


def test_reset_gives_a_new_key_and_disable_removes_it(deployment_with_admin):
    dep, name = deployment_with_admin
    first = key_of(run(dep, "users", "totp", "enable", name, "--no-qr").output)
    reset = run(dep, "users", "totp", "reset", name, "--no-qr")
    assert reset.exit_code == 0, reset.output
    assert key_of(reset.output) != first
    disabled = run(dep, "users", "totp", "disable", name)
    assert disabled.exit_code == 0, disabled.output
    assert "cannot sign in until" in disabled.output  # plan_admin is required to have one here
    assert not accounts.find_user(dep.db, name).totp_enabled
    entries = [(e.action, e.target, (e.username or "").startswith("cli:")) for e in audit.entries(dep.db)]
    assert entries[:3] == [("user.totp_disable", name, True), ("user.totp_reset", name, True),
                           ("user.totp_enable", name, True)]
    assert [e.label for e in audit.entries(dep.db)][:3] == [
        "Tắt xác thực hai bước", "Cấp lại mã bí mật xác thực hai bước", "Bật xác thực hai bước"]


@pytest.mark.parametrize("command", ["enable", "reset", "disable"])
def test_an_unknown_account_is_an_error(deployment_with_admin, command):
    dep, _ = deployment_with_admin
    result = run(dep, "users", "totp", command, "khong-co-ai")
    assert result.exit_code == 1
    assert "no account 'khong-co-ai'" in result.output
    assert audit.entries(dep.db, action=f"user.totp_{command}") == []


def test_disable_without_one_is_an_error(deployment_with_admin):
    dep, name = deployment_with_admin
    result = run(dep, "users", "totp", "disable", name)
    assert result.exit_code == 1 and "has no second factor" in result.output


def test_the_password_alone_is_enough_again_after_disable(deployment_with_admin, make_user, make_app):
    dep, _ = deployment_with_admin
    viewer, _ = make_user(dep, "viewer")
    run(dep, "users", "totp", "enable", viewer, "--no-qr")
    app = make_app(dep)
    from ccch_core.testing import login

    assert login(app.test_client(), viewer, PASSWORD).status_code == 303  # asked for a code
    run(dep, "users", "totp", "disable", viewer)
    assert login(app.test_client(), viewer, PASSWORD).status_code == 302
