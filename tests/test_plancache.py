"""The plan cache: the parsed plan kept per process and in a file keyed by the plan file's hash
(#26 part 2). Safe when the file changes, never read across versions, ignored when unreadable."""

from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path

import pytest

from ccch_core import plancache
from ccch_core.config import load_config
from ccch_core.deployment import Deployment
from ccch_core.planfile import PlanFileError, load_plan

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "duc-tho-2024" / "plan.toml"


@pytest.fixture
def folder(tmp_path):
    shutil.copyfile(PLAN, tmp_path / "plan.toml")
    plancache.clear_memory()
    yield tmp_path
    plancache.clear_memory()


def cache_files(folder: Path) -> list[Path]:
    return sorted((folder / plancache.CACHE_FOLDER).glob("plan-*.pickle"))


def load(folder: Path, *, memory: bool = False):
    if not memory:
        plancache.clear_memory()
    return plancache.load_plan_cached(folder / "plan.toml", folder=folder)


def test_the_first_load_writes_the_file_and_the_next_command_reads_it(folder, monkeypatch):
    first = load(folder)
    assert first == load_plan(folder / "plan.toml") and first.source_path == str(folder / "plan.toml")
    [file] = cache_files(folder)
    assert file.stat().st_mode & 0o777 == 0o600
    assert (folder / plancache.CACHE_FOLDER).stat().st_mode & 0o777 == 0o700
    # A new command: nothing in memory; the plan comes from the file, not from the TOML.
    monkeypatch.setattr("ccch_core.planfile.loads_plan", lambda *a, **k: pytest.fail("parsed again"))
    second = load(folder)
    assert second == first and second is not first
    assert second.unit("xa-an-dung").name == first.unit("xa-an-dung").name
    assert len(second.children(second.issuing_unit)) == len(first.children(first.issuing_unit))
    # In the same process (a server worker): the very same object.
    assert load(folder, memory=True) is second


def test_an_edited_plan_file_is_parsed_again(folder):
    before = load(folder)
    text = (folder / "plan.toml").read_text(encoding="utf-8")
    edited = re.sub(r'(?m)^title = .*$', 'title = "Kế hoạch đã sửa tên"', text, count=1)
    assert edited != text and before.title != "Kế hoạch đã sửa tên"
    (folder / "plan.toml").write_text(edited, encoding="utf-8")
    after = load(folder, memory=True)
    assert after.title == "Kế hoạch đã sửa tên"
    assert len(cache_files(folder)) == 2


def test_a_cache_written_by_other_code_is_never_read(folder, monkeypatch):
    load(folder)
    [old] = cache_files(folder)
    monkeypatch.setattr(plancache, "_code_digest", "another version of ccch")
    load(folder)
    assert len(cache_files(folder)) == 2 and old in cache_files(folder)


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps("a string"), pickle.dumps(("key", "plan")),
                                     pickle.dumps(("key", "plan", {}))])
def test_an_unreadable_cache_file_is_ignored_and_rebuilt(folder, content):
    real = load(folder)
    [file] = cache_files(folder)
    file.write_bytes(content)
    again = load(folder)
    assert again == real
    assert file.read_bytes() != content  # written again, whole


def test_a_cache_file_others_can_write_is_never_read(folder):
    real = load(folder)
    [file] = cache_files(folder)
    key, plan, _derived = pickle.loads(file.read_bytes())
    import attrs

    file.write_bytes(pickle.dumps((key, attrs.evolve(plan, title="Giả mạo"), {})))
    assert load(folder).title == "Giả mạo"  # owned by this user, mode 0600: trusted (the check below is real)
    os.chmod(file, 0o666)
    assert load(folder).title == real.title


def test_a_bad_plan_is_never_cached_and_reported_every_time(folder):
    (folder / "plan.toml").write_text('format = 2\n[plan]\nid = "x"\n', encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PlanFileError):
            load(folder)
    assert cache_files(folder) == []


def test_a_cache_folder_that_cannot_be_made_costs_only_time(folder):
    (folder / plancache.CACHE_FOLDER).write_text("a file where the folder would be")
    assert load(folder) == load_plan(folder / "plan.toml")
    assert load(folder).title


def test_the_import_limits_still_apply_to_a_cached_plan(folder):
    load(folder)
    from ccch_core.limits import ImportLimits

    with pytest.raises(PlanFileError, match="max_file_bytes"):
        plancache.load_plan_cached(folder / "plan.toml", folder=folder, limits=ImportLimits(max_file_bytes=10_000))


def test_a_deployment_reads_its_plan_through_the_cache(folder):
    (folder / "ccch.toml").write_text('[deployment]\nplan = "plan.toml"\ndatabase = "ccch.db"\n', encoding="utf-8")
    dep = Deployment.open(folder / "ccch.toml", migrate=True)
    try:
        assert dep.plan.id == "duc-tho-2024"
        assert len(cache_files(folder)) == 1
    finally:
        dep.close()
    plancache.clear_memory()
    again = Deployment(load_config(folder / "ccch.toml"))
    assert again.plan == dep.plan


