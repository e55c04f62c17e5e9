"""The survey's placements in the core's shared table (ccch_core.placements), issue #21 part 2:
a database whose posters were printed before the move keeps every code and every response's
attribution; new placements get codes unique across every public page."""

from __future__ import annotations

import pytest
from ccch_survey.definition import load_definition
from ccch_survey.schema import migrations as survey_migrations
from ccch_survey.store import add_placement, entry_for, retire_placement, save_survey
from ccch_survey_testing import SIPAS

from ccch_core import placements
from ccch_core.builtin.schema import migrations as core_migrations
from ccch_core.storage import connect

AT = "2024-03-01T02:00:00+00:00"


def old_database(duc_tho_plan):
    """A database as the survey left it before m006: two printed posters, a response through one."""
    db = connect(":memory:")
    core_migrations.apply(db)
    survey_migrations.apply(db, stop_before="m006_shared_placements")
    save_survey(db, load_definition(SIPAS))
    for pid, code, unit in ((5, "7KQ2MX", "xa-an-dung.mot-cua"), (9, "H3N8PW", "trung-tam-hcc")):
        db.execute("insert into survey_placements (id, code, survey_id, unit_id, place, mode, created_at) "
                   "values (?, ?, 'sipas', ?, 'Quầy', 'poster', ?)", [pid, code, unit, AT])
    db.execute("insert into survey_responses (survey_id, version, placement_id, unit_id, submitted_at, day, "
               "submission_id, channel) values ('sipas', 1, 9, 'trung-tam-hcc', ?, 20240301, 's1', 'web')", [AT])
    db.conn.commit()
    return db


def test_existing_posters_keep_codes_ids_and_responses(duc_tho_plan):
    db = old_database(duc_tho_plan)
    survey_migrations.apply(db)
    shared = {p.id: p for p in placements.list_placements(db)}
    assert {(i, p.code, p.target) for i, p in shared.items()} == {(5, "7KQ2MX", "survey:sipas"),
                                                                  (9, "H3N8PW", "survey:sipas")}
    assert entry_for(db, "H3N8PW").placement.id == 9
    assert db.execute("select placement_id from survey_responses").fetchone()[0] == shared[9].id
    # New placements: the code from the shared table, the same id in both tables.
    new = add_placement(db, duc_tho_plan, "sipas", "xa-duc-dong.mot-cua", "Quầy")
    assert new.id > 9 and placements.get_placement(db, new.id).code == new.code
    assert placements.placement_by_code(db, new.code, target="survey:sipas").unit_id == "xa-duc-dong.mot-cua"
    retire_placement(db, "7KQ2MX")
    assert not placements.get_placement(db, 5).active


def test_a_clash_stops_the_migration(duc_tho_plan):
    db = old_database(duc_tho_plan)
    # Another page's placement took id 5 while the survey was not enabled.
    db.execute("insert into placements (id, code, target, unit_id, place, mode, created_at) "
               "values (5, 'ABCDEF', 'feedback', 'trung-tam-hcc', 'Sảnh', 'poster', ?)", [AT])
    db.conn.commit()
    with pytest.raises(RuntimeError, match="used by another placement"):
        survey_migrations.apply(db)
