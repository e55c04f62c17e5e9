"""The decision on the awards (Quyết định khen thưởng): drafted by the secretary, written as a
Decree 30 DOCX by the export plugin through the core's document writers, never by importing it."""

from __future__ import annotations

import datetime as dt
import io
import os
import stat

import docx as python_docx
import pytest
from ccch_initiatives.calls import appoint
from ccch_initiatives.decision import (
    DecisionFormError,
    build_decision,
    default_draft,
    parse_form,
)
from ccch_initiatives.judging import (
    assign_judges,
    assignments,
    awards_of,
    check_scores,
    decide_awards,
    get_assignment,
    save_scores,
)
from click.testing import CliRunner
from initiatives_testing import SLUG, post

from ccch_core.cli import make_cli
from ccch_core.documents import DocumentWriterMissing, write_document

URL = f"/sang-kien/hoi-dong/{SLUG}/quyet-dinh"
AUTHOR = "Lê Văn Minh"


@pytest.fixture
def dep(make_deployment, request):
    """A deployment with the initiatives and export plugins (parametrize ``dep`` for others)."""
    return make_deployment(getattr(request, "param", ["initiatives", "export"]))


def _awarded(dep, call, add_entry, judges, make_user, scores=("9", "8")):
    """Two entries of different units scored ``scores`` by three judges each; awards decided."""
    add_entry("xa-an-dung", authors=[(AUTHOR, "xa-an-dung")], title="Tổ hỗ trợ dịch vụ công trực tuyến")
    add_entry("xa-yen-ho", authors=[("Phạm Thị Lan", "xa-yen-ho"), ("Hồ Văn Tùng", "xa-yen-ho")],
              title="Sổ tay thủ tục hành chính bằng hình ảnh", category="tuyen-truyen")
    judges(["phong-tu-phap", "phong-tckh", "trung-tam-hcc"])
    secretary, _ = make_user(dep, "viewer")
    appoint(dep, call, secretary, "secretary", None, actor="test")
    assign_judges(dep, call, "preliminary", actor=secretary)
    titles = {}
    for a in assignments(dep.db, call.id, "preliminary"):
        entry_id = get_assignment(dep.db, a.id).entry_id
        titles.setdefault(entry_id, len(titles))
        score = scores[titles[entry_id]]
        values, overall = check_scores(call, {f"score_{c.key}": score for c in call.definition.criteria})
        save_scores(dep, call, get_assignment(dep.db, a.id), values, overall, submit=True, actor=a.username)
    decide_awards(dep, call, actor=secretary)
    return secretary


def _text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_the_decision_is_built_from_the_awards_as_worked_out_by_hand(dep, call, add_entry, judges, make_user):
    _awarded(dep, call, add_entry, judges, make_user)
    awards = awards_of(dep.db, call)
    # 9/10 on every criterion = 90 points ≥ Giải A's 80; 8/10 = 80 points: Giải A in its own field too
    # (each field has its own awards), so two "Giải A".
    assert sorted((r.award_name, round(r.score, 1)) for r in awards) == [("Giải A", 80.0), ("Giải A", 90.0)]
    draft = default_draft(dep.plan, call, today=dt.date(2024, 12, 20))
    decision = build_decision(dep.plan, call, awards, draft)
    assert decision.issuer.id == "ubnd-huyen"
    assert decision.authority == "Chủ tịch Ủy ban nhân dân huyện Đức Thọ"
    assert decision.articles[0].text == (
        f"Công nhận và khen thưởng 02 sáng kiến đạt giải {call.title}, gồm: 02 Giải A (có danh sách kèm theo).")
    assert "Phòng Nội vụ" not in decision.proposal and decision.proposal == "Theo đề nghị của Trưởng phòng Nội vụ"
    assert decision.articles[2].text.startswith("Quyết định này có hiệu lực kể từ ngày ký.")
    assert "Trưởng phòng Nội vụ, Thủ trưởng các cơ quan" in decision.articles[2].text
    # The annex: by award, then field in the call's order (thủ tục hành chính before tuyên truyền).
    rows = decision.annex.rows
    assert [r[0] for r in rows] == [1, 2]
    assert rows[0][1] == "Tổ hỗ trợ dịch vụ công trực tuyến" and rows[0][2] == AUTHOR
    assert rows[0][3] == "UBND xã An Dũng" and rows[0][5] == "Giải A" and rows[0][6] == 90.0
    assert rows[1][2] == "Phạm Thị Lan, Hồ Văn Tùng" and rows[1][4] == "Thông tin, tuyên truyền về CCHC"


