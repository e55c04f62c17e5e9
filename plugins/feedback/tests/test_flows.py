"""Every flow by role, through the real web pages: a citizen asks; the triage office (Phòng VH-TT)
assigns, merges or refuses; the unit drafts and transfers; its leader approves (published, or sent
privately through the outbox) or returns the draft. Everything lands in the audit log."""

from __future__ import annotations

import re

import pytest
from ccch_feedback import store
from ccch_feedback_testing import ask, code_of, messages

from ccch_core import audit
from ccch_core.testing import login


@pytest.fixture
def people(dep, make_user):
    """Accounts: a Phòng VH-TT officer (triage), a Tư pháp officer and its leader, a Nội vụ officer
    and leader, an officer of a commune (sees nothing of the others)."""
    names = {
        "vhtt": make_user(dep, "unit_officer", "phong-vhtt", "vhtt")[0],
        "tuphap": make_user(dep, "unit_officer", "phong-tu-phap", "tuphap")[0],
        "tuphap_lead": make_user(dep, "unit_officer", "phong-tu-phap", "tuphap-lead")[0],
        "noivu": make_user(dep, "unit_officer", "phong-noi-vu", "noivu")[0],
        "noivu_lead": make_user(dep, "unit_officer", "phong-noi-vu", "noivu-lead")[0],
        "xa": make_user(dep, "unit_officer", "xa-an-dung", "andung")[0],
        "admin": make_user(dep, "plan_admin", None, "admin")[0],
    }
    store.set_leader(dep, "tuphap-lead", "phong-tu-phap", "test")
    store.set_leader(dep, "noivu-lead", "phong-noi-vu", "test")
    return names


