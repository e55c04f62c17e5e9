"""Scheduled work: what plugins do by themselves now and then, outside any request.

Some work is due at a moment rather than on a request: a contest round that has ended must be
closed (its overdue attempts finished, its true figure stored, its ranking keys rewritten), and
at a national contest's size that takes seconds. Done by the first page that needs it, it makes
that visitor wait; done here, nobody waits. Each plugin implements the ``scheduled_work`` hook
(:mod:`ccch_core.hookspecs`); :func:`run_once` calls every implementation, each on its own, so
one plugin's failure neither stops the others nor the next pass.

``ccch serve`` runs ``ccch scheduled-work --loop`` in a child process beside the server (a pass
every :data:`EVERY_SECONDS`); a deployment that serves otherwise runs ``ccch scheduled-work`` from
a timer (docs/deploy.md). One runner per deployment works at a time (a lock file next to the
database, released by the kernel however the process ends): a second one waits to take over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable

import attrs

from .periods import utc_now
from .storage import lock_beside_database

log = logging.getLogger("ccch.scheduled")

EVERY_SECONDS = 60
"""Seconds between two passes of ``ccch scheduled-work --loop``: a round's end is closed within
a minute, and a pass with nothing due costs a few queries."""


@attrs.frozen
class Outcome:
    """What one plugin's scheduled work did in a pass: ``done`` (its words, or None when nothing
    was due) or ``error`` (the exception, in words)."""

    plugin: str
    done: str | None = None
    error: str | None = None


class RunnerBusy(RuntimeError):
    """Another ``ccch scheduled-work`` (or a server's) runs this deployment's scheduled work."""


def run_once(deployment, now: dt.datetime | None = None) -> list[Outcome]:
    """Call every plugin's ``scheduled_work`` once, as of ``now`` (UTC); each implementation on its
    own, its exception caught, logged and reported as an :class:`Outcome` with ``error``."""
    now = now or utc_now()
    outcomes = []
    for impl in deployment.pm.hook.scheduled_work.get_hookimpls():
        kwargs = {name: value for name, value in (("deployment", deployment), ("now", now)) if name in impl.argnames}
        try:
            result = impl.function(**kwargs)
        except Exception as exc:  # one plugin's failure must not stop the others
            log.exception("scheduled work of %s failed", impl.plugin_name)
            outcomes.append(Outcome(impl.plugin_name, error=f"{type(exc).__name__}: {exc}"))
            continue
        done = "; ".join(str(line) for line in result) if isinstance(result, list | tuple) else result
        outcomes.append(Outcome(impl.plugin_name, done=str(done) if done else None))
    return outcomes


class Runner:
    """Runs a deployment's scheduled work: :meth:`acquire` the deployment's lock, then
    :meth:`run_forever`."""

    def __init__(self, deployment, *, every: float = EVERY_SECONDS):
        self.deployment = deployment
        self.every = every
        self._lock_fd: int | None = None

    def acquire(self) -> None:
        """Take the deployment's scheduled-work lock (a file next to the database), or raise
        :class:`RunnerBusy`."""
        if self._lock_fd is not None:
            return
        try:
            self._lock_fd = lock_beside_database(self.deployment.config.database_path, "scheduled-lock")
        except BlockingIOError:
            raise RunnerBusy("another `ccch scheduled-work` (or the server's) runs this deployment's "
                             "scheduled work") from None

    def release(self) -> None:
        """Let go of the lock."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def run_forever(self, *, stop: Callable[[], bool] = lambda: False,
                    sleep: Callable[[float], None] = time.sleep, report: Callable[[Outcome], None] | None = None) -> None:
        """A pass every ``every`` seconds until ``stop()`` is true (checked each second). While
        another runner holds the lock, wait and take over when it stops. ``report`` is called with
        each outcome that did something or failed."""
        waiting_said = False
        while not stop():
            try:
                self.acquire()
                break
            except RunnerBusy:
                if not waiting_said:
                    log.warning("another runner does this deployment's scheduled work; waiting to take over")
                    waiting_said = True
                sleep(1)
        try:
            while not stop():
                for outcome in run_once(self.deployment):
                    if report is not None and (outcome.done or outcome.error):
                        report(outcome)
                waited = 0.0
                while waited < self.every and not stop():
                    step = min(1.0, self.every - waited)
                    sleep(step)
                    waited += step
        finally:
            self.release()
