"""The core's messaging plugin module: built-in senders and templates, ``ccch messages`` and
``ccch contacts``, and the personal data of the outbox and of unit contacts (erasure, retention)."""

from __future__ import annotations

import datetime as dt
import logging
import time

import click

from .. import audit, contacts, onetime
from ..cli import echo_json, pass_deployment, stop_on_signals, table
from ..hookspecs import hookimpl
from ..messages import outbox
from ..messages.base import CHANNELS, MessageError
from ..messages.delivery import Deliverer, DelivererBusy
from ..messages.templates import BUILTIN_TEMPLATES
from ..periods import VN_TZ
from ..privacy import Erasure
from ..storage import parse_utc, utc_now_iso, write_transaction


@hookimpl
def register_message_senders(register):
    from ..messages.kinds import BUILTIN_SENDERS

    for kind in BUILTIN_SENDERS:
        register(kind)


@hookimpl
def register_message_templates(register):
    for template in BUILTIN_TEMPLATES:
        register(template)


def _local(text: str | None) -> str:
    return parse_utc(text).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S") if text else "–"


def _each(deployment, message_ids, action, done: str) -> None:
    """Apply an officer's ``action`` (retry_message, cancel_message) to every id; the ones refused
    are named at the end, after the others were done (exit 1)."""
    refused = []
    for message_id in message_ids:
        try:
            action(deployment, message_id, actor=audit.cli_actor())
        except MessageError as exc:
            refused.append(str(exc).split(": ", 1)[-1])
    if len(refused) < len(message_ids):
        click.echo(f"{done} {len(message_ids) - len(refused)} tin nhắn.")
    if refused:
        raise click.ClickException("\n".join(refused))


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``ccch messages`` and ``ccch contacts``."""

    @cli.group("messages")
    def messages_group():
        """Messages (e-mail, SMS, Zalo): deliver the outbox, list, show, retry, cancel."""

    def _log_deliveries() -> None:
        """Each delivery as a line on standard error (the server's log, systemd's journal): with the
        development folder sender, a one-time code shows there as the SMS's text."""
        logger = logging.getLogger("ccch.messages")
        if not logger.handlers:
            from ..logs import NonBlockingStreamHandler

            handler = NonBlockingStreamHandler()  # a journal that falls behind must not stop deliveries
            handler.setFormatter(logging.Formatter("ccch messages: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False

    @messages_group.command("send")
    @click.option("--loop", is_flag=True, help="Keep delivering until stopped (systemd runs this beside `ccch serve`).")
    @click.option("--limit", type=click.IntRange(1, 10_000_000), help="Deliver at most this many messages.")
    @click.option("--channel", "channels", multiple=True, type=click.Choice(list(CHANNELS)),
                  help="Only this channel (repeat for several).")
    @click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
    @pass_deployment
    def send_command(deployment, loop, limit, channels, as_json):
        """Deliver the messages that are due, then exit (with --loop: keep delivering)."""
        deliverer = Deliverer(deployment)
        problems = deliverer.check_senders()
        if problems:
            raise click.ClickException("\n".join(problems))
        if loop:
            stop = stop_on_signals()
            _log_deliveries()
            click.echo(f"ccch: delivering messages of {deployment.config.name} "
                       f"({', '.join(f'{c} → {t.sender}' for c, t in deployment.messaging.settings.channels.items()) or 'no channel configured'}); "
                       "Ctrl+C to stop", err=True)
            deliverer.run_forever(stop=stop)
            return
        try:
            report = deliverer.run_once(limit=limit, channels=channels or None)
        except DelivererBusy:
            click.echo("Đang có một tiến trình khác gửi tin nhắn của nơi triển khai này (ccch serve hoặc "
                       "`ccch messages send --loop`): tin nhắn đến hạn sẽ được tiến trình đó gửi.")
            return
        finally:
            deliverer.close()
        if as_json:
            echo_json(report.to_dict())
            return
        click.echo(f"Đã gửi {report.sent}, thử lại sau {report.retried}, không gửi được {report.failed}; "
                   f"còn chờ {report.waiting}.")
        if report.recovered:
            click.echo(f"{report.recovered} tin nhắn đang gửi dở (trình gửi trước đã dừng) được xếp gửi lại.")
        for channel, until in report.paused_channels.items():
            click.echo(f"Kênh {CHANNELS.get(channel, channel)} tạm dừng đến {_local(until)} vì cổng gửi bị lỗi.")

    @messages_group.command("list")
    @click.option("--state", "state_filter", type=click.Choice(list(outbox.STATES)), help="Only messages in this state.")
    @click.option("--channel", type=click.Choice(list(CHANNELS)), help="Only this channel.")
    @click.option("--purpose", help="Only this purpose (otp, report_overdue…).")
    @click.option("--unit", "unit_id", help="Only messages about this unit.")
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="Rows to print.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (addresses masked).")
    @pass_deployment
    def list_command(deployment, state_filter, channel, purpose, unit_id, limit, as_json):
        """The outbox, newest first (addresses masked)."""
        if unit_id and not deployment.plan.has_unit(unit_id):
            raise click.BadParameter(f"no unit {unit_id!r} in the plan", param_hint="--unit")
        rows = outbox.list_messages(deployment.db, state=state_filter, channel=channel, purpose=purpose,
                                    unit_ids=[unit_id] if unit_id else None, limit=limit)
        if as_json:
            echo_json({"counts": outbox.counts_by_state(deployment.db), "messages": [m.to_dict() for m in rows]})
            return
        if not rows:
            click.echo("Không có tin nhắn nào.")
            return
        click.echo(table([(m.id, m.channel, m.address_masked, m.purpose, m.state_label, m.attempts,
                           _local(m.sent_at or m.failed_at or m.created_at), m.last_error or "") for m in rows],
                         ["#", "Kênh", "Người nhận", "Mục đích", "Tình trạng", "Lần thử", "Thời điểm", "Lý do"],
                         max_width=50))

    @messages_group.command("show")
    @click.argument("message_id", type=click.IntRange(1, 2**62))
    @click.option("--reveal", is_flag=True, help="Show the clear address and the parameters (personal data).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def show_command(deployment, message_id, reveal, as_json):
        """One message: its state, attempts, the gateway's reason and the text as it is sent."""
        message = outbox.get_message(deployment.db, message_id)
        if message is None:
            raise click.ClickException(f"no message #{message_id}")
        subject = text = None
        if message.params is not None:
            subject, text, _segments = outbox.render_message(deployment.messaging, message.channel, message.template,
                                                             message.params)
        if as_json:
            echo_json({**message.to_dict(reveal=reveal), "subject": subject, "text": text if reveal else None})
            return
        click.echo(f"Tin nhắn #{message.id} — {message.state_label}")
        click.echo(f"Kênh: {message.channel_label}; người nhận: {message.address if reveal and message.address else message.address_masked}")
        click.echo(f"Mục đích: {message.purpose}; mẫu: {message.template}; nguồn: {message.source or '–'}; "
                   f"đơn vị: {message.unit_id or '–'}")
        click.echo(f"Tạo lúc {_local(message.created_at)}; {message.attempts} lần thử; "
                   f"gửi lúc {_local(message.sent_at)}; mã của cổng gửi: {message.gateway_id or '–'}")
        if message.last_error:
            click.echo(f"Lý do: {message.last_error}")
        if message.erased_at:
            click.echo(f"Địa chỉ và nội dung đã xóa lúc {_local(message.erased_at)} (hết thời hạn lưu trữ hoặc theo yêu cầu).")
        elif reveal:
            if subject:
                click.echo(f"Tiêu đề: {subject}")
            click.echo(f"Nội dung:\n{text}")
        else:
            click.echo("(--reveal để xem nội dung và địa chỉ đầy đủ)")

    @messages_group.command("retry")
    @click.argument("message_ids", nargs=-1, type=click.IntRange(1, 2**62))
    @click.option("--failed", "all_failed", is_flag=True, help="Every failed message.")
    @pass_deployment
    def retry_command(deployment, message_ids, all_failed):
        """Send failed (or cancelled) messages again."""
        if all_failed:
            message_ids = [m.id for m in outbox.list_messages(deployment.db, state="failed", limit=1_000_000)]
        if not message_ids:
            raise click.UsageError("name message ids, or --failed")
        _each(deployment, message_ids, outbox.retry_message, "Đã xếp gửi lại")

    @messages_group.command("cancel")
    @click.argument("message_ids", nargs=-1, required=True, type=click.IntRange(1, 2**62))
    @pass_deployment
    def cancel_command(deployment, message_ids):
        """Cancel queued messages (they will not be sent)."""
        _each(deployment, message_ids, outbox.cancel_message, "Đã hủy")

    @messages_group.command("test")
    @click.argument("channel", type=click.Choice(list(CHANNELS)))
    @click.argument("address")
    @pass_deployment
    def test_command(deployment, channel, address):
        """Send a test message to ADDRESS now, to check a channel's settings."""
        try:
            message_id = outbox.queue_message(deployment, channel=channel, address=address, template="test",
                                              params={"deployment": deployment.config.name}, source="core")
        except MessageError as exc:
            raise click.ClickException(str(exc)) from None
        deliverer = Deliverer(deployment)
        try:
            deliverer.acquire()
        except DelivererBusy:
            # The running deliverer sends it: wait for its outcome instead of racing it.
            deliverer.close()
            for _ in range(100):
                message = outbox.get_message(deployment.db, message_id)
                if message.state in ("sent", "failed") or (message.state == "queued" and message.last_error):
                    break
                time.sleep(0.1)
            if message.state != "sent":
                raise click.ClickException(f"tin nhắn thử #{message_id}: {message.state_label}: "
                                           f"{message.last_error or 'chưa gửi sau 10 giây'}")
            click.echo(f"Đã gửi tin nhắn thử #{message_id} qua {CHANNELS[channel]} (mã của cổng gửi: "
                       f"{message.gateway_id or '–'}).")
            return
        try:
            row = deliverer.claim([channel])
            if row is None or row["id"] != message_id:
                raise click.ClickException("the test message is not due yet (the channel is backing off?); "
                                           "see `ccch messages list`")
            if row.get("capped"):
                raise click.ClickException(f"tin nhắn thử #{message_id}: vượt hạn mức tin nhắn thử trong ngày "
                                           "([messages.daily_caps])")
            result = deliverer.deliver_one(row)
        finally:
            deliverer.close()
        if result.outcome != "sent":
            raise click.ClickException(f"tin nhắn thử #{message_id}: {result.outcome}: {result.reason}")
        click.echo(f"Đã gửi tin nhắn thử #{message_id} qua {CHANNELS[channel]} (mã của cổng gửi: "
                   f"{result.gateway_id or '–'}).")

    @messages_group.command("senders")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def senders_command(deployment, as_json):
        """The senders installed, and which one serves each channel here."""
        messaging = deployment.messaging
        kinds = [{"name": k.name, "channels": list(k.channels), "description": k.description}
                 for k in messaging.sender_kinds.values()]
        channels = {c: {"sender": t.sender, "rate_per_minute": t.rate_per_minute,
                        "strip_diacritics": t.strip_diacritics} for c, t in messaging.settings.channels.items()}
        if as_json:
            echo_json({"senders": kinds, "channels": channels, "delivery": messaging.settings.delivery})
            return
        click.echo(table([(k["name"], ", ".join(k["channels"]), k["description"]) for k in kinds],
                         ["Sender", "Channels", "What it does"], max_width=70))
        click.echo("")
        for channel in CHANNELS:
            setting = channels.get(channel)
            click.echo(f"{channel}: {setting['sender'] if setting else 'not configured (messages wait)'}")

    # -- contacts -----------------------------------------------------------------------------

    @cli.group("contacts")
    def contacts_group():
        """Unit contacts: who receives a unit's messages (e-mail, SMS, Zalo)."""

    @contacts_group.command("add")
    @click.argument("unit_id")
    @click.argument("channel", type=click.Choice(list(CHANNELS)))
    @click.argument("address")
    @click.option("--name", help="Who: the person or office (Vietnamese).")
    @pass_deployment
    def contacts_add(deployment, unit_id, channel, address, name):
        """Add a contact of UNIT_ID: CHANNEL (email, sms, zalo) and ADDRESS."""
        try:
            contact = contacts.add_contact(deployment, unit_id, channel, address, name, actor=audit.cli_actor())
        except contacts.ContactError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Đầu mối #{contact.id}: {deployment.plan.unit(contact.unit_id).name}, {contact.channel_label} "
                   f"{contact.address}{' (' + contact.name + ')' if contact.name else ''}.")

    @contacts_group.command("list")
    @click.option("--unit", "unit_id", help="Only this unit's contacts.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def contacts_list(deployment, unit_id, as_json):
        """Every unit's contacts."""
        if unit_id and not deployment.plan.has_unit(unit_id):
            raise click.BadParameter(f"no unit {unit_id!r} in the plan", param_hint="--unit")
        found = contacts.list_contacts(deployment.db, unit_id)
        if as_json:
            echo_json([c.to_dict() for c in found])
            return
        if not found:
            click.echo("Chưa có đầu mối liên hệ nào (ccch contacts add / import).")
            return
        plan = deployment.plan
        click.echo(table([(c.id, c.unit_id, plan.unit(c.unit_id).name if plan.has_unit(c.unit_id) else "?",
                           c.channel, c.address, c.name or "") for c in found],
                         ["#", "Mã đơn vị", "Đơn vị", "Kênh", "Địa chỉ", "Người nhận"]))

    @contacts_group.command("remove")
    @click.argument("contact_id", type=click.IntRange(1, 2**62))
    @pass_deployment
    def contacts_remove(deployment, contact_id):
        """Remove a contact."""
        try:
            contact = contacts.remove_contact(deployment, contact_id, actor=audit.cli_actor())
        except contacts.ContactError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Đã xóa đầu mối #{contact.id} ({contact.channel_label} {contact.masked}).")

    @contacts_group.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @pass_deployment
    def contacts_import(deployment, file):
        """Add the contacts of a CSV file (columns unit,channel,address,name): all rows or none."""
        try:
            count = contacts.import_contacts(deployment, file, actor=audit.cli_actor())
        except contacts.ContactError as exc:
            raise click.ClickException("nothing was imported:\n" + "\n".join(f"{k}: {v}" for k, v in exc.errors.items())) from None
        click.echo(f"Đã nhập {count} đầu mối liên hệ.")


# -- personal data ------------------------------------------------------------------------------


def _hashes(deployment, phone, email) -> list[str]:
    found = []
    if phone:
        found.append(outbox.address_hash(deployment.secret_key, "sms", phone))
    if email:
        found.append(outbox.address_hash(deployment.secret_key, "email", outbox.normalise_email(email)))
    return found


def _message_match(phone, email) -> tuple[str, list[str]]:
    """SQL finding a person's messages by the address they keep until erasure."""
    clauses, args = [], []
    if phone:
        clauses.append("(channel in ('sms', 'zalo') and address = ?)")
        args.append(phone)
    if email:
        clauses.append("(channel = 'email' and lower(address) = ?)")
        args.append(outbox.normalise_email(email).casefold())
    return " or ".join(clauses), args


@hookimpl
def erase_personal_data(deployment, phone, citizen_id, email, dry_run, actor):
    hashes = _hashes(deployment, phone, email)
    if not hashes:
        return []
    db = deployment.db
    match, args = _message_match(phone, email)
    messages = db.execute(f"select id, state from messages where address is not null and ({match})", args).fetchall()
    marks = ", ".join("?" * len(hashes))
    found_contacts = db.execute(f"select id, unit_id, channel from unit_contacts where address_hash in ({marks})",
                                hashes).fetchall()
    items = []
    if messages:
        queued = sum(1 for m in messages if m[1] in ("queued", "sending"))
        items.append(Erasure(f"Tin nhắn gửi tới người này: địa chỉ và nội dung ({len(messages)} tin"
                             + (f", {queued} tin đang chờ sẽ bị hủy" if queued else "") + ")", len(messages)))
    for contact_id, unit_id, channel in found_contacts:
        name = deployment.plan.unit(unit_id).name if deployment.plan.has_unit(unit_id) else unit_id
        items.append(Erasure(f"Đầu mối liên hệ #{contact_id} của {name} ({CHANNELS.get(channel, channel)})"))
    if dry_run or not items:
        return items
    now = utc_now_iso()
    with write_transaction(db):
        db.execute("update messages set state = case when state in ('queued', 'sending') then 'cancelled' "
                   "else state end, address = null, params = null, erased_at = ? "
                   f"where address is not null and ({match})", [now, *args])
        db.execute(f"delete from unit_contacts where address_hash in ({marks})", hashes)
        audit.record(db, actor, "message.erase", f"{len(messages)} tin nhắn, {len(found_contacts)} đầu mối",
                     None, label="Xóa địa chỉ người nhận theo yêu cầu")
    return items


@hookimpl
def purge_expired_personal_data(deployment, now, dry_run, actor):
    days = deployment.messaging.settings.retention_days
    cutoff = utc_now_iso(now - dt.timedelta(days=days))
    db = deployment.db
    where = ("address is not null and state in ('sent', 'failed', 'cancelled') "
             "and coalesce(sent_at, failed_at, created_at) < ?")
    count = db.execute(f"select count(*) from messages where {where}", [cutoff]).fetchone()[0]
    code_cutoff = utc_now_iso(now - dt.timedelta(days=1))
    codes = db.execute("select count(*) from one_time_codes where coalesce(spent_at, expires_at) < ?",
                       [code_cutoff]).fetchone()[0]
    items = []
    if count:
        items.append(Erasure(f"Địa chỉ người nhận và nội dung của tin nhắn đã gửi xong quá {days} ngày", count))
    if codes:
        items.append(Erasure("Mã xác nhận đã dùng hoặc hết hạn quá một ngày", codes))
    if dry_run or not items:
        return items
    with write_transaction(db):
        db.execute(f"update messages set address = null, params = null, erased_at = ? "
                   f"where {where}", [utc_now_iso(now), cutoff])
        onetime.purge_codes(db, now)
    return items
