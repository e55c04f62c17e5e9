"""The survey plugin's tables (migration set ``survey``).

- ``survey_surveys`` / ``survey_versions``: a survey and every version of its content (JSON);
- ``survey_placements``: one printed poster (or kiosk) at one place of one unit, with its short code;
- ``survey_responses`` / ``survey_answers``: what citizens sent, answers by question and option key;
- ``survey_contacts``: contact details, only for responses whose sender consented (personal data);
- ``survey_tallies``: answer counts per survey, Vietnam day, question, placement and option, kept up
  to date in each submission's own transaction, so that a month's indices read a few thousand rows
  instead of millions (docs/performance.md has the figures);
- ``survey_daily``: scans and responses per placement and day (conversion).

Days are Vietnam calendar days stored as integers ``YYYYMMDD``.
"""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

from . import PLUGIN_NAME

migrations = Migrations(PLUGIN_NAME)


@migrations()
def m001_surveys(db):
    """Surveys, versions, placements, responses, answers, contacts, tallies, daily counts."""
    # One statement at a time: executescript would commit the migration's transaction.
    for statement in _M001.split(";"):
        if statement.strip():
            db.execute(statement)


_M001 = """
        create table survey_surveys (
            id text primary key,
            title text not null,
            current_version integer not null,
            status text not null default 'open' check (status in ('open', 'closed')),
            created_at text not null,
            updated_at text not null
        );
        create table survey_versions (
            survey_id text not null references survey_surveys(id),
            version integer not null,
            definition text not null,
            fingerprint text not null,
            created_at text not null,
            created_by text,
            note text,
            primary key (survey_id, version)
        );
        create table survey_placements (
            id integer primary key,
            code text not null unique,
            survey_id text not null references survey_surveys(id),
            unit_id text not null,
            place text not null,
            mode text not null default 'poster' check (mode in ('poster', 'kiosk')),
            created_at text not null,
            retired_at text
        );
        create index survey_placements_unit on survey_placements (unit_id);
        create table survey_responses (
            id integer primary key,
            survey_id text not null,
            version integer not null,
            placement_id integer not null references survey_placements(id),
            unit_id text not null,
            submitted_at text not null,
            day integer not null,
            submission_id text not null,
            device_key text,
            channel text not null,
            excluded integer not null default 0
        );
        create unique index survey_responses_submission on survey_responses (submission_id);
        create index survey_responses_day on survey_responses (survey_id, day);
        create index survey_responses_device on survey_responses (survey_id, device_key, day)
            where device_key is not null;
        create table survey_answers (
            response_id integer not null references survey_responses(id),
            question_key text not null,
            option_key text not null default '',
            value text,
            primary key (response_id, question_key, option_key)
        ) without rowid;
        create table survey_contacts (
            response_id integer primary key references survey_responses(id),
            name text,
            phone text,
            consent_at text not null
        );
        create table survey_tallies (
            survey_id text not null,
            day integer not null,
            question_key text not null,
            placement_id integer not null,
            option_key text not null,
            n integer not null,
            primary key (survey_id, day, question_key, placement_id, option_key)
        ) without rowid;
        create table survey_daily (
            placement_id integer not null,
            day integer not null,
            scans integer not null default 0,
            responses integer not null default 0,
            primary key (placement_id, day)
        ) without rowid;
"""


@migrations()
def m002_contact_phone_hashes(db):
    """A keyed hash of each contact phone number (``ccch privacy erase`` finds a person by it, never
    by the clear number) and an index on the consent time (the retention purge)."""
    db.execute("alter table survey_contacts add column phone_hash text")
    db.execute("create index survey_contacts_phone_hash on survey_contacts (phone_hash) where phone_hash is not null")
    # The rows whose hash is still to be computed (see ccch_survey.personal_data.hash_contacts).
    db.execute("create index survey_contacts_unhashed on survey_contacts (response_id) "
               "where phone is not null and phone_hash is null")
    db.execute("create index survey_contacts_consent on survey_contacts (consent_at)")


@migrations()
def m003_hot_path_keys(db):
    """Keys ordered for the submission's writes. A submission adds one to a dozen tallies of one
    placement and day: with the placement before the question in the key those rows sit together
    (a page or two) instead of on a dozen pages, one per question. The once-a-day check looks up
    today's responses of a device: with the day before the device key, a day's entries are one
    small, recently used stretch of the index. Readers select by survey and days, as before."""
    db.execute("""
        create table survey_tallies_new (
            survey_id text not null,
            day integer not null,
            question_key text not null,
            placement_id integer not null,
            option_key text not null,
            n integer not null,
            primary key (survey_id, day, placement_id, question_key, option_key)
        ) without rowid""")
    db.execute("insert into survey_tallies_new select survey_id, day, question_key, placement_id, option_key, n "
               "from survey_tallies")
    db.execute("drop table survey_tallies")
    db.execute("alter table survey_tallies_new rename to survey_tallies")
    db.execute("drop index survey_responses_device")
    db.execute("create index survey_responses_device on survey_responses (survey_id, day, device_key) "
               "where device_key is not null")


