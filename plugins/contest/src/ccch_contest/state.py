"""Per-deployment memory of one process: parsed settings, contest definitions and question banks.

Keyed weakly by the :class:`ccch_core.Deployment` object, so every app (and every test) has its
own, and nothing outlives the deployment. Entries are validated against version counters stored
in the database, so a change made by another worker process is seen on the next request.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_lock = threading.Lock()
_memory: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def memory(deployment) -> dict[str, Any]:
    """The dict this process keeps for ``deployment``."""
    with _lock:
        found = _memory.get(deployment)
        if found is None:
            found = {}
            _memory[deployment] = found
        return found
