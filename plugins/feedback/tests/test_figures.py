"""Deadlines into the plan: reminders before the due day and escalation after it through the
outbox, overdue items on the dashboard, on-time shares as indicator measures (I6 for businesses),
the report section, the export table, and erasure of a person."""

from __future__ import annotations

import datetime as dt

import pytest
from ccch_feedback import store
from ccch_feedback.store import Question
from ccch_feedback_testing import messages

from ccch_core import progress
from ccch_core.periods import VN_TZ, Period
from ccch_core.privacy import erase_person, purge_expired
from ccch_core.report import DataScope, build_report

FEB7 = dt.datetime(2024, 2, 7, 9, 0, tzinfo=VN_TZ)  # received the day before Tết; due 21/2 (question, 7 days: 23/2)


def new(dep, *, requester="citizen", kind="question", now=FEB7, **contact):
    return store.ask(dep, Question(kind=kind, requester=requester, title="Giấy khai sinh",
                                   body="Xin cấp bản sao giấy khai sinh.", field="ho-tich", **contact), now=now)


def test_due_day_counts_working_days_across_tet(dep):
    question = new(dep)
    feedback = new(dep, kind="feedback")
    # Question: 7 working days from Wed 7/2: Thu 15, Fri 16, Mon 19, Tue 20, Wed 21, Thu 22, Fri 23.
    assert question.due_day == "2024-02-23"
    # Feedback: 10 working days: … Fri 23 (7), Mon 26 (8), Tue 27 (9), Wed 28 (10).
    assert feedback.due_day == "2024-02-28"


def test_reminder_before_and_escalation_after(dep):
    item = new(dep)
    store.assign(dep, item.id, "phong-tu-phap", "vhtt")
    # Two working days before Fri 23/2 is Wed 21/2: a reminder to Tư pháp.
    early = store.remind(dep, now=dt.datetime(2024, 2, 20, 8, tzinfo=VN_TZ))
    assert early == {"due_soon": 0, "overdue": 0, "messages": 0}
    soon = store.remind(dep, now=dt.datetime(2024, 2, 21, 8, tzinfo=VN_TZ))
    assert soon["due_soon"] == 1
    assert [m["address"] for m in messages(dep, "feedback.due_soon")] == ["tuphap@ductho.gov.vn"]
    store.remind(dep, now=dt.datetime(2024, 2, 21, 15, tzinfo=VN_TZ))  # twice a day: nothing more
    assert len(messages(dep, "feedback.due_soon")) == 1
    late = store.remind(dep, now=dt.datetime(2024, 2, 26, 8, tzinfo=VN_TZ))
    assert late["overdue"] == 1
    assert [m["address"] for m in messages(dep, "feedback.overdue")] == ["tuphap@ductho.gov.vn"]
    assert [m["address"] for m in messages(dep, "feedback.escalated")] == ["vhtt@ductho.gov.vn"]
    assert messages(dep, "feedback.escalated")[0]["params"]["unit"] == "Phòng Tư pháp"


def test_overdue_on_the_dashboard(app, dep, make_user):
    from ccch_core.testing import login

    item = new(dep)
    store.assign(dep, item.id, "phong-tu-phap", "vhtt")
    user, _ = make_user(dep, "plan_admin")
    client = app.test_client()
    login(client, user)
    html = client.get("/?ky=2024-02").get_data(as_text=True)
    assert "Hỏi đáp, phản ánh kiến nghị quá hạn" in html and "Phòng Tư pháp" in html
    overdue = client.get("/phan-anh/?trang-thai=qua-han").get_data(as_text=True)
    assert "quá hạn" in overdue and store.format_code(item.code)[:5] in overdue


def answer(dep, item, unit, day):
    store.assign(dep, item.id, unit, "vhtt")
    store.save_draft(dep, item.id, "Trả lời.", "canbo")
    return store.approve(dep, item.id, "lanhdao", now=dt.datetime.combine(day, dt.time(10), tzinfo=VN_TZ))


