"""The figures of a plan the size of the country (#26): every step through the documented commands.

Generates the plan and its year of data with ``bench/national_plan.py`` (or reuses a folder it
wrote), makes a deployment with ``ccch init``, raises its import limit (a month's CSV has 43,186
rows, over the default ``[limits] max_rows``), then runs a list of named steps, each a ``ccch``
command in its own process, timed from outside, and prints one line per step: its name, the
wall seconds, the CPU seconds of the processes it ran (user + system: the steadier figure on a
shared machine), rows per CPU second where it stores rows, and the bytes it printed where that is
the figure.

Each step is a separate process, so its time includes the interpreter's start-up and the opening of
the deployment (configuration, plugins, the plan file). The step ``open deployment`` measures that
alone (``ccch measure list`` finding nothing, the plan's cache file already written), and import steps also print their rows/s without its CPU time: the
rate at which the import itself checks and stores rows.

    .venv/bin/python bench/national_bench.py                       # full size, first month timed
    .venv/bin/python bench/national_bench.py --scale 0.1           # a tenth, quick
    .venv/bin/python bench/national_bench.py --data /tmp/nat --deployment /tmp/nat-dep --year-data
    .venv/bin/python bench/national_bench.py --deployment /tmp/nat-dep --steps "status month,status year"

``--year-data`` loads the other eleven months too (untimed steps are not printed), as the
views of a year need. ``--deployment FOLDER`` keeps the deployment there; when that folder
already holds one, it is reused as it is (nothing loaded again) and only the steps run.
``--steps`` picks steps by name (comma-separated); ``--json FILE`` writes the results.

The imports' own rate without a process around them (start-up is most of a month's
``report-activity --from-csv``): ``bench/activity_import_bench.py`` times ``import_activity_csv``
or ``import_measurement_csv`` in process, five runs on fresh copies of a deployment.

To add a figure, append a step to ``STEPS``: a name and a function that runs something and returns
what it measured (``rows`` and/or ``bytes``); the runner times it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import national_plan

BIN = Path(sys.executable).parent
CCCH = str(BIN / "ccch")
# What the deployment needs beyond `ccch init`'s defaults: a month's CSV has more rows than 20,000.
LIMITS = "\n[limits]\nmax_rows = 200000\nmax_file_bytes = 50000000\n"
PLUGINS = ("export",)


@dataclass
class Context:
    """What a step needs: the generated data, the deployment, and figures of earlier steps."""

    data: Path
    manifest: dict
    deployment: Path
    results: dict[str, dict] = field(default_factory=dict)
    fresh: bool = True
    """Whether the deployment was made by this run (else it was reused with its data)."""
    preliminary: list = field(default_factory=list)
    """Steps timed while preparing (validate, init): (name, wall, CPU seconds, measured)."""

    @property
    def config(self) -> Path:
        return self.deployment / "ccch.toml"

    @property
    def year(self) -> int:
        return self.manifest["year"]

    def ccch(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``ccch --config <deployment> ARGS``; stop the bench with its output if it fails."""
        done = subprocess.run([CCCH, "--config", str(self.config), *args], check=False, capture_output=True)
        if check and done.returncode != 0:
            raise SystemExit(f"ccch {' '.join(args)} failed ({done.returncode}):\n"
                             f"{done.stdout.decode()[-2000:]}\n{done.stderr.decode()[-4000:]}")
        return done


@dataclass
class Step:
    """A named, timed step: ``run(context)`` returns what it measured (``rows``, ``bytes``)."""

    name: str
    run: Callable[[Context], dict]
    note: str = ""
    loads: bool = False
    """Whether the step stores data (skipped when a loaded deployment is reused)."""


def _validate(ctx: Context) -> dict:
    subprocess.run([CCCH, "plan", "validate", str(ctx.data / "plan.toml")], check=True, capture_output=True)
    return {"rows": ctx.manifest["units"]}


def _open(ctx: Context) -> dict:
    # Opened as an import opens it (migrations checked, plugins started), asking for nothing: a
    # query that finds no row. prepare() has opened it once, so the plan's cache file is written.
    ctx.ccch("measure", "list", "--period", f"{ctx.year}-01", "--indicator", "-", "--json")
    return {}


def _measure_import(month: int) -> Callable[[Context], dict]:
    def run(ctx: Context) -> dict:
        entry = ctx.manifest["measurements"][month - 1]
        ctx.ccch("measure", "import", str(ctx.data / entry["file"]))
        return {"rows": entry["rows"]}
    return run


def _activity_import(month: int) -> Callable[[Context], dict]:
    def run(ctx: Context) -> dict:
        entry = ctx.manifest["activity"][month - 1]
        ctx.ccch("report-activity", "--from-csv", str(ctx.data / entry["file"]))
        return {"rows": entry["rows"], "reports": entry["reports"]}
    return run


def _status(period: str, *extra: str) -> Callable[[Context], dict]:
    def run(ctx: Context) -> dict:
        done = ctx.ccch("status", "--period", period.format(year=ctx.year), *extra)
        return {"bytes": len(done.stdout)}
    return run


STEPS: list[Step] = [
    Step("open deployment", _open, "ccch measure list finding nothing: interpreter, plugins, plan (cached)"),
    Step("measure import, one month", _measure_import(1), "ccch measure import measurements/YYYY-01.csv",
         loads=True),
    Step("report-activity --from-csv, one month", _activity_import(1),
         "ccch report-activity --from-csv activity/YYYY-01.csv", loads=True),
    Step("status month", _status("{year}-03"), "ccch status --period YYYY-03"),
    Step("status month --json", _status("{year}-03", "--json"), "ccch status --period YYYY-03 --json"),
    Step("status year", _status("{year}"), "ccch status --period YYYY"),
]
"""The figures of issue #26, in the order of its table. Append new ones here."""


