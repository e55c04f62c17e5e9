"""Participants' personal data on request and past retention (Decree 13/2023/NĐ-CP).

The two hooks of the core's ``ccch privacy`` commands land here:

- :func:`erase_person` (hook ``erase_personal_data``): find a person's registrations in every
  contest by the keyed hash of their phone or citizen ID number, and erase each with
  :func:`erase_participant` (below) — name, numbers, year of birth and occupation
  go; the participant row (unit, audience, consent time) and the attempts stay as anonymous
  records, and the attempts leave the rankings; a closed round's true figure and counts stay as
  they were when it closed;
- :func:`purge_expired` (hook ``purge_expired_personal_data``): clear contact phones
  ``contact_retention_days`` after a contest's last round closed, and every participant's personal
  data ``personal_data_retention_days`` after it. Unlike an erasure on request this does not
  disqualify anyone: the rankings, prize lists and participation by unit of a finished contest stay
  as they were, with "(đã xóa)" instead of names.

Every erasure is written to the contest's log, which also writes it to the core's audit log.
"""

from __future__ import annotations

import datetime as dt

from ccch_core.periods import to_local, utc_now
from ccch_core.privacy import SEALED_PREFIX, Erasure
from ccch_core.storage import utc_now_iso, write_transaction

from .contests import Contest, get_contest_by_id
from .counting import invalidate_rankings, refresh_counted
from .journal import log
from .locking import serialized
from .participants import (
    _rounds_entered_open,
    citizen_id_hash,
    drop_erasure_markers,
    phone_hash,
    seal_contact,
)
from .ranking import ensure_closed, overall_prize_list, prize_list
from .settings import settings_of
from .sql import query

REQUEST_REASON = "Xóa dữ liệu cá nhân theo yêu cầu của người dự thi (ccch privacy erase)"
BATCH = 5000
"""Participants erased per write transaction by the retention purge (short lock windows while
other contests may be running)."""

_PERSONAL_COLUMNS = ("full_name = null, name_key = null, phone_hash = null, phone_masked = null, contact_phone = null, "
                     "email_hash = null, "
                     "citizen_id_hash = null, citizen_id_masked = null, birth_year = null, occupation = null")


def _contests(db) -> list[tuple[int, str, str]]:
    return [tuple(row) for row in db.execute("select id, slug, title from contest_contests order by id")]


def _what(row, attempts: int) -> str:
    kinds = []
    if row["full_name"]:
        kinds.append("họ tên")
    if row["phone_masked"]:
        kinds.append(f"số điện thoại {row['phone_masked']}")
    if row["contact_phone"]:
        kinds.append("số điện thoại liên hệ")
    if row["citizen_id_masked"]:
        kinds.append(f"số CCCD {row['citizen_id_masked']}")
    if row["birth_year"]:
        kinds.append("năm sinh")
    if row["occupation"]:
        kinds.append("nghề nghiệp")
    return ", ".join(kinds) + (f"; {attempts} bài thi rời bảng xếp hạng, giữ lại ẩn danh để thống kê" if attempts
                               else "; chưa có bài thi")


def erase_person(deployment, phone: str | None, citizen_id: str | None, dry_run: bool,
                 actor: str | None) -> list[Erasure]:
    """Find (``dry_run``) or erase the registrations of the person with this phone or citizen ID
    number, in every contest. Looked up by the keyed hashes (purposes ``contest-phone`` and
    ``contest-citizen-id``) through the unique indexes per contest; already erased registrations
    are not found again (one erased while a round it entered is open keeps only its erasure marker
    until that round closes: see :mod:`ccch_contest.participants`)."""
    db = deployment.db
    hashes = []
    if phone:
        hashes.append(("phone_hash", phone_hash(deployment, phone)))
    if citizen_id:
        hashes.append(("citizen_id_hash", citizen_id_hash(deployment, citizen_id)))
    found: list[tuple[int, str, str, dict, int]] = []
    for contest_id, slug, title in _contests(db):
        ids: list[int] = []
        for column, value in hashes:
            for (pid,) in db.execute(f"select id from contest_participants where contest_id = ? and {column} = ? "
                                     "and deleted_at is null",
                                     [contest_id, value]):
                if pid not in ids:
                    ids.append(pid)
        for pid in ids:
            cursor = db.execute("select * from contest_participants where id = ?", [pid])
            names = [c[0] for c in cursor.description]
            row = dict(zip(names, cursor.fetchone()))
            attempts = db.execute("select count(*) from contest_attempts where participant_id = ?", [pid]).fetchone()[0]
            found.append((contest_id, slug, title, row, attempts))
    out = []
    for contest_id, slug, title, row, attempts in found:
        out.append(Erasure(f"Người dự thi #{row['id']} cuộc thi “{title}” ({slug}): {_what(row, attempts)}"))
        if not dry_run:
            erase_participant(deployment, get_contest_by_id(deployment, contest_id), row["id"], actor,
                              reason=REQUEST_REASON)
    return out


