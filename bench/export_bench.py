"""Streaming export of a large raw table to CSV and XLSX: rows per second and peak memory.

Builds a SQLite table of survey-response-like rows (one row per answered question: time, survey,
placement, unit, question, score, comment) with N rows for one month, registers it as a
``DataTable`` exactly as a plugin does, and streams it through the export plugin's writers
(``ccch_export.plugin.write_data_table``) — once per format and size, each in a fresh child
process so that its peak resident memory (ru_maxrss) is its own.

    .venv/bin/python bench/export_bench.py                 # 100,000 and 1,000,000 rows
    .venv/bin/python bench/export_bench.py --rows 200000   # one size
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ccch_core.report import Column, DataScope, DataTable

COLUMNS = [
    Column("submitted_at", "Thời điểm", "datetime"), Column("survey", "Khảo sát"), Column("placement", "Điểm đặt"),
    Column("unit_id", "Đơn vị"), Column("question", "Câu hỏi"), Column("score", "Điểm", "integer"),
    Column("comment", "Ý kiến"),
]
COMMENTS = ["", "", "", "Cán bộ hướng dẫn tận tình, chu đáo.", "Thời gian chờ hơi lâu.",
            "=1+1 (thử chèn công thức)", "Thủ tục đơn giản, nhanh gọn."]


def build(path: Path, rows: int) -> None:
    db = sqlite3.connect(path)
    db.execute("create table responses (submitted_at text, survey text, placement text, unit_id text, "
               "question text, score integer, comment text, period text)")
    rng = random.Random(7)
    start = dt.datetime(2024, 2, 29, 17, 0, tzinfo=dt.UTC)  # 1 March 00:00 in Vietnam
    communes = [f"xa-{i:02d}" for i in range(16)]

    def generate():
        for i in range(rows):
            at = start + dt.timedelta(seconds=i * 2_600_000 // rows)
            commune = communes[i % 16]
            yield (at.isoformat(timespec="seconds"), "sipas-2024", f"{commune}-mc", f"{commune}.mot-cua",
                   f"q{i % 12 + 1:02d}", rng.randint(1, 5), COMMENTS[i % len(COMMENTS)], "2024-03")

    db.executemany("insert into responses values (?, ?, ?, ?, ?, ?, ?, ?)", generate())
    db.execute("create index responses_period on responses (period)")
    db.commit()
    db.close()


class _Deployment:
    """What a DataTable's ``rows`` receives: something with a ``db``."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)


def _rows(deployment, scope: DataScope):
    cursor = deployment.db.execute(
        "select submitted_at, survey, placement, unit_id, question, score, comment from responses where period = ?",
        [str(scope.period)],
    )
    yield from cursor


TABLE = DataTable("bench_responses", "Phiếu khảo sát", COLUMNS, _rows)


def child(database: str, fmt: str) -> None:
    """Export once and print: rows seconds peak_kib."""
    from ccch_export.plugin import write_data_table

    from ccch_core.periods import Period

    deployment = _Deployment(Path(database))
    out = Path(database).with_suffix("." + fmt)
    started = time.perf_counter()
    written = write_data_table(TABLE, TABLE.rows(deployment, DataScope(None, Period.parse("2024-03"))), fmt, out,
                               meta={})
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(written, f"{elapsed:.3f}", peak, out.stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="table sizes (default 100000 and 1000000)")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = args.rows or [100_000, 1_000_000]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="ccch-export-bench-") as folder:
        for n in sizes:
            database = Path(folder) / f"responses-{n}.db"
            build(database, n)
            for fmt in ("csv", "xlsx"):
                out = subprocess.run([sys.executable, __file__, "--child", str(database), fmt],
                                     capture_output=True, text=True, check=True).stdout.split()
                written, seconds, peak_kib, size = int(out[0]), float(out[1]), int(out[2]), int(out[3])
                assert written == n, f"{fmt}: wrote {written} of {n} rows"
                results[(fmt, n)] = (seconds, peak_kib)
                print(f"{fmt:4} {n:>9,} rows  {seconds:7.2f} s  {n / seconds:>10,.0f} rows/s  "
                      f"peak RSS {peak_kib / 1024:6.1f} MiB  file {size / 1e6:7.1f} MB")
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        for fmt in ("csv", "xlsx"):
            delta = (results[(fmt, large)][1] - results[(fmt, small)][1]) / 1024
            print(f"{fmt}: peak RSS at {large:,} rows minus at {small:,} rows = {delta:.1f} MiB")


if __name__ == "__main__":
    main()
