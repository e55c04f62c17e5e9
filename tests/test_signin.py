"""Signing in under attack: an atomic throttle keyed per account and address, refusals that read
the same whatever their reason, addresses kept only as keyed hashes and pruned, and the second
factor (TOTP, RFC 6238) with its replay protection. Real SQLite files, real threads, Flask's
test client; the clock is passed in where a test needs another time, never mocked."""

from __future__ import annotations

import datetime as dt
import re
import statistics
import threading
import time

import pytest
import sqlite_utils

from ccch_core import accounts, audit, privacy, storage, totp
from ccch_core.builtin.schema import migrations as core_migrations
from ccch_core.config import ConfigError, config_from_dict
from ccch_core.testing import PASSWORD, csrf_token
from ccch_core.web.auth import CODE_REFUSAL, PENDING_SECONDS, TRUSTED_COOKIE

ADDRESS = "203.0.113.7"
OWNER_ADDRESS = "198.51.100.20"


def post_login(client, username, password, address=ADDRESS):
    token = csrf_token(client)
    return client.post("/dang-nhap", data={"csrf_token": token, "username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def post_code(client, code, address=ADDRESS):
    token = csrf_token(client)
    return client.post("/dang-nhap/ma-xac-thuc", data={"csrf_token": token, "code": code},
                       environ_base={"REMOTE_ADDR": address})


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def refusal_text(response) -> str:
    """A refused page without what differs by design (the typed name, the CSRF token)."""
    return re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))


def failures(dep) -> int:
    return dep.db.execute("select count(*) from login_failures").fetchone()[0]


def address_key(dep, address=ADDRESS) -> str:
    return accounts.address_key(dep.secret_key, address)


# -- the throttle ---------------------------------------------------------------------------------


def test_sixty_concurrent_wrong_passwords_check_at_most_the_limit(make_deployment, make_user):
    """The finding: 60 wrong passwords at once had 8 checked against a limit of 5, because the
    throttle read the count and recorded the failure in separate transactions."""
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    secret, key = dep.secret_key, address_key(dep)
    barrier = threading.Barrier(60)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        db = storage.connect(dep.config.database_path)
        try:
            barrier.wait()
            try:
                outcome = accounts.authenticate(db, name, f"sai-mat-khau-{i}", address_key=key, secret=secret)
                result = "checked" if outcome is None else "signed in"
            except accounts.Throttled as exc:
                result = exc.limit
        finally:
            db.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 60
    assert results.count("checked") == accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS
    assert results.count("account_address") == 60 - accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS
    assert failures(dep) == accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS


def test_a_stranger_cannot_lock_the_owner_out(make_deployment, make_app, make_user):
    """The finding: after 5 failures anyone's right password got 429 — a stranger who knew the
    name locked the owner out. Now the stranger's address is stopped and the owner is not."""
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    app = make_app(dep)
    stranger = app.test_client()
    for i in range(accounts.MAX_FAILURES_PER_ADDRESS + 5):
        assert post_login(stranger, name, f"sai-mat-khau-{i}").status_code == 401
    assert post_login(stranger, name, PASSWORD).status_code == 401  # the stranger's address waits
    owner = app.test_client()
    assert post_login(owner, name, PASSWORD, address=OWNER_ADDRESS).status_code == 302
    assert signed_in(owner)


def test_only_checked_attempts_count(make_deployment, make_user):
    """A refused attempt is not recorded: hammering a throttled pair does not extend its wait."""
    dep = make_deployment()
    name, _ = make_user(dep, "viewer")
    now = dt.datetime(2024, 3, 5, 3, tzinfo=dt.UTC)
    for i in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS):
        accounts.authenticate(dep.db, name, f"sai-{i}", address_key="a", secret=dep.secret_key, now=now)
    for _ in range(20):
        with pytest.raises(accounts.Throttled):
            accounts.authenticate(dep.db, name, PASSWORD, address_key="a", secret=dep.secret_key, now=now)
    assert failures(dep) == accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS
    later = now + accounts.FAILURE_WINDOW + dt.timedelta(seconds=1)
    assert accounts.authenticate(dep.db, name, PASSWORD, address_key="a", secret=dep.secret_key, now=later)


