"""Publishing, withdrawing and archiving a contest: the status change its readiness checks gate."""

from __future__ import annotations

from ccch_core.storage import utc_now_iso

from .checks import readiness
from .contests import STATUS_LABELS, Contest, ContestError, get_contest
from .journal import log
from .locking import serialized


def set_status(deployment, contest: Contest, status: str, *, username: str | None = None) -> Contest:
    """Publish, withdraw (draft) or archive a contest."""
    if status not in STATUS_LABELS:
        raise ContestError(f"status is one of {', '.join(STATUS_LABELS)}")
    if status == "published":
        blocking = [p for p in readiness(deployment, contest) if p.blocking]
        if blocking:
            raise ContestError("the contest is not ready to publish:\n" + "\n".join(f"  {p.message}" for p in blocking))
    db = deployment.db
    with serialized(deployment):
        db.execute("update contest_contests set status = ?, updated_at = ? where id = ?", [status, utc_now_iso(), contest.id])
        log(db, contest.id, f"status_{status}", username=username)
    return get_contest(deployment, contest.slug)
