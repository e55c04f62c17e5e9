"""``ccch contest …``: set up and run contests from the command line (docs/contest.md lists every
command). The click group is built when the CLI is built, never at import time of the core."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ccch_core.audit import cli_actor
from ccch_core.cli import echo_json, pass_deployment, table
from ccch_core.limits import limits_of
from ccch_core.questions import QuestionError
from ccch_core.report import DataScope
from ccch_core.storage import open_private

from . import bank as bank_mod
from .contests import ContestError, get_contest, list_contests
from .definition import DefinitionError, definition_to_toml, load_definition, loads_definition
from .lifecycle import set_status


def _contest(deployment, slug):
    contest = get_contest(deployment, slug)
    if contest is None:
        known = ", ".join(c.slug for c in list_contests(deployment)) or "none"
        raise click.ClickException(f"no contest {slug!r} (contests: {known})")
    return contest


def _round(contest, number):
    try:
        return contest.round(number)
    except KeyError:
        raise click.ClickException(f"contest {contest.slug!r} has no round {number} "
                                   f"(rounds: {', '.join(str(r.number) for r in contest.rounds)})") from None


def _local(instant) -> str:
    from ccch_core.periods import to_local

    return to_local(instant).strftime("%d/%m/%Y %H:%M:%S")


@click.group("contest")
def contest_group():
    """The CCHC knowledge contest: set up, import questions, run rounds, rank, prizes, export."""


CONTEST_TEMPLATES = {
    "tim-hieu-cchc": "A knowledge contest on administrative reform: 4 weekly rounds, civil servants (20 "
                     "questions) and citizens (15), prizes per audience; names no unit of a plan",
}
"""The contest definitions that ship in the wheel (``data/<name>.toml``), with what each is."""


def contest_template_text(name: str) -> str:
    """The TOML text of the built-in contest definition ``name`` (a key of :data:`CONTEST_TEMPLATES`)."""
    from importlib import resources

    return (resources.files("ccch_contest") / "data" / f"{name}.toml").read_text(encoding="utf-8")


@contest_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def list_command(deployment, as_json):
    """Every contest with its status and rounds."""
    contests = list_contests(deployment)
    if as_json:
        echo_json([{"slug": c.slug, "title": c.title, "status": c.status,
                    "rounds": [{"number": r.number, "opens": r.opens, "closes": r.closes} for r in c.rounds]}
                   for c in contests])
        return
    click.echo(table([(c.slug, c.title, c.status, len(c.rounds)) for c in contests],
                     ["Slug", "Title", "Status", "Rounds"]))


@contest_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_deployment
def check_command(deployment, path):
    """Validate a contest definition file (TOML) without saving it."""
    try:
        definition = load_definition(path, deployment.plan, limits=limits_of(deployment))
    except DefinitionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: OK — {definition.title} ({len(definition.rounds)} rounds, "
               f"{len(definition.audiences)} audiences)")


@contest_group.command("templates")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def templates_command(as_json):
    """The contest definitions that ship with the plugin; each loads under any plan."""
    rows = []
    for name, about in CONTEST_TEMPLATES.items():
        definition = loads_definition(contest_template_text(name), None, f"--template {name}")
        rows.append({"name": name, "title": definition.title, "rounds": len(definition.rounds),
                     "audiences": len(definition.audiences), "about": about})
    if as_json:
        echo_json(rows)
        return
    click.echo(table([(r["name"], r["title"], r["rounds"], r["audiences"], r["about"]) for r in rows],
                     ["Template", "Title", "Rounds", "Audiences", "About"]))


@contest_group.command("template")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it to this file (default: print it).")
def template_command(name, output):
    """Print (or write) the built-in contest definition NAME, to adapt and load."""
    text = contest_template_text(_template_name(name))
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists():
        raise click.BadParameter(f"{output} exists; choose another file", param_hint="--output")
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}: adapt the title, organiser, rules, rounds and prizes, then "
               f"`ccch contest check {output}` and `ccch contest load {output}`.")


def _template_name(name: str) -> str:
    if name not in CONTEST_TEMPLATES:
        import difflib

        close = difflib.get_close_matches(name, list(CONTEST_TEMPLATES), n=1, cutoff=0.6)
        raise click.BadParameter(f"no built-in contest {name!r}; built-in: {', '.join(CONTEST_TEMPLATES)}"
                                 + (f". Did you mean {close[0]!r}?" if close else ""), param_hint="NAME")
    return name


@contest_group.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--template", "template_name", metavar="NAME",
              help="Load a built-in definition instead of a file (see `ccch contest templates`).")
@click.option("--publish", is_flag=True, help="Publish the contest after loading it.")
@click.option("--trial", is_flag=True,
              help="Load a trial copy: every round moved by the same whole number of days so that one is "
                   "open now (the file is not changed). For a demo or a rehearsal.")
@click.option("--open-round", type=int, help="With --trial: the round to open now (default: the first).")
@pass_deployment
def load_command(deployment, path, template_name, publish, trial, open_round):
    """Create or update a contest from its definition file (TOML), or a built-in one with
    --template; the slug identifies it."""
    from .contests import save_definition
    from .trial import shifted_to_now

    if open_round is not None and not trial:
        raise click.UsageError("--open-round goes with --trial")
    if (path is None) == (template_name is None):
        raise click.UsageError("give a definition file PATH or --template NAME (one of them); "
                               f"built-in: {', '.join(CONTEST_TEMPLATES)}")
    try:
        if template_name is not None:
            text = contest_template_text(_template_name(template_name))
            definition = loads_definition(text, deployment.plan, f"--template {template_name}",
                                          limits=limits_of(deployment))
            path = Path(f"{template_name}.toml")
        else:
            definition = load_definition(path, deployment.plan, limits=limits_of(deployment))
        if trial:
            definition = shifted_to_now(definition, open_round=open_round)
        contest, created = save_definition(deployment, definition, username=cli_actor())
    except DefinitionError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyError:
        raise click.ClickException(f"{path}: there is no round {open_round}") from None
    click.echo(f"{'Created' if created else 'Updated'} contest {contest.slug}: {contest.title}")
    if trial:
        opened = contest.definition.round(open_round) if open_round else contest.definition.rounds[0]
        click.echo(f"Trial: the rounds are moved so that {opened.name} is open now "
                   f"({opened.opens:%d/%m/%Y %H:%M} – {opened.closes:%d/%m/%Y %H:%M}); {path.name} is unchanged")
    if publish:
        _publish(deployment, contest)


def _publish(deployment, contest):
    try:
        contest = set_status(deployment, contest, "published", username=cli_actor())
    except ContestError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{contest.slug}: published")


@contest_group.command("definition")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@pass_deployment
def definition_command(deployment, slug, output):
    """Print (or write) a contest's definition as TOML."""
    text = definition_to_toml(_contest(deployment, slug).definition)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}")
    else:
        click.echo(text, nl=False)