def _expired(db, days: int, now: dt.datetime) -> list[tuple[int, str, str, str]]:
    """(id, slug, title, last close) of contests whose last round closed more than ``days`` ago."""
    limit = utc_now_iso(now - dt.timedelta(days=days))
    return [tuple(row) for row in db.execute(
        "select c.id, c.slug, c.title, r.last_close from contest_contests c join (select contest_id, "
        "max(closes_at) as last_close from contest_rounds group by contest_id) r on r.contest_id = c.id "
        "where r.last_close < ? order by c.id", [limit])]


def _day(text: str) -> str:
    return to_local(dt.datetime.fromisoformat(text)).strftime("%d/%m/%Y")


def purge_contact_phones(deployment, now: dt.datetime, dry_run: bool, actor: str | None,
                         skip: frozenset[int] = frozenset()) -> list[Erasure]:
    """Clear contact phones past ``contact_retention_days`` (or all of them when the deployment no
    longer keeps them, ``keep_contact_phone = false``), one line per contest; contests in ``skip``
    (erased entirely by :func:`purge_personal_data`) are left to it."""
    settings = settings_of(deployment)
    db = deployment.db
    if settings.keep_contact_phone:
        contests = [(cid, slug, title, (f"quá {settings.contact_retention_days} ngày sau khi vòng cuối kết thúc "
                                        f"({_day(last)})"))
                    for cid, slug, title, last in _expired(db, settings.contact_retention_days, now)]
    else:
        contests = [(cid, slug, title, "cấu hình không giữ số liên hệ (keep_contact_phone = false)")
                    for cid, slug, title in _contests(db)]
    out = []
    for contest_id, slug, title, why in contests:
        if contest_id in skip:
            continue
        if dry_run:
            n = db.execute("select count(*) from contest_participants where contest_id = ? and contact_phone is not "
                           "null", [contest_id]).fetchone()[0]
        elif not db.execute("select 1 from contest_participants where contest_id = ? and contact_phone is not null "
                            "limit 1", [contest_id]).fetchone():
            n = 0  # nothing left to erase: no write transaction (the manager's overview runs this on every view)
        else:
            with write_transaction(db):
                n = db.execute("update contest_participants set contact_phone = null where contest_id = ? and "
                               "contact_phone is not null", [contest_id]).rowcount
                if n:
                    log(db, contest_id, "purge_contacts", username=actor, detail=f"{n} số điện thoại liên hệ; {why}",
                        at=utc_now_iso(now))
        if n:
            out.append(Erasure(f"Số điện thoại liên hệ của {n} người dự thi cuộc thi “{title}” ({slug}): {why}", n))
    return out


def purge_personal_data(deployment, now: dt.datetime, dry_run: bool, actor: str | None) -> list[Erasure]:
    """Erase every participant's personal data ``personal_data_retention_days`` after the
    contest's last round closed, in batches; attempts keep counting (rankings, participation)."""
    settings = settings_of(deployment)
    days = settings.personal_data_retention_days
    db = deployment.db
    out = []
    for contest_id, slug, title, last in _expired(db, days, now):
        why = f"quá {days} ngày sau khi vòng cuối kết thúc ({_day(last)})"
        if dry_run:
            total = db.execute("select count(*) from contest_participants where contest_id = ? and deleted_at is null",
                               [contest_id]).fetchone()[0]
        elif not db.execute("select 1 from contest_participants where contest_id = ? and deleted_at is null limit 1",
                            [contest_id]).fetchone():
            total = 0  # purged on an earlier day
        else:
            total = 0
            stamp = utc_now_iso(now)
            while True:
                with write_transaction(db):
                    n = db.execute(
                        f"update contest_participants set {_PERSONAL_COLUMNS}, deleted_at = ? where id in (select id "
                        "from contest_participants where contest_id = ? and deleted_at is null limit ?)",
                        [stamp, contest_id, BATCH]).rowcount
                    total += n
                    if n < BATCH:
                        db.execute("delete from contest_registration_sources where contest_id = ?", [contest_id])
                        db.execute("delete from contest_devices where participant_id in (select id from "
                                   "contest_participants where contest_id = ?)", [contest_id])
                        if total:
                            # Cached leaderboards hold names: drop them (they are rebuilt without).
                            db.execute("delete from contest_leaderboards where contest_id = ?", [contest_id])
                            db.execute("update contest_contests set ranking_version = ranking_version + 1 "
                                       "where id = ?", [contest_id])
                            log(db, contest_id, "purge_personal_data", username=actor,
                                detail=f"{total} người dự thi; {why}", at=stamp)
                        break
        if total:
            out.append(Erasure(f"Dữ liệu cá nhân (họ tên, số điện thoại, số CCCD, năm sinh, nghề nghiệp) của {total} "
                               f"người dự thi cuộc thi “{title}” ({slug}): {why}; kết quả, xếp hạng và số liệu theo "
                               "đơn vị được giữ lại ẩn danh", total))
    return out


