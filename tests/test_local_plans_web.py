"""Commune plans in the web (#19 part 2): each role's rights, drafting with the form kept on
errors, sending, returning and approving, the board, the plan file download. Flask's test client
on the Đức Thọ deployment."""

from __future__ import annotations

import re

import pytest

from ccch_core import local_plans as lp
from ccch_core.planfile import loads_plan
from ccch_core.testing import csrf_token, login

OWN, OTHER = "xa-an-dung", "xa-yen-ho"


@pytest.fixture
def dep(make_deployment):
    return make_deployment()


@pytest.fixture
def app(dep, make_app):
    return make_app(dep)


@pytest.fixture
def client_as(app, dep, make_user):
    def factory(role, unit_id=None):
        client = app.test_client()
        if role != "anonymous":
            username, password = make_user(dep, role, unit_id=unit_id)
            response = login(client, username, password)
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return client
    return factory


def post(client, url, data=None):
    token = csrf_token(client, url.split("/gui")[0].split("/bat-dau")[0].split("/phe-duyet")[0].split("/tra-lai")[0])
    return client.post(url, data={"csrf_token": token, **(data or {})})


def text(response) -> str:
    return response.get_data(as_text=True)


def test_commune_officer_drafts_saves_and_sends(dep, client_as):
    officer = client_as("unit_officer", OWN)
    page = text(officer.get("/ke-hoach-xa"))  # the menu item opens the commune's own plan
    assert "Kế hoạch tuyên truyền CCHC của UBND xã An Dũng năm 2024" in page
    page = text(officer.get(f"/ke-hoach-xa/{OWN}"))
    assert "Bắt đầu soạn kế hoạch" in page
    assert post(officer, f"/ke-hoach-xa/{OWN}/bat-dau").status_code == 303
    page = text(officer.get(f"/ke-hoach-xa/{OWN}"))
    assert "Nhiệm vụ 11. Tuyên truyền trên hệ thống Trạm truyền thanh cơ sở." in page
    assert 'name="target-I8"' in page
    form = {"target-I8": "2", "own-0-duty": "Hội nghị đối thoại với Nhân dân về TTHC",
            "own-0-products": "Biên bản hội nghị\nTin bài trên Trang TTĐT xã", "own-0-timing": "Quý II/2024",
            "ot-0-code": "X1", "ot-0-text": "Hội nghị đối thoại về CCHC", "ot-0-target": "2", "ot-0-unit_label": "hội nghị"}
    assert post(officer, f"/ke-hoach-xa/{OWN}", form).status_code == 303
    local = lp.get(dep.db, dep.plan, OWN)
    assert next(t for t in local.targets if t["code"] == "I8")["target"] == 2
    assert local.tasks[-1]["products"] == ["Biên bản hội nghị", "Tin bài trên Trang TTĐT xã"]
    assert local.targets[-1]["code"] == "X1"
    editing = text(officer.get("/ke-hoach-xa"))
    assert f'action="/ke-hoach-xa/{OWN}"' in editing  # saving from the menu's page posts to the plan
    assert post(officer, f"/ke-hoach-xa/{OWN}/gui").status_code == 303
    page = text(officer.get(f"/ke-hoach-xa/{OWN}"))
    assert "Đã gửi, chờ phê duyệt" in page and "trễ hạn" in page  # 2024's deadline has long passed
    assert 'name="target-I8"' not in page  # sent: read-only


def test_a_weaker_commitment_comes_back_with_everything_typed(dep, client_as):
    officer = client_as("unit_officer", OWN)
    post(officer, f"/ke-hoach-xa/{OWN}/bat-dau")
    response = post(officer, f"/ke-hoach-xa/{OWN}", {"target-I8": "0,5", "own-0-duty": "Việc riêng đã gõ"})
    assert response.status_code == 422
    page = text(response)
    assert "cam kết 0,5 thấp hơn chỉ tiêu của kế hoạch cấp trên (1)" in page
    assert 'value="0,5"' in page and "Việc riêng đã gõ" in page
    assert lp.get(dep.db, dep.plan, OWN).revision == 1


def test_rights_of_each_role(dep, client_as):
    lp.start(dep.db, dep.plan, OTHER, by="setup")
    officer = client_as("unit_officer", OWN)
    # Another commune's plan: neither read nor written.
    assert officer.get(f"/ke-hoach-xa/{OTHER}").status_code == 403
    assert post(officer, f"/ke-hoach-xa/{OWN}/phe-duyet").status_code == 403
    admin = client_as("plan_admin")
    assert admin.get(f"/ke-hoach-xa/{OTHER}").status_code == 200
    assert post(admin, f"/ke-hoach-xa/{OTHER}", {"target-I8": "3"}).status_code == 403  # the commune writes it
    assert post(admin, f"/ke-hoach-xa/{OTHER}/gui").status_code == 403
    viewer = client_as("viewer")
    assert viewer.get("/ke-hoach-xa").status_code == 200
    assert viewer.get(f"/ke-hoach-xa/{OTHER}").status_code == 403
    assert client_as("contest_manager").get("/ke-hoach-xa").status_code == 403
    assert client_as("anonymous").get("/ke-hoach-xa").status_code == 302
    # A unit that writes no plan under this one.
    assert admin.get("/ke-hoach-xa/phong-vhtt").status_code == 404
    assert admin.get("/ke-hoach-xa/khong-co").status_code == 404