def test_a_pickled_unit_keeps_every_field_and_stays_frozen():
    """Units are pickled as their field values (model.Unit.__reduce__, the plan cache's largest
    share): every field comes back, dates and former names included, and the unit is still frozen."""
    import datetime as dt

    import attrs

    from ccch_core.model import FormerName, Provenance, Unit

    unit = Unit("xa-a", "UBND xã A", "commune", parent="huyen", short_name="xã A", aliases=("Xã A cũ",),
                headcount=12, population=9000, responsibilities=("Tuyên truyền",), requested=True,
                established_on=dt.date(2020, 1, 1), retired_on=dt.date(2025, 7, 1), merged_into="xa-b",
                former_names=(FormerName("UBND xã A xưa", dt.date(2021, 1, 1)),),
                provenance=Provenance(source="plan_vi.md"))
    back = pickle.loads(pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL))
    assert attrs.astuple(back, recurse=False) == attrs.astuple(unit, recurse=False)
    assert back.provenance == unit.provenance and back.name_on(dt.date(2020, 6, 1)) == "UBND xã A xưa"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        back.name = "khác"


def test_plans_stay_out_of_the_collectors_walks_only_where_asked(folder):
    # In a process of its own: freezing moves every object alive out of the collector's reach
    # for good, which a test run (many plans loaded and dropped) must not do to itself.
    script = """
import gc, sys
from ccch_core import plancache
folder = sys.argv[1]
def tracked(plan):
    ids = {id(o) for o in gc.get_objects()}
    return sum(id(u) in ids for u in plan.units)
plan = plancache.load_plan_cached(folder + "/plan.toml", folder=folder)
print(gc.get_freeze_count(), tracked(plan), len(plan.units))
plancache.freeze_loaded_plans()
print(gc.get_freeze_count() > len(plan.units), tracked(plan))
plancache.clear_memory()
later = plancache.load_plan_cached(folder + "/plan.toml", folder=folder)  # loaded after: frozen too
print(later is not plan, tracked(later))
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True)
    by_default, frozen, later = (line.split() for line in out.stdout.splitlines())
    assert by_default[0] == "0" and by_default[1] == by_default[2] != "0"  # every unit walked
    assert frozen == ["True", "0"]
    assert later == ["True", "0"]


def test_what_evaluation_derives_from_the_plan_comes_with_it_from_the_file(folder, monkeypatch, fresh_db):
    import datetime as dt

    from ccch_core import progress

    parsed = load_plan(folder / "plan.toml")
    load(folder)  # writes the file
    from ccch_core import model

    # A new command: from the file, with whether any unit is dated (not a pass over the units).
    monkeypatch.setattr(model.Plan, "has_dated_units", lambda plan: pytest.fail("worked out again"))
    cached = load(folder)
    monkeypatch.undo()
    derived = progress._plan_index(cached)
    assert any(isinstance(k, tuple) and k[0] == "units" for k in derived)
    assert any(isinstance(k, tuple) and k[0] == "due days" for k in derived)
    assert any(isinstance(k, tuple) and k[0] == "reporters" for k in derived)
    # Read, not worked out again: the units of each indicator are the plan's own objects.
    monkeypatch.setattr(progress, "_all_indicator_units", lambda plan: pytest.fail("derived again"))
    units = {u.id: u for u in cached.units}
    for indicator in cached.indicators:
        for unit in progress._applicable_units(cached, indicator, cached.period, None):
            assert unit is units[unit.id]
    monkeypatch.undo()
    db = fresh_db
    now = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
    for period in ("2024-03", "2024-Q2", "2024"):
        assert progress.evaluate_plan(db, cached, period, now=now) == progress.evaluate_plan(db, parsed, period, now=now)
        assert progress.reporting_completeness(db, cached, period, now=now) == \
            progress.reporting_completeness(db, parsed, period, now=now)
    # Nothing that comes from stored data or a scope goes into the file.
    progress._within_ids(cached, cached.issuing_unit)
    assert set(progress.plan_derivations(cached)) <= {"dated", "all units"} | {
        k for k in derived if isinstance(k, tuple) and k[0] in ("units", "due days", "further", "reporters")}
    assert not {"completeness", "within", "monthly counts"} & set(progress.plan_derivations(cached))


def test_the_key_covers_the_code_that_derives_from_the_plan(tmp_path, monkeypatch):
    # The derivations are pickled with the plan: a change to progress.py must not read them back.
    here = Path(plancache.__file__).parent
    for name in plancache.MODEL_MODULES:
        shutil.copyfile(here / name, tmp_path / name)
    monkeypatch.setattr(plancache, "__file__", str(tmp_path / "plancache.py"))
    monkeypatch.setattr(plancache, "_code_digest", None)
    before = plancache._code()
    with (tmp_path / "progress.py").open("a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    monkeypatch.setattr(plancache, "_code_digest", None)
    assert plancache._code() != before


def test_a_cached_plans_units_share_one_string_per_kind_and_parent(folder):
    # Repeated texts are one object each (interned), so the cache file refers to them again
    # instead of holding a string per unit (36,647 kinds and parents at national size).
    load(folder)
    plan = load(folder)  # from the file
    assert len({id(u.kind) for u in plan.units}) == len({u.kind for u in plan.units})
    for unit in plan.units:
        if unit.parent is not None:
            assert unit.parent is plan.unit(unit.parent).id