def test_the_prefilled_legal_bases_follow_the_law_in_force_on_the_day(dep, call):
    before = default_draft(dep.plan, call, today=dt.date(2024, 12, 20)).bases
    after = default_draft(dep.plan, call, today=dt.date(2025, 8, 1)).bases
    assert before[0].startswith("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015")
    assert after[0] == "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025"
    assert "Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022" in before
    assert before[2].startswith(f"Căn cứ Kế hoạch số {dep.plan.number_and_symbol}")
    assert before[3] == f"Căn cứ Thể lệ {call.title}"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "15a", "chỉ gồm chữ số"),
    ("day", "2024-02-30", "không hợp lệ"),
    ("day", "20/12/2024", "không hợp lệ"),
    ("signer", "president", "Chọn người ký"),
    ("executors", "", "Cần ghi những ai chịu trách nhiệm"),
    ("rewards", "   ", "Cần ghi hình thức khen thưởng"),
    ("bases", "\n".join(f"Căn cứ văn bản số {i}" for i in range(21)), "21 dòng, tối đa 20"),
    ("proposal", "x" * 501, "tối đa 500"),
    ("signer_name", "y" * 101, "tối đa 100"),
])
def test_a_bad_field_is_named_with_its_problem(dep, call, field, value, message):
    form = default_draft(dep.plan, call).as_form()
    form[field] = value
    with pytest.raises(DecisionFormError) as caught:
        parse_form(form)
    assert list(caught.value.errors) == [field] and message in caught.value.errors[field]


def test_the_secretary_drafts_and_downloads_the_decision_in_the_decree_30_layout(
        dep, call, add_entry, judges, make_user, client_for):
    secretary = client_for(_awarded(dep, call, add_entry, judges, make_user))
    page = secretary.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022" in html and "2 Giải A" in html
    assert "Quyết định khen thưởng (Word)" in secretary.get(f"/sang-kien/hoi-dong/{SLUG}").get_data(as_text=True)
    form = {**default_draft(dep.plan, call).as_form(), "number": "15", "day": "2024-12-20",
            "signer": "vice_chairman", "signer_name": "Nguyễn Văn Hùng",
            "recipients": "Như Điều 3\nSở Nội vụ tỉnh Hà Tĩnh\nLưu: VT, NV", "action": "download"}
    response = post(secretary, URL, form)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "quyet-dinh-khen-thuong-sang-kien-cchc-2024.docx" in response.headers["Content-Disposition"]
    document = python_docx.Document(io.BytesIO(response.get_data()))
    text = _text(document)
    lines = [p.text for p in document.paragraphs]
    header = document.tables[0].rows[0].cells
    assert "ỦY BAN NHÂN DÂN\nHUYỆN ĐỨC THỌ" in header[0].text and "Số: 15/QĐ-UBND" in header[0].text
    assert "Đức Thọ, ngày 20 tháng 12 năm 2024" in header[1].text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header[1].text
    order = [lines.index("QUYẾT ĐỊNH"), lines.index(f"Về việc công nhận và khen thưởng các sáng kiến đạt giải {call.title}"),
             lines.index("CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN ĐỨC THỌ"),
             lines.index("Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022;"),
             lines.index("Theo đề nghị của Trưởng phòng Nội vụ."), lines.index("QUYẾT ĐỊNH:")]
    assert order == sorted(order)
    articles = [line for line in lines if line.startswith("Điều ")]
    assert [a.split(".")[0] for a in articles] == ["Điều 1", "Điều 2", "Điều 3"]
    assert lines[lines.index(articles[2]) + 1].endswith("chịu trách nhiệm thi hành Quyết định này./.")
    # Bases in italics, "Điều N." in bold, as Appendix I lays them out.
    basis = document.paragraphs[lines.index("Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022;")]
    assert all(run.italic for run in basis.runs)
    assert document.paragraphs[lines.index(articles[0])].runs[0].bold
    closing = document.tables[1].rows[0].cells
    assert closing[0].text.split("\n") == ["Nơi nhận:", "- Như Điều 3;", "- Sở Nội vụ tỉnh Hà Tĩnh;", "- Lưu: VT, NV."]
    assert closing[1].text.startswith("KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH") and closing[1].text.endswith("Nguyễn Văn Hùng")
    # The annex: its own title, the "Kèm theo" line naming the decision, the awarded entries.
    assert "DANH SÁCH SÁNG KIẾN ĐẠT GIẢI" in lines
    assert ("(Kèm theo Quyết định số 15/QĐ-UBND ngày 20/12/2024 của Chủ tịch Ủy ban nhân dân huyện Đức Thọ)"
            in lines)
    # The annex starts a new page and repeats the header blocks, without number and date.
    annex_header = document.tables[2].rows[0].cells
    assert "HUYỆN ĐỨC THỌ" in annex_header[0].text and "Số:" not in annex_header[0].text
    assert "Độc lập - Tự do - Hạnh phúc" in annex_header[1].text and "ngày" not in annex_header[1].text
    assert any('w:type="page"' in p._p.xml for p in document.paragraphs[:lines.index("DANH SÁCH SÁNG KIẾN ĐẠT GIẢI")])
    annex = document.tables[3]
    assert [c.text for c in annex.rows[0].cells] == ["STT", "Tên sáng kiến", "Tác giả", "Đơn vị", "Lĩnh vực", "Giải",
                                                      "Điểm"]
    assert [c.text for c in annex.rows[1].cells][:4] == ["1", "Tổ hỗ trợ dịch vụ công trực tuyến", AUTHOR,
                                                         "UBND xã An Dũng"]
    assert "Phạm Thị Lan, Hồ Văn Tùng" in text
    # What was typed is kept for the next download, and the change is in the audit log.
    again = secretary.get(URL).get_data(as_text=True)
    assert 'value="15"' in again and "Nguyễn Văn Hùng" in again and "Sở Nội vụ tỉnh Hà Tĩnh" in again
    assert dep.db.execute("select count(*) from audit_log where action = 'initiatives.decision'").fetchone()[0] == 1


