"""The attempt limit and the round's figures against the ways round them: erasing one's data and
registering again, probing registered numbers, which of several attempts counts when the
prediction breaks ties, and a start or a submission that gets the write lock after the round's
figures were computed."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_contest import attempts as A
from ccch_contest import ranking as R
from ccch_contest.contests import get_contest
from ccch_contest.participants import (
    REFUSED,
    RegistrationError,
    Throttled,
    drop_erasure_markers,
    find_by_phone,
    register,
    register_verified,
    validate_registration,
    verify_citizen_id,
)
from ccch_contest.personal_data import erase_participant
from ccch_contest_testing import (
    PHONES,
    add_participant,
    answers_for,
    contest_data,
    correct_form,
    csrf_from,
    load_contest,
)

from ccch_core import privacy

UTC = dt.UTC
BASE = "/cuoc-thi/tim-hieu-cchc-2024"
NOW = dt.datetime.now(UTC).replace(microsecond=0)


def form(n: int, **overrides) -> dict:
    values = {"full_name": "Trần Thị Mai", "phone": PHONES[n], "birth_year": "1988", "audience": "cbccvc",
              "unit_id": "xa-an-dung", "consent": "1"}
    values.update(overrides)
    return values


def row_of(dep, participant_id: int) -> dict:
    cursor = dep.db.execute("select * from contest_participants where id = ?", [participant_id])
    return dict(zip([c[0] for c in cursor.description], cursor.fetchone()))


def closing_soon(dep, **overrides):
    """A contest whose only round opened three hours ago and closes in an hour (a whole second)."""
    closes = NOW + dt.timedelta(hours=1)
    return load_contest(dep, contest_data(rounds=[(NOW - dt.timedelta(hours=3), closes)], **overrides))


# -- 1. erasing one's data and registering again ------------------------------------------------


def test_erasing_and_registering_again_gives_no_second_attempt_in_the_round(dep, contest, make_app):
    """The reviewer's retake: take the round, erase from "Của tôi", register again with the same
    phone, take it again. Refused now; the erasure itself still happens at once."""
    client = make_app(dep).test_client()

    def register_page():
        token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
        return client.post(BASE + "/dang-ky", data={"csrf_token": token, "start_now": "1", **form(1)})

    assert register_page().status_code == 200  # answered with the attempt page
    token = dep.db.execute("select token from contest_attempts").fetchone()[0]
    attempt = A.get_attempt(dep.db, token)
    html = client.get(f"{BASE}/bai-thi/{token}").get_data(as_text=True)
    done = client.post(f"{BASE}/bai-thi/{token}/nop", data={"csrf_token": csrf_from(html), "du_doan": "5",
                                                         **correct_form(dep, contest, attempt, wrong=3)})
    assert done.headers["X-Contest-Submission"] == "accepted"
    mine = csrf_from(client.get(BASE + "/cua-toi").get_data(as_text=True))
    assert client.post(BASE + "/cua-toi/xoa", data={"csrf_token": mine, "xac_nhan": "1"}).status_code == 303
    erased = row_of(dep, attempt.participant_id)
    assert erased["deleted_at"] and [erased[k] for k in ("full_name", "name_key", "phone_masked", "contact_phone",
                                                         "birth_year", "occupation")] == [None] * 6
    assert erased["phone_hash"]  # the marker: the keyed hash only, while the round is open

    again = register_page()
    assert again.status_code == 422
    text = again.get_data(as_text=True)
    # Refused in the very words of a registered number: a prober learns nothing about the erasure.
    assert REFUSED in text.replace("&#34;", '"') and "Trần Thị Mai" in text  # the form kept
    assert "đã được dùng để dự thi" not in text and "đăng ký lại sau khi" not in text
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == 1
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1


def test_the_marker_lasts_only_while_a_round_the_person_entered_is_open(dep):
    contest = closing_soon(dep, citizen_id="optional")
    cid = "042175001234"
    person = register(dep, contest, form(1, citizen_id=cid), "a", now=NOW)
    A.start_attempt(dep, contest, person.id, now=NOW)
    erase_participant(dep, contest, person.id, None, now=NOW)
    # The same citizen ID with another phone is the same person: refused as well.
    with pytest.raises(RegistrationError) as refused:
        register(dep, contest, form(2, citizen_id=cid), "a", now=NOW)
    assert refused.value.errors == {"phone": REFUSED}  # the one refusal: it does not say which number
    # Not found again by ``ccch privacy erase``: nothing is left to erase on request.
    assert all(not r.items for r in privacy.erase_person(dep, phone=PHONES[1], dry_run=True))
    # The round has closed: the marker has done its job; the purge drops it, the number registers afresh.
    after = contest.rounds[0].ends
    assert drop_erasure_markers(dep, after) == 1
    marker = row_of(dep, person.id)
    assert marker["phone_hash"] is None and marker["citizen_id_hash"] is None
    assert register(dep, contest, form(1, citizen_id=cid), "a", now=after).id != person.id


def test_a_person_with_no_open_round_keeps_no_marker(dep, contest):
    person = add_participant(dep, contest, 1)  # registered, never started
    erase_participant(dep, contest, person.id, None)
    assert row_of(dep, person.id)["phone_hash"] is None
    assert register(dep, contest, form(1), "a").id != person.id


def test_a_stale_marker_is_dropped_by_the_registration_itself(dep):
    contest = closing_soon(dep)
    person = register(dep, contest, form(1), "a", now=NOW)
    A.start_attempt(dep, contest, person.id, now=NOW)
    erase_participant(dep, contest, person.id, None, now=NOW)
    after = contest.rounds[0].ends
    again = register(dep, contest, form(1), "a", now=after)
    assert row_of(dep, person.id)["phone_hash"] is None and row_of(dep, again.id)["phone_hash"]


def test_a_verified_registration_looks_the_number_up_once(dep):
    """The code step's registration (register_verified) against every row a number can have —
    none, a live registration, an erasure marker of a round still open, a stale marker — answers
    as before with one look-up of the number (issue #16: it was looked up twice)."""
    contest = closing_soon(dep)
    statements: list[str] = []

    def verified(n: int, now: dt.datetime = NOW):
        statements.clear()
        values = validate_registration(dep, contest, form(n), now)
        outcome = register_verified(dep, contest, values, verified_by="sms", client_key="a", now=now)
        lookups = [s for s in statements if s.startswith("select") and "phone_hash =" in s]
        return outcome, len(lookups)

    dep.db.conn.set_trace_callback(statements.append)
    try:
        (person, outcome), lookups = verified(1)
        assert outcome == "registered" and lookups == 1
        (again, outcome), lookups = verified(1)
        assert (again.id, outcome, lookups) == (person.id, "existing", 1)
        A.start_attempt(dep, contest, person.id, now=NOW)
        erase_participant(dep, contest, person.id, None, now=NOW)
        assert verified(1) == ((None, "blocked"), 1)  # the marker, while the round is open
        assert row_of(dep, person.id)["phone_hash"]
        after = contest.rounds[0].ends
        (fresh, outcome), lookups = verified(1, after)
        assert outcome == "registered" and fresh.id != person.id and lookups == 1
        assert row_of(dep, person.id)["phone_hash"] is None  # the stale marker dropped
    finally:
        dep.db.conn.set_trace_callback(None)


# -- 2. probing registered numbers ----------------------------------------------------------------


@pytest.fixture
def limited(make_deployment):
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": {"limit_register": [3, 3600]}})
    return dep, load_contest(dep, contest_data())


def test_refused_registrations_count_against_the_address_limit(limited):
    dep, contest = limited
    register(dep, contest, form(0), client_key="prober")
    outcomes = []
    for _ in range(5):
        try:
            register(dep, contest, form(0), client_key="prober")
            outcomes.append("registered")
        except RegistrationError:
            outcomes.append("refused")
        except Throttled:
            outcomes.append("throttled")
    # Over the limit reads like a taken number (issue #16): the prober cannot tell which it hit...
    assert outcomes == ["refused"] * 5
    # ...but the limit holds: a fresh number from the same address is refused too, not elsewhere.
    with pytest.raises(RegistrationError) as refused:
        register(dep, contest, form(5), client_key="prober")
    assert refused.value.errors == {"phone": REFUSED}
    assert register(dep, contest, form(5), client_key="someone else").id
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 2


def test_refused_registrations_on_the_page_count_too(limited, make_app):
    """The page registers and starts in one transaction: a refusal must not roll its count back."""
    dep, contest = limited
    register(dep, contest, form(0), client_key="someone else")
    client = make_app(dep).test_client()
    statuses = []
    for _ in range(5):
        token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
        statuses.append(client.post(BASE + "/dang-ky",
                                    data={"csrf_token": token, "start_now": "1", **form(0)}).status_code)
    assert statuses == [422, 422, 422, 422, 422]
    token = csrf_from(client.get(BASE + "/dang-ky").get_data(as_text=True))
    fresh = client.post(BASE + "/dang-ky", data={"csrf_token": token, "start_now": "1", **form(6)})
    assert fresh.status_code == 422  # the limit holds for a number never registered
    assert dep.db.execute("select count(*) from contest_participants").fetchone()[0] == 1
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == 0


# -- 3. which attempt counts ----------------------------------------------------------------------


def test_the_best_attempt_is_chosen_in_the_rankings_order_with_the_prediction(dep):
    """Prediction first among the tie-breaks: of two perfect attempts, the one whose prediction is
    nearer the true figure counts — known when the round closes — not the faster one."""
    contest = closing_soon(dep, attempts_per_round=2, counted_attempt="best",
                           tie_breaks=["prediction", "time", "submitted"])
    a, b = add_participant(dep, contest, 1), add_participant(dep, contest, 2)
    start = NOW - dt.timedelta(hours=2)

    def take(person, minute, seconds, prediction):
        attempt = A.start_attempt(dep, contest, person.id, now=start + dt.timedelta(minutes=minute)).attempt
        when = start + dt.timedelta(minutes=minute, seconds=seconds)
        return A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), prediction, now=when).attempt

    fast = take(a, 0, 60, 100.0)    # perfect, fast, far from the true figure
    near = take(a, 20, 600, 2.0)    # perfect, slow, on the true figure (2 perfect entries)
    take(b, 40, 800, 2.0)       # perfect, on the true figure too, slower than a's counted attempt
    # While the round is open the distance is unknown: as on the provisional board, time decides.
    assert A.get_attempt_by_id(dep.db, fast.id).counted and not A.get_attempt_by_id(dep.db, near.id).counted
    closed = R.close_round(dep, contest, contest.rounds[0], now=contest.rounds[0].ends)
    assert closed.truth == 2.0
    assert A.get_attempt_by_id(dep.db, near.id).counted and not A.get_attempt_by_id(dep.db, fast.id).counted
    board = [(e.participant_id, e.prediction, e.distance) for e in R.entries(dep.db, get_contest(dep, contest.slug),
                                                                                closed)]
    assert board[0] == (a.id, 2.0, 0.0) and len(board) == 2


