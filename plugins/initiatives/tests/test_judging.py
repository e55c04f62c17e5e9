"""The panel: conflicts, assignment balance, scores, aggregation against hand-worked figures,
disagreement, tie-breaks, rounds, awards, the audit trail of score changes."""

from __future__ import annotations

import random

import pytest
from ccch_initiatives.calls import CallError, appoint, save_call, seat_of
from ccch_initiatives.judging import (
    JudgingError,
    add_judge,
    advance_to_final,
    aggregate,
    assign_judges,
    assignments,
    awards_of,
    check_scores,
    decide_awards,
    declare_conflict,
    judge_total,
    rank,
    results,
    save_scores,
    unit_conflict,
)
from initiatives_testing import example_text

from ccch_core.storage import write_transaction

COMMUNES = ["xa-an-dung", "xa-duc-dong", "xa-yen-ho", "xa-tan-dan", "xa-hoa-lac", "xa-tung-anh"]
OFFICES = ["phong-tu-phap", "phong-tckh", "trung-tam-hcc", "vp-hdnd-ubnd"]


def sheet(call, **scores):
    """A scoring form: ``tinh_moi=8`` → score_tinh-moi = "8"."""
    return {f"score_{k.replace('_', '-')}": str(v) for k, v in scores.items()}


def score(dep, call, assignment, *, submit=True, actor="gk", **scores):
    values, overall = check_scores(call, sheet(call, **scores), complete=submit)
    return save_scores(dep, call, assignment, values, overall, submit=submit, actor=actor)


# -- conflicts and balance -----------------------------------------------------------------------------


def test_a_judge_never_gets_an_entry_from_their_own_unit(dep, call, add_entry, judges):
    rng = random.Random(22)
    units = COMMUNES + OFFICES
    entries = []
    for i in range(40):
        unit = rng.choice(units)
        co_author_unit = rng.choice(units)
        entries.append(add_entry(unit, authors=[(f"Tác Giả {i}", unit), (f"Đồng Tác Giả {i}", co_author_unit)]))
    # A judge of An Dũng's one-stop desk (a sub-unit) is in conflict with An Dũng's entries too.
    panel = judges(["xa-an-dung.mot-cua", "xa-yen-ho", "xa-duc-dong", "phong-tu-phap", "phong-tckh",
                    "trung-tam-hcc", "vp-hdnd-ubnd", "phong-noi-vu", "phong-vhtt", None])
    report = assign_judges(dep, call, "preliminary", actor="tk")
    assert report.short == ()
    by_entry = {e.id: e for e in entries}
    made = assignments(dep.db, call.id, "preliminary")
    assert len(made) == 40 * 3
    for a in made:
        seat = seat_of(dep.db, call.id, a.username)
        entry = by_entry[a.entry_id]
        if seat.unit_id:
            for unit in entry.units:
                assert not dep.plan.is_within(unit, seat.unit_id), (a.username, unit)
                assert not dep.plan.is_within(seat.unit_id, unit), (a.username, unit)
    an_dung = next(e for e in entries if "xa-an-dung" in e.units)
    assert unit_conflict(dep.plan, "xa-an-dung.mot-cua", an_dung) and unit_conflict(dep.plan, "xa-an-dung", an_dung)
    assert not unit_conflict(dep.plan, "xa-an-dung.mot-cua", next(e for e in entries if "xa-an-dung" not in e.units))
    assert panel[0] not in {a.username for a in made if "xa-an-dung" in by_entry[a.entry_id].units}


def test_the_assignment_is_balanced_without_conflicts(dep, call, add_entry, judges):
    for i in range(25):
        add_entry("xa-an-dung", authors=[(f"Người {i}", "xa-an-dung")])
    judges(OFFICES + ["trung-tam-vhtt", "phong-vhtt", "phong-noi-vu"])  # 7 judges, 75 assignments
    report = assign_judges(dep, call, "preliminary", actor="tk")
    assert report.created == 75
    assert max(report.loads.values()) - min(report.loads.values()) <= 1
    assert sum(report.loads.values()) == 75
    for entry_id in {a.entry_id for a in assignments(dep.db, call.id, "preliminary")}:
        assert len({a.username for a in assignments(dep.db, call.id, "preliminary", entry_id=entry_id)}) == 3
    again = assign_judges(dep, call, "preliminary", actor="tk")  # nothing left to do
    assert again.created == 0 and again.moved == 0


