"""The contest plugin's tables: one migration set named ``contest``.

Plain SQL where sqlite-utils cannot say it: partial indexes are what keep the hot paths and the
ranking fast, and CHECK constraints keep the states honest.

Instants are UTC ISO text (``*_at``); attempts also carry whole milliseconds since the epoch
(``*_ms``) because time taken and submission order break ties in the ranking.

Ranking keys: a submitted attempt stores ``rk0 = -score`` and, in ``rk1``…``rk3``, the values of
the contest's tie-breaks in their configured order (``time`` → time taken in ms, ``submitted`` →
submission instant in ms, ``prediction`` → the prediction as a scaled integer, and once the
round's true figure is stored, the prediction's distance from it: ``contest_rounds.
prediction_base`` says from which figure, see ``counting.rebase_predictions``). The partial
indexes ``contest_attempts_rank*`` list exactly the counted, not disqualified attempts of a round
in that order, so a ranking is an index scan, not a sort (see ``ranking.py``).
"""

from __future__ import annotations

import json

from sqlite_utils.migrations import Migrations

from .counting import rebase_predictions
from .definition import definition_from_dict

NAME = "contest"

migrations = Migrations(NAME)


@migrations()
def m001_contest_tables(db):
    """Contests, rounds, the question bank, participants, attempts, the manager's log and the
    leaderboard cache."""
    db.execute(
        """
        create table contest_contests (
            id integer primary key,
            slug text not null unique,
            title text not null,
            status text not null default 'draft' check (status in ('draft', 'published', 'archived')),
            definition text not null,           -- JSON of the validated contest definition
            version integer not null default 1, -- +1 on every change of the definition
            bank_version integer not null default 0,    -- +1 on every change of the question bank
            ranking_version integer not null default 0, -- +1 on disqualifications, truths, key changes
            created_at text not null,
            updated_at text not null
        )
        """
    )
    db.execute(
        """
        create table contest_rounds (
            id integer primary key,
            contest_id integer not null references contest_contests(id),
            number integer not null,
            name text not null,
            opens_at text not null,   -- first instant the round is open (UTC)
            closes_at text not null,  -- last second the round is open (UTC); open until closes_at + 1 s
            truth real,               -- the prediction's true figure, computed when the round has closed
            perfect_count integer,
            entrant_count integer,
            truth_at text,
            published_at text,        -- results (prize lists) published to the public pages
            unique (contest_id, number)
        )
        """
    )
    db.execute(
        """
        create table contest_questions (
            id integer primary key,
            contest_id integer not null references contest_contests(id),
            key text not null,
            type text not null,
            prompt text not null,
            options text not null,     -- JSON [[key, label], ...]
            correct text not null,     -- JSON [key, ...]
            category text,
            difficulty integer,
            audience text not null default '',  -- ';'-separated audience keys; '' = every audience
            help text,
            active integer not null default 1,
            created_at text not null,
            retired_at text
        )
        """
    )
    # One active version of a key; attempts keep pointing at retired versions they drew.
    db.execute("create unique index contest_questions_active_key on contest_questions (contest_id, key) where active = 1")
    db.execute(
        """
        create table contest_participants (
            id integer primary key,
            contest_id integer not null references contest_contests(id),
            audience text not null,
            full_name text,
            name_key text,              -- folded name, for the manager's search
            phone_hash text,            -- keyed hash of the normalised phone number
            phone_masked text,
            contact_phone text,         -- clear number, kept only to reach prize winners (see settings)
            citizen_id_hash text,
            citizen_id_masked text,
            birth_year integer,
            unit_id text,
            occupation text,
            consent_at text not null,
            consent_version text not null,
            created_at text not null,
            disqualified integer not null default 0,
            disqualified_reason text,
            deleted_at text
        )
        """
    )
    db.execute("create unique index contest_participants_phone on contest_participants (contest_id, phone_hash) "
               "where phone_hash is not null")
    db.execute("create unique index contest_participants_citizen_id on contest_participants (contest_id, citizen_id_hash) "
               "where citizen_id_hash is not null")
    db.execute("create index contest_participants_name on contest_participants (contest_id, name_key)")
    db.execute(
        """
        create table contest_attempts (
            id integer primary key,
            token text not null unique,
            contest_id integer not null references contest_contests(id),
            round_id integer not null references contest_rounds(id),
            participant_id integer not null references contest_participants(id),
            audience text not null,
            unit_id text,
            attempt_no integer not null,
            status text not null default 'open' check (status in ('open', 'submitted', 'abandoned')),
            started_at text not null,
            started_ms integer not null,
            deadline_ms integer not null,      -- what the countdown shows: the time limit or the round's end
            accept_until_ms integer not null,  -- submissions before this instant count (deadline + grace, never past the round)
            questions text not null,           -- JSON [[question id, option order], ...] as drawn
            answers text,                      -- JSON {position: [option key, ...]} last saved or submitted
            saved_at text,
            prediction real,
            submitted_at text,
            submitted_ms integer,
            duration_ms integer,
            finish text check (finish in ('participant', 'overdue')),
            score integer,
            total integer,
            perfect integer not null default 0,
            counted integer not null default 0,
            disqualified integer not null default 0,
            disqualified_reason text,
            rk0 integer, rk1 integer, rk2 integer, rk3 integer,
            unique (participant_id, round_id, attempt_no)
        )
        """
    )
    # A double tap on "start" cannot open two attempts.
    db.execute("create unique index contest_attempts_one_open on contest_attempts (participant_id, round_id) "
               "where status = 'open'")
    db.execute("create index contest_attempts_overdue on contest_attempts (round_id, accept_until_ms) where status = 'open'")
    db.execute("create index contest_attempts_rank on contest_attempts (round_id, rk0, rk1, rk2, rk3, id) "
               "where counted = 1 and disqualified = 0")
    db.execute("create index contest_attempts_rank_audience on contest_attempts "
               "(round_id, audience, rk0, rk1, rk2, rk3, id) where counted = 1 and disqualified = 0")
    db.execute("create index contest_attempts_perfect on contest_attempts (round_id, audience) "
               "where counted = 1 and disqualified = 0 and perfect = 1")
    db.execute("create index contest_attempts_participation on contest_attempts "
               "(contest_id, round_id, unit_id, participant_id) where status = 'submitted' and disqualified = 0")
    db.execute("create index contest_attempts_participant on contest_attempts (participant_id, round_id)")
    db.execute("create index contest_attempts_submitted on contest_attempts (submitted_at) where status = 'submitted'")
    db.execute(
        """
        create table contest_log (
            id integer primary key,
            contest_id integer not null references contest_contests(id),
            at text not null,
            username text,
            action text not null,
            participant_id integer,
            attempt_id integer,
            detail text
        )
        """
    )
    db.execute("create index contest_log_contest on contest_log (contest_id, id)")
    db.execute(
        """
        create table contest_leaderboards (
            contest_id integer not null references contest_contests(id),
            scope text not null,      -- 'round:<id>' or 'overall'
            audience text not null,   -- '' for every audience together
            state text not null,      -- what the cached figures depend on; a different state recomputes
            computed_at text not null,
            computed_ms integer not null,
            data text not null,       -- JSON
            primary key (contest_id, scope, audience)
        )
        """
    )


