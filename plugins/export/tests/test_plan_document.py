"""A commune's approved plan as a Decree 30 "Kế hoạch" (#19 part 2, the last item): the core builds
it as data (``local_plans.to_document``), this plugin writes it (``register_document_writers``);
downloadable from the commune plan's page and by ``ccch local-plans document``. Read back with
python-docx and, rendered by LibreOffice, in the PDF."""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import pytest
from ccch_export.plan_nd30 import PlanWriter, annex_widths, write_plan
from click.testing import CliRunner
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph as DocxParagraph
from export_testing import pdf_text

from ccch_core import documents
from ccch_core import local_plans as lp
from ccch_core.cli import make_cli
from ccch_core.testing import login

UNIT = "xa-an-dung"
SENT = dt.datetime(2024, 1, 15, 2, tzinfo=dt.UTC)


@pytest.fixture
def dep(make_deployment):
    return make_deployment(["export"])


def approved(dep):
    """An Dũng's plan: the parent's tasks and targets, "nêu gương" raised to 2 a month, one own task
    and one own target; sent on time and approved."""
    plan, db = dep.plan, dep.db
    local = lp.start(db, plan, UNIT, by="canbo", now=SENT - dt.timedelta(days=2))
    content = {"tasks": local.tasks + [{"duty": "Hội nghị đối thoại với Nhân dân về TTHC",
                                        "products": ["Biên bản hội nghị"], "timing": "Quý II/2024"}],
               "targets": [{**t, "target": 2 if t["code"] == "I8" else t["target"]} for t in local.targets]
               + [{"code": "X1", "text": "Hội nghị đối thoại với Nhân dân", "kind": "count", "target": 2,
                   "target_per": "year", "unit_label": "hội nghị"}]}
    lp.save(db, plan, UNIT, content, by="canbo", now=SENT - dt.timedelta(days=1))
    lp.send(db, plan, UNIT, by="canbo", now=SENT)
    return lp.approve(db, plan, UNIT, by="vhtt", now=SENT + dt.timedelta(days=1))


def paragraphs(content: bytes) -> list[str]:
    """Every paragraph's text (a line break as "\\n"), the tables' cells included, in document order."""
    body = docx.Document(io.BytesIO(content)).element.body
    return [DocxParagraph(p, None).text for p in body.iter(qn("w:p"))]


def test_the_export_plugin_registers_a_writer_of_plans(dep):
    writers = documents.document_writers(dep)
    assert isinstance(writers[("plan", "docx")], PlanWriter)
    assert ("decision", "docx") in writers  # the decision writer is still there


