"""``[plugins.contest]`` in ccch.toml: deployment-wide settings of the contest plugin.

Everything about one contest (rounds, questions per attempt, time limit, prizes…) is in the
contest's own definition (``definition.py``); these settings are what an IT officer tunes for the
deployment as a whole. Unknown keys are errors, as everywhere in ccch.
"""

from __future__ import annotations

import difflib
from typing import Any

import attrs

from ccch_core.config import ConfigError
from ccch_core.ratelimit import Limit

from .state import memory


@attrs.frozen
class ContestSettings:
    """Validated ``[plugins.contest]`` settings (see ``docs/contest.md`` for each key)."""

    grace_seconds: int = 30
    keep_contact_phone: bool = True
    contact_retention_days: int = 90
    personal_data_retention_days: int = 365
    leaderboard_refresh_seconds: int = 30
    limit_register: Limit = attrs.field(factory=lambda: Limit(300, 3600))
    limit_identify: Limit = attrs.field(factory=lambda: Limit(30, 600))
    limit_start: Limit = attrs.field(factory=lambda: Limit(10, 60))
    limit_codes: Limit = attrs.field(factory=lambda: Limit(100, 3600))
    """One-time codes asked for from one network address: as many as registrations (an office's
    civil servants share one address), unlike the core's default of 10 an hour."""
    # Detection (detection.py): what the review queue flags.
    detect_reading_chars_per_second: int = 50
    detect_min_seconds_per_question: int = 1
    detect_source_registrations: Limit = attrs.field(factory=lambda: Limit(20, 86400))
    detect_device_registrations: int = 3
    """Registrations from one browser that raise a flag (a family may share a phone: 2 pass)."""
    detect_same_answers_seconds: int = 60
    detect_same_duration_seconds: int = 10


DEFAULTS = ContestSettings()
KEYS = tuple(a.name for a in attrs.fields(ContestSettings))


def _int(problems: list[str], key: str, value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"[plugins.contest] {key}: must be a whole number {low}–{high}, not {value!r}")
        return None
    return value


def parse_settings(raw: dict[str, Any]) -> ContestSettings:
    """Validate the ``[plugins.contest]`` table; raises :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            problems.append(f"[plugins.contest] {key}: unknown key{hint}")
        elif key == "grace_seconds":
            values[key] = _int(problems, key, value, 0, 600)
        elif key in ("contact_retention_days", "personal_data_retention_days"):
            values[key] = _int(problems, key, value, 1, 3650)
        elif key == "leaderboard_refresh_seconds":
            values[key] = _int(problems, key, value, 0, 3600)
        elif key == "keep_contact_phone":
            if not isinstance(value, bool):
                problems.append(f"[plugins.contest] {key}: must be true or false, not {value!r}")
            else:
                values[key] = value
        elif key == "detect_reading_chars_per_second":
            values[key] = _int(problems, key, value, 5, 1000)
        elif key == "detect_device_registrations":
            values[key] = _int(problems, key, value, 2, 1000)
        elif key == "detect_min_seconds_per_question":
            values[key] = _int(problems, key, value, 0, 60)
        elif key in ("detect_same_answers_seconds", "detect_same_duration_seconds"):
            values[key] = _int(problems, key, value, 0, 3600)
        elif key.startswith("limit_") or key == "detect_source_registrations":
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
                problems.append(f"[plugins.contest] {key}: write [count, seconds], e.g. [30, 600], not {value!r}")
            else:
                values[key] = Limit(value[0], value[1])
    contact = values.get("contact_retention_days") or DEFAULTS.contact_retention_days
    personal = values.get("personal_data_retention_days") or DEFAULTS.personal_data_retention_days
    if contact > personal:
        problems.append(f"[plugins.contest] contact_retention_days ({contact}) cannot be longer than "
                        f"personal_data_retention_days ({personal}): every personal datum, the contact phone "
                        "included, is erased after personal_data_retention_days")
    if problems:
        raise ConfigError("\n".join(problems))
    return ContestSettings(**{k: v for k, v in values.items() if v is not None})


def settings_of(deployment) -> ContestSettings:
    """The deployment's contest settings (parsed once per deployment object)."""
    mem = memory(deployment)
    if "settings" not in mem:
        mem["settings"] = parse_settings(deployment.plugin_settings("contest"))
    return mem["settings"]