@contest_group.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def show_command(deployment, slug, as_json):
    """A contest: status, rounds with entrants, the question bank, readiness checks."""
    from .checks import readiness
    from .ranking import ensure_closed

    contest = ensure_closed(deployment, _contest(deployment, slug))
    summary = bank_mod.bank_summary(deployment.db, contest.id)
    checks = readiness(deployment, contest)
    db = deployment.db
    rounds = []
    for r in contest.rounds:
        n = db.execute("select count(distinct participant_id), count(*) from contest_attempts where round_id = ? and "
                       "status = 'submitted'", [r.id]).fetchone()
        rounds.append({"number": r.number, "name": r.name, "opens": r.opens, "closes": r.closes, "participants": n[0],
                       "attempts": n[1], "truth": r.truth, "perfect": r.perfect_count})
    if as_json:
        echo_json({"slug": contest.slug, "title": contest.title, "status": contest.status, "rounds": rounds,
                   "questions": summary, "checks": [{"message": c.message, "blocking": c.blocking} for c in checks]})
        return
    click.echo(f"{contest.title} [{contest.slug}] — {contest.status}")
    click.echo(table([(r["number"], r["name"], _local(r["opens"]), _local(r["closes"]), r["participants"],
                       r["attempts"], "" if r["truth"] is None else f"{r['truth']:g}") for r in rounds],
                     ["Round", "Name", "Opens (VN)", "Closes (VN)", "People", "Attempts", "Truth"]))
    click.echo(f"Questions: {summary['total']} — " + ", ".join(f"{k}: {v}" for k, v in summary["by_category"].items()))
    for check in checks:
        click.echo(f"{'PROBLEM' if check.blocking else 'note'}: {check.message}")


