"""Password hashes use Werkzeug's current parameters (read from werkzeug.security now, not copied
here); an older, weaker hash still logs in and is then replaced with a current one."""

from __future__ import annotations

import inspect

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from ccch_core import accounts
from ccch_core.testing import PASSWORD, login


def current_parameters() -> str:
    """What Werkzeug writes for a new hash today, e.g. "scrypt:32768:8:1"."""
    return generate_password_hash("probe").split("$", 1)[0]


def stored_hash(dep, username: str) -> str:
    return dep.db.execute("select password_hash from users where username = ?", [username]).fetchone()[0]


def test_new_hashes_are_scrypt_with_werkzeugs_current_parameters(make_deployment, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "viewer")
    default_method = inspect.signature(generate_password_hash).parameters["method"].default
    assert default_method == "scrypt"
    stored = stored_hash(dep, name)
    assert stored.split("$", 1)[0] == current_parameters()
    assert current_parameters().startswith("scrypt:")
    assert not accounts.needs_rehash(stored)
    accounts.set_password(dep.db, name, "mat-khau-moi-2024")
    assert stored_hash(dep, name).split("$", 1)[0] == current_parameters()


@pytest.mark.parametrize("old_method", ["pbkdf2:sha256:1000", "scrypt:16384:8:1"])
def test_an_old_hash_logs_in_and_is_rehashed_with_current_parameters(make_deployment, make_app, make_user,
                                                                     old_method):
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    old = generate_password_hash(PASSWORD, method=old_method)
    dep.db.execute("update users set password_hash = ? where username = ?", [old, name])
    assert accounts.needs_rehash(old)
    before = accounts.find_user(dep.db, name)
    # A wrong password changes nothing.
    assert accounts.authenticate(dep.db, name, "sai-mat-khau-2024", address_key="a", secret=dep.secret_key) is None
    assert stored_hash(dep, name) == old
    # The right one, through the real login form: accepted, and the hash is replaced.
    client = make_app(dep).test_client()
    assert login(client, name, PASSWORD).status_code == 302
    new = stored_hash(dep, name)
    assert new != old and new.split("$", 1)[0] == current_parameters()
    assert check_password_hash(new, PASSWORD) and not accounts.needs_rehash(new)
    # Not a password change: the session is still valid, and the next login keeps the new hash.
    assert accounts.find_user(dep.db, name).session_version == before.session_version
    assert client.get("/").status_code == 200
    assert accounts.authenticate(dep.db, name, PASSWORD, address_key="a", secret=dep.secret_key) is not None
    assert stored_hash(dep, name) == new
