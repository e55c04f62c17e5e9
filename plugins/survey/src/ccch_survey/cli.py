"""``ccch survey …``: load surveys, place posters, print them, read results, export.

The group is built anew for each invocation (never at import time), like every ccch command.
"""

from __future__ import annotations

import difflib
import unicodedata
from importlib import resources
from pathlib import Path

import click

from ccch_core import audit
from ccch_core.cli import echo_json, pass_deployment, table
from ccch_core.limits import limits_of
from ccch_core.periods import Period, PeriodError, PeriodType
from ccch_core.report import cut_to_one_decimal
from ccch_core.storage import open_private, write_transaction

from .actions import record
from .definition import DefinitionError, load_definition, loads_definition
from .settings import settings_of


def _period(text: str | None) -> Period | None:
    if text in (None, "all", "tat-ca"):
        return None
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from None


SURVEY_TEMPLATES = {
    "sipas": "Citizens' satisfaction with administrative services: the five SIPAS factors (Ministry of "
             "Home Affairs), 16 questions on a 5-level scale, for posters at one-stop desks",
}
"""The surveys that ship in the wheel (``templates/survey/<name>.toml``), with what each is for."""


def template_text(name: str) -> str:
    """The TOML text of the built-in survey ``name`` (a key of :data:`SURVEY_TEMPLATES`)."""
    return (resources.files("ccch_survey") / "templates" / "survey" / f"{name}.toml").read_text(encoding="utf-8")


def _pct(value):
    # Cut, never rounded up, as `ccch status` and the report show it: 11/12 is 91.6%, not 91.7%.
    return "–" if value is None else f"{cut_to_one_decimal(value):.1f}%"


def _did_you_mean(value: str, choices) -> str:
    """" Có phải: a, b?" for the choices close to a mistyped value (difflib), or ""."""
    close = difflib.get_close_matches(value, sorted(set(choices)), n=3, cutoff=0.6)
    return f" Có phải: {', '.join(close)}?" if close else ""


def _check_unit(plan, value: str | None, option: str) -> None:
    """Refuse a unit option naming no unit of the plan: a mistyped unit must not filter everything
    out and print an empty table or an empty CSV as if there were no responses."""
    if value is None or plan.has_unit(value):
        return
    typed = unicodedata.normalize("NFC", value).casefold()  # input methods differ in composing marks
    by_name = [u.id for u in plan.units if typed in (u.name.casefold(), *(a.casefold() for a in u.aliases))]
    hint = f" Mã của đơn vị tên này là: {', '.join(by_name)}." if by_name else _did_you_mean(
        value, [u.id for u in plan.units])
    raise click.ClickException(f"{option} “{value}”: không có đơn vị nào có mã này trong kế hoạch.{hint}")


def _check_kind(plan, value: str | None, option: str = "--kind") -> None:
    """Refuse a unit kind no unit of the plan has."""
    kinds = {u.kind for u in plan.units}
    if value is None or value in kinds:
        return
    raise click.ClickException(f"{option} “{value}”: không có đơn vị nào thuộc loại này trong kế hoạch."
                               + (_did_you_mean(value, kinds) or f" Các loại có: {', '.join(sorted(kinds))}."))


def _check_survey(db, value: str | None, option: str) -> None:
    """Refuse a survey id that is not in the database."""
    from . import store

    if value is None or store.get_survey(db, value) is not None:
        return
    raise click.ClickException(f"{option} “{value}”: không có khảo sát nào có mã này."
                               + _did_you_mean(value, [s.id for s in store.list_surveys(db)]))


def _placement_or_fail(db, code: str, option: str):
    """The placement with this code, or an error naming the code with close matches."""
    from . import store

    found = store.get_placement(db, store.normalise_code(code))
    if found is None:
        raise click.ClickException(f"{option} “{code}”: không có nơi đặt nào có mã này."
                                   + _did_you_mean(store.normalise_code(code),
                                                   [p.code for p in store.list_placements(db)]))
    return found