def test_the_assignment_is_balanced_with_unit_conflicts(dep, call, add_entry, judges):
    rng = random.Random(7)
    for i in range(36):
        unit = rng.choice(COMMUNES)
        add_entry(unit, authors=[(f"Người {i}", unit)])
    names = judges(COMMUNES)  # each judge is in conflict with the entries of their commune
    report = assign_judges(dep, call, "preliminary", actor="tk")
    assert report.short == ()
    loads = [report.loads[n] for n in names]
    assert sum(loads) == 108
    assert max(loads) - min(loads) <= 1, loads


def test_an_entry_with_too_few_eligible_judges_is_reported(dep, call, add_entry, judges):
    entry = add_entry("xa-an-dung")
    judges(["xa-an-dung", "xa-an-dung.mot-cua", "phong-tu-phap"])  # only the last may judge it
    report = assign_judges(dep, call, "preliminary", actor="tk")
    assert report.short == ((entry.id, 2),)
    assert [a.username for a in assignments(dep.db, call.id, "preliminary")] and report.created == 1


def test_a_declared_conflict_removes_the_assignment_and_its_scores(dep, call, add_entry, judges):
    entry = add_entry("xa-an-dung")
    names = judges(["phong-tu-phap", "phong-tckh", "trung-tam-hcc", "vp-hdnd-ubnd"])
    assign_judges(dep, call, "preliminary", actor="tk")
    mine = assignments(dep.db, call.id, "preliminary", entry_id=entry.id)[0]
    score(dep, call, mine, submit=False, tinh_moi=5)
    seat = seat_of(dep.db, call.id, mine.username)
    declare_conflict(dep, call, seat, entry, "Tác giả là em họ")
    assert not assignments(dep.db, call.id, "preliminary", username=mine.username)
    assert dep.db.execute("select count(*) from initiative_scores").fetchone()[0] == 0
    report = assign_judges(dep, call, "preliminary", actor="tk")  # the gap is filled by the fourth judge
    assert report.created == 1
    holders = {a.username for a in assignments(dep.db, call.id, "preliminary", entry_id=entry.id)}
    assert mine.username not in holders and holders <= set(names) and len(holders) == 3


def test_a_person_is_never_both_secretary_and_judge_of_a_call(dep, call, make_user):
    username, _ = make_user(dep, "viewer")
    appoint(dep, call, username, "secretary", None, actor="test")
    with pytest.raises(CallError) as caught:
        appoint(dep, call, username, "judge", "phong-tu-phap", actor="test")
    assert "không giữ cả hai vai trò" in str(caught.value)
    with pytest.raises(CallError):
        appoint(dep, call, "khong-co-ai", "judge", None, actor="test")


# -- scores and aggregation ------------------------------------------------------------------------------


def test_a_judges_score_is_the_weighted_rubric_out_of_100(call):
    # Weights 3, 2, 3, 2 on scales 0–10: (3·8 + 2·6 + 3·9 + 2·5) / (10 · 10) × 100 = 73
    assert judge_total(call, {"tinh-moi": 8, "kha-thi": 6, "hieu-qua": 9, "pham-vi": 5}) == pytest.approx(73.0)
    assert judge_total(call, {"tinh-moi": 10, "kha-thi": 10, "hieu-qua": 10, "pham-vi": 10}) == pytest.approx(100)
    assert judge_total(call, {"tinh-moi": 0, "kha-thi": 0, "hieu-qua": 0, "pham-vi": 0}) == 0