@migrations()
def m002_round_entrants_by_audience(db):
    """Entrants per audience of a closed round, counted once when the round closes (so the
    leaderboard of a round of a million attempts needs no count)."""
    db.execute("alter table contest_rounds add column entrants_by_audience text")


@migrations()
def m003_question_topic(db):
    """The plan's content topic (II.1) a question is about, apart from its quota category."""
    db.execute("alter table contest_questions add column topic text")


@migrations()
def m004_integrity_flags(db):
    """Detection (issue #16, part 4): where each registration came from (a keyed hash of the
    client's address, never the address), an attempt's answer fingerprint and whether its time is
    implausible, and the flags the contest manager reviews (``detection.py``)."""
    db.execute(
        """
        create table contest_registration_sources (
            participant_id integer primary key references contest_participants(id),
            contest_id integer not null references contest_contests(id),
            client_hash text not null,   -- ccch_core.web.client_key: keyed hash of the address
            created_at text not null
        )
        """
    )
    db.execute("create index contest_registration_sources_client on contest_registration_sources "
               "(contest_id, client_hash, created_at)")
    # '' once checked with nothing to compare (no answers); null: not yet looked at by detection.
    db.execute("alter table contest_attempts add column answer_fingerprint text")
    # 1 while a "too fast" flag on the attempt is not cleared: its time tie-break key is the worst.
    db.execute("alter table contest_attempts add column implausible integer not null default 0")
    db.execute("create index contest_attempts_unchecked on contest_attempts (contest_id) "
               "where status = 'submitted' and answer_fingerprint is null")
    db.execute("create index contest_attempts_fingerprint on contest_attempts (round_id, answer_fingerprint, "
               "submitted_ms) where answer_fingerprint is not null and answer_fingerprint != ''")
    db.execute(
        """
        create table contest_flags (
            id integer primary key,
            contest_id integer not null references contest_contests(id),
            kind text not null check (kind in ('too_fast', 'shared_source', 'same_answers')),
            participant_id integer not null references contest_participants(id),
            attempt_id integer references contest_attempts(id),   -- null: the flag is on the registration
            round_id integer references contest_rounds(id),
            group_key text,            -- what ties the flags of one group together (source, fingerprint)
            evidence text not null,    -- JSON: the figures that raised the flag
            status text not null default 'open' check (status in ('open', 'cleared', 'disqualified')),
            created_at text not null,
            reviewed_at text,
            reviewed_by text,
            review_reason text
        )
        """
    )
    db.execute("create unique index contest_flags_one on contest_flags "
               "(contest_id, kind, participant_id, coalesce(attempt_id, 0))")
    db.execute("create index contest_flags_open on contest_flags (contest_id, participant_id) where status = 'open'")
    db.execute("create index contest_flags_group on contest_flags (contest_id, kind, group_key)")