def test_the_best_attempt_follows_the_configured_order_without_a_prediction(dep):
    contest = closing_soon(dep, attempts_per_round=2, counted_attempt="best", tie_breaks=["submitted", "time"])
    person = add_participant(dep, contest, 1)
    start = NOW - dt.timedelta(hours=2)
    first = A.start_attempt(dep, contest, person.id, now=start).attempt
    slow = A.submit_attempt(dep, contest, first, answers_for(dep, contest, first), 5.0,
                            now=start + dt.timedelta(minutes=10)).attempt
    second = A.start_attempt(dep, contest, person.id, now=start + dt.timedelta(minutes=20)).attempt
    A.submit_attempt(dep, contest, second, answers_for(dep, contest, second), 5.0,
                     now=start + dt.timedelta(minutes=21))
    # Same score; the earlier submission first, as this contest ranks — not the shorter time.
    assert [r[0] for r in dep.db.execute("select id from contest_attempts where counted = 1")] == [slow.id]


# -- 4. the deadline inside the write transaction -------------------------------------------------


def test_a_start_that_gets_the_lock_after_the_figures_is_refused(dep):
    contest = closing_soon(dep)
    person = add_participant(dep, contest, 1)
    round_state = contest.rounds[0]
    R.close_round(dep, contest, round_state, now=round_state.ends)
    # The clock was read a second before the end; the lock came after the figures.
    with pytest.raises(A.RoundNotOpen, match="đã kết thúc"):
        A.start_attempt(dep, contest, person.id, now=round_state.closes)
    assert dep.db.execute("select count(*) from contest_attempts").fetchone()[0] == 0