def test_aggregation_by_hand():
    assert aggregate([73.0, 61.0, 82.0], "weighted_mean") == pytest.approx(72.0)
    assert aggregate([73.0, 61.0, 82.0], "trimmed_mean") == pytest.approx(72.0)  # fewer than 4: plain mean
    # 4 judges: drop 40 and 90, mean of 70 and 80
    assert aggregate([70.0, 40.0, 90.0, 80.0], "trimmed_mean") == pytest.approx(75.0)
    assert aggregate([70.0, 40.0, 90.0, 80.0], "weighted_mean") == pytest.approx(70.0)
    # 5 judges: drop one 95 and one 50 (the lowest), keep the other 50
    assert aggregate([95.0, 50.0, 50.0, 80.0, 95.0], "trimmed_mean") == pytest.approx(75.0)
    assert aggregate([], "trimmed_mean") is None


def test_results_match_scores_worked_out_by_hand(dep, call, add_entry, judges):
    a = add_entry("xa-an-dung", title="Sáng kiến A")
    b = add_entry("xa-duc-dong", title="Sáng kiến B")
    judges(["phong-tu-phap", "phong-tckh", "trung-tam-hcc"])
    assign_judges(dep, call, "preliminary", actor="tk")
    sheets = {  # judge order within each entry: by username
        a.id: [{"tinh_moi": 8, "kha_thi": 6, "hieu_qua": 9, "pham_vi": 5},    # 73
               {"tinh_moi": 7, "kha_thi": 7, "hieu_qua": 7, "pham_vi": 7},    # 70
               {"tinh_moi": 9, "kha_thi": 8, "hieu_qua": 8, "pham_vi": 6}],   # (27+16+24+12) = 79
        b.id: [{"tinh_moi": 10, "kha_thi": 10, "hieu_qua": 10, "pham_vi": 10},  # 100
               {"tinh_moi": 5, "kha_thi": 5, "hieu_qua": 5, "pham_vi": 5},      # 50
               {"tinh_moi": 6, "kha_thi": 4, "hieu_qua": 7, "pham_vi": 3}],     # (18+8+21+6) = 53
    }
    for entry_id, forms in sheets.items():
        for assignment, form in zip(assignments(dep.db, call.id, "preliminary", entry_id=entry_id), forms,
                                    strict=True):
            score(dep, call, assignment, **form)
    rows = {r.entry.id: r for r in results(dep.db, call, "preliminary")}
    assert sorted(rows[a.id].totals) == pytest.approx([70, 73, 79])
    assert rows[a.id].score == pytest.approx(74.0)  # (73 + 70 + 79) / 3
    assert rows[a.id].spread == pytest.approx(9) and not rows[a.id].flagged
    assert rows[b.id].score == pytest.approx(203 / 3)
    assert rows[b.id].spread == pytest.approx(50) and rows[b.id].flagged  # over the threshold of 20
    assert rows[a.id].criterion_means["tinh-moi"] == pytest.approx(8.0)
    # The flagged entry gets a fourth judge; with 4 judges the trimmed mean drops 100 and 50.
    extra = judges(["vp-hdnd-ubnd"])[0]
    assert add_judge(dep, call, b, "preliminary", actor="tk") == extra
    fourth = assignments(dep.db, call.id, "preliminary", entry_id=b.id, username=extra)[0]
    score(dep, call, fourth, tinh_moi=6, kha_thi=6, hieu_qua=6, pham_vi=6)  # 60
    row = next(r for r in results(dep.db, call, "preliminary") if r.entry.id == b.id)
    assert row.judges == 4 and row.score == pytest.approx((53 + 60) / 2)


def test_only_sent_and_complete_sheets_count(dep, call, add_entry, judges):
    entry = add_entry("xa-an-dung")
    judges(["phong-tu-phap"])
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    assignment = assignments(dep.db, call.id, "preliminary")[0]
    score(dep, call, assignment, submit=False, tinh_moi=8, kha_thi=6, hieu_qua=9, pham_vi=5)
    assert results(dep.db, call, "preliminary")[0].score is None  # a draft does not count
    values, overall = check_scores(call, sheet(call, tinh_moi=8), complete=False)
    with pytest.raises(JudgingError):
        save_scores(dep, call, assignment, values, overall, submit=True, actor="gk")
    score(dep, call, assignment, tinh_moi=8, kha_thi=6, hieu_qua=9, pham_vi=5)
    assert results(dep.db, call, "preliminary")[0].score == pytest.approx(73)
    assert entry.id == results(dep.db, call, "preliminary")[0].entry.id


