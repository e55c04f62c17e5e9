"""``ccch initiatives …``: load a call, appoint the panel, load entries, assign, results, awards."""

from __future__ import annotations

import datetime as dt
import io
import re
import tomllib
from pathlib import Path

import click

from ccch_core.audit import cli_actor
from ccch_core.cli import echo_json, pass_deployment, table
from ccch_core.limits import LimitError, limits_of, loads_toml, read_limited
from ccch_core.periods import to_local, utc_now
from ccch_core.storage import open_private

from .calls import (
    PANEL_ROLES,
    ROUNDS,
    CallError,
    appoint,
    definition_for_deployment,
    get_call,
    list_calls,
    panel,
    plan_of_call,
    save_call,
)
from .definition import DefinitionError
from .documents import DocumentError, check_document, plain_docx
from .entries import EntryError, check_form, submit_entry
from .judging import (
    JudgingError,
    advance_to_final,
    assign_judges,
    decide_awards,
    publish_results,
    rank,
    results,
)


def _read(path: str, deployment) -> str:
    try:
        return read_limited(path, Path(path).name, limits_of(deployment)).decode("utf-8")
    except (OSError, UnicodeDecodeError, LimitError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None


def _call(deployment, slug: str):
    call = get_call(deployment.db, slug)
    if call is None:
        raise click.ClickException(f"Không có cuộc thi viết sáng kiến “{slug}”. Xem: ccch initiatives list")
    return call


def _trial(text: str, now: dt.datetime) -> str:
    """The call's text with ``opens`` a week ago and ``closes`` in 30 days (Vietnam time)."""
    local = to_local(now).replace(tzinfo=None, microsecond=0)
    opens = (local - dt.timedelta(days=7)).replace(hour=7, minute=0, second=0)
    closes = (local + dt.timedelta(days=30)).replace(hour=17, minute=0, second=0)
    text = re.sub(r"(?m)^opens\s*=.*$", f"opens = {opens.isoformat()}", text)
    return re.sub(r"(?m)^closes\s*=.*$", f"closes = {closes.isoformat()}", text)


@click.group("initiatives")
def initiatives_group():
    """Cuộc thi viết sáng kiến về CCHC: calls, panel, entries, judging, results."""


@initiatives_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_deployment
def check_command(deployment, path):
    """Check a call's TOML file; print every problem."""
    try:
        definition = definition_for_deployment(deployment, _read(path, deployment), file=Path(path).name,
                                               limits=limits_of(deployment))
    except DefinitionError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    click.echo(f"OK: {definition.title} — {len(definition.categories)} lĩnh vực, {len(definition.criteria)} tiêu chí, "
               f"{len(definition.awards)} loại giải.")


@initiatives_group.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--trial", is_flag=True, help="Move opens/closes so that the call is open now (a demo).")
@pass_deployment
def load_command(deployment, path, trial):
    """Create or update the call a TOML file defines."""
    text = _read(path, deployment)
    if trial:
        text = _trial(text, utc_now())
    try:
        call, created = save_call(deployment, text, actor=cli_actor())
    except DefinitionError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    except CallError as exc:
        raise click.ClickException(str(exc)) from None
    d = call.definition
    click.echo(f"{'Đã tạo' if created else 'Đã cập nhật'} cuộc thi {call.slug}: {call.title}. Nhận bài từ "
               f"{to_local(d.opens_at):%H:%M %d/%m/%Y} đến trước {to_local(d.closes_at):%H:%M %d/%m/%Y} (giờ Việt Nam).")


@initiatives_group.command("list")
@pass_deployment
def list_command(deployment):
    """The calls."""
    rows = []
    for call in list_calls(deployment.db):
        n = deployment.db.execute("select count(*) from initiative_entries where call_id = ? and status = 'submitted'",
                                  [call.id]).fetchone()[0]
        rows.append((call.slug, call.title, ROUNDS[call.stage], n))
    click.echo(table(rows, ["Slug", "Tên", "Vòng", "Bài"]))


@initiatives_group.group("panel")
def panel_group():
    """The panel of a call: the secretary and the judges."""


@panel_group.command("add")
@click.argument("slug")
@click.argument("username")
@click.option("--role", type=click.Choice(sorted(PANEL_ROLES)), required=True)
@click.option("--unit", help="The judge's unit (default: the account's unit).")
@pass_deployment
def panel_add(deployment, slug, username, role, unit):
    """Give USERNAME a seat on the panel of SLUG."""
    try:
        seat = appoint(deployment, _call(deployment, slug), username, role, unit, actor=cli_actor())
    except CallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{seat.username}: {seat.role_label} ({seat.unit_id or 'không có đơn vị'}).")


@panel_group.command("list")
@click.argument("slug")
@pass_deployment
def panel_list(deployment, slug):
    """The panel of SLUG."""
    rows = [(s.username, s.role_label, s.unit_id or "") for s in panel(deployment.db, _call(deployment, slug).id)]
    click.echo(table(rows, ["Tài khoản", "Vai trò", "Đơn vị"]))


@initiatives_group.group("entries")
def entries_group():
    """Entries of a call."""


@entries_group.command("load")
@click.argument("slug")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_deployment
def entries_load(deployment, slug, path):
    """Submit the entries a TOML file describes ([[entries]] with title, category, entrant_kind,
    unit_id, authors = [["Họ tên", "unit"]…], contact_email, summary, and document = "file.docx"
    or text = "…" for a plain DOCX made from the text). The call must be open."""
    call = _call(deployment, slug)
    try:
        doc = loads_toml(_read(path, deployment), Path(path).name, limits_of(deployment))
    except (LimitError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    for i, item in enumerate(doc.get("entries") or [], 1):
        form = {k: v for k, v in item.items() if isinstance(v, str)}
        for n, (name, unit) in enumerate(item.get("authors") or [], 1):
            form[f"author_{n}"], form[f"author_unit_{n}"] = name, unit
        form["consent"] = "1"
        try:
            fields = check_form(plan_of_call(deployment, call), call, form)
            if item.get("document"):
                data = read_limited(Path(path).parent / item["document"], None, limits_of(deployment))
            else:
                data = plain_docx([p.strip() for p in str(item.get("text", "")).split("\n\n") if p.strip()])
            entry = submit_entry(deployment, call, fields, check_document(data, limits_of(deployment)))
        except EntryError as exc:
            raise click.ClickException(f"entries[{i}]: " + "; ".join(exc.errors.values())) from None
        except (DocumentError, LimitError, OSError) as exc:
            raise click.ClickException(f"entries[{i}]: {exc}") from None
        click.echo(f"{entry.code}: {entry.title}")


@initiatives_group.command("assign")
@click.argument("slug")
@click.option("--round", "round_", type=click.Choice(sorted(ROUNDS)), help="Default: the call's current round.")
@pass_deployment
def assign_command(deployment, slug, round_):
    """Assign judges to every entry of the round (load balanced, conflicts excluded)."""
    call = _call(deployment, slug)
    try:
        report = assign_judges(deployment, call, round_ or call.stage, actor=cli_actor())
    except JudgingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{report.created} lượt phân công mới, {report.moved} lượt chuyển. Số bài mỗi giám khảo: "
               + ", ".join(f"{u} {n}" for u, n in sorted(report.loads.items())))
    for entry_id, missing in report.short:
        click.echo(f"Bài #{entry_id}: thiếu {missing} giám khảo (không đủ giám khảo không xung đột).", err=True)


@initiatives_group.command("results")
@click.argument("slug")
@click.option("--round", "round_", type=click.Choice(sorted(ROUNDS)))
@click.option("--json", "as_json", is_flag=True)
@pass_deployment
def results_command(deployment, slug, round_, as_json):
    """Scores and ranking of a round, by category."""
    call = _call(deployment, slug)
    ranked = rank(call, results(deployment.db, call, round_ or call.stage))
    rows = [{"category": cat, "rank": r.rank, "code": r.entry.code, "title": r.entry.title, "judges": r.judges,
             "score": None if r.score is None else round(r.score, 2),
             "spread": None if r.spread is None else round(r.spread, 2), "flagged": r.flagged}
            for cat, items in ranked.items() for r in items]
    if as_json:
        echo_json({"call": call.slug, "round": round_ or call.stage, "results": rows})
        return
    click.echo(table([(r["category"], r["rank"] or "–", r["code"], r["title"], r["judges"],
                       "–" if r["score"] is None else f"{r['score']:.2f}", "!" if r["flagged"] else "")
                      for r in rows], ["Lĩnh vực", "Hạng", "Mã", "Tên", "GK", "Điểm", "Lệch"]))


@initiatives_group.command("final")
@click.argument("slug")
@pass_deployment
def final_command(deployment, slug):
    """Close the preliminary round: the best entries of each category go to the final round."""
    try:
        n = advance_to_final(deployment, _call(deployment, slug), actor=cli_actor())
    except JudgingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{n} bài vào vòng chung khảo.")


@initiatives_group.command("awards")
@click.argument("slug")
@click.option("--publish", is_flag=True, help="Also publish the results (the public list of awarded initiatives).")
@pass_deployment
def awards_command(deployment, slug, publish):
    """Give the awards from the last round's ranking."""
    call = _call(deployment, slug)
    rows = decide_awards(deployment, call, actor=cli_actor())
    click.echo(f"{len(rows)} giải.")
    if publish:
        try:
            publish_results(deployment, call, actor=cli_actor())
        except JudgingError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("Đã công bố kết quả.")


@initiatives_group.command("certificates")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The PDF file to write.")
@pass_deployment
def certificates_command(deployment, slug, output):
    """Write the certificates of the awards decided (one A4 page each) to a PDF."""
    from .certificates import certificates_pdf
    from .judging import awards_of

    call = _call(deployment, slug)
    awards = awards_of(deployment.db, call)
    if not awards:
        raise click.ClickException("Chưa xét giải: ccch initiatives awards " + slug)
    Path(output).write_bytes(certificates_pdf(plan_of_call(deployment, call), call, awards))
    click.echo(f"{len(awards)} giấy chứng nhận: {output}")


@initiatives_group.command("decision")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The DOCX file to write.")
@click.option("--number", help="The decision's number (digits), if already given.")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), help="The day it is signed (YYYY-MM-DD).")
@click.option("--signer-name", help="The signer's full name.")
@pass_deployment
def decision_command(deployment, slug, output, number, day, signer_name):
    """Write the decision on the awards (Quyết định, Decree 30 layout) to a DOCX file.

    Uses the text saved on the call's "Quyết định khen thưởng" page (or the pre-filled one); the
    options given here are saved with it. Needs the export plugin, which writes the document."""
    from ccch_core.documents import DocumentWriterMissing, write_document

    from .decision import DecisionFormError, decision_for, parse_form, save_draft, saved_draft
    from .judging import awards_of

    call = _call(deployment, slug)
    if not awards_of(deployment.db, call):
        raise click.ClickException("Chưa xét giải: ccch initiatives awards " + slug)
    fields = saved_draft(deployment.db, plan_of_call(deployment, call), call).as_form()
    given = {"number": number, "day": day.date().isoformat() if day else None, "signer_name": signer_name}
    fields.update({k: v for k, v in given.items() if v is not None})
    try:
        draft = parse_form(fields)
    except DecisionFormError as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from None
    if any(v is not None for v in given.values()):
        save_draft(deployment, call, draft, actor=cli_actor())
    buffer = io.BytesIO()  # nothing is written to ``output`` if the document cannot be made
    try:
        write_document(deployment, decision_for(deployment, call, draft), buffer)
    except DocumentWriterMissing as exc:
        raise click.ClickException(str(exc)) from None
    with open_private(output, "wb") as stream:  # authors' names: personal data
        stream.write(buffer.getvalue())
    click.echo(f"Quyết định khen thưởng ({len(awards_of(deployment.db, call))} sáng kiến đạt giải): {output}")