def test_a_guessing_attack_from_many_addresses_is_paced_not_locked(make_deployment, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    secret = dep.secret_key
    now = dt.datetime(2024, 3, 5, 3, tzinfo=dt.UTC)
    for i in range(accounts.ACCOUNT_CEILING):
        assert accounts.authenticate(dep.db, name, "sai-mat-khau", address_key=f"bot-{i}", secret=secret,
                                     now=now) is None
    with pytest.raises(accounts.Throttled) as refused:
        accounts.authenticate(dep.db, name, PASSWORD, address_key="bot-new", secret=secret, now=now)
    assert refused.value.limit == "account"
    assert refused.value.retry_after <= accounts.ACCOUNT_BACKOFF.total_seconds() + 1
    # Not a lockout: one attempt per ACCOUNT_BACKOFF still gets checked…
    paced = now + accounts.ACCOUNT_BACKOFF + dt.timedelta(seconds=1)
    assert accounts.authenticate(dep.db, name, PASSWORD, address_key="owner", secret=secret, now=paced)
    # …and a browser the owner signed in from before is not slowed at all.
    assert accounts.authenticate(dep.db, name, PASSWORD, address_key="owner-2", secret=secret, now=now,
                                 trusted=True)


def test_the_owners_browser_skips_the_pace_others_do_not(make_deployment, make_app, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    app = make_app(dep)
    owner = app.test_client()
    response = post_login(owner, name, PASSWORD, address=OWNER_ADDRESS)
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(TRUSTED_COOKIE + "="))
    assert "HttpOnly" in cookie and "Path=/dang-nhap" in cookie
    owner.post("/dang-xuat", data={"csrf_token": csrf_token(owner, "/")})
    assert not signed_in(owner)
    for i in range(accounts.ACCOUNT_CEILING):  # a botnet, one address each
        accounts.authenticate(dep.db, name, "sai-mat-khau", address_key=f"bot-{i}", secret=dep.secret_key)
    new_browser = app.test_client()
    assert post_login(new_browser, name, PASSWORD, address="192.0.2.99").status_code == 401
    assert post_login(owner, name, PASSWORD, address="192.0.2.100").status_code == 302
    # A forged or another account's cookie does not count as trusted.
    forged = app.test_client()
    forged.set_cookie(TRUSTED_COOKIE, "eyJ4IjoxfQ.forged.sig", path="/dang-nhap")
    assert post_login(forged, name, PASSWORD, address="192.0.2.101").status_code == 401


def test_failures_at_the_owners_own_office_address_do_not_stop_the_owners_browser(make_deployment, make_app,
                                                                                   make_user):
    """A commune's officers often share one public address: a stranger (or a careless colleague)
    failing there on the owner's account, and on others, stops the strangers, not the browser the
    owner signed in from before."""
    dep = make_deployment()
    name, _ = make_user(dep, "unit_officer", "xa-an-dung")
    app = make_app(dep)
    owner = app.test_client()
    assert post_login(owner, name, PASSWORD).status_code == 302
    owner.post("/dang-xuat", data={"csrf_token": csrf_token(owner, "/")})
    stranger = app.test_client()
    for i in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS):
        assert post_login(stranger, name, f"sai-{i}").status_code == 401
    for i in range(accounts.MAX_FAILURES_PER_ADDRESS):
        post_login(stranger, f"ai-do-{i}", "sai")
    assert post_login(app.test_client(), name, PASSWORD).status_code == 401  # a new browser there waits
    assert post_login(owner, name, PASSWORD).status_code == 302
    # The trusted browser has its own count, not an unlimited one.
    owner.post("/dang-xuat", data={"csrf_token": csrf_token(owner, "/")})
    for i in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS):
        assert post_login(owner, name, f"sai-nua-{i}").status_code == 401
    assert post_login(owner, name, PASSWORD).status_code == 401