@pytest.mark.parametrize(("raw", "message"), [("11", "từ 0 đến 10."), ("-1", "từ 0 đến 10."), ("²", "từ 0 đến 10."),
                                              ("", "chưa nhập điểm"), ("9" * 5000, "từ 0 đến 10."),
                                              ("7.5", "từ 0 đến 10.")])
def test_a_score_outside_its_scale_is_refused_naming_the_criterion(call, raw, message):
    with pytest.raises(JudgingError) as caught:
        check_scores(call, {"score_tinh-moi": raw, "score_kha-thi": "5", "score_hieu-qua": "5", "score_pham-vi": "5"})
    assert caught.value.errors == {"score_tinh-moi": "Tính mới, sáng tạo: cần một số nguyên từ 0 đến 10"
                                   + ("." if raw else "; chưa nhập điểm.")}
    assert message in caught.value.errors["score_tinh-moi"]


def test_every_score_change_is_in_the_audit_log(dep, call, add_entry, judges):
    add_entry("xa-an-dung")
    judges(["phong-tu-phap"])
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    assignment = assignments(dep.db, call.id, "preliminary")[0]
    score(dep, call, assignment, actor=assignment.username, tinh_moi=8, kha_thi=6, hieu_qua=9, pham_vi=5)
    assert score(dep, call, assignment, actor=assignment.username, tinh_moi=6, kha_thi=6, hieu_qua=9,
                 pham_vi=5) == 1
    rows = dep.db.execute("select username, detail from audit_log where action = 'initiatives.score' order by id").fetchall()
    assert [r[1] for r in rows] == ["Sơ khảo, tiêu chí tinh-moi: 8", "Sơ khảo, tiêu chí kha-thi: 6",
                                    "Sơ khảo, tiêu chí hieu-qua: 9", "Sơ khảo, tiêu chí pham-vi: 5",
                                    "Sơ khảo, tiêu chí tinh-moi: 8 → 6"]
    assert {r[0] for r in rows} == {assignment.username}


# -- ranking, rounds, awards ---------------------------------------------------------------------------


def _scored(dep, call, entry, totals_form):
    for assignment, form in zip(assignments(dep.db, call.id, call.stage, entry_id=entry.id), totals_form,
                                strict=True):
        score(dep, call, assignment, **form)


def test_ties_are_broken_as_the_rules_say(dep, call, add_entry, judges):
    # Both total 70 for one judge: X by effect 10 and novelty 6, Y by effect 6 and novelty 10.
    x = add_entry("xa-an-dung", title="X")
    y = add_entry("xa-duc-dong", title="Y")
    z = add_entry("xa-yen-ho", title="Z")  # same as X on every criterion, submitted later
    judges(["phong-tu-phap"])
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    _scored(dep, call, x, [{"tinh_moi": 6, "kha_thi": 8, "hieu_qua": 10, "pham_vi": 4}])  # 18+16+30+8 = 72
    _scored(dep, call, y, [{"tinh_moi": 10, "kha_thi": 8, "hieu_qua": 6, "pham_vi": 4}])  # 30+16+18+8 = 72
    _scored(dep, call, z, [{"tinh_moi": 6, "kha_thi": 8, "hieu_qua": 10, "pham_vi": 4}])
    ranked = rank(call, results(dep.db, call, "preliminary"))["thu-tuc-hanh-chinh"]
    assert [r.entry.title for r in ranked] == ["X", "Z", "Y"]  # effect first; then the earlier entry
    assert [r.rank for r in ranked] == [1, 2, 3]


