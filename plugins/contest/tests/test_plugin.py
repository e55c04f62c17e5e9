"""The plugin as the core sees it: loading by name, its migrations and schema, settings
validation, the hooks it implements, its data tables and its report section."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_contest import attempts as A
from ccch_contest.schema import migrations
from ccch_contest.settings import parse_settings
from ccch_contest_testing import (
    add_participant,
    answers_for,
    contest_data,
    load_contest,
)

from ccch_core.config import ConfigError
from ccch_core.plugins import installed_plugins
from ccch_core.report import DataScope, build_report

UTC = dt.UTC


def test_one_name_everywhere(dep):
    assert installed_plugins()["contest"].module == "ccch_contest.plugin"
    assert migrations.name == "contest"
    assert "contest" in dep.pm.enabled
    hooks = set(dep.pm.hooks_of("contest"))
    assert {"register_migrations", "register_commands", "register_blueprints", "navigation_items", "dashboard_panels",
            "register_measures", "report_sections", "register_data_tables", "startup"} <= hooks
    assert {"contest_participants", "contest_participation_rate"} <= set(dep.measures)
    assert {"contest_participants", "contest_attempts", "contest_rankings", "contest_prizes",
            "contest_participation"} <= set(dep.data_tables)


def test_migrated_schema(dep):
    tables = set(dep.db.table_names())
    assert {"contest_contests", "contest_rounds", "contest_questions", "contest_participants", "contest_attempts",
            "contest_log", "contest_leaderboards"} <= tables
    indexes = {r[0]: r[1] for r in dep.db.execute("select name, sql from sqlite_master where type = 'index' "
                                                  "and tbl_name = 'contest_attempts'")}
    assert "where status = 'open'" in indexes["contest_attempts_one_open"]
    assert "counted = 1 and disqualified = 0" in indexes["contest_attempts_rank"]
    applied = [r[0] for r in dep.db.execute("select name from _sqlite_migrations where migration_set = 'contest'")]
    assert applied == [m.name for m in migrations._migrations]


def test_settings_are_validated_at_startup(make_deployment):
    with pytest.raises(ConfigError) as caught:
        make_deployment(plugins=("contest",), plugin_settings={"contest": {
            "grace_second": 10, "limit_start": [5], "keep_contact_phone": "có", "grace_seconds": 9999}})
    message = str(caught.value)
    assert 'grace_second: unknown key (did you mean "grace_seconds"?)' in message
    assert "limit_start: write [count, seconds]" in message
    assert "keep_contact_phone: must be true or false" in message
    assert "grace_seconds: must be a whole number 0–600" in message
    settings = parse_settings({"grace_seconds": 5, "limit_register": [10, 60], "keep_contact_phone": False})
    assert settings.grace_seconds == 5 and settings.limit_register.count == 10 and not settings.keep_contact_phone


def test_no_contact_number_kept_when_the_deployment_says_so(make_deployment):
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": {"keep_contact_phone": False}})
    contest = load_contest(dep, contest_data())
    add_participant(dep, contest, 1)
    assert dep.db.execute("select contact_phone from contest_participants").fetchone()[0] is None


def test_grace_setting_changes_the_deadline(make_deployment):
    dep = make_deployment(plugins=("contest",), plugin_settings={"contest": {"grace_seconds": 0}})
    contest = load_contest(dep, contest_data())
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id).attempt
    assert attempt.accept_until_ms - attempt.deadline_ms == 1


def played(dep):
    now = dt.datetime.now(UTC)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(days=3), now - dt.timedelta(days=1))]))
    start = now - dt.timedelta(days=2)
    for n, unit in enumerate(["xa-an-dung", "xa-an-dung", "xa-yen-ho"]):
        person = add_participant(dep, contest, n, unit_id=unit)
        attempt = A.start_attempt(dep, contest, person.id, now=start).attempt
        A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt, wrong=n), 2.0,
                         now=start + dt.timedelta(minutes=3))
    return contest, start


def test_data_tables_stream_and_respect_the_scope(dep):
    from ccch_core.periods import Period

    _contest, start = played(dep)
    attempts = dep.data_tables["contest_attempts"]
    rows = attempts.rows(dep, DataScope())
    assert not isinstance(rows, list)  # a generator
    assert len(list(rows)) == 3
    assert len(list(attempts.rows(dep, DataScope(unit_id="xa-an-dung")))) == 2
    month = Period.of_instant(start)
    assert len(list(attempts.rows(dep, DataScope(period=month)))) == 3
    assert len(list(attempts.rows(dep, DataScope(period=month.next())))) == 0
    people = list(dep.data_tables["contest_participants"].rows(dep, DataScope(unit_id="xa-yen-ho")))
    assert len(people) == 1 and people[0][3].startswith("*******") and len(people[0][3]) == 10
    assert dep.data_tables["contest_participants"].personal_data
    rankings = list(dep.data_tables["contest_rankings"].rows(dep, DataScope()))
    assert [r[3] for r in rankings if r[2] == "cbccvc"] == [1, 2, 3]
    prizes = list(dep.data_tables["contest_prizes"].rows(dep, DataScope()))
    assert prizes[0][3] == "Giải Nhất"
    for table in dep.data_tables.values():
        if table.name.startswith("contest_"):
            for row in table.rows(dep, DataScope()):
                assert len(row) == len(table.columns), table.name


def test_report_section(dep):
    contest, start = played(dep)
    from ccch_core.periods import Period

    report = build_report(dep, Period.of_instant(start))
    section = next(s for s in report.sections if s.key == f"contest_{contest.slug}")
    assert section.source == "contest"
    tables = {b.key: b for b in section.blocks if hasattr(b, "rows")}
    assert tables["cuoc_thi_vong"].rows[0][4] == 3
    assert {r[0]: r[1] for r in tables["cuoc_thi_don_vi"].rows}["UBND xã An Dũng"] == 2
    assert any(b.__class__.__name__ == "Figure" and b.svg.startswith("<svg") for b in section.blocks)
    assert tables["cuoc_thi_giai"].rows[0][2] == "Giải Nhất"
    # A commune's own report sees only its own participants.
    commune = build_report(dep, Period.of_instant(start), unit_id="xa-yen-ho")
    section = next(s for s in commune.sections if s.key == f"contest_{contest.slug}")
    units = next(b for b in section.blocks if getattr(b, "key", "") == "cuoc_thi_don_vi")
    assert [r[0] for r in units.rows] == ["UBND xã Yên Hồ"]
    # No contest in a period: no section.
    assert not any(s.source == "contest" for s in build_report(dep, "2023").sections)


def test_participants_measure_counts_people_at_and_below_each_unit(dep):
    """contest_participants rolls people up the tree (the plan's ``sums_within``): a commune counts
    its own, the district and the province everyone below them, a commune nobody came from 0."""
    from ccch_contest.measures import participants_measure

    from ccch_core import MeasureContext
    from ccch_core.periods import Period

    _contest, start = played(dep)
    units = tuple(dep.plan.unit(u) for u in ("xa-an-dung", "xa-yen-ho", "xa-duc-dong", "ubnd-huyen", "ubnd-tinh"))
    context = MeasureContext(dep, dep.plan.indicators[0], Period.of_instant(start), units)
    values = {unit_id: v.value for unit_id, v in participants_measure(context).items()}
    assert values == {"xa-an-dung": 2, "xa-yen-ho": 1, "xa-duc-dong": 0, "ubnd-huyen": 3, "ubnd-tinh": 3}


def test_scheduled_work_closes_a_published_round_at_its_end_and_not_a_drafts(dep):
    # The first page after a round's end closed it before: at a million attempts that visitor waited
    # seconds. `ccch serve`'s scheduled work closes it within a minute of its end instead.
    from ccch_contest.contests import get_contest
    from ccch_contest.plugin import scheduled_work

    from ccch_core import scheduled

    now = dt.datetime.now(UTC).replace(microsecond=0)
    opens, closes = now - dt.timedelta(days=2), now - dt.timedelta(minutes=10)
    contest = load_contest(dep, contest_data(rounds=[(opens, closes), (now - dt.timedelta(minutes=5),
                                                                       now + dt.timedelta(days=5))]))
    draft = load_contest(dep, contest_data(rounds=[(opens, closes)], slug="ban-nhap"), publish=False)
    person = add_participant(dep, contest, 1)
    attempt = A.start_attempt(dep, contest, person.id, now=opens + dt.timedelta(hours=1)).attempt
    A.submit_attempt(dep, contest, attempt, answers_for(dep, contest, attempt), 1.0,
                     now=opens + dt.timedelta(hours=1, minutes=5))
    left_open = A.start_attempt(dep, contest, add_participant(dep, contest, 2).id,
                                now=closes - dt.timedelta(minutes=5)).attempt  # never submitted

    outcomes = {o.plugin: o for o in scheduled.run_once(dep, now)}
    assert outcomes["contest"].error is None
    assert outcomes["contest"].done.startswith("đã chốt Vòng 1 của cuộc thi")
    closed = get_contest(dep, contest.slug)
    # The attempt left open was finished at the round's end and counts as an entrant.
    assert closed.rounds[0].truth_at and (closed.rounds[0].entrant_count, closed.rounds[0].perfect_count) == (2, 1)
    assert not closed.rounds[1].truth_at  # still open
    assert dep.db.execute("select status from contest_attempts where id = ?", [left_open.id]).fetchone()[0] != "open"
    assert not get_contest(dep, draft.slug).rounds[0].truth_at  # a draft closes on its manager's pages
    # Idempotent: the next pass has nothing to do, and says so with None.
    assert scheduled_work(dep, now) is None


def test_the_servers_scheduled_worker_closes_a_round_by_itself(dep):
    # What `ccch serve` runs beside the server: a child process, stopped with the server.
    import time

    from ccch_contest.contests import get_contest

    from ccch_core.web.server import scheduled_worker

    now = dt.datetime.now(UTC).replace(microsecond=0)
    contest = load_contest(dep, contest_data(rounds=[(now - dt.timedelta(days=2), now - dt.timedelta(minutes=10))]))
    assert not contest.rounds[0].truth_at
    with scheduled_worker(dep.config) as child:
        deadline = time.time() + 60
        while time.time() < deadline and not get_contest(dep, contest.slug).rounds[0].truth_at:
            time.sleep(0.2)
        assert get_contest(dep, contest.slug).rounds[0].truth_at
        assert child.poll() is None
    assert child.poll() is not None  # stopped with the server
    with scheduled_worker(None) as nothing:
        assert nothing is None


def test_one_contest_that_cannot_close_leaves_the_others_closing(dep, monkeypatch):
    from ccch_contest import ranking
    from ccch_contest.contests import get_contest
    from ccch_contest.plugin import scheduled_work

    now = dt.datetime.now(UTC).replace(microsecond=0)
    rounds = [(now - dt.timedelta(days=2), now - dt.timedelta(minutes=10))]
    fine = load_contest(dep, contest_data(rounds=rounds, slug="tot"))
    broken = load_contest(dep, contest_data(rounds=rounds, slug="hong"))  # the newer: tried first
    real = ranking.close_round

    def close_round(deployment, contest, round_state, **kwargs):
        if contest.slug == broken.slug:
            raise RuntimeError("ngân hàng câu hỏi hỏng")
        return real(deployment, contest, round_state, **kwargs)

    monkeypatch.setattr(ranking, "close_round", close_round)
    with pytest.raises(RuntimeError, match="không chốt được hong Vòng 1.*đã chốt: đã chốt Vòng 1 của cuộc thi"):
        scheduled_work(dep, now)
    assert get_contest(dep, fine.slug).rounds[0].truth_at  # closed all the same
    assert not get_contest(dep, broken.slug).rounds[0].truth_at
