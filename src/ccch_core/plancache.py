"""The parsed plan, kept: per process, and across commands in a file keyed by the plan's hash.

Parsing and validating a plan file the size of the country (36,647 units, 4 MB of TOML) takes
about 1.6 s, and every ``ccch`` command used to pay it. :func:`load_plan_cached` reads the file's
bytes (within the deployment's import limits, as :func:`~ccch_core.planfile.load_plan` does),
hashes them with SHA-256 and:

1. returns the plan this process already built from those bytes (a server worker builds it once);
2. else unpickles ``cache/plan-<key>.pickle`` in the deployment folder, written by an earlier
   command;
3. else parses and validates the bytes and writes that file for the next command.

The file also holds what evaluation derives from the plan alone
(:func:`ccch_core.progress.plan_derivations`: the units each indicator applies to, due days,
further recipients), so that a new command does not work it out again.

The key covers the file's bytes, its path (the plan's ``source_path``), the import limits, the
ccch version, the Python version and the source of the modules a plan is made of
(:data:`MODEL_MODULES`), so a cache written by another version of ccch, or by changed code, is
never read: it has another name. An edited plan file has another hash. A plan that does not
validate is never cached (its problems are reported every time).

The cache is only an optimisation, and it never fails a command: a file that cannot be read, is
not a pickle, holds something other than a plan, was written by another user or can be written by
others is ignored (and replaced when possible); a folder that cannot be written is left alone and
the plan is parsed as before. Files are written whole (a temporary file renamed), readable by the
owner only, in a folder only the owner can enter. Unpickling runs code chosen by whoever wrote the
file: that is why a file not owned by this user, or writable by anyone else, is never read.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import stat
import sys
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import attrs

from . import model
from .limits import DEFAULT_LIMITS, ImportLimits, LimitError, read_limited

__all__ = [
    "CACHE_FOLDER",
    "MODEL_MODULES",
    "cache_key",
    "clear_memory",
    "freeze_loaded_plans",
    "load_plan_cached",
]

CACHE_FOLDER = "cache"
"""The folder, inside the deployment folder (next to ``ccch.toml``), that holds the cache files."""

MODEL_MODULES = ("model.py", "planfile.py", "periods.py", "text.py", "limits.py", "progress.py")
"""The core's modules whose source is part of the key: a plan pickled by other code is not read
(``progress.py``: what it derives from the plan is pickled with it, :func:`progress.plan_derivations`)."""

_KEEP = 8
"""Cache files kept per deployment folder (older ones are removed when a new one is written)."""

_IN_MEMORY = 8
"""Plans kept in a process (a server runs one or a few; a test run opens hundreds, one at a time)."""

_memory: OrderedDict[str, model.Plan] = OrderedDict()
_memory_lock = threading.Lock()
_code_digest: str | None = None
_freeze = False


def freeze_loaded_plans() -> None:
    """Keep this process's plans out of the cyclic garbage collector's walks, now and after each
    plan it loads later (:func:`gc.freeze`: every object alive moves to the permanent generation).

    For a process that loads its plans once and keeps them: a ``ccch`` command (``cli.main``)
    and a server's worker once its app is made. A national plan is some 75,000 objects the
    collector can track (36,647 units, the indexes over them) and none of them ever becomes
    garbage, yet every full collection walked them all (about 55 ms each at national size, on
    this machine), and a command's or a request's own allocations set off several: a month's
    ``ccch status`` spent about a fifth of its time there. Frozen objects are still freed when
    nothing refers to them; only cycles among them would stay, so this is not for a process that
    loads many plans and drops them (a test run), which is why nothing calls it by default.
    """
    global _freeze
    _freeze = True
    gc.freeze()


def _code() -> str:
    """A digest of ccch's version and the plan modules' source (computed once per process)."""
    global _code_digest
    if _code_digest is None:
        from . import __version__

        digest = hashlib.sha256(f"{__version__}|{sys.version_info[:3]}|{attrs.__version__}".encode())
        here = Path(__file__).parent
        for name in MODEL_MODULES:
            try:
                digest.update((here / name).read_bytes())
            except OSError:
                digest.update(name.encode())
        _code_digest = digest.hexdigest()
    return _code_digest


def cache_key(raw: bytes, path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> str:
    """The key of a plan file's bytes: SHA-256 over the bytes, the path, the limits and the code."""
    digest = hashlib.sha256(raw)
    digest.update(f"|{path}|{attrs.astuple(limits)}|{_code()}".encode())
    return digest.hexdigest()