def prize_winner_ids(deployment, contest: Contest, now: dt.datetime) -> set[int]:
    """Participants on a prize list of ``contest`` (every round and audience, and the overall
    lists), held-back entries included: their contact numbers are the ones the prizes need."""
    contest = ensure_closed(deployment, contest, now)
    ids: set[int] = set()
    for round_state in contest.rounds:
        if round_state.state(now) != "closed":
            continue
        for audience in contest.definition.audiences:
            ids.update(w.entry.participant_id for w in prize_list(deployment, contest, round_state, audience.key))
    for audience in contest.definition.audiences:
        if audience.overall_prizes:
            ids.update(w.entry["participant_id"] for w in overall_prize_list(deployment, contest, audience.key))
    return ids


def release_contacts(deployment, now: dt.datetime, dry_run: bool, actor: str | None,
                     only: int | None = None, skip: frozenset[int] = frozenset()) -> list[Erasure]:
    """Keep contact numbers only where a prize needs them (issue #16, part 5): once every round of a
    contest has closed, everyone not on a prize list loses theirs; once the organisers recorded the
    prizes as handed out, the winners lose theirs too. Numbers an older version stored in clear
    are sealed on the way. ``only``: one contest's id; contests in ``skip`` (erased entirely by
    :func:`purge_personal_data`) are left to it. One line per contest that changed."""
    db = deployment.db
    out = []
    for contest_id, slug, title in _contests(db):
        if (only is not None and contest_id != only) or contest_id in skip:
            continue
        if not dry_run:
            _seal_clear_contacts(deployment, contest_id)
        if not db.execute("select 1 from contest_participants where contest_id = ? and contact_phone is not null "
                          "limit 1", [contest_id]).fetchone():
            continue  # nothing kept: no ranking to compute (this runs every day for every contest)
        contest = get_contest_by_id(deployment, contest_id)
        if contest is None or not contest.rounds or any(r.state(now) != "closed" for r in contest.rounds):
            continue  # anyone may still win a round
        handed = db.execute("select prizes_handed_at from contest_contests where id = ?", [contest_id]).fetchone()[0]
        keep = set() if handed else prize_winner_ids(deployment, contest, now)
        rows = [r[0] for r in db.execute("select id from contest_participants where contest_id = ? and "
                                         "contact_phone is not null", [contest_id]) if r[0] not in keep]
        if not rows:
            continue
        why = ("giải thưởng đã được trao" if handed else
               "không đạt giải khi mọi vòng thi đã kết thúc; số của người đạt giải được giữ đến khi trao giải")
        if not dry_run:
            with write_transaction(db):
                db.conn.executemany("update contest_participants set contact_phone = null where id = ?",
                                    [(i,) for i in rows])
                log(db, contest_id, "release_contacts", username=actor, detail=f"{len(rows)} số điện thoại liên hệ; {why}",
                    at=utc_now_iso(now))
        out.append(Erasure(f"Số điện thoại liên hệ của {len(rows)} người dự thi cuộc thi “{title}” ({slug}): {why}",
                           len(rows)))
    return out


def _seal_clear_contacts(deployment, contest_id: int) -> None:
    db = deployment.db
    clear = db.execute("select id, contact_phone from contest_participants where contest_id = ? and contact_phone "
                       "is not null and contact_phone not like ?", [contest_id, SEALED_PREFIX + "%"]).fetchall()
    if clear:
        with write_transaction(db):
            db.conn.executemany("update contest_participants set contact_phone = ? where id = ?",
                                [(seal_contact(deployment, phone), i) for i, phone in clear])