def client_as(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def act(client, item_id, action, **data):
    page = client.get(f"/phan-anh/{item_id}")
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(f"/phan-anh/{item_id}/xu-ly", data={"csrf_token": token, "thao-tac": action, **data})


def item_of(dep, code):
    return store.item_by_code(dep.db, code)


def test_ask_assign_draft_approve_publish(app, dep, people):
    citizen = app.test_client()
    code = code_of(ask(citizen, **{"ho-ten": "Nguyễn Văn An", "dien-thoai": "0912 345 678", "dong-y": "dong-y",
                                   "noi-dung": "Tôi là Nguyễn Văn An, số 0912345678, CCCD 001203004567. "
                                               "Xin cấp bản sao giấy khai sinh ở đâu?"}))
    item = item_of(dep, code)
    assert item.status == "new" and item.contact_phone == "0912345678"
    assert dep.db.execute("select phone_hash from feedback_items where id = ?", [item.id]).fetchone()[0]
    # The triage office was told, the citizen got an acknowledgement with the code.
    assert [m["address"] for m in messages(dep, "feedback.received")] == ["vhtt@ductho.gov.vn"]
    ack = messages(dep, "feedback.ack")
    assert ack[0]["channel"] == "sms" and ack[0]["params"]["code"] == store.format_code(code)

    vhtt = client_as(app, people["vhtt"])
    assert act(vhtt, item.id, "giao", **{"don-vi": "phong-tu-phap"}).status_code == 303
    assert item_of(dep, code).status == "assigned"
    assigned = messages(dep, "question_assigned")
    assert [m["address"] for m in assigned] == ["tuphap@ductho.gov.vn"]

    tuphap = client_as(app, people["tuphap"])
    answer = "Ông An (0912345678) liên hệ Bộ phận một cửa xã; thời hạn cấp bản sao là trong ngày."
    assert act(tuphap, item.id, "du-thao", **{"tra-loi": answer}).status_code == 303
    assert item_of(dep, code).status == "drafted"
    # The officer who drafted cannot approve: only the leader can.
    assert act(tuphap, item.id, "duyet").status_code == 403
    lead = client_as(app, people["tuphap_lead"])
    assert act(lead, item.id, "duyet").status_code == 303
    done = item_of(dep, code)
    assert done.status == "answered" and done.published and done.on_time
    # Personal data removed from what is published: phone, ID number, the asker's name.
    public_text = done.public_body + done.public_answer
    for secret in ("0912345678", "001203004567", "Nguyễn Văn An"):
        assert secret not in public_text
    assert "[đã ẩn]" in done.public_answer
    page = citizen.get(f"/hoi-dap/{done.id}").get_data(as_text=True)
    assert "Bộ phận một cửa xã" in page and "0912345678" not in page
    assert messages(dep, "answer_ready")[0]["address"] == "0912345678"
    actions = [e.action for e in audit.entries(dep.db, limit=50)]
    for action in ("feedback.ask", "feedback.assign", "feedback.draft", "feedback.approve"):
        assert action in actions


def test_private_answer_goes_through_the_outbox_and_is_not_published(app, dep, people):
    citizen = app.test_client()
    code = code_of(ask(citizen, **{"cong-khai": "rieng", "email": "an@example.vn", "dong-y": "dong-y"}))
    item = item_of(dep, code)
    assert not item.public_wanted
    vhtt, noivu, lead = (client_as(app, people[k]) for k in ("vhtt", "noivu", "noivu_lead"))
    act(vhtt, item.id, "giao", **{"don-vi": "phong-noi-vu"})
    act(noivu, item.id, "du-thao", **{"tra-loi": "Câu trả lời riêng cho ông An."})
    assert act(lead, item.id, "duyet").status_code == 303
    done = item_of(dep, code)
    assert done.status == "answered" and not done.published and done.public_answer is None
    sent = messages(dep, "feedback.answer")
    assert sent[0]["address"] == "an@example.vn" and "Câu trả lời riêng" in sent[0]["params"]["answer"]
    assert citizen.get(f"/hoi-dap/{done.id}").status_code == 404
    assert dep.db.execute("select count(*) from feedback_search").fetchone()[0] == 0
    status = citizen.get(f"/hoi-dap/theo-doi/{code}").get_data(as_text=True)
    assert "gửi riêng" in status and "Câu trả lời riêng" not in status


def test_private_answer_needs_contact(app):
    response = ask(app.test_client(), **{"cong-khai": "rieng"})
    assert response.status_code == 422
    assert "trả lời riêng" in response.get_data(as_text=True)


def test_transfer_return_and_refuse(app, dep, people):
    code = code_of(ask(app.test_client()))
    item = item_of(dep, code)
    vhtt, tuphap, noivu = (client_as(app, people[k]) for k in ("vhtt", "tuphap", "noivu"))
    act(vhtt, item.id, "giao", **{"don-vi": "phong-tu-phap"})
    # Nội vụ sees nothing of Tư pháp's item.
    assert noivu.get(f"/phan-anh/{item.id}").status_code == 404
    # A transfer needs a reason: the form comes back with the field named.
    refused = act(tuphap, item.id, "chuyen", **{"don-vi": "phong-noi-vu", "ly-do": ""})
    assert refused.status_code == 422 and "lý do chuyển" in refused.get_data(as_text=True)
    assert act(tuphap, item.id, "chuyen", **{"don-vi": "phong-noi-vu", "ly-do": "Thuộc lĩnh vực nội vụ"}).status_code == 303
    moved = item_of(dep, code)
    assert moved.unit_id == "phong-noi-vu" and moved.due_day == item.due_day
    assert tuphap.get(f"/phan-anh/{item.id}").status_code == 404
    act(noivu, item.id, "du-thao", **{"tra-loi": "Bản nháp đầu."})
    lead = client_as(app, people["noivu_lead"])
    assert act(lead, item.id, "tra-lai", **{"ghi-chu": "Bổ sung căn cứ pháp lý"}).status_code == 303
    assert item_of(dep, code).status == "assigned"
    assert act(lead, item.id, "tu-choi", **{"ly-do": "Nội dung là khiếu nại, thực hiện theo Luật Khiếu nại"}).status_code == 303
    gone = item_of(dep, code)
    assert gone.status == "refused" and "Luật Khiếu nại" in gone.refusal_reason
    status = app.test_client().get(f"/hoi-dap/theo-doi/{code}").get_data(as_text=True)
    assert "Luật Khiếu nại" in status
    # A refused item takes no more actions.
    assert act(vhtt, item.id, "giao", **{"don-vi": "phong-tu-phap"}).status_code == 403
    actions = [e.action for e in audit.entries(dep.db, limit=50)]
    for action in ("feedback.transfer", "feedback.return", "feedback.refuse"):
        assert action in actions


def test_merge_counts_and_tells_the_duplicate(app, dep, people):
    first = item_of(dep, code_of(ask(app.test_client())))
    dup = item_of(dep, code_of(ask(app.test_client(), **{"tieu-de": "Bản sao khai sinh", "dien-thoai": "0987654321",
                                                        "dong-y": "dong-y"})))
    vhtt = client_as(app, people["vhtt"])
    bad = act(vhtt, dup.id, "gop", **{"gop-vao": "KHONGCO123"})
    assert bad.status_code == 422 and "mã theo dõi" in bad.get_data(as_text=True)
    assert act(vhtt, dup.id, "gop", **{"gop-vao": store.format_code(first.code)}).status_code == 303
    assert item_of(dep, dup.code).status == "merged"
    assert item_of(dep, first.code).asked_count == 2
    act(vhtt, first.id, "giao", **{"don-vi": "phong-tu-phap"})
    act(client_as(app, people["tuphap"]), first.id, "du-thao", **{"tra-loi": "Trả lời chung."})
    act(client_as(app, people["tuphap_lead"]), first.id, "duyet")
    # The person whose duplicate was merged is told where the answer is.
    assert any(m["address"] == "0987654321" for m in messages(dep, "answer_ready"))
    status = app.test_client().get(f"/hoi-dap/theo-doi/{dup.code}").get_data(as_text=True)
    assert first.code[:5] in status


def test_rule_assigns_by_field(feedback_deployment, make_app):
    dep = feedback_deployment(rules={"ho-tich": "phong-tu-phap"})
    code = code_of(ask(make_app(dep).test_client()))
    item = item_of(dep, code)
    assert item.status == "assigned" and item.unit_id == "phong-tu-phap"
    assert messages(dep, "question_assigned")[0]["address"] == "tuphap@ductho.gov.vn"
    assert not messages(dep, "feedback.received")


def test_roles_outside_the_flow_are_kept_out(app, dep, people, make_user):
    code = code_of(ask(app.test_client()))
    item = item_of(dep, code)
    assert app.test_client().get("/phan-anh/").status_code == 302  # anonymous: to the login page
    viewer = client_as(app, make_user(dep, "viewer")[0])
    assert viewer.get("/phan-anh/").status_code == 403
    commune = client_as(app, people["xa"])
    assert commune.get(f"/phan-anh/{item.id}").status_code == 404
    assert "Giấy khai sinh" not in commune.get("/phan-anh/").get_data(as_text=True)
    # A unit officer of another unit cannot assign (the triage office's action).
    tuphap = client_as(app, people["tuphap"])
    assert tuphap.get(f"/phan-anh/{item.id}").status_code == 404
    admin = client_as(app, people["admin"])
    assert "Giấy khai sinh" in admin.get("/phan-anh/").get_data(as_text=True)
    assert admin.get("/phan-anh/999999999").status_code == 404
    # An action the item's state does not allow is refused.
    assert act(admin, item.id, "duyet").status_code == 403


def test_flagged_items_wait_for_moderation(app, dep, people):
    code = code_of(ask(app.test_client(), **{"noi-dung": "Cán bộ xã làm việc như súc vật, chờ mãi không xong."}))
    item = item_of(dep, code)
    assert item.flagged and "súc vật" in item.flag_reason
    vhtt = client_as(app, people["vhtt"])
    act(vhtt, item.id, "giao", **{"don-vi": "phong-tu-phap"})
    act(client_as(app, people["tuphap"]), item.id, "du-thao", **{"tra-loi": "Xin tiếp thu."})
    lead = client_as(app, people["tuphap_lead"])
    blocked = act(lead, item.id, "duyet")
    assert blocked.status_code == 422 and "kiểm duyệt" in blocked.get_data(as_text=True)
    assert act(vhtt, item.id, "kiem-duyet", **{"tieu-de": "Chờ lâu ở bộ phận một cửa",
                                              "noi-dung": "Cán bộ xã làm việc chậm, chờ mãi không xong."}).status_code == 303
    assert act(lead, item.id, "duyet").status_code == 303
    assert "súc vật" not in item_of(dep, code).public_body


def test_admin_names_and_removes_leaders(app, dep, people):
    admin = client_as(app, people["admin"])
    page = admin.get("/phan-anh/lanh-dao")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "tuphap-lead" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert admin.post("/phan-anh/lanh-dao", data={"csrf_token": token, "tai-khoan": "andung"}).status_code == 303
    assert store.leader_unit(dep.db, "andung") == "xa-an-dung"
    for bad in ("admin", "khong-co", "Đ" * 500, ""):
        refused = admin.post("/phan-anh/lanh-dao", data={"csrf_token": token, "tai-khoan": bad})
        assert refused.status_code == 422 and "cán bộ đơn vị" in refused.get_data(as_text=True)
    assert admin.post("/phan-anh/lanh-dao", data={"csrf_token": token, "tai-khoan": "andung",
                                                  "bo": "1"}).status_code == 303
    assert store.leader_unit(dep.db, "andung") is None
    assert admin.post("/phan-anh/lanh-dao", data={"csrf_token": token, "tai-khoan": "andung",
                                                  "bo": "1"}).status_code == 422
    assert client_as(app, people["vhtt"]).get("/phan-anh/lanh-dao").status_code == 403