def test_a_submission_in_time_that_gets_the_lock_after_the_figures_is_late(dep, monkeypatch):
    """A start that read the clock before the end got the lock between the close's overdue pass and
    its figures; its submission, also read in time, comes after the figures: late, dropped, and the
    figures stay those of the attempts they were computed from."""
    contest = closing_soon(dep)
    round_state = contest.rounds[0]
    early, racer = add_participant(dep, contest, 1), add_participant(dep, contest, 2)
    first = A.start_attempt(dep, contest, early.id, now=round_state.closes - dt.timedelta(minutes=10)).attempt
    A.submit_attempt(dep, contest, first, answers_for(dep, contest, first), 1.0,
                     now=round_state.closes - dt.timedelta(minutes=5))
    started = {}
    overdue_pass = R.finish_overdue_attempts

    def overdue_pass_then_the_racing_start(*args, **kwargs):
        # The two requests in the order a real race can give them; both functions run for real.
        done = overdue_pass(*args, **kwargs)
        started["attempt"] = A.start_attempt(dep, contest, racer.id, now=round_state.closes).attempt
        return done

    monkeypatch.setattr(R, "finish_overdue_attempts", overdue_pass_then_the_racing_start)
    closed = R.close_round(dep, contest, round_state, now=round_state.ends)
    assert (closed.truth, closed.entrant_count) == (1.0, 1)
    attempt = started["attempt"]
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 1.0,
                              now=round_state.closes + dt.timedelta(milliseconds=500))
    assert result.outcome == "late"
    assert (result.attempt.status, result.attempt.counted) == ("abandoned", False)
    assert R.compute_truth(dep.db, contest, round_state.id) == (1.0, 1, 1)  # the stored figures still hold


