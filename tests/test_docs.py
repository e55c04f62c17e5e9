"""The documentation builds without warnings, and README.md's links and commands stay true."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_docs_site_builds_strictly(tmp_path):
    """mkdocs --strict turns every warning (a broken link, a page missing from the nav) into an error."""
    result = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "-d", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").exists()
    page = (tmp_path / "site" / "huong-dan-don-vi" / "index.html").read_text(encoding="utf-8")
    assert "nộp báo cáo tháng" in page
    assert "fonts.googleapis.com" not in page  # the docs, like the app, load nothing from elsewhere


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://", "mailto:"))]
    assert local, "README links nothing?"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def readme_commands(after: str) -> list[list[str]]:
    """The commands of the first ``sh`` block of README.md after ``after``, continuation lines
    joined, minus those that install, serve or run pytest."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(after, 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in re.sub(r"\\\n\s*", " ", block).strip().splitlines():
        line = line.split("  #", 1)[0].strip()
        if not line.startswith(".venv/bin/ccch") or " serve" in line:
            continue
        commands.append(shlex.split(line))
    return commands


def readme_plain_commands() -> list[list[str]]:
    """The "without make" commands of README.md."""
    return readme_commands("Without make")


def test_readme_commands_work_as_written(tmp_path):
    """Run README.md's plain commands (init, import, users, …) in a copy of the examples."""
    commands = readme_plain_commands()
    assert [c[0] for c in commands] and any("init" in c for c in commands)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "CCCH_STRICT_PLUGINS": "1"}
    env.pop("CCCH_CONFIG", None)
    # Then the contest's trial copy, as "Try the contest" says, in the same deployment.
    trial = readme_commands("**Try the contest.**")
    assert any("--trial" in c for c in trial) and any("publish" in c for c in trial)
    for command in commands + trial:
        command[0] = str(BIN / "ccch")
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    status = subprocess.run([str(BIN / "ccch"), "-c", "instance/ccch.toml", "status", "--period", "2024-03"],
                            cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert status.returncode == 0 and "Tháng 3/2024" in status.stdout