def test_the_plan_is_laid_out_as_decree_30_says(dep):
    local = approved(dep)
    stream = io.BytesIO()
    media = documents.write_document(dep, lp.to_document(dep.plan, local, number="7", day=dt.date(2024, 1, 18),
                                                         signer_name="Nguyễn Văn A"), stream)
    assert media.endswith("wordprocessingml.document")
    lines = paragraphs(stream.getvalue())
    text = "\n".join(lines)
    # Header blocks: the commune's People's Committee on two lines, its number; national name, motto,
    # place (the commune's, not the district's) and date.
    assert "ỦY BAN NHÂN DÂN\nXÃ AN DŨNG" in lines
    assert "Số: 07/KH-UBND" in lines  # numbers below 10 get a leading 0
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in lines and "Độc lập - Tự do - Hạnh phúc" in lines
    assert "An Dũng, ngày 18 tháng 01 năm 2024" in lines
    kind = lines.index("KẾ HOẠCH")
    assert lines[kind + 1] == "Tuyên truyền cải cách hành chính năm 2024"
    assert lines[kind + 3].startswith("Thực hiện Kế hoạch tuyên truyền CCHC huyện Đức Thọ năm 2024")
    # Sections I, II, … in capitals, in order.
    sections = [line for line in lines if re.match(r"^[IVX]+\. ", line) and line == line.upper()]
    assert sections == ["I. MỤC ĐÍCH, YÊU CẦU", "II. CHỈ TIÊU CỤ THỂ", "III. NỘI DUNG, NHIỆM VỤ", "IV. KINH PHÍ",
                        "V. TỔ CHỨC THỰC HIỆN"]
    # The stricter commitment says both figures; the own target says it is the commune's own.
    assert ("- Nêu gương người tốt, việc tốt về cải cách hành chính trên địa bàn (01 mục/1 tháng): đơn vị cam kết "
            "2 mục/tháng (kế hoạch cấp trên: 1 mục/tháng).") in lines
    assert "- Hội nghị đối thoại với Nhân dân: 2 hội nghị/năm (chỉ tiêu riêng của đơn vị)." in lines
    # The deadline the parent set, in the parent's words; the assumed due day of the monthly report
    # (day 5, "giả định") is not written into the commune's plan as if the district had said it.
    assert any("trước 20/01/2024" in line for line in lines)
    assert "ngày 05" not in text
    closing = next(line for line in lines if line.startswith("Trên đây là Kế hoạch"))
    assert closing.endswith("của UBND xã An Dũng./.")
    assert "Nơi nhận:" in lines
    assert "- Ủy ban nhân dân huyện Đức Thọ (qua Phòng Văn hóa - Thông tin) (B/c);" in lines
    assert "- Lưu: VT." in lines
    assert "TM. ỦY BAN NHÂN DÂN" in lines and "CHỦ TỊCH" in lines and "Nguyễn Văn A" in lines
    # The annex: header blocks again, which plan it goes with, the tasks as the parent's appendix has them.
    annex = lines.index("PHỤ LỤC")
    assert lines[annex + 1] == "NỘI DUNG VÀ HÌNH THỨC TUYÊN TRUYỀN CẢI CÁCH HÀNH CHÍNH NĂM 2024"
    assert lines[annex + 2] == "(Kèm theo Kế hoạch số 07/KH-UBND ngày 18/01/2024 của UBND xã An Dũng)"
    assert lines.count("ỦY BAN NHÂN DÂN\nXÃ AN DŨNG") == 2
    table = docx.Document(io.BytesIO(stream.getvalue())).tables[-1]  # after the header, the closing and the annex's header
    header = [c.text for c in table.rows[0].cells]
    assert header == ["TT", "Nhiệm vụ", "Sản phẩm", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời gian thực hiện"]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(local.tasks)
    assert rows[-1] == [str(len(rows)), "Hội nghị đối thoại với Nhân dân về TTHC", "- Biên bản hội nghị",
                        "UBND xã An Dũng", "", "Quý II/2024"]
    coordinated = next(r for r in rows if r[1] == "Tuyên truyền, phổ biến, giáo dục pháp luật trên các lĩnh vực")
    assert coordinated[3] == "Phòng Tư pháp" and coordinated[4] == "UBND xã An Dũng"


def test_number_date_and_signer_left_blank_to_fill_when_signed(dep):
    local = approved(dep)
    stream = io.BytesIO()
    write_plan(lp.to_document(dep.plan, local), stream)
    lines = paragraphs(stream.getvalue())
    assert "Số: ……/KH-UBND" in lines
    assert any(re.fullmatch(r"An Dũng, ngày\s+tháng\s+năm 2024", line) for line in lines)
    assert "(Kèm theo Kế hoạch số ……/KH-UBND ngày ……/……/2024 của UBND xã An Dũng)" in lines


def test_annex_columns_fill_the_text_width(dep):
    local = approved(dep)
    widths = annex_widths(lp.to_document(dep.plan, local).annex)
    assert abs(sum(w.cm for w in widths) - 16.5) < 0.01
    assert widths[0].cm < 1.5 and widths[1].cm == max(w.cm for w in widths)


def test_the_page_downloads_the_docx_for_the_office_and_the_commune(dep, make_app, make_user):
    app = make_app(dep)

    def client(role, unit_id=None):
        c = app.test_client()
        username, password = make_user(dep, role, unit_id=unit_id)
        assert login(c, username, password).status_code == 302
        return c

    admin, officer = client("plan_admin"), client("unit_officer", UNIT)
    assert admin.get(f"/ke-hoach-xa/{UNIT}/ke-hoach.docx").status_code == 404  # nothing approved yet
    approved(dep)
    page = admin.get(f"/ke-hoach-xa/{UNIT}").get_data(as_text=True)
    assert f'href="/ke-hoach-xa/{UNIT}/ke-hoach.docx"' in page and "Tải văn bản Kế hoạch (Word" in page
    for c in (admin, officer):
        response = c.get(f"/ke-hoach-xa/{UNIT}/ke-hoach.docx")
        assert response.status_code == 200
        assert 'filename="ke-hoach-xa-an-dung-2024.docx"' in response.headers["Content-Disposition"]
        assert "KẾ HOẠCH" in paragraphs(response.data)
    assert client("unit_officer", "xa-yen-ho").get(f"/ke-hoach-xa/{UNIT}/ke-hoach.docx").status_code == 403
    assert client("viewer").get(f"/ke-hoach-xa/{UNIT}/ke-hoach.docx").status_code == 403


def test_the_command_writes_it_and_refuses_what_it_cannot(dep, tmp_path):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(make_cli(dep.config.path), [str(a) for a in args])

    out = tmp_path / "ke-hoach.docx"
    refused = run("local-plans", "document", UNIT, "-o", out)
    assert refused.exit_code == 1 and "no approved plan" in refused.output and not out.exists()
    approved(dep)
    bad = run("local-plans", "document", UNIT, "-o", out, "--date", "2024-02-30")
    assert bad.exit_code == 2 and "2024-02-30" in bad.output and not out.exists()
    result = run("local-plans", "document", UNIT, "-o", out, "--number", "12", "--date", "2024-01-18",
                 "--signer", "Nguyễn Văn A")
    assert result.exit_code == 0, result.output
    lines = paragraphs(out.read_bytes())
    assert "Số: 12/KH-UBND" in lines and "An Dũng, ngày 18 tháng 01 năm 2024" in lines and "Nguyễn Văn A" in lines


def test_without_the_export_plugin_the_page_offers_no_docx_and_the_command_says_what_to_install(
        make_deployment, make_app, make_user, tmp_path):
    bare = make_deployment()
    approved(bare)
    client = make_app(bare).test_client()
    username, password = make_user(bare, "plan_admin")
    assert login(client, username, password).status_code == 302
    page = client.get(f"/ke-hoach-xa/{UNIT}").get_data(as_text=True)
    assert "ke-hoach.toml" in page and "ke-hoach.docx" not in page
    missing = client.get(f"/ke-hoach-xa/{UNIT}/ke-hoach.docx")
    assert missing.status_code == 404 and "ccch-export" in missing.get_data(as_text=True)
    result = CliRunner().invoke(make_cli(bare.config.path),
                                ["local-plans", "document", UNIT, "-o", str(tmp_path / "k.docx")])
    assert result.exit_code == 1 and "pip install ccch-export" in result.output


def test_libreoffice_renders_it_with_the_annex_on_its_own_page(dep, tmp_path):
    local = approved(dep)
    stream = io.BytesIO()
    write_plan(lp.to_document(dep.plan, local), stream)
    text = pdf_text(stream.getvalue(), tmp_path, layout=True)
    pages = text.split("\f")
    annex = next(i for i, page in enumerate(pages) if "PHỤ LỤC" in page)
    assert annex > 0 and "Nơi nhận:" not in pages[annex]
    assert "Nhiệm vụ" in pages[annex] and "Sản phẩm" in pages[annex] and "KẾ HOẠCH" in pages[0]


def test_a_ward_under_the_province_writes_its_plan_the_same_way(fresh_db):
    """The two-tier cascade (since July 2025): a ward's plan under the province's names the ward's
    People's Committee, goes to UBND tỉnh through the Sở, and says the province's deadline."""
    from pathlib import Path

    from ccch_core.planfile import load_plan

    root = next(p for p in Path(__file__).resolve().parents if (p / "examples" / "two-tier-province").is_dir())
    plan = load_plan(root / "examples" / "two-tier-province" / "plan.toml")
    ward = "phuong-bac-ha"
    lp.start(fresh_db, plan, ward, by="canbo")
    lp.send(fresh_db, plan, ward, by="canbo")
    local = lp.approve(fresh_db, plan, ward, by="so")
    stream = io.BytesIO()
    write_plan(lp.to_document(plan, local), stream)
    lines = paragraphs(stream.getvalue())
    assert "ỦY BAN NHÂN DÂN\nPHƯỜNG BẮC HÀ" in lines and "Số: ……/KH-UBND" in lines
    assert any(re.fullmatch(r"Bắc Hà, ngày\s+tháng\s+năm 2026", line) for line in lines)
    recipient = next(line for line in lines if line.startswith("- Ủy ban nhân dân tỉnh Hà Tĩnh"))
    assert "(qua Sở" in recipient and recipient.endswith("(B/c);")
    assert "(Kèm theo Kế hoạch số ……/KH-UBND ngày ……/……/2026 của UBND phường Bắc Hà)" in lines
