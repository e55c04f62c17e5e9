"""What several of the export plugin's test files share: the demo's data and LibreOffice's PDF of a
document (the check that what an office prints is what the tests read)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ccch_core import progress
from ccch_core.builtin.commands import import_activity_csv, read_measurement_csv

DEMO = Path(__file__).resolve().parents[3] / "examples" / "duc-tho-2024" / "demo"
DEBIAN_PACKAGES = {"soffice": "libreoffice-writer-nogui", "pdftotext": "poppler-utils"}


def load_demo(dep) -> None:
    """The demo's first-quarter measurements and March's activity reports, stored in ``dep``."""
    for _, row in read_measurement_csv(DEMO / "measurements-2024-q1.csv"):
        if row["indicator"] != "I6":  # I6's demo rows and the plan's I6 units change apart (#19); unused here
            progress.record_measurement(dep.db, dep.plan, row["indicator"], row["unit"], row["period"],
                                        row.get("value"), numerator=row.get("numerator"),
                                        denominator=row.get("denominator"))
    import_activity_csv(dep, DEMO / "activity-2024-03.csv", "demo")


def _ensure_debian_tools() -> None:
    missing = sorted({pkg for tool, pkg in DEBIAN_PACKAGES.items() if not shutil.which(tool)})
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       capture_output=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    pytest.fail(f"the PDF check needs Debian packages: sudo apt-get install -y {' '.join(missing)}")


def pdf_text(content: bytes, folder: Path, *, layout: bool = False) -> str:
    """The DOCX ``content`` rendered to PDF by LibreOffice, as pdftotext reads it (pages separated
    by form feeds; ``layout`` keeps the columns of a table on one line)."""
    _ensure_debian_tools()
    source = folder / "bao-cao.docx"
    source.write_bytes(content)
    subprocess.run([shutil.which("soffice"), f"-env:UserInstallation=file://{folder / 'lo-profile'}",
                    "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(source)],
                   check=True, capture_output=True, timeout=180)
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(folder / "bao-cao.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
