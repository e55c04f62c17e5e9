"""Commune plans under the district's plan (#19 part 2): drafting from the parent, sending before
and after the deadline, approving and returning with audit, the board, the roll-up of
commitments (checked against figures worked out by hand) and the plan file of an approved plan.
Real SQLite, the Đức Thọ plan."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ccch_core import local_plans as lp
from ccch_core.planfile import loads_plan

UTC = dt.UTC
# IV.7: "trước 20/01/2024": the last day is 19/01, Vietnam time; 20/01 00:00 in Hà Tĩnh is
# 19/01 17:00 UTC.
ON_TIME = dt.datetime(2024, 1, 19, 16, 59, tzinfo=UTC)
LATE = dt.datetime(2024, 1, 19, 17, 0, tzinfo=UTC)


def test_start_prefills_what_the_commune_leads_and_coordinates(fresh_db, duc_tho_plan):
    local = lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo.andung", now=ON_TIME)
    assert local.status is lp.Status.DRAFT
    roles = {t["parent"]: t["role"] for t in local.tasks}
    # T11 (Trạm truyền thanh cơ sở) is led by "UBND các xã, thị trấn"; the commune coordinates T1,
    # T3, T4, T7 and T10 through "UBND các xã, thị trấn" in their coordinating column.
    assert roles == {"T1": "coordinating", "T3": "coordinating", "T4": "coordinating", "T7": "coordinating",
                     "T10": "coordinating", "T11": "lead"}
    t11 = next(t for t in local.tasks if t["parent"] == "T11")
    assert t11["duty"] == duc_tho_plan.task("T11").duty
    # Targets applying to the commune or its sub-units (web page, one-stop desk, post-culture
    # point, radio station) — not I6/Q2 (whole plan), I7 and Q1 (Trung tâm VH-TT).
    assert [t["code"] for t in local.targets] == ["I1", "I2", "I3", "I4", "I5", "I8"]
    assert next(t for t in local.targets if t["code"] == "I8")["target"] == 1


def test_only_the_communes_the_deadline_names_write_a_plan(fresh_db, duc_tho_plan):
    with pytest.raises(lp.LocalPlanError) as info:
        lp.start(fresh_db, duc_tho_plan, "phong-vhtt", by="x")
    assert info.value.field == "unit"
    with pytest.raises(lp.LocalPlanError):
        lp.start(fresh_db, duc_tho_plan, "khong-co", by="x")
    lp.start(fresh_db, duc_tho_plan, "xa-yen-ho", by="x")
    with pytest.raises(lp.LocalPlanError, match="already started"):
        lp.start(fresh_db, duc_tho_plan, "xa-yen-ho", by="x")
    assert fresh_db["local_plans"].count == 1


def edited(local, **commitments):
    content = {"tasks": local.tasks, "targets": [
        {**t, "target": commitments.get(t["code"], t["target"])} for t in local.targets]}
    return content


def test_a_commitment_may_be_stricter_never_weaker(fresh_db, duc_tho_plan):
    local = lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo")
    saved = lp.save(fresh_db, duc_tho_plan, "xa-an-dung", edited(local, I8=2), by="canbo")
    assert next(t for t in saved.targets if t["code"] == "I8")["target"] == 2
    assert saved.revision == 2
    with pytest.raises(lp.LocalPlanError) as info:
        lp.save(fresh_db, duc_tho_plan, "xa-an-dung", edited(local, I8=0.5), by="canbo")
    assert info.value.field == "targets[5].target"
    assert "cam kết 0,5 thấp hơn chỉ tiêu của kế hoạch cấp trên (1)" in info.value.message_vi
    with pytest.raises(lp.LocalPlanError, match="weaker"):
        lp.save(fresh_db, duc_tho_plan, "xa-an-dung", edited(local, I1=90), by="canbo")
    with pytest.raises(lp.LocalPlanError, match="over 100%"):
        lp.save(fresh_db, duc_tho_plan, "xa-an-dung", edited(local, I1=120), by="canbo")
    # Nothing weaker was stored.
    assert next(t for t in lp.get(fresh_db, duc_tho_plan, "xa-an-dung").targets if t["code"] == "I8")["target"] == 2


def test_own_tasks_and_targets(fresh_db, duc_tho_plan):
    local = lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo")
    content = edited(local)
    content["tasks"].append({"duty": "Tổ chức hội nghị đối thoại với Nhân dân về TTHC", "products": ["Biên bản hội nghị"],
                             "timing": "Quý II/2024"})
    content["targets"].append({"code": "X1", "text": "Tổ chức 02 hội nghị đối thoại về CCHC", "kind": "count",
                               "target": "2", "target_per": "năm", "unit_label": "hội nghị"})
    saved = lp.save(fresh_db, duc_tho_plan, "xa-an-dung", content, by="canbo")
    assert saved.tasks[-1]["role"] == "own"
    assert saved.targets[-1] == {"parent": None, "code": "X1", "text": "Tổ chức 02 hội nghị đối thoại về CCHC",
                                 "kind": "count", "target": 2.0, "target_per": "year", "unit_label": "hội nghị"}


@pytest.mark.parametrize(("change", "field"), [
    (lambda c: c["tasks"].append({"duty": ""}), "tasks[6].duty"),
    (lambda c: c["tasks"].append({"parent": "T2", "duty": "x"}), "tasks[6].parent"),  # T2 is not the commune's
    (lambda c: c["tasks"].append({"duty": "x" * 1001}), "tasks[6].duty"),
    (lambda c: c["tasks"].extend({"duty": "x"} for _ in range(100)), "tasks"),
    (lambda c: c["targets"].append({"code": "I7", "text": "x", "target": 1}), "targets[6].code"),  # the parent's code
    (lambda c: c["targets"].append({"code": "X 1", "text": "x", "target": 1}), "targets[6].code"),
    (lambda c: c["targets"].append({"code": "X1", "text": "x", "target": "nhiều"}), "targets[6].target"),
    (lambda c: c["targets"].append({"code": "X1", "text": "x", "target": -1}), "targets[6].target"),
    (lambda c: c["targets"].append({"code": "X1", "text": "x", "target": float("nan")}), "targets[6].target"),
    (lambda c: c["targets"].append({"code": "X1", "text": "x", "kind": "ratio", "target": 1}), "targets[6].kind"),
    (lambda c: c["targets"].append({"parent": "I7", "target": 20}), "targets[6].parent"),  # not the commune's
    (lambda c: c.update(extra=1), "content"),
])
def test_bad_content_is_refused_and_nothing_changes(fresh_db, duc_tho_plan, change, field):
    local = lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo")
    content = edited(local)
    change(content)
    with pytest.raises(lp.LocalPlanError) as info:
        lp.save(fresh_db, duc_tho_plan, "xa-an-dung", content, by="canbo")
    assert info.value.field == field
    assert lp.get(fresh_db, duc_tho_plan, "xa-an-dung").revision == 1


def test_sending_before_and_after_the_deadline(fresh_db, duc_tho_plan):
    for unit in ("xa-an-dung", "xa-yen-ho"):
        lp.start(fresh_db, duc_tho_plan, unit, by="canbo")
    on_time = lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo.andung", now=ON_TIME)
    late = lp.send(fresh_db, duc_tho_plan, "xa-yen-ho", by="canbo.yenho", now=LATE)
    assert on_time.status is lp.Status.SENT and late.status is lp.Status.SENT
    assert lp.is_late(duc_tho_plan, on_time) is False
    assert lp.is_late(duc_tho_plan, late) is True
    rows = {r.unit.id: r for r in lp.board(fresh_db, duc_tho_plan, now=LATE)}
    assert len(rows) == 16
    assert (rows["xa-an-dung"].late, rows["xa-yen-ho"].late) == (False, True)
    assert rows["xa-tung-anh"].state_vi == "Chưa soạn (quá hạn)"
    assert rows["xa-tung-anh"].overdue and not rows["xa-an-dung"].overdue
    before = {r.unit.id: r for r in lp.board(fresh_db, duc_tho_plan, now=ON_TIME)}
    assert before["xa-tung-anh"].state_vi == "Chưa soạn"
    details = [r["detail"] for r in fresh_db.query("select detail from audit_log where action = 'local_plan.send' order by id")]
    assert details == ["đúng hạn", "trễ hạn"]


def test_approve_return_and_rights_of_each_step(fresh_db, duc_tho_plan):
    with pytest.raises(lp.LocalPlanError, match="not started"):
        lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo")
    lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo")
    with pytest.raises(lp.LocalPlanError, match="only a sent plan"):
        lp.approve(fresh_db, duc_tho_plan, "xa-an-dung", by="vhtt")
    lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo", now=ON_TIME)
    with pytest.raises(lp.LocalPlanError, match="cannot change"):  # sent: waiting for the decision
        lp.save(fresh_db, duc_tho_plan, "xa-an-dung", edited(lp.get(fresh_db, duc_tho_plan, "xa-an-dung")), by="canbo")
    with pytest.raises(lp.LocalPlanError, match="say what to change"):
        lp.return_plan(fresh_db, duc_tho_plan, "xa-an-dung", "  ", by="vhtt")
    returned = lp.return_plan(fresh_db, duc_tho_plan, "xa-an-dung", "Bổ sung nhiệm vụ hội nghị đối thoại", by="vhtt")
    assert (returned.status, returned.comment) == (lp.Status.RETURNED, "Bổ sung nhiệm vụ hội nghị đối thoại")
    content = edited(returned, I8=2)
    lp.save(fresh_db, duc_tho_plan, "xa-an-dung", content, by="canbo")
    again = lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo", now=LATE)
    assert again.comment is None
    approved = lp.approve(fresh_db, duc_tho_plan, "xa-an-dung", by="vhtt")
    assert (approved.status, approved.decided_by) == (lp.Status.APPROVED, "vhtt")
    # Approved: read-only until returned.
    with pytest.raises(lp.LocalPlanError, match="cannot change"):
        lp.save(fresh_db, duc_tho_plan, "xa-an-dung", content, by="canbo")
    with pytest.raises(lp.LocalPlanError, match="cannot be sent"):
        lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="canbo")
    lp.return_plan(fresh_db, duc_tho_plan, "xa-an-dung", "Điều chỉnh theo kế hoạch mới của tỉnh", by="vhtt")
    assert lp.get(fresh_db, duc_tho_plan, "xa-an-dung").status.editable
    actions = [(r["username"], r["action"]) for r in fresh_db.query("select username, action from audit_log order by id")]
    assert actions == [
        ("canbo", "local_plan.start"), ("canbo", "local_plan.send"), ("vhtt", "local_plan.return"),
        ("canbo", "local_plan.save"), ("canbo", "local_plan.send"), ("vhtt", "local_plan.approve"),
        ("vhtt", "local_plan.return"),
    ]


def test_rollup_against_figures_worked_out_by_hand(fresh_db, duc_tho_plan):
    """Three communes: An Dũng commits 2 "nêu gương" items a month (I8) and adds a task and a
    target; Yên Hồ keeps the parent's 1 a month; Tùng Ảnh commits 3 but only drafts (not sent).
    Sent or approved: An Dũng (approved) and Yên Hồ (sent). By hand: I8 — 2 communes, 2 + 1 = 3
    committed, lowest 1, the parent's figure for them 1 × 2 = 2, one commune stricter; I1 — 2
    communes at 100, lowest 100, the parent's 100 × 2 = 200 (a share: the sum is not a share of
    anything, only the count and the lowest matter); own tasks 1, own targets 1."""
    an_dung = lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="a")
    content = edited(an_dung, I8=2)
    content["tasks"].append({"duty": "Hội nghị đối thoại với Nhân dân về TTHC"})
    content["targets"].append({"code": "X1", "text": "02 hội nghị đối thoại", "kind": "count", "target": 2})
    lp.save(fresh_db, duc_tho_plan, "xa-an-dung", content, by="a")
    lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="a", now=ON_TIME)
    lp.approve(fresh_db, duc_tho_plan, "xa-an-dung", by="vhtt")
    lp.start(fresh_db, duc_tho_plan, "xa-yen-ho", by="y")
    lp.send(fresh_db, duc_tho_plan, "xa-yen-ho", by="y", now=LATE)
    tung_anh = lp.start(fresh_db, duc_tho_plan, "xa-tung-anh", by="t")
    lp.save(fresh_db, duc_tho_plan, "xa-tung-anh", edited(tung_anh, I8=3), by="t")

    result = lp.rollup(fresh_db, duc_tho_plan)
    assert (result["plans"], result["approved"], result["own_tasks"], result["own_targets"]) == (2, 1, 1, 1)
    by_code = {t["code"]: t for t in result["targets"]}
    assert list(by_code) == ["I1", "I2", "I3", "I4", "I5", "I8"]
    i8 = by_code["I8"]
    assert (i8["communes"], i8["committed"], i8["lowest"], i8["parent_for_them"], i8["stricter"]) == (2, 3, 1, 2, 1)
    i1 = by_code["I1"]
    assert (i1["communes"], i1["lowest"], i1["parent_for_them"], i1["stricter"]) == (2, 100, 200, 0)


def test_the_approved_plan_as_a_plan_file(fresh_db, duc_tho_plan):
    local = lp.start(fresh_db, duc_tho_plan, "xa-an-dung", by="a")
    content = edited(local, I8=2)
    content["tasks"].append({"duty": "Hội nghị đối thoại với Nhân dân về TTHC", "timing": "Quý II/2024"})
    content["targets"].append({"code": "X1", "text": "02 hội nghị đối thoại", "kind": "count", "target": 2,
                               "unit_label": "hội nghị"})
    lp.save(fresh_db, duc_tho_plan, "xa-an-dung", content, by="a")
    lp.send(fresh_db, duc_tho_plan, "xa-an-dung", by="a", now=ON_TIME)
    approved = lp.approve(fresh_db, duc_tho_plan, "xa-an-dung", by="vhtt")
    text = lp.to_toml(duc_tho_plan, approved)
    plan = loads_plan(text, "ke-hoach-xa-an-dung.toml")
    assert plan.id == "duc-tho-2024.xa-an-dung"
    assert plan.parent_plan == "duc-tho-2024"
    assert plan.issuing_unit == "xa-an-dung"
    assert plan.title == "Kế hoạch tuyên truyền CCHC của UBND xã An Dũng năm 2024"
    assert plan.unit("ubnd-huyen").external
    assert [t.duty for t in plan.tasks][-1] == "Hội nghị đối thoại với Nhân dân về TTHC"
    assert plan.indicator("I8").target == 2
    assert plan.indicator("X1").applies_to == ("xa-an-dung",)
    assert {u.id for u in plan.resolve(plan.indicator("I5").applies_to)} == {"xa-an-dung.truyen-thanh"}
    t11 = next(t for t in plan.tasks if t.provenance.source == "Kế hoạch cấp trên, nhiệm vụ T11")
    assert t11.lead == ("xa-an-dung",)
    t3 = next(t for t in plan.tasks if t.provenance.source == "Kế hoạch cấp trên, nhiệm vụ T3")
    assert (t3.lead, t3.coordinating) == (("phong-vhtt",), ("xa-an-dung",))


def test_the_two_tier_cascade_province_to_communes(fresh_db, two_tier_plan):
    """Since July 2025 the province's plan sits directly above communes and wards: the same
    cascade, judged against "trước ngày 31/01/2026"."""
    plan = two_tier_plan
    expected = {u.id for u in lp.expected_units(plan)}
    assert expected and all(plan.unit(u).kind in ("commune", "ward") for u in expected)
    unit = min(expected)
    local = lp.start(fresh_db, plan, unit, by="canbo")
    assert local.tasks and local.targets
    sent = lp.send(fresh_db, plan, unit, by="canbo", now=dt.datetime(2026, 1, 30, 16, 59, tzinfo=UTC))
    assert lp.is_late(plan, sent) is False
    approved = lp.approve(fresh_db, plan, unit, by="so-vhttdl")
    child = loads_plan(lp.to_toml(plan, approved), "ke-hoach.toml")
    assert child.parent_plan == plan.id and child.issuing_unit == unit
    assert child.unit(plan.issuing_unit).external
    late_unit = sorted(expected)[1]
    lp.start(fresh_db, plan, late_unit, by="canbo")
    late = lp.send(fresh_db, plan, late_unit, by="canbo", now=dt.datetime(2026, 1, 30, 17, 0, tzinfo=UTC))
    assert lp.is_late(plan, late) is True


def test_commands_list_export_and_demo(make_deployment):
    from click.testing import CliRunner

    from ccch_core.cli import make_cli

    dep = make_deployment()
    runner = CliRunner()
    config = dep.config.path

    def run(*args):
        return runner.invoke(make_cli(config), [str(a) for a in args])

    result = run("local-plans", "demo")
    assert result.exit_code == 0, result.output
    assert "UBND xã An Dũng: Đã phê duyệt; UBND xã Đức Đồng: Trả lại để sửa." in result.output
    assert run("local-plans", "demo").output.strip() == "The demo plans are already there."
    listing = run("local-plans", "list")
    an_dung = next(line for line in listing.output.splitlines() if line.startswith("xa-an-dung "))
    assert "Đã phê duyệt" in an_dung and "đúng hạn" in an_dung
    duc_dong = next(line for line in listing.output.splitlines() if line.startswith("xa-duc-dong "))
    assert "Trả lại để sửa" in duc_dong and "trễ hạn" in duc_dong
    exported = run("local-plans", "export", "xa-an-dung")
    assert exported.exit_code == 0
    child = loads_plan(exported.output, "x.toml")
    assert child.indicator("I8").target == 2 and child.indicator("X1").target == 2
    refused = run("local-plans", "export", "xa-duc-dong")
    assert refused.exit_code == 1 and "no approved plan" in refused.output


def _refusal(plan, content, unit="xa-an-dung"):
    with pytest.raises(lp.LocalPlanError) as info:
        lp.check_content(plan, unit, content)
    return info.value


def test_messages_name_tasks_targets_and_units_by_name_not_code(duc_tho_plan):
    """Officers read words (#19): the task, target or unit is named as the page shows it; a code
    follows in brackets only where the officer typed it (an own target's code)."""
    plan = duc_tho_plan
    prefilled = lp.prefill(plan, "xa-an-dung")
    tasks, targets = prefilled["tasks"], prefilled["targets"]
    i8 = "Chỉ tiêu “Mục nêu gương người tốt, việc tốt về CCHC”"

    weaker = _refusal(plan, {"tasks": tasks, "targets": [
        {**t, "target": 0.5} if t["code"] == "I8" else t for t in targets]})
    assert weaker.where_vi == f"{i8}, con số"
    assert weaker.message_vi == ("cam kết 0,5 thấp hơn chỉ tiêu của kế hoạch cấp trên (1); "
                                 "chỉ được bằng hoặc cao hơn.")
    over = _refusal(plan, {"tasks": tasks, "targets": [{"parent": "I1", "target": 120}]})
    assert (over.where_vi, over.message_vi) == ("Chỉ tiêu “Cổng/Trang TTĐT có chuyên mục CCHC”, con số",
                                                "Tỷ lệ không quá 100%.")
    not_a_number = _refusal(plan, {"targets": [{"parent": "I8", "target": "hai"}]})
    assert (not_a_number.where_vi, not_a_number.message_vi) == (f"{i8}, con số", "Phải là một số.")
    twice = _refusal(plan, {"targets": [{"parent": "I8", "target": 1}, {"parent": "I8", "target": 2}]})
    assert (twice.where_vi, twice.message_vi) == (f"{i8}, nhiệm vụ, chỉ tiêu cấp trên",
                                                  "Chỉ tiêu này có hai lần trong kế hoạch; chỉ giữ một.")
    # A target the parent gives another unit: the unit by its name.
    other = next(i for i in plan.indicators if i.code not in {t["code"] for t in targets} and i.applies_to)
    not_given = _refusal(plan, {"targets": [{"parent": other.code, "target": 1}]})
    assert not_given.where_vi.startswith(f"Chỉ tiêu “{other.label[:20]}")
    assert not_given.message_vi == "Kế hoạch cấp trên không giao chỉ tiêu này cho UBND xã An Dũng."
    unknown = _refusal(plan, {"targets": [{"parent": "Z9", "target": 1}]})
    assert (unknown.where_vi, unknown.message_vi) == (
        "Chỉ tiêu thứ 1, nhiệm vụ, chỉ tiêu cấp trên", "Kế hoạch cấp trên không có chỉ tiêu này (mã “Z9”).")

    # Tasks: a parent task by its number and duty, as its heading on the page.
    t11 = next(t for t in tasks if t["parent"] == "T11")
    long_timing = _refusal(plan, {"tasks": [{**t11, "timing": "x" * 1001}]})
    assert long_timing.where_vi == "Nhiệm vụ 11 “Tuyên truyền trên hệ thống Trạm truyền thanh cơ sở.”, thời gian"
    assert long_timing.message_vi == "Dài quá 1000 ký tự."
    not_given_task = _refusal(plan, {"tasks": [{"parent": "T2", "duty": "x"}]})
    assert not_given_task.where_vi.startswith("Nhiệm vụ 2 “")
    assert not_given_task.message_vi == "Kế hoạch cấp trên không giao nhiệm vụ này cho UBND xã An Dũng."
    task_twice = _refusal(plan, {"tasks": [t11, t11]})
    assert task_twice.where_vi == "Nhiệm vụ 11 “Tuyên truyền trên hệ thống Trạm truyền thanh cơ sở.”"
    # Own rows: by what the officer typed; a long duty is cut at a word.
    own = _refusal(plan, {"tasks": [{"duty": "Tổ chức hội nghị đối thoại với người dân về thủ tục hành chính "
                                              "đất đai và xây dựng", "products": [], "timing": "y" * 1001}]})
    assert own.where_vi == ("Nhiệm vụ riêng “Tổ chức hội nghị đối thoại với người dân về thủ tục hành…”, "
                            "thời gian")
    blank = _refusal(plan, {"tasks": [t11, {"duty": " ", "timing": "quý II"}]})
    assert (blank.where_vi, blank.message_vi) == ("Nhiệm vụ riêng thứ 1, nội dung", "Không được để trống.")
    parent_code = _refusal(plan, {"targets": [{"code": "I8", "text": "Hội nghị", "target": 2}]})
    assert parent_code.where_vi == "Chỉ tiêu riêng “Hội nghị” (mã I8), mã"
    assert parent_code.message_vi == ("Mã I8 là mã của chỉ tiêu “Mục nêu gương người tốt, việc tốt về CCHC” "
                                      "trong kế hoạch cấp trên; chọn mã khác.")
    same_code = _refusal(plan, {"targets": [{"code": "X1", "text": "Hội nghị", "target": 2},
                                            {"code": "X1", "text": "Tin bài", "target": 5}]})
    assert (same_code.where_vi, same_code.message_vi) == (
        "Chỉ tiêu riêng “Tin bài” (mã X1), mã", "Mã X1 đã dùng cho một chỉ tiêu riêng khác; chọn mã khác.")
    bad_kind = _refusal(plan, {"targets": [{"code": "X2", "text": "Tỷ lệ", "kind": "ratio", "target": 2}]})
    assert bad_kind.message_vi == "Chỉ tiêu riêng là một số lượng hoặc một việc có/không."
    # No message or place names an indicator or task by its code alone, nor is in English.
    for error in (weaker, over, twice, not_given, long_timing, not_given_task, task_twice, own, blank):
        words = f"{error.where_vi}: {error.message_vi}"
        assert not re.search(r"\b(I\d+|T\d+|targets|tasks)\b", words), words


def test_the_form_s_content_errors_are_in_vietnamese(duc_tho_plan):
    for content, expected in (
        ([], "Nội dung kế hoạch không đúng dạng."),
        ({"tasks": [], "muc_khac": 1}, ("Nội dung kế hoạch có mục không dùng: muc_khac; chỉ có nhiệm vụ (tasks) "
                                        "và chỉ tiêu (targets).")),
        ({"tasks": {}}, "Nhiệm vụ và chỉ tiêu phải là danh sách."),
        ({"tasks": ["x"]}, "Không đúng dạng một nhiệm vụ."),
        ({"tasks": [{"duty": "a", "products": ["p"] * 21}]}, "Tối đa 20 sản phẩm."),
        ({"targets": [{"code": "X1", "text": "a", "target": 1, "target_per": "tuan"}]},
         "Kỳ phải là tháng, quý, 6 tháng hoặc năm."),
    ):
        assert _refusal(duc_tho_plan, content).message_vi == expected


def test_errors_say_where_in_words():
    assert lp.LocalPlanError("tasks[6].duty", "x").where_vi == "Nhiệm vụ thứ 7, nội dung"
    assert lp.LocalPlanError("tasks[0].products[2]", "x").where_vi == "Nhiệm vụ thứ 1, sản phẩm"
    assert lp.LocalPlanError("targets[5].target", "x").where_vi == "Chỉ tiêu thứ 6, con số"
    assert lp.LocalPlanError("status", "x").where_vi is None