def test_plan_office_returns_then_approves_and_downloads(dep, client_as):
    lp.start(dep.db, dep.plan, OWN, by="canbo")
    lp.send(dep.db, dep.plan, OWN, by="canbo")
    admin = client_as("plan_admin")
    response = post(admin, f"/ke-hoach-xa/{OWN}/tra-lai", {"comment": ""})
    assert response.status_code == 422 and "Ghi rõ nội dung cần sửa" in text(response)
    assert post(admin, f"/ke-hoach-xa/{OWN}/tra-lai", {"comment": "Bổ sung hội nghị đối thoại"}).status_code == 303
    officer = client_as("unit_officer", OWN)
    page = text(officer.get(f"/ke-hoach-xa/{OWN}"))
    assert "Bổ sung hội nghị đối thoại" in page and 'name="target-I8"' in page
    assert post(officer, f"/ke-hoach-xa/{OWN}", {"own-0-duty": "Hội nghị đối thoại"}).status_code == 303
    assert post(officer, f"/ke-hoach-xa/{OWN}/gui").status_code == 303
    assert officer.get(f"/ke-hoach-xa/{OWN}/ke-hoach.toml").status_code == 404  # not approved yet
    assert post(admin, f"/ke-hoach-xa/{OWN}/phe-duyet").status_code == 303
    assert post(admin, f"/ke-hoach-xa/{OWN}/phe-duyet").status_code == 409  # already approved
    download = admin.get(f"/ke-hoach-xa/{OWN}/ke-hoach.toml")
    assert download.status_code == 200
    assert 'filename="ke-hoach-xa-an-dung-2024.toml"' in download.headers["Content-Disposition"]
    plan = loads_plan(text(download), "ke-hoach.toml")
    assert plan.parent_plan == "duc-tho-2024" and plan.tasks[-1].duty == "Hội nghị đối thoại"
    assert officer.get(f"/ke-hoach-xa/{OWN}/ke-hoach.toml").status_code == 200
    assert client_as("unit_officer", OTHER).get(f"/ke-hoach-xa/{OWN}/ke-hoach.toml").status_code == 403
    actions = [r["action"] for r in dep.db.query("select action from audit_log where action like 'local_plan.%' order by id")]
    assert actions == ["local_plan.start", "local_plan.send", "local_plan.return", "local_plan.save",
                       "local_plan.send", "local_plan.approve"]


def test_the_board_shows_who_sent_late_and_approved(dep, client_as):
    lp.start(dep.db, dep.plan, OWN, by="a")
    lp.send(dep.db, dep.plan, OWN, by="a")
    lp.approve(dep.db, dep.plan, OWN, by="vhtt")
    lp.start(dep.db, dep.plan, OTHER, by="y")
    page = text(client_as("plan_admin").get("/ke-hoach-xa"))
    assert "Đã gửi <strong>1/16</strong>" in page
    assert "trễ hạn 1" in page and "đã phê duyệt <strong>1</strong>" in page
    row = re.search(r"UBND xã An Dũng</a></th>.*?</tr>", page, re.DOTALL).group(0)
    assert "Đã phê duyệt" in row and "Trễ hạn" in row
    assert "Đang soạn (quá hạn)" in re.search(r"UBND xã Yên Hồ</a></th>.*?</tr>", page, re.DOTALL).group(0)
    assert "Cam kết theo chỉ tiêu của kế hoạch" in page
    nav = text(client_as("unit_officer", OWN).get(f"/ke-hoach-xa/{OWN}"))
    assert "Kế hoạch của xã" in nav


def test_the_dashboard_says_who_sent_late_and_approved(dep, client_as):
    lp.start(dep.db, dep.plan, OWN, by="a")
    lp.send(dep.db, dep.plan, OWN, by="a")
    lp.approve(dep.db, dep.plan, OWN, by="vhtt")
    page = text(client_as("plan_admin").get("/?period=2024-03"))
    assert "Kế hoạch các xã, thị trấn" in page
    assert "Đã gửi <strong>1/16</strong>" in page and "trễ hạn 1" in page
    assert "Gửi trễ hạn: UBND xã An Dũng." in page and "Đã phê duyệt: UBND xã An Dũng." in page
    assert 'href="/ke-hoach-xa"' in page
    assert "Kế hoạch các xã, thị trấn" not in text(client_as("unit_officer", OWN).get("/?period=2024-03"))


def test_an_empty_own_target_text_is_named_in_words(dep, client_as):
    officer = client_as("unit_officer", OWN)
    post(officer, f"/ke-hoach-xa/{OWN}/bat-dau")
    response = post(officer, f"/ke-hoach-xa/{OWN}", {"ot-0-code": "X1", "ot-0-target": "2"})
    assert response.status_code == 422
    page = text(response)
    # Named as the form shows the row (its code field, typed by the officer), not "Chỉ tiêu thứ 7".
    assert "Chỉ tiêu riêng mã X1, nội dung: Không được để trống." in page
    assert "targets[6]" not in page  # words, never codes


def test_a_weaker_commitment_is_named_by_the_indicator_s_name(dep, client_as):
    officer = client_as("unit_officer", OWN)
    post(officer, f"/ke-hoach-xa/{OWN}/bat-dau")
    response = post(officer, f"/ke-hoach-xa/{OWN}", {"target-I8": "0,5"})
    assert response.status_code == 422
    page = text(response)
    assert ("Chỉ tiêu “Mục nêu gương người tốt, việc tốt về CCHC”, con số: cam kết 0,5 thấp hơn chỉ tiêu "
            "của kế hoạch cấp trên (1); chỉ được bằng hoặc cao hơn.") in page
    assert "I8" not in page.split("Chưa lưu được", 1)[1].split("</div>", 1)[0]  # the summary names no code
    assert 'value="0,5"' in page  # what was typed is kept