def test_every_refusal_reads_the_same(make_deployment, make_app, make_user):
    """Unknown name, wrong password, disabled account, throttled (with the right password): one
    status, one page, no Retry-After — nothing tells a stranger which it was."""
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    disabled, _ = make_user(dep, "viewer")
    accounts.set_active(dep.db, disabled, False)
    app = make_app(dep)
    responses = {
        "unknown name": post_login(app.test_client(), "khong-co-ai", PASSWORD, address="192.0.2.1"),
        "wrong password": post_login(app.test_client(), name, "sai-mat-khau", address="192.0.2.2"),
        "disabled": post_login(app.test_client(), disabled, PASSWORD, address="192.0.2.3"),
    }
    for i in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS):
        post_login(app.test_client(), name, f"sai-{i}", address="192.0.2.4")
    responses["throttled, right password"] = post_login(app.test_client(), name, PASSWORD, address="192.0.2.4")
    statuses = {why: r.status_code for why, r in responses.items()}
    assert set(statuses.values()) == {401}, statuses
    assert len({refusal_text(r) for r in responses.values()}) == 1
    assert all("Retry-After" not in r.headers for r in responses.values())
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in refusal_text(responses["throttled, right password"])


def test_a_throttled_attempt_takes_as_long_as_a_checked_one_but_no_cpu(make_deployment, make_app, make_user):
    """Answering a throttled attempt at once would tell it apart by time; hashing a dummy password
    for it would let one address make the server hash without limit. It waits instead."""
    dep = make_deployment()
    name, _ = make_user(dep, "viewer")
    app = make_app(dep)

    def timed(address, password):
        client = app.test_client()
        token = csrf_token(client)
        start, cpu = time.perf_counter(), time.process_time()
        response = client.post("/dang-nhap", data={"csrf_token": token, "username": name, "password": password},
                               environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 401
        return time.perf_counter() - start, time.process_time() - cpu

    checked = [timed("192.0.2.1", f"sai-{i}") for i in range(accounts.MAX_FAILURES_PER_ACCOUNT_ADDRESS)]
    throttled = [timed("192.0.2.1", f"sai-them-{i}") for i in range(5)]
    wall = statistics.median(t for t, _ in checked), statistics.median(t for t, _ in throttled)
    cpu = statistics.median(c for _, c in checked), statistics.median(c for _, c in throttled)
    assert wall[1] > 0.5 * wall[0], (checked, throttled)
    assert cpu[1] < 0.5 * cpu[0], (checked, throttled)


def test_inputs_are_bounded(make_deployment, make_app, make_user):
    """A megabyte-long name or password is a refusal like any other, after a bounded amount of work."""
    dep = make_deployment()
    name, _ = make_user(dep, "viewer")
    app = make_app(dep)
    client = app.test_client()
    start = time.perf_counter()
    huge = post_login(client, "a" * 900_000, PASSWORD)
    long_password = post_login(client, name, PASSWORD + "x" * 900_000)
    assert time.perf_counter() - start < 5
    assert huge.status_code == long_password.status_code == 401
    with pytest.raises(accounts.AccountError, match="at most"):
        accounts.set_password(dep.db, name, "a-b-c-d-" * 200)


# -- what is stored ------------------------------------------------------------------------------


def test_addresses_and_typed_names_are_stored_only_as_keyed_hashes(make_deployment, make_app, make_user):
    dep = make_deployment()
    make_user(dep, "viewer")
    app = make_app(dep)
    typed = "mat-khau-go-nham-vao-o-ten"  # a password typed into the name field
    post_login(app.test_client(), typed, "sai-mat-khau")
    rows = list(dep.db.query("select * from login_failures"))
    assert len(rows) == 1
    assert rows[0]["address_key"] == privacy.keyed_hash(dep.secret_key, accounts.ADDRESS_PURPOSE, ADDRESS)
    assert rows[0]["account_key"] == privacy.keyed_hash(dep.secret_key, accounts.ACCOUNT_PURPOSE, typed)
    dump = "\n".join(dep.db.conn.iterdump())
    assert ADDRESS not in dump and typed not in dump


def test_old_failures_are_pruned_on_write_and_by_the_daily_purge(make_deployment, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "viewer")
    then = dt.datetime(2024, 3, 5, 3, tzinfo=dt.UTC)
    for i in range(3):
        accounts.authenticate(dep.db, name, "sai", address_key=f"a{i}", secret=dep.secret_key, now=then)
    # The daily `ccch privacy purge`: rows no limit looks at any more go, and the audit log says so.
    soon = then + accounts.FAILURE_WINDOW  # still counted by the per-account limit: kept
    assert sum(r.count for r in privacy.purge_expired(dep, now=soon)) == 0
    assert failures(dep) == 3
    later = then + accounts.ACCOUNT_WINDOW + dt.timedelta(minutes=1)
    found = privacy.purge_expired(dep, now=later, dry_run=True)
    assert sum(r.count for r in found) >= 3 and failures(dep) == 3
    privacy.purge_expired(dep, now=later)
    assert failures(dep) == 0
    assert audit.entries(dep.db, action="privacy.purge")
    # On write: a new failure deletes the ones older than the longest window.
    for i in range(2):
        accounts.authenticate(dep.db, name, "sai", address_key=f"b{i}", secret=dep.secret_key, now=then)
    accounts.authenticate(dep.db, name, "sai", address_key="c", secret=dep.secret_key, now=later)
    assert failures(dep) == 1


def test_the_migration_drops_rows_holding_clear_addresses(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    core_migrations.apply(db, stop_before="m006_sign_in")
    db["login_failures"].insert({"username": "vhtt", "address": ADDRESS, "at": "2024-03-05T03:00:00+00:00"})
    core_migrations.apply(db)
    assert db.execute("select count(*) from login_failures").fetchone()[0] == 0
    assert "address" not in {c.name for c in db["login_failures"].columns}
    assert ADDRESS not in "\n".join(db.conn.iterdump())


# -- the second factor -----------------------------------------------------------------------------

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890", RFC 6238 appendix B


@pytest.mark.parametrize(("unix_time", "eight_digits"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
    (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_codes_match_the_rfc_6238_test_vectors(unix_time, eight_digits):
    """SHA-1 vectors of RFC 6238; apps show the last six digits."""
    assert totp.code_at(RFC_SECRET, totp.current_step(unix_time)) == eight_digits[-6:]


def test_codes_are_typed_loosely_but_bounded():
    assert totp.normalise_code(" 123 456 ") == "123456"
    assert totp.normalise_code("123-456") == "123456"
    for bad in ("12345", "1234567", "abcdef", "١٢٣٤٥٦", "", None, "1" * 10_000):
        assert totp.normalise_code(bad) is None, bad


def test_the_secret_is_stored_sealed(make_deployment, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    other, _ = make_user(dep, "contest_manager")
    setup = accounts.enable_totp(dep.db, name, secret=dep.secret_key, issuer="Huyện Đức Thọ")
    assert re.fullmatch(r"[A-Z2-7]{32}", setup.secret)
    assert setup.uri.startswith("otpauth://totp/Huy%E1%BB%87n%20%C4%90%E1%BB%A9c%20Th%E1%BB%8D%3A")
    assert f"secret={setup.secret}" in setup.uri and "digits=6" in setup.uri and "period=30" in setup.uri
    assert setup.secret not in "\n".join(dep.db.conn.iterdump())
    sealed = dep.db.execute("select totp_secret from users where username = ?", [name]).fetchone()[0]
    user = accounts.find_user(dep.db, name)
    assert totp.unseal(dep.secret_key, user.id, sealed) == setup.secret
    with pytest.raises(totp.SecretError):
        totp.unseal("another deployment's secret key, long enough", user.id, sealed)
    with pytest.raises(totp.SecretError):  # copied onto another account's row
        totp.unseal(dep.secret_key, accounts.find_user(dep.db, other).id, sealed)
    with pytest.raises(totp.SecretError):
        totp.unseal(dep.secret_key, user.id, sealed[:-4] + "AAAA")


@pytest.fixture
def totp_user(make_deployment, make_app, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "plan_admin")
    setup = accounts.enable_totp(dep.db, name, secret=dep.secret_key, issuer="Thử nghiệm")
    return dep, make_app(dep), name, setup.secret


def test_sign_in_with_a_code(totp_user):
    dep, app, name, secret = totp_user
    client = app.test_client()
    response = post_login(client, name, PASSWORD)
    assert response.status_code == 303 and response.headers["Location"].endswith("/dang-nhap/ma-xac-thuc")
    assert not signed_in(client)  # a right password alone does not sign in
    page = client.get("/dang-nhap/ma-xac-thuc").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and name in page
    wrong = post_code(client, "000000" if totp.code_at(secret, totp.current_step()) != "000000" else "111111")
    assert wrong.status_code == 401 and CODE_REFUSAL in wrong.get_data(as_text=True)
    assert not signed_in(client)
    response = post_code(client, totp.code_at(secret, totp.current_step()))
    assert response.status_code == 302
    assert signed_in(client)
    assert accounts.find_user(dep.db, name).last_login_at is not None


def test_a_code_is_never_accepted_twice(totp_user):
    _dep, app, name, secret = totp_user
    code = totp.code_at(secret, totp.current_step())
    first = app.test_client()
    post_login(first, name, PASSWORD)
    assert post_code(first, code).status_code == 302
    second = app.test_client()  # someone who saw the code over the officer's shoulder
    post_login(second, name, PASSWORD, address=OWNER_ADDRESS)
    replay = post_code(second, code, address=OWNER_ADDRESS)
    assert replay.status_code == 401 and CODE_REFUSAL in replay.get_data(as_text=True)
    assert not signed_in(second)


def test_two_requests_with_one_code_at_once_sign_in_once(totp_user):
    dep, _, name, secret = totp_user
    user = accounts.find_user(dep.db, name)
    code = totp.code_at(secret, totp.current_step())
    barrier = threading.Barrier(8)
    accepted = []

    def attempt(i):
        db = storage.connect(dep.config.database_path)
        try:
            barrier.wait()
            accepted.append(accounts.verify_second_factor(db, user, code, address_key=f"a{i}", secret=dep.secret_key))
        finally:
            db.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert accepted.count(True) == 1 and accepted.count(False) == 7


def test_one_step_of_drift_is_accepted_two_are_not(totp_user):
    dep, _, name, secret = totp_user
    user = accounts.find_user(dep.db, name)
    now = dt.datetime(2024, 3, 5, 3, 0, 15, tzinfo=dt.UTC)
    step = totp.current_step(now.timestamp())

    def verify(code, at=now):
        return accounts.verify_second_factor(dep.db, user, code, address_key="a", secret=dep.secret_key, now=at)

    assert not verify(totp.code_at(secret, step - 2))
    assert not verify(totp.code_at(secret, step + 2))
    assert verify(totp.code_at(secret, step - 1))
    assert verify(totp.code_at(secret, step + 1))
    assert not verify(totp.code_at(secret, step))  # older than the last accepted one: never again


def test_wrong_codes_are_throttled_and_a_right_password_does_not_reset_them(totp_user):
    """Otherwise the password holder could alternate password and four codes forever."""
    _dep, app, name, secret = totp_user
    client = app.test_client()
    post_login(client, name, PASSWORD)
    right = totp.code_at(secret, totp.current_step())
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(3):
        assert post_code(client, wrong).status_code == 401
    assert post_login(client, name, PASSWORD).status_code == 303  # the password again…
    for _ in range(2):
        assert post_code(client, wrong).status_code == 401
    response = post_code(client, right)  # …did not give the code step fresh tries
    assert response.status_code == 401 and CODE_REFUSAL in response.get_data(as_text=True)
    assert post_login(client, name, PASSWORD).status_code == 401  # and the password step waits too
    assert not signed_in(client)


def test_the_code_step_expires(totp_user):
    _dep, app, name, secret = totp_user
    client = app.test_client()
    post_login(client, name, PASSWORD)
    with client.session_transaction() as session:
        pending = dict(session["pending_login"])
        pending["at"] -= PENDING_SECONDS + 1
        session["pending_login"] = pending
    response = post_code(client, totp.code_at(secret, totp.current_step()))
    assert response.status_code == 401
    assert "Phiên đăng nhập đã hết hạn" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_a_reset_ends_sessions_and_the_old_app_stops_working(totp_user):
    dep, app, name, secret = totp_user
    client = app.test_client()
    post_login(client, name, PASSWORD)
    assert post_code(client, totp.code_at(secret, totp.current_step())).status_code == 302
    new = accounts.reset_totp(dep.db, name, secret=dep.secret_key, issuer="Thử nghiệm", actor="cli:root")
    assert not signed_in(client)
    user = accounts.find_user(dep.db, name)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    assert not accounts.verify_second_factor(dep.db, user, totp.code_at(secret, totp.current_step(now.timestamp())),
                                             address_key="b", secret=dep.secret_key, now=now)
    assert accounts.verify_second_factor(dep.db, user, totp.code_at(new.secret, totp.current_step(now.timestamp())),
                                         address_key="b", secret=dep.secret_key, now=now)
    assert [e.action for e in audit.entries(dep.db)][:2] == ["user.totp_reset", "user.totp_enable"]


def test_enable_twice_and_disable_without_are_refused(make_deployment, make_user):
    dep = make_deployment()
    name, _ = make_user(dep, "contest_manager")
    with pytest.raises(accounts.AccountError, match="no second factor"):
        accounts.disable_totp(dep.db, name)
    accounts.enable_totp(dep.db, name, secret=dep.secret_key, issuer="x", actor="cli:root")
    with pytest.raises(accounts.AccountError, match="already has a second factor"):
        accounts.enable_totp(dep.db, name, secret=dep.secret_key, issuer="x")
    assert accounts.disable_totp(dep.db, name, actor="cli:root").totp_enabled is False
    assert [(e.action, e.username, e.target) for e in audit.entries(dep.db, action="user.totp_disable")] == [
        ("user.totp_disable", "cli:root", name)]


def test_a_required_role_without_a_second_factor_cannot_sign_in(make_deployment, make_app, make_user):
    dep = make_deployment(web={"require_totp_for": ["plan_admin", "contest_manager"]})
    admin, _ = make_user(dep, "plan_admin")
    viewer, _ = make_user(dep, "viewer")
    app = make_app(dep)
    refused = post_login(app.test_client(), admin, PASSWORD)
    assert refused.status_code == 403
    assert "liên hệ quản trị hệ thống" in refused.get_data(as_text=True)
    assert post_login(app.test_client(), viewer, PASSWORD).status_code == 302
    setup = accounts.enable_totp(dep.db, admin, secret=dep.secret_key, issuer="x")
    client = app.test_client()
    assert post_login(client, admin, PASSWORD).status_code == 303
    assert post_code(client, totp.code_at(setup.secret, totp.current_step())).status_code == 302


@pytest.mark.parametrize(("value", "message"), [
    (["admin"], "'admin' is not a role"),
    (["plan_admn"], 'did you mean "plan_admin"'),
    ("plan_admin", "must be a list of role names"),
    ([1], "must be a list of role names"),
])
def test_require_totp_for_names_roles(value, message):
    doc = {"deployment": {"plan": "plan.toml"}, "web": {"require_totp_for": value}}
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_from_dict(doc)
    assert config_from_dict({"deployment": {"plan": "plan.toml"},
                             "web": {"require_totp_for": ["plan_admin"]}}).web["require_totp_for"] == ["plan_admin"]


# -- IPv6: one subscriber's /64 is one address --------------------------------------------------


@pytest.mark.parametrize(("address", "counted_as"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::abcd%eth0", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("", "?"),
    (None, "?"),
    ("not an address", "not an address"),
    ("1:2:3", "1:2:3"),
])
def test_an_ipv6_address_counts_as_its_slash_64(address, counted_as):
    from ccch_core.ratelimit import client_network

    assert client_network(address) == counted_as


def test_rotating_through_a_slash_64_does_not_escape_the_address_throttle(make_deployment, make_app, make_user):
    """A stranger with an IPv6 /64 has 2^64 addresses: failures from any of them count together,
    and an address in another /64 is not held back by them."""
    dep = make_deployment()
    make_user(dep, "plan_admin", username="chu-nha")
    client = make_app(dep).test_client()
    for i in range(12):
        post_login(client, f"khong-co-{i}", "sai", address=f"2001:db8:1:2::{i + 1:x}")
    keys = {row[0] for row in dep.db.execute("select address_key from login_failures")}
    assert keys == {address_key(dep, "2001:db8:1:2::99")}
    assert address_key(dep, "2001:db8:1:3::1") not in keys
    assert address_key(dep, "::ffff:203.0.113.7") == address_key(dep, "203.0.113.7")


def test_importing_accounts_hashes_nothing_and_the_web_app_prepares_the_dummy_hash(make_deployment, make_app):
    """Every ``ccch`` command imports the accounts module: a scrypt hash at import cost each one
    0.1–0.6 s of start-up. The web app makes it when created, so the first failed sign-in of a
    worker takes no longer than the next."""
    import subprocess
    import sys

    code = ("import werkzeug.security as s; calls = []; real = s.generate_password_hash; "
            "s.generate_password_hash = lambda *a, **k: calls.append(1) or real(*a, **k); "
            "import ccch_core.accounts; print(len(calls))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "0"
    from ccch_core import accounts

    accounts._dummy_hash.cache_clear()
    make_app(make_deployment())
    assert accounts._dummy_hash.cache_info().currsize == 1