@migrations()
def m005_verified_identity(db):
    """Verified identity (issue #16, parts 1 and 5): how a registration was verified, the keyed hash
    of the official e-mail address that verified it (to resume by e-mail), the secrets that bind a
    device or a written resume code to a participant (keyed hashes only), and phone masks cut to the
    last three digits (a 7-digit mask let 4 probes confirm a number)."""
    db.execute("alter table contest_participants add column verified_by text")  # sms, zalo or email
    db.execute("alter table contest_participants add column email_hash text")
    db.execute(
        """
        create table contest_devices (
            id integer primary key,
            participant_id integer not null references contest_participants(id),
            kind text not null check (kind in ('device', 'code')),  -- a browser's cookie, or a written resume code
            secret_hash text not null unique,
            created_at text not null,
            used_at text
        )
        """
    )
    db.execute("create index contest_devices_participant on contest_devices (participant_id, kind)")
    db.execute("create index contest_participants_email on contest_participants (contest_id, email_hash) "
               "where email_hash is not null")
    db.execute("update contest_participants set phone_masked = '*******' || substr(phone_masked, -3) "
               "where phone_masked is not null and length(phone_masked) > 3")


@migrations()
def m006_prizes_handed_out(db):
    """When the organisers handed out the prizes (issue #16, part 5): winners' contact numbers are
    kept until then, everyone else's only until the last round has closed."""
    db.execute("alter table contest_contests add column prizes_handed_at text")
    db.execute("alter table contest_contests add column prizes_handed_by text")


@migrations()
def m007_registration_device(db):
    """Which browser a registration came from (issue #16, part 4, "many registrations from one
    device"): a keyed hash of a random browser identifier the registration pages set, never the
    identifier itself."""
    db.execute("alter table contest_registration_sources add column device_hash text")
    db.execute("create index contest_registration_sources_device on contest_registration_sources "
               "(contest_id, device_hash) where device_hash is not null")


@migrations()
def m008_prediction_distances(db):
    """A closed round's prediction keys hold each prediction's distance from the round's true
    figure, so that its final ranking is one scan of the ranking indexes (issue #16: a million
    attempts under a second). ``prediction_base``: the figure (a scaled integer, as the keys) the
    round's keys are distances from; null while they are the predictions themselves. Rounds closed
    before this migration are converted here (``counting.rebase_predictions``)."""
    db.execute("alter table contest_rounds add column prediction_base integer")
    for contest_id, text in db.execute("select id, definition from contest_contests").fetchall():
        definition = definition_from_dict(json.loads(text), None)
        for round_id, truth in db.execute("select id, truth from contest_rounds where contest_id = ? and truth_at is "
                                          "not null", [contest_id]).fetchall():
            rebase_predictions(db, definition, round_id, truth)
