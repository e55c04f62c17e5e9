"""``ccch feedback …``: reminders and escalation, leaders who approve answers, the list, demo data.

The group is built anew for each invocation (never at import time), like every ccch command.
"""

from __future__ import annotations

import datetime as dt

import click

from ccch_core import accounts
from ccch_core.audit import cli_actor
from ccch_core.cli import pass_deployment, table
from ccch_core.storage import write_transaction

from . import store
from .settings import settings_of

DEMO = (
    ("question", "citizen", "ho-tich", "Thủ tục đăng ký khai sinh cho con cần giấy tờ gì?",
     "Con tôi mới sinh ở bệnh viện huyện. Khi đi đăng ký khai sinh tại UBND xã tôi cần mang những giấy tờ gì?",
     ("Theo Luật Hộ tịch, người đi đăng ký khai sinh nộp tờ khai theo mẫu và giấy chứng sinh do bệnh viện cấp, "
      "xuất trình giấy tờ tùy thân. Có thể nộp trực tuyến trên Cổng dịch vụ công quốc gia.")),
    ("question", "business", "dang-ky-kinh-doanh", "Đăng ký hộ kinh doanh mất bao lâu?",
     "Tôi muốn đăng ký hộ kinh doanh bán tạp hóa tại thị trấn. Thời gian giải quyết là bao lâu?",
     "Thời hạn giải quyết là 03 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ tại Bộ phận một cửa huyện."),
    ("feedback", "citizen", "chung-thuc", "Bộ phận một cửa xã đông vào sáng thứ Hai",
     "Sáng thứ Hai người dân phải chờ lâu để chứng thực bản sao. Đề nghị bố trí thêm người.",
     None),
)