for _status, _help in (("publish", "Open the contest's public pages (checks readiness first)."),
                       ("unpublish", "Take the contest's public pages down (back to draft)."),
                       ("archive", "Archive a finished contest (public pages down, data kept).")):
    def _make(status=_status, help_text=_help):
        @contest_group.command(status, help=help_text)
        @click.argument("slug")
        @pass_deployment
        def command(deployment, slug):
            contest = _contest(deployment, slug)
            if status == "publish":
                _publish(deployment, contest)
                return
            target = {"unpublish": "draft", "archive": "archived"}[status]
            contest = set_status(deployment, contest, target, username=cli_actor())
            click.echo(f"{contest.slug}: {contest.status}")
        return command
    _make()


@contest_group.group("questions")
def questions_group():
    """The question bank: import (CSV, XLSX, Aiken .txt, GIFT .gift), export, template."""


@questions_group.command("import")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Retire the active questions the file does not contain.")
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows even when some rows are bad.")
@click.option("--force-replace", is_flag=True,
              help="With --replace: replace even when the new bank cannot supply an attempt (refused otherwise).")
@pass_deployment
def questions_import(deployment, slug, path, replace, skip_bad_rows, force_replace):
    """Import questions; every bad row is listed with its line and nothing is imported unless
    --skip-bad-rows is given. A wrong header imports nothing whatever the options; --replace is
    refused when it would leave a bank that cannot supply an attempt, unless --force-replace.
    Messages are in Vietnamese, like the manager's web page."""
    contest = _contest(deployment, slug)
    try:
        rows = bank_mod.read_question_file(path, limits=limits_of(deployment))
        questions, audiences, problems = bank_mod.parse_rows(rows, contest.definition, plan=deployment.plan)
    except QuestionError as exc:
        message = str(exc) if str(exc).startswith(path.name) else f"{path.name}: {exc}"
        raise click.ClickException(message) from None
    for problem in problems:
        click.echo(f"{path.name}:{problem.line}: {problem.message}", err=True)
    if problems and not skip_bad_rows:
        raise click.ClickException(f"{path.name} có {len(problems)} dòng lỗi; chưa nhập câu nào "
                                   "(sửa các dòng đó, hoặc dùng --skip-bad-rows để bỏ qua)")
    try:
        added, unchanged, retired = bank_mod.import_questions(
            deployment.db, contest.id, questions, audiences, replace=replace, username=cli_actor(),
            definition=contest.definition, force=force_replace)
    except bank_mod.ReplaceRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Đã đọc {len(questions)} câu hỏi: thêm hoặc sửa {added}, giữ nguyên {unchanged}, ngừng dùng {retired}"
               + (f"; bỏ qua {len(problems)} dòng lỗi" if problems else "") + ".")


@questions_group.command("export")
@click.argument("slug")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_deployment
def questions_export(deployment, slug, path):
    """Export the active bank to CSV or XLSX (the import columns: it imports back unchanged)."""
    contest = _contest(deployment, slug)
    rows = bank_mod.export_rows(deployment.db, contest.id)
    if path.suffix.lower() == ".xlsx":
        bank_mod.write_xlsx(rows, path)
    else:
        with path.open("w", encoding="utf-8", newline="") as handle:
            bank_mod.write_csv(rows, handle)
    click.echo(f"Wrote {len(rows)} questions to {path}")


@questions_group.command("template")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def questions_template(path):
    """Write an empty question template (XLSX with a guide sheet, or CSV) with three examples."""
    if path.suffix.lower() == ".xlsx":
        bank_mod.write_xlsx(bank_mod.EXAMPLE_ROWS, path)
    else:
        path.write_text(bank_mod.template_csv(), encoding="utf-8")
    click.echo(f"Wrote {path}")


@contest_group.command("close-round")
@click.argument("slug")
@click.argument("number", type=int)
@pass_deployment
def close_round_command(deployment, slug, number):
    """After a round has closed: finish overdue attempts and compute the prediction's true figure."""
    from ccch_core.periods import utc_now

    from .ranking import close_round

    contest = _contest(deployment, slug)
    round_state = _round(contest, number)
    if round_state.state(utc_now()) != "closed":
        raise click.ClickException(f"round {number} closes at {_local(round_state.closes)} (Vietnam time); "
                                   "it can be closed only after that")
    round_state = close_round(deployment, contest, round_state, force=True)
    truth = "" if round_state.truth is None else f"; true figure of the prediction: {round_state.truth:g}"
    click.echo(f"Round {number}: {round_state.entrant_count} ranked entries, {round_state.perfect_count} with every "
               f"answer correct{truth}")
    _echo_detection(deployment, contest)