def test_a_submission_in_time_that_the_close_overtook_is_late(dep):
    """Read in time, but the close (overdue pass and figures) got the lock first: late, and the
    saved answers counted as the overdue rule says — never "already submitted"."""
    contest = closing_soon(dep)
    round_state = contest.rounds[0]
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id, now=round_state.closes - dt.timedelta(minutes=10)).attempt
    R.close_round(dep, contest, round_state, now=round_state.ends)
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 1.0,
                              now=round_state.closes)
    assert result.outcome == "late"
    assert (result.attempt.finish, result.attempt.score) == ("overdue", 0)


def test_a_submission_in_time_wins_over_an_overdue_close_on_a_later_clock(dep, contest):
    """Before the round's figures, the request's own clock decides: sent within the grace, it is
    accepted even if another request (a second tab) closed the attempt by the overdue rule first."""
    person = add_participant(dep, contest, 1)
    start = NOW - dt.timedelta(minutes=20)
    attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
    assert A.finish_overdue_attempts(dep, contest, now=start + dt.timedelta(minutes=16)) == 1
    result = A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 3.0,
                              now=start + dt.timedelta(minutes=15, seconds=10))
    assert result.outcome == "accepted"
    stored = A.get_attempt_by_id(dep.db, attempt.id)
    assert (stored.status, stored.finish, stored.score, stored.counted) == ("submitted", "participant", 20, True)
    again = A.submit_attempt(dep, contest, stored, answers_for(dep, contest, attempt, wrong=5), 3.0,
                             now=start + dt.timedelta(minutes=15, seconds=11))
    assert again.outcome == "already" and A.get_attempt_by_id(dep.db, attempt.id).score == 20


def test_an_erased_participant_is_not_found_by_number_while_the_marker_stays(dep):
    contest = closing_soon(dep, citizen_id="optional")
    cid = "042175001234"
    person = register(dep, contest, form(1, citizen_id=cid), "a", now=NOW)
    A.start_attempt(dep, contest, person.id, now=NOW)
    assert find_by_phone(dep, contest, PHONES[1]).id == person.id
    assert verify_citizen_id(dep, person.id, cid) is True
    erase_participant(dep, contest, person.id, None, now=NOW)
    assert row_of(dep, person.id)["phone_hash"]  # the marker is there …
    assert find_by_phone(dep, contest, PHONES[1]) is None  # … but the manager's search does not link it back
    assert verify_citizen_id(dep, person.id, cid) is None


def test_the_manager_can_erase_without_a_marker(dep, contest, make_app, make_user):
    """A registration made with someone else's number: erased, the owner registers at once."""
    from ccch_core.testing import login

    person = register(dep, contest, form(1), "a")
    A.start_attempt(dep, contest, person.id)
    username, password = make_user(dep, "contest_manager")
    client = make_app(dep).test_client()
    login(client, username, password)
    url = f"/cuoc-thi/quan-ly/{contest.slug}/thi-sinh/{person.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="free_number"' in page
    token = csrf_from(page)
    assert client.post(url + "/xoa", data={"csrf_token": token, "confirm": "1", "free_number": "1"}).status_code == 303
    erased = row_of(dep, person.id)
    assert erased["deleted_at"] and erased["phone_hash"] is None and erased["citizen_id_hash"] is None
    assert register(dep, contest, form(1), "b").id != person.id  # the owner of the number