def test_measures_and_report(dep):
    on_time = answer(dep, new(dep, requester="business"), "phong-tu-phap", dt.date(2024, 2, 23))
    late = answer(dep, new(dep), "phong-tu-phap", dt.date(2024, 2, 26))
    open_overdue = new(dep, requester="business")
    store.assign(dep, open_overdue.id, "phong-tu-phap", "vhtt")
    refused = new(dep)
    store.refuse(dep, refused.id, "vhtt", "Không thuộc phạm vi")
    assert on_time.on_time and not late.on_time
    results = {r.indicator.code: r for r in progress.evaluate_plan(
        dep.db, dep.plan, Period.parse("2024-02"), measures=dep.measures, deployment=dep)}
    (tuphap,) = [u for u in results["PA1"].units if u.unit.id == "phong-tu-phap"]
    assert (tuphap.numerator, tuphap.denominator) == (1, 3)  # refused items are not counted
    (business,) = [u for u in results["PA6"].units if u.unit.id == "phong-tu-phap"]
    assert (business.numerator, business.denominator) == (1, 2)
    (noivu,) = [u for u in results["PA1"].units if u.unit.id == "phong-noi-vu"]
    assert noivu.value is None  # no items: no data, not 0%
    report = build_report(dep, "2024-02")
    (section,) = [s for s in report.sections if s.key == "feedback"]
    table = next(b for b in section.blocks if getattr(b, "key", None) == "feedback_units")
    assert table.rows[0][:5] == ("Phòng Tư pháp", 3, 2, 1, 1)  # received, answered, on time, overdue
    assert table.rows[-1][0] == "Tổng"
    assert any("Doanh nghiệp" in getattr(b, "text", "") and "1/2" in b.text for b in section.blocks)
    assert not [s for s in build_report(dep, "2024-05").sections if s.key == "feedback"]


def test_export_streams_without_personal_data(dep):
    new(dep, contact_name="Lê Thị Bình", contact_phone="0912345678", contact_consent=True)
    table = dep.data_tables["feedback_items"]
    rows = table.rows(dep, DataScope())
    assert not isinstance(rows, list)
    (row,) = list(rows)
    assert "0912345678" not in repr(row) and "Bình" not in repr(row)
    assert row[6] == dt.date(2024, 2, 7) and row[7] == dt.date(2024, 2, 23)
    assert table.count(dep, DataScope()) == 1
    assert list(table.rows(dep, DataScope(unit_id="phong-noi-vu"))) == []
    assert list(table.rows(dep, DataScope(period=Period.parse("2024-03")))) == []


def test_erase_a_person_keeps_the_question(dep):
    item = store.ask(dep, Question(kind="question", requester="citizen", title="Giấy khai sinh",
                                   body="Tôi là Lê Thị Bình, gọi 0912 345 678 hoặc binh@example.vn.", field="ho-tich",
                                   contact_name="Lê Thị Bình", contact_phone="0912345678",
                                   contact_email="binh@example.vn", contact_consent=True), now=FEB7)
    other = new(dep, contact_phone="0987000111", contact_consent=True)
    found = erase_person(dep, phone="0912 345 678", dry_run=True)
    (ours,) = [r for r in found if r.plugin == "feedback"]  # the core reports the queued messages too
    assert ours.count == 1 and "họ tên, số điện thoại" in ours.items[0].what
    erase_person(dep, email="binh@example.vn", actor="admin")
    after = store.get_item(dep.db, item.id)
    assert after.contact_name is after.contact_phone is after.contact_email is None
    assert after.title == "Giấy khai sinh"
    assert after.body == "Tôi là [đã ẩn], gọi [đã ẩn] hoặc [đã ẩn]."
    assert store.get_item(dep.db, other.id).contact_phone == "0987000111"
    assert not [r for r in erase_person(dep, phone="0912345678", dry_run=True) if r.plugin == "feedback" and r.count]


def test_purge_after_retention(dep):
    item = new(dep, contact_phone="0912345678", contact_consent=True)
    store.refuse(dep, item.id, "vhtt", "Trùng lặp", now=dt.datetime(2024, 2, 8, tzinfo=dt.UTC))
    def ours(results):
        return sum(r.count for r in results if r.plugin == "feedback")

    assert not ours(purge_expired(dep, now=dt.datetime(2024, 6, 1, tzinfo=dt.UTC), dry_run=True))
    assert ours(purge_expired(dep, now=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))) == 1
    assert store.get_item(dep.db, item.id).contact_phone is None


@pytest.mark.parametrize("template", ["feedback.ack", "feedback.received"])
def test_asking_queues_messages(dep, template):
    new(dep, contact_phone="0912345678", contact_consent=True)
    assert messages(dep, template)


def test_report_lists_units_in_vietnamese_order_of_their_names(dep):
    # By id "vp-hdnd-ubnd" comes before "xa-an-dung"; by name "UBND xã An Dũng" comes first.
    answer(dep, new(dep), "vp-hdnd-ubnd", dt.date(2024, 2, 20))
    answer(dep, new(dep), "xa-an-dung", dt.date(2024, 2, 20))
    (section,) = [s for s in build_report(dep, "2024-02").sections if s.key == "feedback"]
    table = next(b for b in section.blocks if getattr(b, "key", None) == "feedback_units")
    assert [r[0] for r in table.rows] == ["UBND xã An Dũng", "Văn phòng HĐND-UBND huyện", "Tổng"]