def timed(run: Callable[[], dict]) -> tuple[float, float, dict]:
    """Run ``run``; its wall time, the CPU time (user + system) of the processes it ran, and what
    it returned. The CPU time is the steadier figure on a machine shared with others."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    measured = run()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, measured


def prepare(args) -> Context:
    """Generate (or reuse) the data and make (or reuse) the deployment; returns the context."""
    data = args.data or Path(tempfile.mkdtemp(prefix="ccch-national-data-"))
    if not (data / "manifest.json").exists():
        started = time.perf_counter()
        national_plan.generate(data, args.scale, args.seed)
        print(f"generated {data} in {time.perf_counter() - started:.1f} s")
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    deployment = args.deployment or Path(tempfile.mkdtemp(prefix="ccch-national-dep-"))
    ctx = Context(data, manifest, deployment)
    ctx.fresh = not ctx.config.exists()
    if ctx.fresh:
        ctx.preliminary.append(("plan validate", *timed(lambda: _validate(ctx))))
        plugins = [a for p in PLUGINS for a in ("--plugin", p)]

        def init() -> dict:
            subprocess.run([CCCH, "init", str(deployment), "--plan", str(data / "plan.toml"), "--force", *plugins],
                           check=True, capture_output=True)
            return {}

        ctx.preliminary.append(("init", *timed(init)))
        with ctx.config.open("a", encoding="utf-8") as f:
            f.write(LIMITS)
    ctx.ccch("db", "status")  # untimed: writes the plan's cache file if it is not there yet
    return ctx


def run_steps(ctx: Context, names: set[str] | None, year_data: bool) -> list[dict]:
    """Run the chosen steps in order and print a line for each; the results as dicts."""
    results = []
    print(f"{'step':<42} {'wall':>9} {'CPU':>9}  figures (rates by CPU time)")

    def report(name: str, wall: float, cpu: float, measured: dict, one_command: bool = False) -> None:
        line = {"step": name, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), **measured}
        startup = ctx.results.get("open deployment", {}).get("cpu_seconds")
        if measured.get("rows") and cpu > 0:
            line["rows_per_cpu_s"] = round(measured["rows"] / cpu, 1)
            if one_command and startup and cpu > startup:
                line["rows_per_cpu_s_without_startup"] = round(measured["rows"] / (cpu - startup), 1)
        ctx.results[name] = line
        results.append(line)
        extra = ""
        if "rows_per_cpu_s" in line:
            extra += f"  {measured['rows']:>9,} rows  {line['rows_per_cpu_s']:>10,.0f} rows/s"
            if "rows_per_cpu_s_without_startup" in line:
                extra += f" ({line['rows_per_cpu_s_without_startup']:,.0f} without start-up)"
        if "bytes" in measured:
            extra += f"  {measured['bytes']:>12,} bytes"
        print(f"{name:<42} {wall:>8.2f}s {cpu:>8.2f}s{extra}", flush=True)

    for name, wall, cpu, measured in ctx.preliminary:
        report(name, wall, cpu, measured)
    for step in STEPS:
        if names and step.name not in names:
            continue
        if step.loads and not ctx.fresh:
            print(f"{step.name:<42} skipped (the deployment already holds data)")
            continue
        report(step.name, *timed(lambda step=step: step.run(ctx)), one_command=True)
        if step.name == "report-activity --from-csv, one month" and year_data and ctx.fresh:
            def load_rest() -> dict:
                for month in range(2, len(ctx.manifest["measurements"]) + 1):
                    _measure_import(month)(ctx)
                    _activity_import(month)(ctx)
                return {"rows": sum(m["rows"] for m in ctx.manifest["measurements"][1:])
                        + sum(a["rows"] for a in ctx.manifest["activity"][1:])}
            report("load the other months", *timed(load_rest))
    return results


def _step_names(text: str) -> set[str]:
    """The step names in ``--steps``, comma-separated; a name that itself holds a comma
    ("report-activity --from-csv, one month") is joined back together."""
    known = {s.name for s in STEPS}
    names, pending = set(), ""
    for piece in text.split(","):
        pending = f"{pending},{piece}" if pending else piece
        if pending.strip() in known:
            names.add(pending.strip())
            pending = ""
    if pending.strip():
        names.add(pending.strip())  # reported as unknown by the caller
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="size of the generated plan (0 < s ≤ 1)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--data", type=Path, help="folder of national_plan.py's files (generated if empty)")
    parser.add_argument("--deployment", type=Path, help="deployment folder (made if empty, reused if not)")
    parser.add_argument("--year-data", action="store_true", help="load all twelve months, not only the first")
    parser.add_argument("--steps", help="comma-separated step names (default: all); " +
                        "; ".join(s.name for s in STEPS))
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale {args.scale}: give a number above 0 and at most 1")
    names = _step_names(args.steps) if args.steps else None
    unknown = (names or set()) - {s.name for s in STEPS}
    if unknown:
        parser.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    if names and ("open deployment" not in names):
        names.add("open deployment")  # the start-up every other figure is read against
    ctx = prepare(args)
    m = ctx.manifest
    print(f"plan: {m['units']:,} units ({m['communes']:,} communes, {m['facilities']:,} facilities), "
          f"{m['measurement_rows']:,} measurements and {m['reports']:,} reports in the year; scale {m['scale']}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.2f}; deployment {ctx.deployment}")
    results = run_steps(ctx, names, args.year_data)
    db = ctx.deployment / "ccch.db"
    if db.exists():
        print(f"database: {db.stat().st_size / 1e6:.1f} MB")
    if args.json:
        args.json.write_text(json.dumps({"manifest": {k: v for k, v in m.items() if k not in ("measurements", "activity")},
                                         "results": results}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