def record_prizes_handed(deployment, contest: Contest, username: str | None, now: dt.datetime | None = None) -> int:
    """The organisers handed out the prizes: the winners' contact numbers go now. Returns how many."""
    now = now or utc_now()
    with write_transaction(deployment.db) as db:
        db.execute("update contest_contests set prizes_handed_at = ?, prizes_handed_by = ? where id = ?",
                   [utc_now_iso(now), username, contest.id])
        log(db, contest.id, "prizes_handed", username=username, at=utc_now_iso(now))
    return sum(e.count for e in release_contacts(deployment, now, False, username, only=contest.id))


def purge_expired(deployment, now: dt.datetime, dry_run: bool, actor: str | None) -> list[Erasure]:
    """Both retention rules: contact phones, and all personal data (a contest past the second is
    reported once, under the second). Erasure markers whose rounds have closed go first."""
    if not dry_run:
        drop_erasure_markers(deployment, now)  # the erasures' last step, once the rounds they guard closed
    days = settings_of(deployment).personal_data_retention_days
    whole = frozenset(contest_id for contest_id, *_ in _expired(deployment.db, days, now))
    return [*release_contacts(deployment, now, dry_run, actor, skip=whole),
            *purge_contact_phones(deployment, now, dry_run, actor, whole),
            *purge_personal_data(deployment, now, dry_run, actor)]


def erase_participant(deployment, contest: Contest, participant_id: int, username: str | None,
                      reason: str = "Xóa dữ liệu cá nhân theo yêu cầu", now: dt.datetime | None = None,
                      *, keep_marker: bool = True) -> None:
    """Erase a participant's personal data (on their request, Decree 13/2023/NĐ-CP). The attempts
    stay as anonymous records for the statistics and leave the rankings; the true figure and the
    counts of a round that has closed stay as they were stored at its closing.

    When a round the participant entered is still open, the keyed hashes of their numbers stay as
    an erasure marker until it closes (see the module's docstring): registering again with the same
    number must not give a second attempt in that round. Everything else goes at once.
    ``keep_marker=False`` (the contest manager's choice, e.g. for a registration made with someone
    else's number) keeps nothing, so the number can register again at once."""
    db = deployment.db
    now = now or utc_now()
    with serialized(deployment):
        row = next(query(db, "select * from contest_participants where id = ? and contest_id = ?",
                            [participant_id, contest.id]), None)
        if row is None:
            raise KeyError(participant_id)
        marker = keep_marker and bool(_rounds_entered_open(db, contest, participant_id, now))
        db.execute(
            "update contest_participants set full_name = null, name_key = null, phone_masked = null, "
            "contact_phone = null, email_hash = null, citizen_id_masked = null, birth_year = null, occupation = null, "
            "phone_hash = case when ? then phone_hash end, citizen_id_hash = case when ? then citizen_id_hash end, "
            "disqualified = 1, disqualified_reason = ?, deleted_at = ? where id = ?",
            [marker, marker, reason, utc_now_iso(now), participant_id])
        db.execute("update contest_attempts set disqualified = 1, disqualified_reason = ? where participant_id = ?",
                   [reason, participant_id])
        db.execute("delete from contest_devices where participant_id = ?", [participant_id])
        # The keyed hash of the address it registered from (detection's evidence) goes too.
        db.execute("delete from contest_registration_sources where participant_id = ?", [participant_id])
        for r in query(db, "select distinct round_id from contest_attempts where participant_id = ?", [participant_id]):
            refresh_counted(db, contest.definition, participant_id, r["round_id"])
        log(db, contest.id, "erase", username=username, participant_id=participant_id, detail=reason,
            at=utc_now_iso(now))
        invalidate_rankings(db, contest.id)
        # Cached leaderboards may hold the name: drop them rather than leave it until the next view.
        db.execute("delete from contest_leaderboards where contest_id = ?", [contest.id])
    # A closed round's true figure, perfect and entrant counts stay as they were when it closed:
    # they are the round's official statistic, and the erased attempts are still attempts that were
    # made. Recomputing them re-keys the whole round when the figure moves (7–8 s holding the write
    # lock at a million attempts), and an erasure is something the public can ask for: a prepared
    # set of accounts could stall every writer of a national contest, one erasure at a time. A
    # manager's disqualification (the review queue) still recomputes them (docs/contest.md).


def purge_contacts(deployment, now: dt.datetime | None = None, actor: str | None = None) -> int:
    """Erase the clear phone numbers of contests whose last round closed more than
    ``contact_retention_days`` ago (all of them with ``keep_contact_phone = false``). Returns how
    many numbers were erased; each contest's erasure is logged (and so in the audit log).
    ``ccch privacy purge`` does this and also erases all personal data after
    ``personal_data_retention_days``."""
    return sum(e.count for e in purge_contact_phones(deployment, now or utc_now(), False, actor))