def feedback_group() -> click.Group:
    """The ``ccch feedback`` group."""

    @click.group("feedback", help="Hỏi đáp, phản ánh kiến nghị: nhắc hạn, lãnh đạo duyệt, danh sách.")
    def group():
        pass

    @group.command("remind", help="Nhắc hạn trả lời và báo quá hạn (chạy hằng ngày).")
    @click.option("--now", "now_text", help="Thời điểm (ISO 8601, mặc định: bây giờ).")
    @pass_deployment
    def remind(dep, now_text):
        now = None
        if now_text:
            try:
                now = dt.datetime.fromisoformat(now_text)
            except ValueError:
                raise click.BadParameter("ISO 8601, e.g. 2024-02-20T08:00:00+07:00", param_hint="--now") from None
            if now.tzinfo is None:
                raise click.BadParameter("give a time zone (+07:00)", param_hint="--now")
        counts = store.remind(dep, now=now, actor=cli_actor())
        click.echo(f"{counts['due_soon']} sắp đến hạn, {counts['overdue']} quá hạn, {counts['messages']} tin nhắn.")

    @group.group("leader", help="Lãnh đạo đơn vị duyệt câu trả lời.")
    def leader():
        pass

    @leader.command("add")
    @click.argument("username")
    @click.option("--unit", help="Đơn vị (mặc định: đơn vị của tài khoản).")
    @pass_deployment
    def leader_add(dep, username, unit):
        user = accounts.find_user(dep.db, accounts.normalise_username(username))
        if user is None or user.role is not accounts.Role.UNIT_OFFICER:
            raise click.ClickException(f"{username}: cần một tài khoản cán bộ đơn vị (unit_officer)")
        unit = unit or user.unit_id
        if not dep.plan.has_unit(unit) or not user.can_see_unit(dep.plan, unit):
            raise click.ClickException(f"{unit}: không phải đơn vị của tài khoản {username}")
        store.set_leader(dep, user.username, unit, cli_actor())
        click.echo(f"{user.username} duyệt câu trả lời của {dep.plan.unit(unit).name}.")

    @leader.command("remove")
    @click.argument("username")
    @pass_deployment
    def leader_remove(dep, username):
        store.set_leader(dep, username, None, cli_actor())
        click.echo(f"{username} không còn duyệt câu trả lời.")

    @leader.command("list")
    @pass_deployment
    def leader_list(dep):
        click.echo(table(store.list_leaders(dep.db), ("Tài khoản", "Đơn vị")))

    @group.command("list", help="Câu hỏi, phản ánh đang xử lý (hoặc --all).")
    @click.option("--all", "everything", is_flag=True)
    @pass_deployment
    def list_items(dep, everything):
        items = store.list_items(dep.db, statuses=None if everything else store.OPEN_STATES, limit=1000)
        today = store.today_local()
        click.echo(table([(store.format_code(i.code), i.kind_label, i.unit_id or "–", i.status_label, i.due_day,
                           "quá hạn" if i.overdue(today) else "") for i in items],
                         ("Mã", "Loại", "Đơn vị", "Trạng thái", "Hạn", "")))

    @group.command("demo", help="Nạp vài câu hỏi mẫu (đã trả lời và đang xử lý) cho bản chạy thử.")
    @pass_deployment
    def demo(dep):
        settings = settings_of(dep)
        if dep.db.execute("select 1 from feedback_items limit 1").fetchone():
            raise click.ClickException("đã có câu hỏi; không nạp thêm dữ liệu mẫu")
        actor = cli_actor()
        units = {"ho-tich": "phong-tu-phap", "dang-ky-kinh-doanh": "phong-tckh", "chung-thuc": "xa-an-dung"}
        for kind, requester, field, title, body, answer in DEMO:
            item = store.ask(dep, store.Question(kind=kind, requester=requester, title=title, body=body, field=field))
            unit = units[field] if dep.plan.has_unit(units[field]) else settings.triage_unit
            if item.status == "new":
                item = store.assign(dep, item.id, unit, actor)
            if answer:
                store.save_draft(dep, item.id, answer, actor)
                store.approve(dep, item.id, actor)
        click.echo(f"Đã nạp {len(DEMO)} câu hỏi mẫu.")

    @group.command("place", help="Tạo nơi đặt poster mã QR của trang gửi câu hỏi (một mã cho mỗi nơi).")
    @click.argument("unit")
    @click.option("--place", "place_text", help="Nơi đặt (mặc định: tên đơn vị), ví dụ “Quầy tiếp nhận hồ sơ”.")
    @pass_deployment
    def place(dep, unit, place_text):
        from ccch_core.placements import PlacementError, add_placement

        from .posters import TARGET, form_url

        if not dep.plan.has_unit(unit):
            raise click.ClickException(f"{unit}: không có đơn vị này trong kế hoạch")
        try:
            placement = add_placement(dep.db, dep.plan, TARGET, unit, place_text or dep.plan.unit(unit).name)
        except PlacementError as exc:
            raise click.ClickException(str(exc)) from None
        store.audit_placement(dep.db, cli_actor(), "place", placement.code)
        click.echo(f"{placement.code}  {form_url(dep, placement.code)}")

    @group.command("placements", help="Các nơi đặt poster của trang gửi câu hỏi, với số câu hỏi gửi qua mỗi nơi.")
    @pass_deployment
    def list_placements_command(dep):
        from ccch_core.placements import list_placements

        from .posters import TARGET, form_url

        counts = dict(dep.db.execute("select placement, count(*) from feedback_items where placement is not null "
                                     "group by placement").fetchall())
        rows = [(p.code, p.unit_id, p.place, "đang đặt" if p.active else "đã gỡ", counts.get(p.code, 0),
                 form_url(dep, p.code)) for p in list_placements(dep.db, target=TARGET)]
        click.echo(table(rows, ("Mã", "Đơn vị", "Nơi đặt", "Trạng thái", "Câu hỏi", "Địa chỉ")))

    @group.command("posters", help="In poster (PDF) cho các nơi đặt đang dùng của trang gửi câu hỏi.")
    @click.option("--out", "output", required=True, type=click.Path(dir_okay=False), help="Tệp PDF.")
    @click.option("--size", type=click.Choice(["A4", "A3"], case_sensitive=False), default="A4")
    @click.option("--code", "codes", multiple=True, help="Chỉ các mã này.")
    @pass_deployment
    def posters_command(dep, output, size, codes):
        from pathlib import Path

        from ccch_core.placements import list_placements
        from ccch_core.posters import public_url_problem

        from .posters import TARGET, poster_pdf

        problem = public_url_problem(dep.public_base_url, "trang gửi câu hỏi")
        if problem is not None:
            if problem.blocking:
                raise click.ClickException(problem.message)
            click.echo(problem.message, err=True)
        chosen = [p for p in list_placements(dep.db, target=TARGET, active_only=True) if not codes or p.code in codes]
        if not chosen:
            raise click.ClickException("không có nơi đặt nào (tạo bằng: ccch feedback place <đơn vị>)")
        Path(output).write_bytes(poster_pdf(dep, chosen, size.upper()))
        click.echo(f"Đã in {len(chosen)} poster vào {output}.")

    @group.command("reindex", help="Dựng lại chỉ mục tìm kiếm từ các câu trả lời công khai.")
    @pass_deployment
    def reindex(dep):
        db = dep.db
        with write_transaction(db):
            db.execute("delete from feedback_search")
            rows = db.execute("select id, public_title, public_body, public_answer from feedback_items "
                              "where published = 1").fetchall()
            for row in rows:
                store.index_item(db, *row)
        click.echo(f"Đã lập chỉ mục {len(rows)} câu trả lời.")

    return group
