"""The fixtures ccch_core.testing offers plugin authors work as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import plugin_samples as samples

from ccch_core.testing import login


def test_make_deployment_app_user_and_login(make_deployment, make_app, make_user):
    deployment = make_deployment()
    assert deployment.db["measurements"].exists()
    assert deployment.plan.id == "duc-tho-2024"
    app = make_app(deployment)
    username, password = make_user(deployment, "unit_officer", "xa-an-dung")
    client = app.test_client()
    assert client.get("/").status_code == 302
    assert login(client, username, password).status_code == 302
    page = client.get("/bao-cao?period=2024-03").get_data(as_text=True)
    assert "UBND xã An Dũng" in page
    other = make_deployment()
    assert other.config.folder != deployment.config.folder


def test_wrong_password_does_not_log_in(make_deployment, make_app, make_user):
    deployment = make_deployment()
    username, _ = make_user(deployment, "viewer")
    client = make_app(deployment).test_client()
    assert login(client, username, "sai-mat-khau-roi").status_code == 401


def test_make_deployment_with_a_plan_needs_no_clone_of_the_repository(tmp_path):
    """A plugin's own suite, in a folder with no examples/ above it, passes ``plan_path=`` and never
    asks for the Đức Thọ example; without ``plan_path`` it gets an error that says what to do."""
    plan = Path(__file__).resolve().parents[1] / "examples" / "two-tier-province" / "plan.toml"
    (tmp_path / "plan.toml").write_bytes(plan.read_bytes())
    (tmp_path / "test_outside.py").write_text(
        "from pathlib import Path\n"
        "import pytest\n\n"
        "def test_own_plan(make_deployment):\n"
        "    dep = make_deployment(plan_path=Path(__file__).with_name('plan.toml'))\n"
        "    assert dep.plan.id != 'duc-tho-2024' and dep.db['measurements'].exists()\n\n"
        "def test_without_a_plan(make_deployment):\n"
        "    with pytest.raises(FileNotFoundError) as info:\n"
        "        make_deployment()\n"
        "    assert 'plan_path=' in str(info.value) and 'duc_tho_plan_path' in str(info.value)\n",
        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                             str(tmp_path), str(tmp_path)], check=False, cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_available_adds_to_the_installed_plugins(make_deployment):
    """A test plugin passed through ``available=`` is enabled next to an installed one (export)."""
    dep = make_deployment(["export", "good"], available=samples.available("good"))
    assert dep.pm.enabled == ["export", "good"]
    assert "docx" in dep.exporters