def survey_group() -> click.Group:
    """Build the ``survey`` command group."""
    from . import exports, posters, store
    from .results import compute_results

    def check_public_url(deployment, allow_local_url: bool) -> None:
        """Stop before printing a QR code citizens cannot open (loopback, private, local name) unless
        --allow-local-url; warn on plain http. Runs before anything is created or written."""
        problem = posters.public_url_problem(deployment.public_base_url)
        if problem is None:
            return
        config = deployment.config.path
        where = f"\nTệp cấu hình của triển khai này: {config}" if config else ""
        if problem.blocking and not allow_local_url:
            raise click.ClickException(
                f"{problem.message}{where}\nNếu mã QR chỉ dùng trong mạng nội bộ (ví dụ máy tính bảng tại quầy "
                "nối cùng mạng), chạy lại lệnh với --allow-local-url.")
        click.echo(f"Cảnh báo: {problem.message}", err=True)

    allow_local_url_option = click.option(
        "--allow-local-url", is_flag=True,
        help="Print even if public_base_url is a loopback/private address or a local-network name "
             "(QR codes for a local network only).")

    @click.group("survey")
    def survey():
        """Citizen satisfaction surveys: surveys, placements (posters), results, exports."""

    @survey.command("load")
    @click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--template", "template_name", metavar="NAME",
                  help="Load a survey that ships with the plugin instead of a file (see `ccch survey templates`).")
    @click.option("--note", help="A note for the new version (what changed).")
    @pass_deployment
    def load(deployment, file, template_name, note):
        """Load a survey file (TOML), or a built-in one with --template; changed content becomes a new
        version."""
        if (file is None) == (template_name is None):
            raise click.UsageError("give a survey FILE or --template NAME (one of them); "
                                   f"built-in templates: {', '.join(SURVEY_TEMPLATES)}")
        try:
            if template_name is not None:
                if template_name not in SURVEY_TEMPLATES:
                    raise click.BadParameter(f"no built-in survey {template_name!r}; built-in: "
                                             f"{', '.join(SURVEY_TEMPLATES)}.{_did_you_mean(template_name, SURVEY_TEMPLATES)}",
                                             param_hint="--template")
                definition = loads_definition(template_text(template_name), f"--template {template_name}",
                                              limits=limits_of(deployment))
            else:
                definition = load_definition(file, limits=limits_of(deployment))
            with write_transaction(deployment.db):
                version, created = store.save_survey(deployment.db, definition, by="cli", note=note)
                if created:
                    record(deployment.db, audit.cli_actor(), "survey.save", f"Khảo sát {definition.id}",
                           f"phiên bản {version}" + (f"; ghi chú: {note}" if note else ""))
        except DefinitionError as exc:
            raise click.ClickException("Tệp khảo sát có lỗi, chưa nạp gì:\n" + "\n".join(exc.problems)) from None
        if created:
            click.echo(f"{definition.id}: version {version} saved ({len(definition.questions)} questions).")
        else:
            click.echo(f"{definition.id}: unchanged (version {version}).")

    @survey.command("templates")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def templates(as_json):
        """The surveys that ship with the plugin, for `ccch survey load --template NAME` (or copy one
        with `ccch survey show` after loading it, to change it)."""
        rows = []
        for name, about in SURVEY_TEMPLATES.items():
            definition = loads_definition(template_text(name), f"--template {name}")
            rows.append({"name": name, "title": definition.title, "questions": len(definition.questions),
                         "about": about})
        if as_json:
            echo_json(rows)
            return
        click.echo(table([(r["name"], r["title"], r["questions"], r["about"]) for r in rows],
                         ["Template", "Title", "Questions", "About"]))

    @survey.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def list_(deployment, as_json):
        """Surveys with their current version and status."""
        found = store.list_surveys(deployment.db)
        if as_json:
            echo_json([{"id": s.id, "title": s.title, "version": s.current_version, "status": s.status} for s in found])
            return
        click.echo(table([(s.id, s.title, s.current_version, s.status) for s in found],
                         ["Survey", "Title", "Version", "Status"]))

    @survey.command("show")
    @click.argument("survey_id")
    @click.option("--version", type=int, help="A version (default: the current one).")
    @pass_deployment
    def show(deployment, survey_id, version):
        """Print a survey version as a survey file (TOML)."""
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        try:
            click.echo(store.get_version(deployment.db, survey_id, version).to_toml(), nl=False)
        except store.SurveyError as exc:
            raise click.ClickException(f"--version: {exc}.") from None

    for name, status in (("open", "open"), ("close", "closed")):
        def make(status=status):
            @pass_deployment
            def command(deployment, survey_id):
                _check_survey(deployment.db, survey_id, "SURVEY_ID")
                try:
                    with write_transaction(deployment.db):
                        store.set_status(deployment.db, survey_id, status)
                        record(deployment.db, audit.cli_actor(), "survey.status", f"Khảo sát {survey_id}",
                               "mở" if status == "open" else "đóng")
                except store.SurveyError as exc:
                    raise click.ClickException(f"{exc}.") from None
                click.echo(f"{survey_id}: {status}.")
            return command
        survey.command(name, help=f"Mark a survey {status} (closed: posters show a notice).")(
            click.argument("survey_id")(make()))

    @survey.command("place")
    @click.argument("survey_id")
    @click.argument("unit_id")
    @click.option("--place", required=True, help='Where the poster hangs, e.g. "Quầy tiếp nhận hồ sơ".')
    @click.option("--kiosk", is_flag=True, help="A tablet at a counter instead of a poster.")
    @pass_deployment
    def place(deployment, survey_id, unit_id, place, kiosk):
        """Create one placement (a poster or kiosk at one place of a unit); prints its code and URL."""
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        _check_unit(deployment.plan, unit_id, "UNIT_ID")
        try:
            with write_transaction(deployment.db):
                p = store.add_placement(deployment.db, deployment.plan, survey_id, unit_id, place,
                                        mode="kiosk" if kiosk else "poster")
                record(deployment.db, audit.cli_actor(), "survey.place", f"Nơi đặt {p.code}",
                       f"khảo sát {survey_id}, đơn vị {unit_id}, {p.mode}: {p.place}")
        except store.SurveyError as exc:  # survey and unit are checked above: what is left is the place text
            raise click.ClickException(f"--place: {exc}.") from None
        click.echo(f"{p.code}  {store.placement_url(deployment.public_base_url, settings_of(deployment), p.code)}")

    @survey.command("place-kind")
    @click.argument("survey_id")
    @click.argument("kind")
    @click.option("--place", help="Place text printed on every poster (default: the unit's name).")
    @click.option("--within", help="Only units below this unit.")
    @click.option("--kiosk", is_flag=True, help="Kiosks instead of posters.")
    @pass_deployment
    def place_kind(deployment, survey_id, kind, place, within, kiosk):
        """One placement for every unit of KIND (e.g. one_stop_desk) that has none for the survey yet."""
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        _check_kind(deployment.plan, kind, "KIND")
        _check_unit(deployment.plan, within, "--within")
        try:
            with write_transaction(deployment.db):
                created, kept = store.place_for_kind(deployment.db, deployment.plan, survey_id, kind, place,
                                                     mode="kiosk" if kiosk else "poster", within=within)
                if created:
                    record(deployment.db, audit.cli_actor(), "survey.place", f"{len(created)} nơi đặt",
                           f"khảo sát {survey_id}, mọi đơn vị loại {kind}: " + ", ".join(p.code for p in created))
        except store.SurveyError as exc:
            raise click.ClickException(f"{exc}.") from None
        for p in created:
            click.echo(f"{p.code}  {p.unit_id}  {p.place}")
        click.echo(f"{len(created)} created, {len(kept)} already placed.")

    @survey.command("placements")
    @click.option("--survey", "survey_id", help="Only this survey.")
    @click.option("--within", help="Only units at or below this unit.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def placements(deployment, survey_id, within, as_json):
        """Placements with their code, unit, place and link."""
        _check_survey(deployment.db, survey_id, "--survey")
        _check_unit(deployment.plan, within, "--within")
        settings = settings_of(deployment)
        found = store.list_placements(deployment.db, survey_id=survey_id, plan=deployment.plan, within=within)
        rows = [{"code": p.code, "survey": p.survey_id, "unit": p.unit_id, "place": p.place, "mode": p.mode,
                 "active": p.active, "url": store.placement_url(deployment.public_base_url, settings, p.code)}
                for p in found]
        if as_json:
            echo_json(rows)
            return
        click.echo(table([(r["code"], r["unit"], r["place"], r["mode"], "yes" if r["active"] else "retired", r["url"])
                          for r in rows], ["Code", "Unit", "Place", "Mode", "Active", "URL"]))

    @survey.command("retire")
    @click.argument("code")
    @pass_deployment
    def retire(deployment, code):
        """Take a poster down: its link shows a notice; its responses stay."""
        if not _placement_or_fail(deployment.db, code, "CODE").active:
            raise click.ClickException(f"CODE “{code}”: nơi đặt này đã gỡ trước đó; không có gì thay đổi.")
        try:
            with write_transaction(deployment.db):
                p = store.retire_placement(deployment.db, code)
                record(deployment.db, audit.cli_actor(), "survey.retire", f"Nơi đặt {p.code}",
                       f"khảo sát {p.survey_id}, đơn vị {p.unit_id}")
        except store.SurveyError as exc:
            raise click.ClickException(f"CODE {exc}.") from None
        click.echo(f"{p.code}: retired.")

    @survey.group("kiosk")
    def kiosk():
        """Tablets enrolled at a kiosk placement (what the placement's "Máy tính bảng" page does)."""

    @kiosk.command("list")
    @click.argument("code")
    @pass_deployment
    def kiosk_list(deployment, code):
        """The placement's tablets: enrolled and revoked, with who enrolled them and when last seen."""
        placement = _placement_or_fail(deployment.db, code, "CODE")
        devices = store.list_kiosk_devices(deployment.db, placement.id)
        if not devices:
            click.echo(f"{placement.code}: chưa có máy tính bảng nào được đăng ký.")
            return
        click.echo(table([[d.id, d.label, d.enrolled_at, d.enrolled_by or "", d.last_seen_at or "",
                           "đang dùng" if d.active else f"đã thu hồi {d.revoked_at}"] for d in devices],
                         ["id", "tablet", "enrolled", "by", "last seen", "state"]))

    @kiosk.command("enrol")
    @click.argument("code")
    @click.option("--label", default="Máy tính bảng", show_default=True, help="The tablet's name (which desk).")
    @pass_deployment
    def kiosk_enrol(deployment, code, label):
        """A one-time enrolment code for a tablet of this kiosk placement (shown once): on the tablet,
        open the printed address and type the code. Earlier unused codes stop working."""
        from ccch_core.privacy import keyed_hash

        from .review import ENROL_LINK_PURPOSE

        placement = _placement_or_fail(deployment.db, code, "CODE")
        label = " ".join((label or "").split())[:80] or "Máy tính bảng"
        enrolment = store.new_enrolment_code()
        minutes = settings_of(deployment).kiosk_enrolment_minutes
        try:
            with write_transaction(deployment.db):
                expires = store.create_enrolment(deployment.db, placement,
                                                 keyed_hash(deployment.secret_key, ENROL_LINK_PURPOSE, enrolment),
                                                 label, by=audit.cli_actor(), minutes=minutes)
                record(deployment.db, audit.cli_actor(), "survey.kiosk_code", f"Nơi đặt {placement.code}",
                       f"mã đăng ký cho máy tính bảng “{label}”, dùng được {minutes} phút")
        except store.SurveyError as exc:
            raise click.ClickException(f"CODE {exc}.") from None
        url = store.placement_url(deployment.public_base_url, settings_of(deployment), placement.code)
        click.echo(f"On the tablet, open {url}/dang-ky and type the code {enrolment[:4]}-{enrolment[4:]} "
                   f"(valid until {expires.isoformat(timespec='seconds')}, once).")

    @kiosk.command("revoke")
    @click.argument("code")
    @click.argument("device_id", type=click.IntRange(1, 2**62))
    @pass_deployment
    def kiosk_revoke(deployment, code, device_id):
        """Revoke a tablet: its answers then go through the public limits like a phone's."""
        placement = _placement_or_fail(deployment.db, code, "CODE")
        device = store.get_kiosk_device(deployment.db, device_id)
        if device is None or device.placement_id != placement.id:
            raise click.ClickException(f"DEVICE_ID {device_id}: không phải máy tính bảng của nơi đặt {placement.code} "
                                       f"(xem: ccch survey kiosk list {placement.code}).")
        with write_transaction(deployment.db):
            done = store.revoke_kiosk_device(deployment.db, placement.id, device.id, by=audit.cli_actor())
            if done:
                record(deployment.db, audit.cli_actor(), "survey.kiosk_revoke", f"Nơi đặt {placement.code}",
                       f"thu hồi máy tính bảng “{device.label}” (#{device.id})")
        if not done:
            raise click.ClickException(f"DEVICE_ID {device_id}: “{device.label}” đã được thu hồi trước đó; "
                                       "không có gì thay đổi.")
        click.echo(f"{device.label} (#{device.id}): revoked.")

    @survey.command("posters")
    @click.argument("survey_id")
    @click.option("--kind", help="Every unit of this kind (e.g. one_stop_desk, post_culture_point).")
    @click.option("--within", help="Only units at or below this unit.")
    @click.option("--code", "codes", multiple=True, help="These placements (repeatable).")
    @click.option("--create", is_flag=True, help="With --kind: first create a placement for units that have none.")
    @click.option("--place", help="With --create: the place text (default: the unit's name).")
    @click.option("--size", type=click.Choice(["A4", "A3"], case_sensitive=False), default="A4", show_default=True)
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="The PDF file to write.")
    @allow_local_url_option
    @pass_deployment
    def posters_cmd(deployment, survey_id, kind, within, codes, create, place, size, output, allow_local_url):
        """Print-ready posters (PDF, one page each) for a batch of placements."""
        settings = settings_of(deployment)
        plan = deployment.plan
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        if create and not kind:
            raise click.UsageError("--create cần có --kind: tạo nơi đặt cho mọi đơn vị của loại nào "
                                   "(ví dụ --kind one_stop_desk).")
        # Every check before --create writes anything and before the PDF is written.
        _check_kind(plan, kind)
        _check_unit(plan, within, "--within")
        wanted = {store.normalise_code(c): c for c in codes}
        for code, typed in wanted.items():
            found = store.get_placement(deployment.db, code)
            if found is None:
                raise click.ClickException(
                    f"--code “{typed}”: không có nơi đặt nào có mã này."
                    + _did_you_mean(code, [p.code for p in store.list_placements(deployment.db, survey_id=survey_id)]))
            if found.survey_id != survey_id:
                raise click.ClickException(f"--code “{typed}”: nơi đặt này thuộc khảo sát “{found.survey_id}”, "
                                           f"không phải “{survey_id}”.")
            if not found.active:
                raise click.ClickException(f"--code “{typed}”: nơi đặt này đã gỡ (retired), không in áp phích.")
            if kind and not (plan.has_unit(found.unit_id) and plan.unit(found.unit_id).kind == kind):
                raise click.ClickException(f"--code “{typed}”: đơn vị {found.unit_id} của nơi đặt này không thuộc "
                                           f"loại “{kind}” (--kind).")
            if within and not (plan.has_unit(found.unit_id) and plan.is_within(found.unit_id, within)):
                raise click.ClickException(f"--code “{typed}”: đơn vị {found.unit_id} của nơi đặt này không nằm "
                                           f"trong “{within}” (--within).")
        check_public_url(deployment, allow_local_url)
        if create:
            with write_transaction(deployment.db):
                created, _ = store.place_for_kind(deployment.db, plan, survey_id, kind, place, within=within)
                if created:
                    record(deployment.db, audit.cli_actor(), "survey.place", f"{len(created)} nơi đặt",
                           f"khảo sát {survey_id}, mọi đơn vị loại {kind}: " + ", ".join(p.code for p in created))
            click.echo(f"{len(created)} placements created.")
        chosen = [p for p in store.list_placements(deployment.db, survey_id=survey_id, plan=plan, within=within,
                                                   active_only=True)
                  if (not kind or (plan.has_unit(p.unit_id) and plan.unit(p.unit_id).kind == kind))
                  and (p.code in wanted if codes else not p.is_kiosk)]
        if not chosen:
            raise click.ClickException("Không có nơi đặt poster nào đang dùng khớp với lựa chọn này; chưa ghi tệp nào. "
                                       "Tạo nơi đặt bằng `ccch survey place-kind` hoặc thêm --create.")
        items = [posters.PosterItem(store.placement_url(deployment.public_base_url, settings, p.code), p.code,
                                    plan.unit(p.unit_id).name if plan.has_unit(p.unit_id) else p.unit_id, p.place)
                 for p in chosen]
        with click.progressbar(length=len(items), label=f"Posters {size.upper()}") as bar:
            data = posters.posters_pdf(items, posters.PosterText(deployment.config.name), size.upper(),
                                       progress=bar.update)
        output.write_bytes(data)
        click.echo(f"{len(items)} posters written to {output} ({len(data) // 1024} KiB).")

    @survey.command("qr")
    @click.argument("code")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="A .png or .svg file.")
    @allow_local_url_option
    @pass_deployment
    def qr(deployment, code, output, allow_local_url):
        """The QR code of a placement alone, as PNG or SVG (by the file's extension)."""
        p = _placement_or_fail(deployment.db, code, "CODE")
        check_public_url(deployment, allow_local_url)
        url = store.placement_url(deployment.public_base_url, settings_of(deployment), p.code)
        if output.suffix.lower() == ".png":
            output.write_bytes(posters.qr_png(url))
        elif output.suffix.lower() == ".svg":
            output.write_text(posters.qr_svg(url), encoding="utf-8")
        else:
            raise click.BadParameter(f"“{output.name}”: tệp phải có đuôi .png hoặc .svg.", param_hint="--output")
        click.echo(f"{output}: {url}")

    @survey.command("results")
    @click.argument("survey_id")
    @click.option("--period", default=None, help="2024-03, 2024-Q1, 2024-H1, 2024 or all (default: this month).")
    @click.option("--unit", "unit_id", help="Only placements at or below this unit.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_deployment
    def results(deployment, survey_id, period, unit_id, as_json):
        """Satisfaction index and mean score per criterion and unit; scans, responses, conversion."""
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        _check_unit(deployment.plan, unit_id, "--unit")
        chosen = Period.current(PeriodType.MONTH) if period is None else _period(period)
        res = compute_results(deployment.db, deployment.plan, survey_id, chosen, within=unit_id)
        if as_json:
            def score(s):
                return {"answers": s.n, "satisfied": s.satisfied, "index": s.index, "mean": s.mean,
                        "counts": list(s.counts)}
            echo_json({
                "survey": survey_id, "period": str(chosen) if chosen else None, "overall": score(res.overall),
                "responses": res.responses, "scans": res.scans, "conversion": res.conversion,
                "sections": [{"title": t, **score(s)} for t, s in res.sections],
                "questions": [{"key": q.key, "prompt": q.prompt, **score(q.score)} for q in res.scale_questions],
                "units": [{"unit": u.id, "responses": n, **score(s)} for u, s, n in res.units],
                "placements": [{"code": p.placement.code, "unit": p.placement.unit_id, "scans": p.scans,
                                "responses": p.responses, "conversion": p.conversion, **score(p.score)}
                               for p in res.placements],
            })
            return
        click.echo(f"{res.title} — {chosen.label_vi if chosen else 'toàn bộ'}")
        click.echo(f"Satisfaction index {_pct(res.overall.index)}, mean {res.overall.mean or 0:.2f}, "
                   f"{res.overall.n} answers, {res.responses} responses, {res.scans} scans")
        click.echo(table([(q.key, q.prompt, _pct(q.score.index), f"{q.score.mean:.2f}" if q.score.mean else "–",
                           q.score.n) for q in res.scale_questions], ["Key", "Criterion", "Index", "Mean", "Answers"]))
        click.echo(table([(u.name, _pct(s.index), n) for u, s, n in res.units], ["Unit", "Index", "Responses"]))

    @survey.command("export")
    @click.argument("survey_id")
    @click.option("--period", default="all", show_default=True, help="2024-03, 2024-Q1, 2024 or all.")
    @click.option("--unit", "unit_id", help="Only placements at or below this unit.")
    @click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @pass_deployment
    def export(deployment, survey_id, period, unit_id, output):
        """Responses as CSV (UTF-8 with BOM, one row per response), streamed to a file."""
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        _check_unit(deployment.plan, unit_id, "--unit")  # before the file is opened: nothing written
        header, rows = exports.wide_rows(deployment.db, deployment.plan, survey_id, _period(period), unit_id)
        count = 0
        with open_private(output, "w", encoding="utf-8", newline="") as handle:  # answers and comments: 0600
            for piece in exports.csv_lines(header, rows):
                handle.write(piece)
                count += piece.count("\r\n")
        click.echo(f"{output}: {count - 1} responses.")

    @survey.command("retally")
    @click.argument("survey_id", required=False)
    @pass_deployment
    def retally(deployment, survey_id):
        """Rebuild the answer tallies from the stored answers (a check and repair tool)."""
        _check_survey(deployment.db, survey_id, "SURVEY_ID")
        click.echo(f"{store.retally(deployment.db, survey_id)} tally rows written.")

    @survey.command("forget-contact")
    @click.option("--phone", help="Delete every contact with this phone number.")
    @click.option("--response", "response_ids", type=int, multiple=True, help="Delete the contact of a response.")
    @pass_deployment
    def forget_contact(deployment, phone, response_ids):
        """Delete contact details a citizen left (their anonymous answers stay).

        A phone number is looked up by its keyed hash. `ccch privacy erase` does the same in every
        plugin at once.
        """
        from ccch_core.privacy import PersonalDataError, normalise_phone

        from .personal_data import erase_person

        if not phone and not response_ids:
            raise click.UsageError("Hãy ghi --phone hoặc --response (có thể ghi nhiều --response).")
        try:
            normalised = normalise_phone(phone) if phone else None
        except PersonalDataError as exc:
            raise click.BadParameter(str(exc), param_hint="--phone") from None
        db = deployment.db
        # Every id is checked before anything is deleted (the phone's contacts too): a mistyped id
        # must not pass for "no contact there" while the rest of the request is carried out.
        wanted = list(dict.fromkeys(response_ids))
        known = set()
        if wanted:
            marks = ", ".join("?" * len(wanted))
            known = {r[0] for r in db.execute(f"select id from survey_responses where id in ({marks})", wanted)}
        unknown = [rid for rid in wanted if rid not in known]
        if unknown:
            raise click.ClickException("\n".join(f"--response {rid}: không có phản hồi nào có mã này." for rid in unknown)
                                       + "\nKhông có gì bị xóa.")
        actor = audit.cli_actor()
        deleted = len(erase_person(deployment, normalised, None, False, actor)) if normalised else 0
        if wanted:
            with write_transaction(db):
                for response_id in wanted:
                    if store.forget_contacts(db, response_ids=[response_id]):
                        deleted += 1
                        record(db, actor, "survey.forget_contact", f"Phản hồi #{response_id}",
                               "Xóa thông tin liên hệ; câu trả lời giữ lại ẩn danh")
                        click.echo(f"Phản hồi #{response_id}: đã xóa thông tin liên hệ.")
                    else:
                        click.echo(f"Phản hồi #{response_id}: không có thông tin liên hệ nào để xóa.")
        click.echo(f"{deleted} contact(s) deleted.")

    return survey