def test_final_round_and_awards_by_category(dep, clock, add_entry, judges):
    call = save_call(dep, example_text(finalists_per_category="2", final_judges_per_entry="1"), actor="t")[0]
    e1 = add_entry("xa-an-dung", title="Một")
    e2 = add_entry("xa-duc-dong", title="Hai")
    e3 = add_entry("xa-yen-ho", title="Ba")
    e4 = add_entry("xa-tan-dan", title="Bốn", category="tuyen-truyen")
    judges(["phong-tu-phap", "phong-tckh"])
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    for entry, v in ((e1, 9), (e2, 8), (e3, 4), (e4, 7)):
        _scored(dep, call, entry, [{"tinh_moi": v, "kha_thi": v, "hieu_qua": v, "pham_vi": v}])
    assert advance_to_final(dep, call, actor="tk") == 3  # two of the first category, the only one of the other
    from ccch_initiatives.calls import get_call

    call = get_call(dep.db, call.slug)
    assert call.stage == "final"
    assign_judges(dep, call, "final", actor="tk")
    final = assignments(dep.db, call.id, "final")
    assert {a.entry_id for a in final} == {e1.id, e2.id, e4.id}
    for entry, v in ((e1, 7), (e2, 9), (e4, 5)):  # the final round decides: Hai overtakes Một
        _scored(dep, call, entry, [{"tinh_moi": v, "kha_thi": v, "hieu_qua": v, "pham_vi": v}])
    decide_awards(dep, call, actor="tk")
    awarded = [(w.entry.title, w.award_name) for w in awards_of(dep.db, call)]
    prelim = assignments(dep.db, call.id, "preliminary", entry_id=e3.id)[0]  # the closed round stays as it was
    with pytest.raises(JudgingError) as caught:
        score(dep, call, prelim, tinh_moi=10, kha_thi=10, hieu_qua=10, pham_vi=10)
    assert "Vòng sơ khảo đã kết thúc" in str(caught.value)
    # Giải A needs 80: Hai (90); Giải B needs 70: Một (70); Bốn (50) gets Khuyến khích (50 and more).
    assert awarded == [("Hai", "Giải A"), ("Một", "Giải B"), ("Bốn", "Giải Khuyến khích")]


def test_scores_cannot_change_after_publication(dep, call, add_entry, judges):
    add_entry("xa-an-dung")
    judges(["phong-tu-phap"])
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    assignment = assignments(dep.db, call.id, "preliminary")[0]
    score(dep, call, assignment, tinh_moi=9, kha_thi=9, hieu_qua=9, pham_vi=9)
    decide_awards(dep, call, actor="tk")
    from ccch_initiatives.calls import get_call
    from ccch_initiatives.judging import publish_results

    publish_results(dep, call, actor="tk")
    with pytest.raises(JudgingError):
        score(dep, get_call(dep.db, call.slug), assignment, tinh_moi=1, kha_thi=1, hieu_qua=1, pham_vi=1)
    with write_transaction(dep.db):
        pass


def test_a_judges_unit_set_later_drops_their_assignments_to_that_units_entries(dep, call, add_entry, judges):
    an_dung = add_entry("xa-an-dung")
    yen_ho = add_entry("xa-yen-ho")
    (judge,) = judges([None])  # an outside expert at first
    assign_judges(dep, call, "preliminary", actor="tk", per_entry=1)
    mine = assignments(dep.db, call.id, "preliminary", username=judge)
    assert {a.entry_id for a in mine} == {an_dung.id, yen_ho.id}
    score(dep, call, next(a for a in mine if a.entry_id == an_dung.id), submit=False, tinh_moi=9)
    appoint(dep, call, judge, "judge", "xa-an-dung", actor="tk")  # then found to work at An Dũng
    assert [a.entry_id for a in assignments(dep.db, call.id, "preliminary", username=judge)] == [yen_ho.id]
    assert dep.db.execute("select count(*) from initiative_scores").fetchone()[0] == 0
    detail = dep.db.execute("select detail from audit_log where action = 'initiatives.panel_add' order by id desc "
                            "limit 1").fetchone()[0]
    assert "bỏ 1 lượt chấm bài của đơn vị mình" in detail
