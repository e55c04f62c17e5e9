"""The panel's pages: blind review, who may open what, the secretary's and the judges' work."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

import pytest
from ccch_initiatives.calls import appoint
from ccch_initiatives.judging import assign_judges, assignments, results
from initiatives_testing import SLUG, docx, pdf, post

from ccch_core.testing import PASSWORD

AUTHOR = "Nguyễn Thị Hoa"
CO_AUTHOR = "Trần Văn Bình"
EMAIL = "hoa.nguyen@andung.ductho.gov.vn"


def folded(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()


def names_in(blob: str) -> list[str]:
    blob = folded(blob)
    return [n for n in (AUTHOR, CO_AUTHOR, EMAIL, "0912345678", "UBND xã An Dũng") if folded(n) in blob]


@pytest.fixture
def world(dep, call, add_entry, judges, make_user):
    """Two entries of An Dũng by Hoa and Bình: a DOCX whose metadata names Hoa, a PDF whose
    /Author and text name her; three judges of other units and one of An Dũng; a secretary."""
    clean = add_entry("xa-an-dung", authors=[(AUTHOR, "xa-an-dung"), (CO_AUTHOR, "xa-an-dung")],
                      document=docx("Giải pháp tổ hỗ trợ dịch vụ công trực tuyến tại một cửa " * 5, creator=AUTHOR),
                      contact_email=EMAIL, title=f"Tổ hỗ trợ — nhóm {AUTHOR}")
    named = add_entry("xa-an-dung", authors=[(AUTHOR, "xa-an-dung")], contact_email=EMAIL,
                      document=pdf("Tac gia: Nguyen Thi Hoa. Giai phap mot cua lien thong cho nguoi dan " * 2,
                                   author="Nguyen Thi Hoa"),
                      summary=f"Tóm tắt của {AUTHOR}, liên hệ {EMAIL}.")
    outsiders = judges(["phong-tu-phap", "phong-tckh", "trung-tam-hcc"])
    insider = judges(["xa-an-dung"])[0]
    secretary, _ = make_user(dep, "viewer")
    appoint(dep, call, secretary, "secretary", None, actor="test")
    assign_judges(dep, call, "preliminary", actor=secretary)
    return {"clean": clean, "named": named, "judges": outsiders, "insider": insider, "secretary": secretary}


def judge_pages(client, call_id, dep, username):
    """Every page and download a judge can reach from their list, fetched as they would."""
    seen = {}
    index = client.get(f"/sang-kien/hoi-dong/{SLUG}/cham")
    seen["index"] = index.get_data(as_text=True)
    for a in assignments(dep.db, call_id, "preliminary", username=username):
        page = client.get(f"/sang-kien/hoi-dong/{SLUG}/cham/{a.id}")
        assert page.status_code == 200
        seen[f"score {a.id}"] = page.get_data(as_text=True)
        download = client.get(f"/sang-kien/hoi-dong/{SLUG}/cham/{a.id}/tai-lieu")
        if download.status_code == 200:
            data = download.get_data()
            seen[f"download {a.id} headers"] = str(download.headers)
            if data.startswith(b"PK"):
                archive = zipfile.ZipFile(io.BytesIO(data))
                for name in archive.namelist():
                    seen[f"download {a.id} {name}"] = archive.read(name).decode("utf-8", "replace")
            else:
                from pypdf import PdfReader

                reader = PdfReader(io.BytesIO(data))
                seen[f"download {a.id} pdf"] = data.decode("latin-1") + str(reader.metadata) + "".join(
                    p.extract_text() for p in reader.pages)
        else:
            assert download.status_code == 403
            seen[f"download {a.id} refused"] = download.get_data(as_text=True)
    return seen


def test_no_author_name_anywhere_in_a_judges_pages_or_downloads(dep, call, world, client_for):
    for username in world["judges"]:
        client = client_for(username)
        seen = judge_pages(client, call.id, dep, username)
        assert len([k for k in seen if k.startswith("score")]) == 2  # both entries, each to all three
        for where, blob in seen.items():
            assert names_in(blob) == [], (username, where)
        assert any("[đã ẩn]" in blob for blob in seen.values())
        downloaded = [k for k in seen if k.startswith("download") and "refused" not in k]
        assert downloaded  # the clean DOCX can be downloaded, without its creator
        refused = [k for k in seen if k.endswith("refused")]
        assert len(refused) == 1  # the PDF that names its author in the text is withheld
        assert "Tài liệu còn tên tác giả" in seen[refused[0]]


def test_the_secretary_sees_the_authors_and_the_name_check(dep, call, world, client_for):
    client = client_for(world["secretary"])
    page = client.get(f"/sang-kien/hoi-dong/{SLUG}").get_data(as_text=True)
    assert AUTHOR in page and "Tài liệu còn tên tác giả" in page
    assert f"{AUTHOR}: " in page.split("Tác giả có nhiều bài", 1)[1]  # two entries by the same author
    assert world["clean"].code in page.split("Tác giả có nhiều bài", 1)[1].split("</ul>", 1)[0]
    detail = client.get(f"/sang-kien/hoi-dong/{SLUG}/bai/{world['named'].id}").get_data(as_text=True)
    assert "Tài liệu còn: nguyen thi hoa" in detail
    original = client.get(f"/sang-kien/hoi-dong/{SLUG}/bai/{world['named'].id}/tai-lieu")
    assert original.status_code == 200 and b"Nguyen Thi Hoa" in original.get_data()


def test_a_judge_of_the_entrys_unit_never_sees_it(dep, call, world, client_for):
    insider = world["insider"]
    client = client_for(insider)
    assert assignments(dep.db, call.id, "preliminary", username=insider) == []
    page = client.get(f"/sang-kien/hoi-dong/{SLUG}/cham").get_data(as_text=True)
    assert world["clean"].code not in page and world["named"].code not in page  # not even to declare a conflict
    other = assignments(dep.db, call.id, "preliminary")[0]
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}/cham/{other.id}").status_code == 404
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}/cham/{other.id}/tai-lieu").status_code == 404
    # Even an assignment written straight into the table is refused at view time.
    dep.db.execute("insert into initiative_assignments (call_id, round, entry_id, username, assigned_at) values "
                   "(?, 'preliminary', ?, ?, '2024-08-15T00:00:00+00:00')", [call.id, world["clean"].id, insider])
    dep.db.conn.commit()
    forced = assignments(dep.db, call.id, "preliminary", username=insider)[0]
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}/cham/{forced.id}").status_code == 404
    assert world["clean"].code not in client.get(f"/sang-kien/hoi-dong/{SLUG}/cham").get_data(as_text=True)


def test_a_judge_scores_through_the_page_with_errors_named(dep, call, world, client_for):
    judge = world["judges"][0]
    client = client_for(judge)
    a = assignments(dep.db, call.id, "preliminary", username=judge)[0]
    url = f"/sang-kien/hoi-dong/{SLUG}/cham/{a.id}"
    bad = {"score_tinh-moi": "11", "score_kha-thi": "7", "score_hieu-qua": "", "score_pham-vi": "٣",
           "comment_kha-thi": "Khả thi <cao>", "action": "submit"}
    response = post(client, url, bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tính mới, sáng tạo: cần một số nguyên từ 0 đến 10." in page
    assert "Hiệu quả: cần một số nguyên từ 0 đến 10; chưa nhập điểm." in page
    assert 'id="score_tinh-moi" name="score_tinh-moi" inputmode="numeric" maxlength="4" value="11" aria-invalid="true"' in page
    assert "Khả thi &lt;cao&gt;</textarea>" in page
    good = {"score_tinh-moi": "8", "score_kha-thi": "6", "score_hieu-qua": "9", "score_pham-vi": "5",
            "comment_tinh-moi": "Mới", "action": "submit"}
    response = post(client, url, good)
    assert response.status_code == 303
    row = next(r for r in results(dep.db, call, "preliminary") if r.entry.id == a.entry_id)
    assert row.judges == 1 and row.score == pytest.approx(73)
    # Another judge's sheet is not theirs.
    theirs = assignments(dep.db, call.id, "preliminary", username=world["judges"][1])[0]
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}/cham/{theirs.id}").status_code == 404


def test_a_judge_declares_a_conflict_through_the_page(dep, call, world, client_for):
    judge = world["judges"][0]
    client = client_for(judge)
    entry = world["clean"]
    url = f"/sang-kien/hoi-dong/{SLUG}/xung-dot"
    response = post(client, url, {"entry_id": str(entry.id), "reason": ""}, token_url=f"/sang-kien/hoi-dong/{SLUG}/cham")
    assert response.status_code == 303 and assignments(dep.db, call.id, "preliminary", username=judge, entry_id=entry.id)
    response = post(client, url, {"entry_id": str(entry.id), "reason": "Đồng nghiệp cũ"},
                    token_url=f"/sang-kien/hoi-dong/{SLUG}/cham")
    assert response.status_code == 303
    assert not assignments(dep.db, call.id, "preliminary", username=judge, entry_id=entry.id)
    for value in ("99999999999999999999", "-1", "²", "x" * 5000):
        response = post(client, url, {"entry_id": value, "reason": "x"}, token_url=f"/sang-kien/hoi-dong/{SLUG}/cham")
        assert response.status_code == 404


@pytest.mark.parametrize("role", ["viewer", "unit_officer", "plan_admin"])
def test_accounts_without_a_seat_get_nothing_of_the_panel(dep, call, world, client_for, make_user, role):
    username, _ = make_user(dep, role, "xa-yen-ho" if role == "unit_officer" else None)
    client = client_for(username, PASSWORD)
    a = assignments(dep.db, call.id, "preliminary")[0]
    for url in (f"/sang-kien/hoi-dong/{SLUG}", f"/sang-kien/hoi-dong/{SLUG}/cham",
                f"/sang-kien/hoi-dong/{SLUG}/cham/{a.id}", f"/sang-kien/hoi-dong/{SLUG}/bai/{a.entry_id}",
                f"/sang-kien/hoi-dong/{SLUG}/bai/{a.entry_id}/tai-lieu", "/sang-kien/hoi-dong/tao-moi",
                f"/sang-kien/hoi-dong/{SLUG}/thanh-vien", "/sang-kien/hoi-dong"):
        assert client.get(url).status_code == 403, url
    anonymous = client_for()
    assert anonymous.get(f"/sang-kien/hoi-dong/{SLUG}").status_code == 302


def test_a_judge_cannot_act_as_secretary(dep, call, world, client_for):
    client = client_for(world["judges"][0])
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}").status_code == 303  # sent to their own list
    entry = world["clean"]
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}/bai/{entry.id}").status_code == 403
    assert client.get(f"/sang-kien/hoi-dong/{SLUG}/bai/{entry.id}/tai-lieu").status_code == 403
    response = post(client, f"/sang-kien/hoi-dong/{SLUG}/thao-tac", {"action": "awards"},
                    token_url=f"/sang-kien/hoi-dong/{SLUG}/cham")
    assert response.status_code == 403


def test_the_secretary_runs_the_round_and_publishes(dep, call, world, client_for, make_user):
    secretary = client_for(world["secretary"])
    for a in assignments(dep.db, call.id, "preliminary"):
        from ccch_initiatives.judging import check_scores, get_assignment, save_scores

        values, overall = check_scores(call, {f"score_{k}": "9" for k in ("tinh-moi", "kha-thi", "hieu-qua",
                                                                           "pham-vi")})
        save_scores(dep, call, get_assignment(dep.db, a.id), values, overall, submit=True, actor=a.username)
    url = f"/sang-kien/hoi-dong/{SLUG}/thao-tac"
    token = f"/sang-kien/hoi-dong/{SLUG}"
    assert post(secretary, url, {"action": "awards"}, token_url=token).status_code == 303
    assert post(secretary, url, {"action": "publish"}, token_url=token).status_code == 303
    page = client_for().get(f"/sang-kien/{SLUG}/ket-qua").get_data(as_text=True)
    assert "Giải A" in page and AUTHOR in page and EMAIL not in page and "0912" not in page
    assert post(secretary, url, {"action": "nonsense"}, token_url=token).status_code == 400
    assert post(secretary, url, {"action": "extra", "entry_id": "²"}, token_url=token).status_code == 404


def test_a_manager_sets_up_a_call_and_its_panel_in_the_web(dep, clock, client_for, make_user):
    manager, _ = make_user(dep, "contest_manager")
    client = client_for(manager)
    page = client.get("/sang-kien/hoi-dong/tao-moi").get_data(as_text=True)
    assert "sang-kien-cchc-2024" in page  # the sample to start from
    text = re.search(r'<textarea id="f-definition" name="definition" rows="30">(.*?)</textarea>', page, re.DOTALL).group(1)
    import html

    text = html.unescape(text)
    response = post(client, "/sang-kien/hoi-dong/tao-moi", {"definition": text.replace('aggregation = "trimmed_mean"',
                                                                                       'aggregation = "median"')})
    assert response.status_code == 422 and "call.aggregation" in response.get_data(as_text=True)
    response = post(client, "/sang-kien/hoi-dong/tao-moi", {"definition": text})
    assert response.status_code == 303
    judge, _ = make_user(dep, "unit_officer", "xa-yen-ho")
    response = post(client, f"/sang-kien/hoi-dong/{SLUG}/thanh-vien", {"username": judge, "role": "judge"})
    assert response.status_code == 303
    page = client.get(f"/sang-kien/hoi-dong/{SLUG}/thanh-vien").get_data(as_text=True)
    assert judge in page and "UBND xã Yên Hồ" in page  # the account's unit by default
    response = post(client, f"/sang-kien/hoi-dong/{SLUG}/thanh-vien", {"username": "khong-co", "role": "judge"})
    assert response.status_code == 422 and "Không có tài khoản “khong-co”" in response.get_data(as_text=True)
    # The judge now sees the menu item and their (empty) list.
    judge_client = client_for(judge)
    assert "Sáng kiến CCHC" in judge_client.get("/").get_data(as_text=True)
    assert judge_client.get(f"/sang-kien/hoi-dong/{SLUG}/cham").status_code == 200


def test_certificates_have_one_page_per_award_in_vietnamese(dep, call, world, client_for):
    from ccch_initiatives.judging import (
        check_scores,
        decide_awards,
        get_assignment,
        save_scores,
    )
    from pypdf import PdfReader

    secretary = client_for(world["secretary"])
    assert secretary.get(f"/sang-kien/hoi-dong/{SLUG}/giay-chung-nhan.pdf").status_code == 404  # no awards yet
    for a in assignments(dep.db, call.id, "preliminary"):
        values, overall = check_scores(call, {f"score_{c.key}": "9" for c in call.definition.criteria})
        save_scores(dep, call, get_assignment(dep.db, a.id), values, overall, submit=True, actor=a.username)
    awarded = decide_awards(dep, call, actor="tk")
    response = secretary.get(f"/sang-kien/hoi-dong/{SLUG}/giay-chung-nhan.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.get_data()))
    assert len(reader.pages) == len(awarded) == 2
    text = unicodedata.normalize("NFC", reader.pages[0].extract_text())
    assert "GIẤY CHỨNG NHẬN" in text and "Đạt Giải A" in text and AUTHOR in text
    assert "UBND xã An Dũng" in text and "Lĩnh vực: Cải cách thủ tục hành chính" in text
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert any("BeVietnamPro" in str(f.get_object()["/BaseFont"]) for f in fonts.values())
    judge = client_for(world["judges"][0])
    assert judge.get(f"/sang-kien/hoi-dong/{SLUG}/giay-chung-nhan.pdf").status_code == 403


def test_the_secretary_replaces_the_judges_copy_by_an_anonymised_one(dep, call, world, client_for):
    secretary = client_for(world["secretary"])
    entry = world["named"]
    page_url = f"/sang-kien/hoi-dong/{SLUG}/bai/{entry.id}"
    url = f"{page_url}/ban-an-danh"

    def upload(document):
        token = re.search(r'name="form_token" value="([^"]+)"', secretary.get(page_url).get_data(as_text=True))
        return secretary.post(url, data={"form_token": token.group(1), "document": (io.BytesIO(document), "x.docx")},
                              content_type="multipart/form-data")

    token = re.search(r'name="form_token" value="([^"]+)"', secretary.get(page_url).get_data(as_text=True)).group(1)
    still = docx("Tác giả Nguyễn Thị Hoa đề xuất giải pháp một cửa liên thông cho người dân " * 3)
    assert upload(still).status_code == 303
    assert "Bản ẩn danh vẫn còn: nguyen thi hoa" in secretary.get(page_url).get_data(as_text=True)
    clean = docx("Tác giả [đã xóa] đề xuất giải pháp một cửa liên thông cho người dân " * 3)
    assert upload(clean).status_code == 303
    judge = world["judges"][0]
    a = assignments(dep.db, call.id, "preliminary", username=judge, entry_id=entry.id)[0]
    download = client_for(judge).get(f"/sang-kien/hoi-dong/{SLUG}/cham/{a.id}/tai-lieu")
    assert download.status_code == 200 and download.get_data().startswith(b"PK")
    assert names_in(zipfile.ZipFile(io.BytesIO(download.get_data())).read("word/document.xml").decode()) == []
    # Without its form token, or as a judge, the upload is refused.
    assert secretary.post(url, data={"document": (io.BytesIO(clean), "x.docx")},
                          content_type="multipart/form-data").status_code == 400
    judge_client = client_for(judge)  # the secretary's token is bound to the secretary's account
    assert judge_client.post(url, data={"form_token": token}).status_code == 400
    assert judge_client.get(page_url).status_code == 403


def test_a_judge_who_sent_their_sheet_sees_the_others_on_a_flagged_entry_without_names(dep, call, world, client_for):
    from ccch_initiatives.judging import check_scores, get_assignment, save_scores

    entry = world["clean"]
    sheets = assignments(dep.db, call.id, "preliminary", entry_id=entry.id)
    for a, v in zip(sheets, ("10", "2", "6"), strict=True):
        values, overall = check_scores(call, {f"score_{c.key}": v for c in call.definition.criteria}
                                       | {"comment": f"Nhận xét của phiếu {v}"})
        save_scores(dep, call, get_assignment(dep.db, a.id), values, overall, submit=True, actor=a.username)
    first = sheets[0]
    page = client_for(first.username).get(f"/sang-kien/hoi-dong/{SLUG}/cham/{first.id}").get_data(as_text=True)
    assert "Trao đổi: điểm các giám khảo lệch" in page
    assert "Nhận xét của phiếu 2" in page and "Nhận xét của phiếu 6" in page and "Giám khảo 2" in page
    assert all(s.username not in page for s in sheets[1:])  # the other judges are not named
    assert names_in(page) == []
    other = world["named"]
    unsent = assignments(dep.db, call.id, "preliminary", entry_id=other.id)[0]
    page = client_for(unsent.username).get(f"/sang-kien/hoi-dong/{SLUG}/cham/{unsent.id}").get_data(as_text=True)
    assert "Trao đổi" not in page


def test_the_dashboard_shows_each_calls_progress_to_the_organisers(dep, call, world, client_for, make_user):
    manager, _ = make_user(dep, "contest_manager")
    page = client_for(manager).get("/").get_data(as_text=True)
    panel = page.split("Cuộc thi viết sáng kiến về CCHC: bài dự thi và tiến độ chấm", 1)[1].split("</table>", 1)[0]
    assert call.title in panel and "<td>Sơ khảo</td><td>2</td><td>0/6</td><td>0</td>" in panel
    assert AUTHOR not in panel
    viewer, _ = make_user(dep, "viewer")
    assert "tiến độ chấm" not in client_for(viewer).get("/").get_data(as_text=True)