@contest_group.command("detect")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def detect_command(deployment, slug, as_json):
    """Flag suspicious attempts and registrations for the review queue (too fast to have been read,
    many registrations from one address, identical answer sheets submitted together). Cheap when
    nothing is new; run it from cron, or let the review queue and the prize pages run it."""
    from .detection import counts, detect

    contest = _contest(deployment, slug)
    run = detect(deployment, contest)
    waiting = counts(deployment.db, contest)["open"]
    if as_json:
        echo_json({"checked": run.checked, "flagged": run.flagged, "open": waiting})
        return
    _echo_detection(deployment, contest, run)


def _echo_detection(deployment, contest, run=None):
    from .detection import KIND_LABELS, counts, detect

    run = run or detect(deployment, contest)
    waiting = counts(deployment.db, contest)["open"]
    found = ", ".join(f"{KIND_LABELS[k]}: {n}" for k, n in run.flagged.items() if n) or "không có mục mới"
    click.echo(f"Phát hiện: đã xét {run.checked} bài thi mới; {found}. Chờ xem xét: {waiting} mục "
               f"(trang “Bài thi đáng ngờ” của cuộc thi).")


def _duration(ms_value):
    seconds = ms_value / 1000
    return f"{int(seconds // 60)}:{seconds % 60:06.3f}"