@migrations()
def m004_trust(db):
    """Responses you can trust (issue #17): enrolled kiosk tablets, scans counted once per device
    per day, and flagged responses.

    - ``survey_kiosk_enrolments``: one-time enrolment codes an officer shows to a tablet (keyed
      hash only, short-lived, single use); ``survey_kiosk_devices``: the enrolled tablets (the
      keyed hash of their device secret, never the secret), revocable;
    - ``survey_scan_keys``: which devices (and how many new devices per client address) a placement
      counted as scans today; older days are pruned as the days go by;
    - ``survey_flags``: why a response looks suspicious (one row per kind, with the evidence);
      ``survey_responses.flag_state`` 0 = not flagged, 1 = flagged and not reviewed, 2 = flagged
      and kept after review; ``excluded_reason`` what the officer gave when excluding it;
      ``kiosk_device_id`` the enrolled tablet a kiosk response came from;
    - ``survey_flagged_tallies`` and ``survey_daily.flagged``: the tallies and daily counts of the
      responses flagged and not reviewed (nor excluded), kept in the same transactions as the
      tallies, so that the results show the index without them at the cost of a second small read.
    """
    for statement in _M004.split(";"):
        if statement.strip():
            db.execute(statement)


_M004 = """
        create table survey_kiosk_devices (
            id integer primary key,
            placement_id integer not null references survey_placements(id),
            secret_hash text not null unique,
            label text not null,
            enrolled_at text not null,
            enrolled_by text,
            last_seen_at text,
            revoked_at text,
            revoked_by text
        );
        create index survey_kiosk_devices_placement on survey_kiosk_devices (placement_id);
        create table survey_kiosk_enrolments (
            id integer primary key,
            placement_id integer not null references survey_placements(id),
            code_hash text not null unique,
            label text not null,
            created_at text not null,
            created_by text,
            expires_at text not null,
            used_at text,
            device_id integer references survey_kiosk_devices(id)
        );
        create index survey_kiosk_enrolments_placement on survey_kiosk_enrolments (placement_id);
        create table survey_scan_keys (
            placement_id integer not null,
            day integer not null,
            key text not null,
            n integer not null default 1,
            primary key (placement_id, day, key)
        ) without rowid;
        alter table survey_responses add column flag_state integer not null default 0;
        alter table survey_responses add column kiosk_device_id integer;
        alter table survey_responses add column excluded_reason text;
        create index survey_responses_flagged on survey_responses (survey_id, day) where flag_state != 0;
        create table survey_flags (
            response_id integer not null references survey_responses(id),
            kind text not null,
            detail text not null,
            primary key (response_id, kind)
        ) without rowid;
        create table survey_flagged_tallies (
            survey_id text not null,
            day integer not null,
            placement_id integer not null,
            question_key text not null,
            option_key text not null,
            n integer not null,
            primary key (survey_id, day, placement_id, question_key, option_key)
        ) without rowid;
        alter table survey_daily add column flagged integer not null default 0
"""


@migrations()
def m005_identical_answers(db):
    """A short fingerprint of each response's answers (every choice and text, in question order),
    in the index the readers already use by survey and day, widened to (survey, day, placement,
    fingerprint, time): a submission finds whether the same answers reached its placement within
    the last minutes in one bounded read of it (the "identical answers" flag), and the index it
    already maintains is the only one it writes — no counter row, no other index."""
    db.execute("alter table survey_responses add column answers_key text")
    db.execute("drop index survey_responses_day")
    db.execute("create index survey_responses_day on survey_responses "
               "(survey_id, day, placement_id, answers_key, submitted_at)")


@migrations()
def m006_shared_placements(db):
    """The survey's placements join the core's shared ``placements`` (ccch_core.placements), with
    the same ids and codes: every poster already printed keeps its QR code, and every response,
    scan, tally and kiosk tablet stays attributed to the same placement id. ``survey_placements``
    keeps the survey's part (which survey); new placements get their code from the core."""
    clash = db.execute(
        "select s.id, s.code from survey_placements s join placements p on p.id = s.id or p.code = s.code "
        "where p.target <> 'survey:' || s.survey_id or p.code <> s.code or p.id <> s.id limit 1").fetchone()
    if clash:  # another plugin's placements were made while the survey was not enabled
        raise RuntimeError(f"survey placement {clash[0]} ({clash[1]}): its id or code is used by another "
                           "placement in the shared table; move that placement before enabling the survey")
    db.execute(
        "insert into placements (id, code, target, unit_id, place, mode, created_at, retired_at) "
        "select id, code, 'survey:' || survey_id, unit_id, place, mode, created_at, retired_at "
        "from survey_placements where id not in (select id from placements)")