def clear_memory() -> None:
    """Forget the plans built in this process (tests and benchmarks; the files stay)."""
    with _memory_lock:
        _memory.clear()


def load_plan_cached(path: str | Path, *, limits: ImportLimits = DEFAULT_LIMITS,
                     folder: str | Path | None = None) -> model.Plan:
    """The plan of the file at ``path``, as :func:`ccch_core.planfile.load_plan` returns it, from
    this process's memory or the cache file in ``folder`` / :data:`CACHE_FOLDER` when the file's
    bytes are ones already parsed (see the module's docstring). ``folder`` None: memory only.

    Raises what ``load_plan`` raises: :class:`~ccch_core.planfile.PlanFileError` listing every
    problem, ``FileNotFoundError``.
    """
    from .planfile import PlanFileError, _limit_problem, load_plan_bytes

    path = Path(path)
    try:
        raw = read_limited(path, str(path), limits)
    except LimitError as exc:
        raise PlanFileError([_limit_problem(exc)]) from None
    key = cache_key(raw, path, limits)
    with _memory_lock:
        plan = _memory.get(key)
        if plan is not None:
            _memory.move_to_end(key)
            return plan
    cache_dir = Path(folder) / CACHE_FOLDER if folder is not None else None
    plan = _read(cache_dir, key) if cache_dir is not None else None
    if plan is None:
        plan = load_plan_bytes(raw, path, limits=limits)
        if cache_dir is not None:
            _write(cache_dir, key, plan)
    if _freeze:
        gc.freeze()  # see freeze_loaded_plans
    with _memory_lock:
        _memory[key] = plan
        while len(_memory) > _IN_MEMORY:
            _memory.popitem(last=False)
    return plan


def _file(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"plan-{key[:40]}.pickle"


def _trusted(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (on systems without owners: always)."""
    if not hasattr(os, "getuid"):
        return True
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(cache_dir: Path, key: str) -> model.Plan | None:
    file = _file(cache_dir, key)
    try:
        with file.open("rb") as handle:
            st = os.fstat(handle.fileno())
            dir_st = os.stat(cache_dir)
            if not (_trusted(st) and _trusted(dir_st)):
                return None
            stored_key, plan, derived = _unpickle(handle)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any unreadable cache file is ignored and rebuilt
        return None
    if stored_key != key or not isinstance(plan, model.Plan) or not isinstance(derived, dict):
        return None
    from . import progress

    progress.adopt_plan_derivations(plan, derived)
    return plan


def _unpickle(handle):
    # 40,000 objects at national size: the cyclic garbage collector would run a few full passes
    # over them while they are made (a quarter of the time), and none of them is garbage.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(handle)
    finally:
        if enabled:
            gc.enable()


def _write(cache_dir: Path, key: str, plan: model.Plan) -> None:
    try:
        cache_dir.mkdir(mode=0o700, exist_ok=True)
        if not _trusted(os.stat(cache_dir)):
            return
        fd, tmp = tempfile.mkstemp(prefix=".plan-", suffix=".tmp", dir=cache_dir)
        try:
            from . import progress

            # With what evaluation derives from the plan alone (the units of each indicator, due
            # days, further recipients), pickled together so that its units are the plan's own.
            derived = progress.plan_derivations(plan)
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, plan, derived), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, _file(cache_dir, key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(cache_dir)
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs time
        return


def _prune(cache_dir: Path) -> None:
    """Keep the newest :data:`_KEEP` plan files (other plans' and earlier versions')."""
    files = sorted(cache_dir.glob("plan-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[_KEEP:]:
        old.unlink(missing_ok=True)