@contest_group.command("ranking")
@click.argument("slug")
@click.option("--round", "number", type=int, help="Round number (default: the current or last round).")
@click.option("--overall", is_flag=True, help="The whole contest (total score over the rounds).")
@click.option("--audience", help="Only this audience.")
@click.option("--limit", type=int, default=20, show_default=True, help="Entries to print.")
@click.option("--time-all", is_flag=True, help="Rank every entry of the round and print how long it took.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def ranking_command(deployment, slug, number, overall, audience, limit, time_all, as_json):
    """The ranking of a round (names, masked phones), one audience at a time.

    Without --audience, a contest with several audiences prints one ranking per audience (prizes
    are per audience, and audiences may answer different numbers of questions: a mixed ranking
    would mean nothing); --json then lists every audience's entries, each ranked within its own
    audience and carrying its ``audience``."""
    from ccch_core.periods import utc_now

    from .ranking import ensure_closed, entries, overall_entries, rank_round

    contest = ensure_closed(deployment, _contest(deployment, slug))
    known = [a.key for a in contest.definition.audiences]
    if audience is not None and known and audience not in known:
        raise click.ClickException(f"--audience “{audience}”: cuộc thi không có đối tượng này "
                                   f"(các đối tượng: {', '.join(known)}).")
    audiences = [audience] if audience is not None or len(known) < 2 else known
    names = {a.key: a.name for a in contest.definition.audiences}
    if overall:
        boards = [(key, overall_entries(deployment.db, contest, key, limit=limit)) for key in audiences]
        if as_json:
            echo_json([row | {"audience": key} if key is not None and "audience" not in row else row
                       for key, rows in boards for row in rows])
            return
        for key, rows in boards:
            if len(boards) > 1:
                click.echo(f"Đối tượng: {names.get(key, key)}")
            click.echo(table([(r["rank"], r["full_name"], r["phone_masked"], r["unit_id"], r["score"], r["rounds"],
                               _duration(r["duration_ms"])) for r in rows],
                             ["Rank", "Name", "Phone", "Unit", "Score", "Rounds", "Time"]))
        return
    now = utc_now()
    round_state = (_round(contest, number) if number else contest.current_round(now) or contest.last_closed_round(now)
                   or (contest.rounds[0] if contest.rounds else None))
    if round_state is None:
        raise click.ClickException("the contest has no rounds")
    if time_all:
        result = rank_round(deployment, contest, round_state, audience)
        click.echo(f"Ranked {result['entries']} entries of round {round_state.number} in {result['seconds']:.3f} s")
        return
    boards = [(key, list(entries(deployment.db, contest, round_state, key, limit=limit))) for key in audiences]
    if as_json:
        echo_json({"round": round_state.number, "final": bool(round_state.truth_at), "truth": round_state.truth,
                   "audiences": [key for key in audiences if key is not None],
                   "entries": [e.as_dict() for _, rows in boards for e in rows]})
        return
    state = "final" if round_state.truth_at else "provisional (round open)"
    click.echo(f"Round {round_state.number} — {state}" + (f"; true figure {round_state.truth:g}"
                                                           if round_state.truth is not None else ""))
    for key, rows in boards:
        if len(boards) > 1:
            click.echo(f"Đối tượng: {names.get(key, key)}")
        click.echo(table([(e.rank, e.full_name, e.phone_masked, e.unit_id, f"{e.score}/{e.total}",
                           "" if e.prediction is None else f"{e.prediction:g}", _duration(e.duration_ms))
                          for e in rows],
                         ["Rank", "Name", "Phone", "Unit", "Score", "Prediction", "Time"]))


@contest_group.command("prizes")
@click.argument("slug")
@click.option("--round", "number", type=int, help="Only this round.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def prizes_command(deployment, slug, number, as_json):
    """Prize lists of the closed rounds, the whole contest and the collective prizes."""
    from .detection import detect
    from .ranking import (
        collective_winners,
        ensure_closed,
        overall_prize_list,
        prize_list,
    )

    contest = ensure_closed(deployment, _contest(deployment, slug))
    detect(deployment, contest)  # so that the lists hold back what it flags
    out = []
    rounds = [_round(contest, number)] if number else contest.rounds
    for r in rounds:
        for audience in contest.definition.audiences:
            for w in prize_list(deployment, contest, r, audience.key):
                out.append({"scope": f"round {r.number}", "audience": audience.key, "prize": w.prize,
                            "rank": w.entry.rank, "name": w.entry.full_name, "phone": w.entry.phone_masked,
                            "unit": w.entry.unit_id, "score": w.entry.score, "held": w.held})
    if not number:
        for audience in contest.definition.audiences:
            for w in overall_prize_list(deployment, contest, audience.key):
                out.append({"scope": "overall", "audience": audience.key, "prize": w.prize, "rank": w.entry["rank"],
                            "name": w.entry["full_name"], "phone": w.entry["phone_masked"], "unit": w.entry["unit_id"],
                            "score": w.entry["score"], "held": w.held})
        for prize, winners in collective_winners(deployment, contest):
            for w in winners:
                out.append({"scope": "collective", "audience": prize.audience or "", "prize": w.prize, "rank": w.place,
                            "name": w.unit.name, "phone": "", "unit": w.unit.unit_id, "score": w.unit.participants,
                            "held": bool(w.held)})
    if as_json:
        echo_json(out)
        return
    click.echo(table([(o["scope"], o["audience"], o["prize"], o["rank"], o["name"] + (" (chờ xem xét)" if o["held"] else ""),
                       o["phone"], o["unit"], o["score"]) for o in out],
                     ["Scope", "Audience", "Prize", "Rank", "Name", "Phone", "Unit", "Score"]))


@contest_group.command("participation")
@click.argument("slug")
@click.option("--round", "number", type=int, help="Only this round.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_deployment
def participation_command(deployment, slug, number, as_json):
    """People who took part, per unit, and the rate against the unit's headcount."""
    from .ranking import participation

    contest = _contest(deployment, slug)
    rounds = [_round(contest, number).id] if number else None
    units = participation(deployment, contest, None, rounds)
    if as_json:
        echo_json([{"unit": u.unit_id, "name": u.name, "participants": u.participants, "headcount": u.headcount,
                    "rate": u.rate} for u in units])
        return
    click.echo(table([(u.unit_id, u.name, u.participants, u.headcount or "",
                       "" if u.rate is None else f"{u.rate:.1f}%") for u in units],
                     ["Unit", "Name", "People", "Headcount", "Rate"]))


def _target(deployment, contest, phone, participant_id, attempt_id, *, allow_attempt=True):
    from .participants import find_by_phone

    given = [x for x in (phone, participant_id, attempt_id) if x]
    if len(given) != 1 or (attempt_id and not allow_attempt):
        raise click.UsageError("give exactly one of --phone, --participant" + (", --attempt" if allow_attempt else ""))
    if phone:
        found = find_by_phone(deployment, contest, phone)
        if found is None:
            raise click.ClickException("no participant with this phone number")
        return found.id, None
    return participant_id, attempt_id


def _reason_command(name, disqualified, help_text):
    @contest_group.command(name, help=help_text)
    @click.argument("slug")
    @click.option("--phone", help="The participant's phone number.")
    @click.option("--participant", "participant_id", type=int, help="The participant's id.")
    @click.option("--attempt", "attempt_id", type=int, help="One attempt's id (only that attempt).")
    @click.option("--reason", default="", help="Why (required to disqualify).")
    @pass_deployment
    def command(deployment, slug, phone, participant_id, attempt_id, reason):
        from .moderation import disqualify_attempt, set_disqualified

        contest = _contest(deployment, slug)
        pid, aid = _target(deployment, contest, phone, participant_id, attempt_id)
        try:
            if aid:
                disqualify_attempt(deployment, contest, aid, disqualified, reason, cli_actor())
            else:
                set_disqualified(deployment, contest, pid, disqualified, reason, cli_actor())
        except KeyError:
            raise click.ClickException("no such participant or attempt in this contest") from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{'Disqualified' if disqualified else 'Reinstated'} "
                   f"{'attempt ' + str(aid) if aid else 'participant ' + str(pid)}; rankings updated.")
    return command


_reason_command("disqualify", True, "Disqualify a participant (or one attempt) with a reason; rankings update.")
_reason_command("reinstate", False, "Reinstate a disqualified participant (or attempt).")


@contest_group.command("erase")
@click.argument("slug")
@click.option("--phone", help="The participant's phone number.")
@click.option("--participant", "participant_id", type=int, help="The participant's id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_deployment
def erase_command(deployment, slug, phone, participant_id, yes):
    """Erase a participant's personal data on their request (Decree 13/2023/NĐ-CP)."""
    from .personal_data import erase_participant

    contest = _contest(deployment, slug)
    pid, _ = _target(deployment, contest, phone, participant_id, None, allow_attempt=False)
    if not yes:
        click.confirm(f"Erase the personal data of participant {pid}? This cannot be undone", abort=True)
    try:
        erase_participant(deployment, contest, pid, cli_actor())
    except KeyError:
        raise click.ClickException("no such participant in this contest") from None
    click.echo(f"Erased the personal data of participant {pid}; their attempts left the rankings.")


@contest_group.command("export")
@click.argument("slug")
@click.argument("table_name", metavar="TABLE",
                type=click.Choice(["participants", "attempts", "rankings", "prizes", "participation"]))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@pass_deployment
def export_command(deployment, slug, table_name, path):
    """Stream a table as CSV (UTF-8 with BOM) to PATH or standard output."""
    from .exports import TABLES_BY_NAME, stream_csv

    contest = _contest(deployment, slug)
    data_table = TABLES_BY_NAME[f"contest_{table_name}"]
    chunks = stream_csv(data_table.columns, data_table.rows(deployment, DataScope(), contest.id))
    if path:
        with open_private(path, "w", encoding="utf-8", newline="") as handle:  # personal data: 0600
            for chunk in chunks:
                handle.write(chunk)
        click.echo(f"Wrote {path}")
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)


@contest_group.command("purge-contacts")
@pass_deployment
def purge_command(deployment):
    """Erase the contact numbers kept for prize winners once their retention time has passed
    (`ccch privacy purge`, run daily, does this and erases all personal data after
    personal_data_retention_days)."""
    from .personal_data import purge_contacts

    click.echo(f"Erased {purge_contacts(deployment, actor=cli_actor())} contact phone number(s).")


@contest_group.command("prizes-handed")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_deployment
def prizes_handed_command(deployment, slug, yes):
    """Record that the prizes of SLUG were handed out: the winners' contact numbers are erased
    (everyone else's went when the last round closed)."""
    from ccch_core.periods import utc_now

    from .personal_data import record_prizes_handed

    contest = _contest(deployment, slug)
    if not contest.rounds or any(r.state(utc_now()) != "closed" for r in contest.rounds):
        raise click.ClickException(f"{slug}: a round is not closed yet; record the handover after the last round")
    if not yes:
        click.confirm(f"Record that every prize of {slug} was handed out and erase the winners' numbers?", abort=True)
    click.echo(f"Recorded; erased {record_prizes_handed(deployment, contest, cli_actor())} contact phone number(s).")