def test_a_rejected_draft_comes_back_filled_in_and_changes_nothing(dep, call, add_entry, judges, make_user,
                                                                   client_for):
    secretary = client_for(_awarded(dep, call, add_entry, judges, make_user))
    form = {**default_draft(dep.plan, call).as_form(), "number": "15a", "signer_name": "Nguyễn Văn Hùng",
            "day": "2024-02-30", "action": "download"}
    response = post(secretary, URL, form)
    assert response.status_code == 422 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Có 2 mục cần sửa" in html and 'value="15a"' in html and "Nguyễn Văn Hùng" in html
    assert 'value="2024-02-30"' in html
    assert dep.db.execute("select count(*) from initiative_decisions").fetchone()[0] == 0


def test_only_the_secretary_and_managers_reach_the_decision(dep, call, add_entry, judges, make_user, client_for):
    _awarded(dep, call, add_entry, judges, make_user)
    judge = judges(["phong-noi-vu"])[0]
    assert client_for(judge).get(URL).status_code == 403
    stranger, _ = make_user(dep, "viewer")
    assert client_for(stranger).get(URL).status_code == 403
    anonymous = client_for().get(URL)
    assert anonymous.status_code == 302 and "/dang-nhap" in anonymous.headers["Location"]
    assert client_for(make_user(dep, "plan_admin")[0]).get(URL).status_code == 403  # plans, not contests
    assert client_for(make_user(dep, "contest_manager")[0]).get(URL).status_code == 200


def test_before_the_awards_there_is_no_decision(dep, call, make_user, client_for):
    manager, _ = make_user(dep, "contest_manager")
    assert client_for(manager).get(URL).status_code == 404


@pytest.mark.parametrize("dep", [["initiatives"]], indirect=True)
def test_without_the_export_plugin_the_draft_is_kept_and_the_page_says_what_to_install(
        dep, call, add_entry, judges, make_user, client_for):
    secretary = client_for(_awarded(dep, call, add_entry, judges, make_user))
    page = secretary.get(URL).get_data(as_text=True)
    assert "cài gói ccch-export" in page
    form = {**default_draft(dep.plan, call).as_form(), "number": "15", "action": "download"}
    response = post(secretary, URL, form)
    assert response.status_code == 422 and "cài gói ccch-export" in response.get_data(as_text=True)
    assert 'value="15"' in secretary.get(URL).get_data(as_text=True)  # saved all the same
    decision = build_decision(dep.plan, call, awards_of(dep.db, call), default_draft(dep.plan, call))
    with pytest.raises(DocumentWriterMissing, match=r"pip install ccch-export"):
        write_document(dep, decision, io.BytesIO())


def test_the_cli_writes_a_private_file_and_saves_the_options(dep, call, add_entry, judges, make_user, tmp_path):
    runner = CliRunner()
    cli = make_cli(dep.config.path)
    output = tmp_path / "qd.docx"
    result = runner.invoke(cli, ["initiatives", "decision", SLUG, "-o", str(output)])
    assert result.exit_code != 0 and "Chưa xét giải" in result.output and not output.exists()
    _awarded(dep, call, add_entry, judges, make_user)
    result = runner.invoke(cli, ["initiatives", "decision", SLUG, "-o", str(output), "--number", "7",
                                 "--day", "2024-12-20", "--signer-name", "Nguyễn Văn Hùng"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(output).st_mode) == 0o600  # the authors' names are personal data
    text = _text(python_docx.Document(str(output)))
    assert "Số: 07/QĐ-UBND" in text  # numbers below 10 get a leading 0 (Decree 30)
    assert "Nguyễn Văn Hùng" in text and AUTHOR in text
    result = runner.invoke(cli, ["initiatives", "decision", SLUG, "-o", str(output), "--number", "x7"])
    assert result.exit_code != 0 and "number" in result.output and "chỉ gồm chữ số" in result.output
