"""The fixtures ccch_core.testing offers plugin authors work as documented."""

from __future__ import annotations

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
