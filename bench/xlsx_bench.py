"""XLSX writers side by side on the same big raw table: rows per second, CPU time and peak memory.

The table is ``bench/export_bench.py``'s: one month of survey-response-shaped rows in SQLite (7
columns: an instant converted to Vietnam time, five texts, a score). Each writer runs in a fresh
child process (its peak resident memory is its own) and writes what the export plugin writes for a
data table: a bold header, the instant as a date-time with its format, the score as a number.

Writers:

- ``openpyxl``: openpyxl's write-only mode, through ``ccch_export.tabular.add_sheet`` (what the
  plugin used before);
- ``xlsxwriter``: XlsxWriter's ``constant_memory`` mode, one typed ``write_*`` call per cell;
- ``stream``: ``ccch_export.xlsx_stream.write_xlsx`` (what the plugin uses now), and
  ``stream-level6``: the same with the zip's default deflate level;
- ``pyexcelerate`` and ``rustpy``: PyPI's "fast" writers; neither streams — the whole table is
  handed over in memory — so they are measured to show what streaming costs.

XlsxWriter, PyExcelerate and rustpy-xlsxwriter are not dependencies of ccch: install them to
compare (``.venv/bin/pip install xlsxwriter pyexcelerate rustpy-xlsxwriter``); a writer that is
not installed is reported as not measured.

CPU time (user + system of the child) is printed beside the wall time: on a shared machine it
moves less with the other load.

    .venv/bin/python bench/xlsx_bench.py                       # 100,000 rows, every writer
    .venv/bin/python bench/xlsx_bench.py --rows 1000000 --writer stream --writer xlsxwriter
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from export_bench import COLUMNS, TABLE, build

WRITERS = ("stream", "stream-level6", "xlsxwriter", "openpyxl", "pyexcelerate", "rustpy")
QUERY = "select submitted_at, survey, placement, unit_id, question, score, comment from responses"


def rows(database: str):
    yield from sqlite3.connect(database).execute(QUERY)


def write(writer: str, database: str, out: str) -> int:
    if writer in ("stream", "stream-level6"):
        from ccch_export import xlsx_stream

        if writer == "stream-level6":
            xlsx_stream.ZIP_LEVEL = 6
        with open(out, "wb") as stream:
            return xlsx_stream.write_xlsx(stream, TABLE.title, COLUMNS, rows(database))
    if writer == "openpyxl":
        from ccch_export import tabular
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        count = tabular.add_sheet(workbook, TABLE.title, COLUMNS, rows(database), set())
        workbook.save(out)
        return count
    if writer == "xlsxwriter":
        import xlsxwriter

        from ccch_core.periods import to_local

        workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
        sheet = workbook.add_worksheet("Phiếu khảo sát")
        sheet.freeze_panes(1, 0)
        instant = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        sheet.write_row(0, 0, [c.label for c in COLUMNS], workbook.add_format({"bold": True}))
        text, number, when = sheet.write_string, sheet.write_number, sheet.write_datetime
        n = 0
        for n, row in enumerate(rows(database), start=1):
            when(n, 0, to_local(dt.datetime.fromisoformat(row[0])).replace(tzinfo=None), instant)
            text(n, 1, row[1])
            text(n, 2, row[2])
            text(n, 3, row[3])
            text(n, 4, row[4])
            number(n, 5, row[5])
            if row[6]:
                text(n, 6, row[6])
        workbook.close()
        return n
    if writer == "pyexcelerate":
        from pyexcelerate import Workbook

        from ccch_core.periods import to_local

        data = [[c.label for c in COLUMNS]]
        data += [[to_local(dt.datetime.fromisoformat(r[0])).replace(tzinfo=None), *r[1:]] for r in rows(database)]
        workbook = Workbook()
        workbook.new_sheet("Phiếu khảo sát", data=data)
        workbook.save(out)
        return len(data) - 1
    if writer == "rustpy":
        import rustpy_xlsxwriter

        from ccch_core.periods import to_local

        keys = [c.label for c in COLUMNS]
        records = [dict(zip(keys, [to_local(dt.datetime.fromisoformat(r[0])).replace(tzinfo=None), *r[1:]],
                            strict=True)) for r in rows(database)]
        rustpy_xlsxwriter.write_worksheet(records, out, sheet_name="Phiếu khảo sát", freeze_row=1, bold_headers=True,
                                          datetime_format="dd/mm/yyyy hh:mm")
        return len(records)
    raise SystemExit(f"unknown writer {writer}")


def child(writer: str, database: str) -> None:
    out = str(Path(database).with_suffix(f".{writer}.xlsx"))
    wall, cpu = time.perf_counter(), time.process_time()
    count = write(writer, database, out)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(count, f"{wall:.3f}", f"{cpu:.3f}", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, os.path.getsize(out))
    os.remove(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="table sizes (default 100000)")
    parser.add_argument("--writer", action="append", choices=WRITERS, help="writers (default: every one installed)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per writer and size (best and median reported)")
    parser.add_argument("--child", nargs=2, metavar=("WRITER", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory(prefix="ccch-xlsx-bench-") as folder:
        for n in args.rows or [100_000]:
            database = Path(folder) / f"responses-{n}.db"
            build(database, n)
            for writer in args.writer or WRITERS:
                runs = []
                for _ in range(args.repeat):
                    done = subprocess.run([sys.executable, __file__, "--child", writer, str(database)],
                                          check=False, capture_output=True, text=True)
                    if done.returncode:
                        last = (done.stderr.strip().splitlines() or ["?"])[-1]
                        print(f"{writer:14} {n:>9,} rows  not measured: {last}")
                        break
                    count, wall, cpu, peak, size = done.stdout.split()
                    assert int(count) == n, f"{writer}: wrote {count} of {n} rows"
                    runs.append((float(wall), float(cpu), int(peak), int(size)))
                if not runs:
                    continue
                walls = sorted(r[0] for r in runs)
                cpus = sorted(r[1] for r in runs)
                print(f"{writer:14} {n:>9,} rows  wall best {walls[0]:7.2f} s median {walls[len(walls) // 2]:7.2f} s  "
                      f"CPU best {cpus[0]:7.2f} s ({n / cpus[0]:>9,.0f} rows per CPU second)  "
                      f"peak RSS {max(r[2] for r in runs) / 1024:6.1f} MiB  file {runs[0][3] / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
