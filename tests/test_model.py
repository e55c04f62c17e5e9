"""The plan model in Python: the unit tree, groups, history (renames, mergers), validators,
comparisons, deadlines, reporters and tasks, on the two example plans and on small plans built
in code."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from ccch_core.model import (
    Comparison,
    CountScope,
    Deadline,
    FormerName,
    Frequency,
    Indicator,
    IndicatorKind,
    Plan,
    ReportingRule,
    Task,
    Unit,
    UnitGroup,
)
from ccch_core.periods import Period, PeriodType

D = dt.date


def ids(units) -> list[str]:
    return [u.id for u in units]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


COMMUNES = [
    "tt-duc-tho",
    "xa-an-dung",
    "xa-bui-la-nhan",
    "xa-duc-dong",
    "xa-duc-lang",
    "xa-hoa-lac",
    "xa-lam-trung-thuy",
    "xa-lien-minh",
    "xa-quang-vinh",
    "xa-tan-dan",
    "xa-tan-huong",
    "xa-thanh-binh-thinh",
    "xa-truong-son",
    "xa-tung-anh",
    "xa-tung-chau",
    "xa-yen-ho",
]
"""The 16 commune-level units of the Đức Thọ example, in plan order."""

DISTRICT_OFFICES = [
    "phong-vhtt",
    "phong-noi-vu",
    "phong-tu-phap",
    "phong-tckh",
    "trung-tam-vhtt",
    "trung-tam-hcc",
    "vp-hdnd-ubnd",
]
"""The group "phong-ban-nganh-huyen": departments, centres and the office under UBND huyện."""


def small_plan(units, groups=(), **kwargs) -> Plan:
    return Plan(
        id="thu",
        title="Kế hoạch thử",
        year=2024,
        issuing_unit=units[0].id,
        starts_on=D(2024, 1, 1),
        ends_on=D(2024, 12, 31),
        units=units,
        unit_groups=groups,
        **kwargs,
    )


# =============================================================================================
# The unit tree (Đức Thọ)


def test_roots_are_the_top_of_each_tree(duc_tho_plan):
    assert ids(duc_tho_plan.roots()) == [
        "ubnd-tinh",
        "tinh-uy",
        "hdnd-huyen",
        "mttq-huyen",
        "doan-the-huyen",
        "chinh-phu",
        "bch-tw",
    ]
    assert all(u.parent is None for u in duc_tho_plan.roots())


def test_children_in_plan_order(duc_tho_plan):
    assert ids(duc_tho_plan.children("xa-an-dung")) == [
        "xa-an-dung.mot-cua",
        "xa-an-dung.truyen-thanh",
        "xa-an-dung.buu-dien-vh",
        "xa-an-dung.trang-ttdt",
    ]
    assert duc_tho_plan.children("xa-an-dung.truyen-thanh") == ()
    assert ids(duc_tho_plan.children("tinh-uy")) == ["huyen-uy"]


def test_communes_are_children_of_the_district(duc_tho_plan):
    children = ids(duc_tho_plan.children("ubnd-huyen"))
    assert [c for c in children if c in COMMUNES] == COMMUNES


def test_descendants_depth_first(duc_tho_plan):
    below = ids(duc_tho_plan.descendants("ubnd-huyen"))
    # 11 offices directly below UBND huyện, 2 units under the culture centre, 16 communes/town
    # with 4 facility units each
    assert len(below) == 11 + 2 + 16 * 5
    assert len(set(below)) == len(below)
    # depth first: a unit's children follow it immediately
    i = below.index("trung-tam-vhtt")
    assert below[i + 1 : i + 3] == ["cong-ttdt-huyen", "dai-truyen-thanh-huyen"]
    j = below.index("xa-an-dung")
    assert below[j + 1 : j + 5] == ids(duc_tho_plan.children("xa-an-dung"))
    assert "ubnd-huyen" not in below
    assert "ubnd-tinh" not in below


def test_ancestors_nearest_first(duc_tho_plan):
    assert ids(duc_tho_plan.ancestors("xa-an-dung.truyen-thanh")) == [
        "xa-an-dung",
        "ubnd-huyen",
        "ubnd-tinh",
    ]
    assert duc_tho_plan.ancestors("ubnd-tinh") == []


def test_is_within(duc_tho_plan):
    unit = "xa-an-dung.truyen-thanh"
    assert duc_tho_plan.is_within(unit, unit)
    assert duc_tho_plan.is_within(unit, "xa-an-dung")
    assert duc_tho_plan.is_within(unit, "ubnd-huyen")
    assert duc_tho_plan.is_within(unit, "ubnd-tinh")
    assert not duc_tho_plan.is_within(unit, "xa-bui-la-nhan")
    assert not duc_tho_plan.is_within(unit, "tinh-uy")
    # the relation is not symmetric
    assert not duc_tho_plan.is_within("xa-an-dung", unit)
    assert not duc_tho_plan.is_within("ubnd-tinh", "ubnd-huyen")


def test_sums_within_rolls_rows_up_to_every_ancestor(duc_tho_plan):
    per_unit = {"xa-an-dung.truyen-thanh": (2, 5), "xa-an-dung": (1, 1), "xa-bui-la-nhan": (0, 3),
                "removed-since": (100, 100), "": (7, 7)}
    within = duc_tho_plan.sums_within(per_unit)
    assert within["xa-an-dung.truyen-thanh"] == [2, 5]
    assert within["xa-an-dung"] == [3, 6]
    assert within["xa-bui-la-nhan"] == [0, 3]
    assert within["ubnd-huyen"] == within["ubnd-tinh"] == [3, 9]
    # nothing at or below it: absent (a unit outside the rows' trees, a sibling without rows)
    assert "tinh-uy" not in within and "chi-hoi-dn" not in within
    assert "removed-since" not in within and "" not in within
    # the caller's rows are not changed
    assert per_unit["xa-an-dung"] == (1, 1)


def test_sums_within_agrees_with_is_within_everywhere(duc_tho_plan):
    import random

    rng = random.Random(7)
    rows = {u.id: (rng.randint(0, 9), rng.randint(0, 9)) for u in duc_tho_plan.units if rng.random() < 0.4}
    within = duc_tho_plan.sums_within(rows)
    for unit in duc_tho_plan.units:
        inside = [row for unit_id, row in rows.items() if duc_tho_plan.is_within(unit_id, unit.id)]
        if inside:
            assert within[unit.id] == [sum(r[0] for r in inside), sum(r[1] for r in inside)], unit.id
        else:
            assert unit.id not in within


def test_depth(duc_tho_plan):
    assert duc_tho_plan.depth("ubnd-tinh") == 0
    assert duc_tho_plan.depth("ubnd-huyen") == 1
    assert duc_tho_plan.depth("xa-an-dung") == 2
    assert duc_tho_plan.depth("xa-an-dung.truyen-thanh") == 3
    assert duc_tho_plan.depth("chi-hoi-dn") == 2


def test_unknown_unit_raises_key_error_naming_it(duc_tho_plan):
    with pytest.raises(KeyError, match="xa-khong-co"):
        duc_tho_plan.unit("xa-khong-co")
    assert not duc_tho_plan.has_unit("xa-khong-co")
    assert duc_tho_plan.has_unit("xa-an-dung")


# =============================================================================================
# Groups and resolve


def test_group_members_by_kind(duc_tho_plan):
    assert ids(duc_tho_plan.group_members("cac-xa-thi-tran")) == COMMUNES
    radio = ids(duc_tho_plan.group_members("tram-truyen-thanh-co-so"))
    assert radio == [f"{c}.truyen-thanh" for c in COMMUNES]


def test_group_members_within(duc_tho_plan):
    """The provincial centre is a "centre" too, but not within UBND huyện."""
    members = ids(duc_tho_plan.group_members("phong-ban-nganh-huyen"))
    assert members == DISTRICT_OFFICES
    assert "trung-tam-phvhc-tinh" not in members


def test_portal_group_has_district_portal_and_16_pages(duc_tho_plan):
    members = ids(duc_tho_plan.group_members("cong-trang-ttdt"))
    assert members == ["cong-ttdt-huyen"] + [f"{c}.trang-ttdt" for c in COMMUNES]


def test_group_members_by_listed_units():
    units = [
        Unit(id="tinh", name="UBND tỉnh", kind="province"),
        Unit(id="xa-a", name="UBND xã A", kind="commune", parent="tinh"),
        Unit(id="so-a", name="Sở A", kind="provincial_department", parent="tinh"),
        Unit(id="so-b", name="Sở B", kind="provincial_department", parent="tinh"),
    ]
    plan = small_plan(units, [UnitGroup(id="g", name="Nhóm", kinds=["commune"], units=["so-b"])])
    assert ids(plan.group_members("g")) == ["xa-a", "so-b"]


def test_resolve_deduplicates_and_keeps_plan_order(duc_tho_plan):
    resolved = ids(duc_tho_plan.resolve(["xa-yen-ho", "cac-xa-thi-tran", "phong-vhtt", "xa-an-dung"]))
    assert resolved == ["phong-vhtt"] + COMMUNES
    assert len(resolved) == len(set(resolved))


def test_resolve_of_nothing_is_empty(duc_tho_plan):
    assert duc_tho_plan.resolve([]) == ()


def test_resolve_unknown_reference_raises(duc_tho_plan):
    with pytest.raises(KeyError):
        duc_tho_plan.resolve(["cac-xa"])


def test_reference_names(duc_tho_plan):
    assert duc_tho_plan.is_reference("cac-xa-thi-tran")
    assert duc_tho_plan.is_reference("phong-vhtt")
    assert not duc_tho_plan.is_reference("phong-vh")
    assert duc_tho_plan.reference_name("cac-xa-thi-tran") == "UBND các xã, thị trấn"
    assert duc_tho_plan.reference_name("phong-vhtt") == "Phòng Văn hóa - Thông tin"


# =============================================================================================
# History: renames, mergers, retirement (units built in code)


@pytest.fixture
def history_plan() -> Plan:
    """A ward renamed twice, a ward merged into it on 2024-07-01, and a commune established on
    2024-04-15."""
    units = [
        Unit(id="tinh", name="UBND tỉnh", kind="province"),
        Unit(
            id="phuong-a",
            name="UBND phường Thành Sen",
            kind="ward",
            parent="tinh",
            aliases=["Phường Thành Sen"],
            short_name="P. Thành Sen",
            former_names=[
                FormerName(name="UBND phường Nam Hà", until=D(2024, 7, 1)),
                FormerName(name="UBND xã Nam Hà", until=D(2024, 3, 1)),
            ],
        ),
        Unit(
            id="phuong-b",
            name="UBND phường Bắc Hà",
            kind="ward",
            parent="tinh",
            retired_on=D(2024, 7, 1),
            merged_into="phuong-a",
        ),
        Unit(id="xa-moi", name="UBND xã Mới", kind="commune", parent="tinh", established_on=D(2024, 4, 15)),
    ]
    groups = [UnitGroup(id="cac-xa-phuong", name="UBND các xã, phường", kinds=["commune", "ward"])]
    rules = [
        ReportingRule(
            id="thang",
            what="Báo cáo tháng",
            reporters=["cac-xa-phuong"],
            to="tinh",
            frequency="month",
            due_day=5,
        )
    ]
    return small_plan(units, groups, reporting_rules=rules)


def test_name_on_before_and_after_renames(history_plan):
    ward = history_plan.unit("phuong-a")
    assert ward.name_on(D(2024, 1, 15)) == "UBND xã Nam Hà"
    assert ward.name_on(D(2024, 2, 29)) == "UBND xã Nam Hà"
    assert ward.name_on(D(2024, 3, 1)) == "UBND phường Nam Hà"
    assert ward.name_on(D(2024, 6, 30)) == "UBND phường Nam Hà"
    assert ward.name_on(D(2024, 7, 1)) == "UBND phường Thành Sen"
    assert ward.name_on(D(2030, 1, 1)) == "UBND phường Thành Sen"


def test_name_on_of_a_unit_never_renamed(history_plan):
    assert history_plan.unit("phuong-b").name_on(D(2020, 1, 1)) == "UBND phường Bắc Hà"


def test_matches_name_current_former_alias_short(history_plan):
    ward = history_plan.unit("phuong-a")
    assert ward.matches_name("UBND phường Thành Sen")
    assert ward.matches_name("UBND phường Nam Hà")  # former name
    assert ward.matches_name("UBND xã Nam Hà")  # older former name
    assert ward.matches_name("Phường Thành Sen")  # alias
    assert ward.matches_name("P. Thành Sen")  # short name
    assert not ward.matches_name("UBND phường Bắc Hà")
    assert not ward.matches_name("UBND phường Thành Sơn")


def test_matches_name_nfd_case_and_spacing(history_plan):
    ward = history_plan.unit("phuong-a")
    assert ward.matches_name(nfd("UBND phường Nam Hà"))
    assert ward.matches_name(nfd("  ubnd   PHƯỜNG thành sen "))
    assert ward.matches_name(nfd("phường thành sen"))


def test_find_unit_by_former_name(history_plan):
    assert history_plan.find_unit_by_name("UBND phường Nam Hà").id == "phuong-a"
    assert history_plan.find_unit_by_name(nfd("UBND phường Bắc Hà")).id == "phuong-b"
    assert history_plan.find_unit_by_name("UBND phường Đông Hà") is None


def test_active_on_boundaries(history_plan):
    merged = history_plan.unit("phuong-b")
    assert merged.active_on(D(2024, 6, 30))
    assert not merged.active_on(D(2024, 7, 1))  # retired_on is the first day it no longer exists
    new = history_plan.unit("xa-moi")
    assert not new.active_on(D(2024, 4, 14))
    assert new.active_on(D(2024, 4, 15))  # established_on is its first day
    assert history_plan.unit("phuong-a").active_on(D(1990, 1, 1))


@pytest.mark.parametrize(
    "period, expected",
    [
        ("2024-06", True),
        ("2024-07", False),
        ("2024-Q2", True),
        ("2024-Q3", False),
        ("2024-H1", True),
        ("2024-H2", False),
        ("2024", True),  # it existed for part of the year
        ("2025", False),
    ],
)
def test_merged_unit_active_during(history_plan, period, expected):
    assert history_plan.unit("phuong-b").active_during(Period.parse(period)) is expected


@pytest.mark.parametrize(
    "period, expected",
    [("2024-03", False), ("2024-04", True), ("2024-Q1", False), ("2024-Q2", True), ("2024", True)],
)
def test_new_unit_active_during(history_plan, period, expected):
    """A unit established mid-month is active during that month."""
    assert history_plan.unit("xa-moi").active_during(Period.parse(period)) is expected


def test_successor_follows_merged_into(history_plan):
    assert history_plan.successor("phuong-b").id == "phuong-a"
    assert history_plan.successor("phuong-b", on=D(2024, 7, 1)).id == "phuong-a"
    # before the merger the unit carries its own history
    assert history_plan.successor("phuong-b", on=D(2024, 6, 30)).id == "phuong-b"
    assert history_plan.successor("phuong-a").id == "phuong-a"


def test_successor_follows_a_chain_of_mergers():
    units = [
        Unit(id="tinh", name="UBND tỉnh", kind="province"),
        Unit(id="a", name="A", kind="commune", parent="tinh", retired_on=D(2024, 4, 1), merged_into="b"),
        Unit(id="b", name="B", kind="commune", parent="tinh", retired_on=D(2024, 7, 1), merged_into="c"),
        Unit(id="c", name="C", kind="commune", parent="tinh"),
    ]
    plan = small_plan(units)
    assert plan.successor("a").id == "c"
    assert plan.successor("a", on=D(2024, 5, 1)).id == "b"
    assert plan.successor("a", on=D(2024, 3, 31)).id == "a"


def test_merged_unit_resolved_only_for_periods_it_existed_in(history_plan):
    before = ids(history_plan.resolve(["cac-xa-phuong"], Period.parse("2024-06")))
    after = ids(history_plan.resolve(["cac-xa-phuong"], Period.parse("2024-08")))
    assert "phuong-b" in before
    assert "phuong-b" not in after
    assert "phuong-a" in before and "phuong-a" in after
    # without a period, every unit the plan names
    assert ids(history_plan.resolve(["cac-xa-phuong"])) == ["phuong-a", "phuong-b", "xa-moi"]
    # a unit named directly is filtered the same way
    assert history_plan.resolve(["phuong-b"], Period.parse("2024-Q3")) == ()


def test_expected_reporters_follow_history(history_plan):
    assert ids(history_plan.expected_reporters(Period.parse("2024-03"))) == ["phuong-a", "phuong-b"]
    assert ids(history_plan.expected_reporters(Period.parse("2024-04"))) == ["phuong-a", "phuong-b", "xa-moi"]
    assert ids(history_plan.expected_reporters(Period.parse("2024-07"))) == ["phuong-a", "xa-moi"]
    # no quarterly rule
    assert history_plan.expected_reporters(Period.parse("2024-Q1")) == ()


# =============================================================================================
# Validators


def test_unit_bad_id():
    with pytest.raises(ValueError, match="not a valid id"):
        Unit(id="Xa A", name="UBND xã A", kind="commune")
    for bad in ("xã-a", "-xa", "Xa-a", ""):
        with pytest.raises(ValueError):
            Unit(id=bad, name="UBND xã A", kind="commune")


def test_unit_good_ids():
    for good in ("xa-a", "xa-a.mot-cua", "x_1", "0a"):
        assert Unit(id=good, name="A", kind="commune").id == good


def test_unit_empty_name():
    with pytest.raises(ValueError, match="name"):
        Unit(id="xa-a", name="", kind="commune")
    with pytest.raises(ValueError, match="name"):
        Unit(id="xa-a", name=" \n ", kind="commune")


def test_unit_empty_kind():
    with pytest.raises(ValueError, match="kind"):
        Unit(id="xa-a", name="A", kind="")


def test_unit_own_parent():
    with pytest.raises(ValueError, match="own parent"):
        Unit(id="xa-a", name="A", kind="commune", parent="xa-a")


def test_unit_retired_before_established():
    with pytest.raises(ValueError, match="retired before it is established"):
        Unit(id="xa-a", name="A", kind="commune", established_on=D(2024, 5, 1), retired_on=D(2024, 4, 1))
    with pytest.raises(ValueError):
        Unit(id="xa-a", name="A", kind="commune", established_on=D(2024, 5, 1), retired_on=D(2024, 5, 1))


def test_unit_merged_without_retired_on():
    with pytest.raises(ValueError, match="retired_on"):
        Unit(id="xa-a", name="A", kind="commune", merged_into="xa-b")


def test_unit_negative_headcount():
    with pytest.raises(ValueError):
        Unit(id="xa-a", name="A", kind="commune", headcount=-1)


def test_unit_texts_are_cleaned_to_nfc():
    unit = Unit(id="xa-a", name=nfd("  UBND  xã\nĐức Thọ "), kind="commune", aliases=[nfd("Xã Đức Thọ")])
    assert unit.name == "UBND xã Đức Thọ"
    assert unicodedata.is_normalized("NFC", unit.name)
    assert unit.aliases == ("Xã Đức Thọ",)


def test_units_are_frozen():
    unit = Unit(id="xa-a", name="A", kind="commune")
    with pytest.raises(AttributeError):
        unit.name = "B"


def indicator(**kwargs) -> Indicator:
    base = {"code": "I1", "text": "Chỉ tiêu", "kind": "share_of_units", "target": 100, "applies_to": ["xa-a"]}
    base.update(kwargs)
    return Indicator(**base)


def test_indicator_yes_no_target():
    with pytest.raises(ValueError, match="yes/no"):
        indicator(kind="yes_no", target=2)
    assert indicator(kind="yes_no", target=1).target == 1
    assert indicator(kind="yes_no", target=0).target == 0


@pytest.mark.parametrize("kind", ["share_of_units", "ratio", "percentage"])
def test_indicator_percentage_target(kind):
    with pytest.raises(ValueError, match="0–100"):
        indicator(kind=kind, target=101)
    with pytest.raises(ValueError):
        indicator(kind=kind, target=-1)
    assert indicator(kind=kind, target=100).is_percentage
    assert indicator(kind=kind, target=0).target == 0


def test_indicator_negative_count():
    with pytest.raises(ValueError, match="negative"):
        indicator(kind="count", target=-1, target_per="year")
    assert indicator(kind="count", target=150, target_per="year").target == 150


def test_indicator_source():
    with pytest.raises(ValueError, match="source"):
        indicator(source="excel")
    computed = indicator(source="plugin:contest_participants")
    assert computed.measure_name == "contest_participants"
    assert indicator().measure_name is None


def test_indicator_source_plugin_without_measure_name():
    """The loader rejects "plugin:" without a measure name; the model must too."""
    with pytest.raises(ValueError, match="source"):
        indicator(source="plugin:")


def test_indicator_unknown_kind():
    with pytest.raises(ValueError):
        indicator(kind="average")


def test_indicator_converters():
    ind = indicator(kind="count", target=15, comparison="<=", period_type="month", target_per="year", scope="each")
    assert ind.kind is IndicatorKind.COUNT
    assert ind.comparison is Comparison.AT_MOST
    assert ind.period_type is PeriodType.MONTH
    assert ind.target_per is PeriodType.YEAR
    assert ind.scope is CountScope.EACH
    assert not ind.is_percentage


def test_indicator_label():
    assert indicator(short_name="Ngắn").label == "Ngắn"
    assert indicator().label == "Chỉ tiêu"


def test_reporting_rule_due_day_range():
    rule = {"id": "r", "what": "Báo cáo", "reporters": ["xa-a"], "to": "tinh", "frequency": "month"}
    assert ReportingRule(**rule, due_day=28).due_day == 28
    with pytest.raises(ValueError):
        ReportingRule(**rule, due_day=29)
    with pytest.raises(ValueError):
        ReportingRule(**rule, due_day=0)
    with pytest.raises(ValueError):
        ReportingRule(**{**rule, "reporters": []})


def test_frequency_negative_count():
    with pytest.raises(ValueError):
        Frequency(count=-1, per="year")
    assert Frequency(count=15, per="year").per is PeriodType.YEAR


def test_task_needs_a_duty():
    with pytest.raises(ValueError):
        Task(id="T1", number=1, duty="  ")


def test_deadline_bad_id():
    with pytest.raises(ValueError):
        Deadline(id="Kế hoạch", what="x", due=D(2024, 1, 20))


# =============================================================================================
# Comparison and deadlines


def test_comparison_at_least():
    assert Comparison.AT_LEAST.holds(100, 100)
    assert Comparison.AT_LEAST.holds(101, 100)
    assert not Comparison.AT_LEAST.holds(99.5, 100)
    # 0.1 + 0.2 is 0.30000000000000004: float noise must not fail a target
    assert Comparison.AT_LEAST.holds(0.1 + 0.2, 0.3)
    assert Comparison.AT_LEAST.holds(0.3, 0.1 + 0.2)


def test_comparison_at_most():
    assert Comparison.AT_MOST.holds(15, 15)
    assert Comparison.AT_MOST.holds(0, 15)
    assert not Comparison.AT_MOST.holds(15.5, 15)
    assert Comparison.AT_MOST.holds(0.1 + 0.2, 0.3)


def test_comparison_equal():
    assert Comparison.EQUAL.holds(1, 1)
    assert Comparison.EQUAL.holds(0.1 + 0.2, 0.3)
    assert not Comparison.EQUAL.holds(1.1, 1)
    assert not Comparison.EQUAL.holds(0.9, 1)


def test_comparison_from_symbols():
    assert Comparison(">=") is Comparison.AT_LEAST
    assert Comparison("<=") is Comparison.AT_MOST
    assert Comparison("==") is Comparison.EQUAL


def test_deadline_last_day_before():
    """"trước 20/01/2024": the last day is the 19th."""
    deadline = Deadline(id="kh", what="Kế hoạch", due=D(2024, 1, 20))
    assert deadline.inclusive is False
    assert deadline.last_day == D(2024, 1, 19)


def test_deadline_last_day_inclusive():
    assert Deadline(id="kh", what="Kế hoạch", due=D(2024, 1, 20), inclusive=True).last_day == D(2024, 1, 20)


def test_deadline_last_day_across_month_end():
    assert Deadline(id="kh", what="x", due=D(2024, 3, 1)).last_day == D(2024, 2, 29)
    assert Deadline(id="kh", what="x", due=D(2025, 1, 1)).last_day == D(2024, 12, 31)


# =============================================================================================
# The Đức Thọ plan: names, reporters, tasks


def test_find_unit_by_alias(duc_tho_plan):
    assert duc_tho_plan.find_unit_by_name("Phòng VHTT").id == "phong-vhtt"
    assert duc_tho_plan.find_unit_by_name("phòng vhtt").id == "phong-vhtt"
    assert duc_tho_plan.find_unit_by_name(nfd("Phòng Văn hóa - Thông tin")).id == "phong-vhtt"
    assert duc_tho_plan.find_unit_by_name("UBND huyện").id == "ubnd-huyen"  # short name
    assert duc_tho_plan.find_unit_by_name("Phòng Văn hóa") is None


def test_find_unit_by_name_keeps_diacritics_distinct(duc_tho_plan):
    assert duc_tho_plan.find_unit_by_name("UBND xã Đức Đồng").id == "xa-duc-dong"
    assert duc_tho_plan.find_unit_by_name("UBND xã Duc Dong") is None


def test_expected_reporters_monthly(duc_tho_plan):
    reporters = ids(duc_tho_plan.expected_reporters(Period.parse("2024-03")))
    assert len(reporters) == 23
    assert reporters == DISTRICT_OFFICES + COMMUNES
    # the content feed of Phòng Nội vụ is not tracked, but Phòng Nội vụ reports as an office
    assert "phong-noi-vu" in reporters


def test_expected_reporters_quarterly(duc_tho_plan):
    assert ids(duc_tho_plan.expected_reporters(Period.parse("2024-Q1"))) == ["phong-vhtt"]
    assert ids(duc_tho_plan.expected_reporters(Period.parse("2024-H2"))) == ["phong-vhtt"]
    assert ids(duc_tho_plan.expected_reporters(Period.parse("2024"))) == ["phong-vhtt"]


def test_tracked_rules(duc_tho_plan):
    monthly = [r.id for r in duc_tho_plan.tracked_rules(PeriodType.MONTH)]
    assert monthly == ["bao-cao-thang", "tong-hop-trung-tam"]
    assert "noi-dung-noi-vu" not in [r.id for r in duc_tho_plan.tracked_rules()]


def test_tasks_of_culture_centre(duc_tho_plan):
    tasks = duc_tho_plan.tasks_of("trung-tam-vhtt")
    assert [t.id for t in tasks["lead"]] == ["T2", "T8", "T9", "T10"]
    # T1 names it directly, T3, T4 and T7 through "phong-ban-nganh-huyen"
    assert [t.id for t in tasks["coordinating"]] == ["T1", "T3", "T4", "T7"]


def test_tasks_of_a_commune_through_its_group(duc_tho_plan):
    tasks = duc_tho_plan.tasks_of("xa-an-dung")
    assert [t.id for t in tasks["lead"]] == ["T11"]
    assert [t.id for t in tasks["coordinating"]] == ["T1", "T3", "T4", "T7", "T10"]


def test_tasks_of_a_unit_without_tasks(duc_tho_plan):
    assert duc_tho_plan.tasks_of("phong-tckh")["lead"] == []


def test_plan_lookups(duc_tho_plan):
    assert duc_tho_plan.indicator("I7").target == 15
    assert duc_tho_plan.task("T12").lead == ("chi-hoi-dn",)
    with pytest.raises(KeyError, match="I9"):
        duc_tho_plan.indicator("I9")
    with pytest.raises(KeyError, match="T13"):
        duc_tho_plan.task("T13")
    assert duc_tho_plan.period == Period.parse("2024")
    assert duc_tho_plan.number_and_symbol == "……/KH-UBND"


# =============================================================================================
# The two-tier example (province → communes and wards; a merger on 2026-04-01)


def test_two_tier_communes_are_children_of_the_province(two_tier_plan):
    assert ids(two_tier_plan.roots())[0] == "ubnd-tinh"
    wards_and_communes = two_tier_plan.group_members("cac-xa-phuong")
    assert len(wards_and_communes) >= 6
    for unit in wards_and_communes:
        assert unit.parent == "ubnd-tinh"
        assert two_tier_plan.depth(unit.id) == 1
        assert two_tier_plan.is_within(unit.id, "ubnd-tinh")


def test_two_tier_has_no_district_level(two_tier_plan):
    assert not [u for u in two_tier_plan.units if u.kind == "district"]
    assert two_tier_plan.depth("xa-duc-tho.mot-cua") == 2


def test_two_tier_merged_ward_history(two_tier_plan):
    bac_ha = two_tier_plan.unit("phuong-bac-ha")
    assert bac_ha.retired_on == D(2026, 4, 1)
    assert bac_ha.merged_into == "phuong-thanh-sen"
    assert bac_ha.active_on(D(2026, 3, 31))
    assert not bac_ha.active_on(D(2026, 4, 1))
    assert bac_ha.active_during(Period.parse("2026-03"))
    assert not bac_ha.active_during(Period.parse("2026-04"))
    assert bac_ha.active_during(Period.parse("2026-H1"))
    assert two_tier_plan.successor("phuong-bac-ha").id == "phuong-thanh-sen"
    assert two_tier_plan.successor("phuong-bac-ha", on=D(2026, 3, 15)).id == "phuong-bac-ha"
    assert two_tier_plan.successor("phuong-bac-ha.mot-cua").id == "phuong-thanh-sen.mot-cua"


def test_two_tier_renamed_ward(two_tier_plan):
    thanh_sen = two_tier_plan.unit("phuong-thanh-sen")
    assert thanh_sen.name_on(D(2026, 3, 31)) == "UBND phường Nam Hà"
    assert thanh_sen.name_on(D(2026, 4, 1)) == "UBND phường Thành Sen"
    assert two_tier_plan.find_unit_by_name(nfd("UBND phường Nam Hà")).id == "phuong-thanh-sen"


def test_two_tier_reporters_before_and_after_the_merger(two_tier_plan):
    march = ids(two_tier_plan.expected_reporters(Period.parse("2026-03")))
    april = ids(two_tier_plan.expected_reporters(Period.parse("2026-04")))
    assert "phuong-bac-ha" in march
    assert "phuong-bac-ha" not in april
    assert "phuong-thanh-sen" in march and "phuong-thanh-sen" in april
    assert set(march) - set(april) == {"phuong-bac-ha"}


def test_two_tier_resolve_by_quarter(two_tier_plan):
    q1 = ids(two_tier_plan.resolve(["bo-phan-mot-cua"], Period.parse("2026-Q1")))
    q2 = ids(two_tier_plan.resolve(["bo-phan-mot-cua"], Period.parse("2026-Q2")))
    assert "phuong-bac-ha.mot-cua" in q1
    assert "phuong-bac-ha.mot-cua" not in q2
    assert len(q1) == len(q2) + 1
