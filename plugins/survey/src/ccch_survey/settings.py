"""The ``[plugins.survey]`` table of ``ccch.toml``: every key, its default and its check.

Unknown keys and wrong types stop start-up with a message naming the key (a typo must not
silently change how abuse is limited).
"""

from __future__ import annotations

import re
import weakref
from typing import Any

import attrs

from . import PLUGIN_NAME

SHORT_PATH = re.compile(r"^[a-z0-9][a-z0-9-]{0,15}$")
RESERVED_PATHS = {"khao-sat", "static", "dang-nhap", "dang-xuat", "bao-cao", "don-vi", "healthz", "tong-hop"}


class SettingsError(ValueError):
    """A bad ``[plugins.survey]`` value (the message names the key)."""


@attrs.frozen
class SurveySettings:
    """Settings of the survey plugin with their defaults (documented in docs/survey.md)."""

    short_path: str = "k"
    """The first path segment of poster links: QR codes carry ``<public_base_url>/<short_path>/<code>``."""
    responses_per_device_per_day: int = 1
    """Responses one device (browser) may send per survey per Vietnam day; 0 = no limit. Kiosks are exempt."""
    submissions_per_address_per_hour: int = 120
    """Stored submissions per hashed client address per hour (generous: mobile carriers put many phones
    behind one address); 0 = no limit."""
    kiosk_submissions_per_hour: int = 600
    """Stored submissions per kiosk placement per hour; 0 = no limit."""
    max_submission_bytes: int = 20_000
    """Size limit of a survey submission (bytes), refused with HTTP 413 before parsing. A survey
    whose own form can send more (long-text questions filled to their maximum length) gets that
    larger limit instead, so a citizen who stays within the form's limits is never refused."""
    kiosk_idle_seconds: int = 90
    """A kiosk form left untouched this long is cleared for the next citizen (needs JavaScript)."""
    kiosk_thanks_seconds: int = 8
    """How long a kiosk shows the thank-you page before the next citizen's form."""
    device_cookie_days: int = 365
    """Lifetime of the anonymous device cookie used for the once-a-day rule."""
    measure_surveys: tuple[str, ...] = ()
    """Surveys whose answers feed the ``survey_satisfaction`` measure; empty = every survey."""
    contact_retention_days: int = 365
    """Contact details citizens left (with consent) are erased this many days after they were given
    (``ccch privacy purge``); their answers stay."""
    unknown_codes_per_address_per_hour: int = 30
    """Look-ups of codes that do not exist (survey pages, thank-you pages, form tokens, enrolment
    pages, forms posted without a valid token; a wrong enrolment code counts too) per hashed client
    address per hour; 0 = no limit. Past it every look-up from that address, of any code, gets the
    same 429 page. Enrolled kiosk tablets are exempt."""
    scan_devices_per_address_per_day: int = 20
    """A scan counts once per device per placement per Vietnam day; one client address adds at
    most this many devices to a placement's scans a day (a script without cookies adds at most this)."""
    kiosk_enrolment_minutes: int = 15
    """How long an enrolment code (the QR code an officer shows to a kiosk tablet) stays valid."""
    kiosk_device_days: int = 400
    """Lifetime of an enrolled tablet's device cookie, renewed whenever the kiosk page is opened
    (400 days is the most browsers keep a cookie); officers revoke a tablet at any time."""
    flag_responses_per_address_per_hour: int = 20
    """A response is flagged (address burst) when its client address has sent more than this many
    responses in the clock hour; 0 = never."""
    flag_kiosk_responses_per_hour: int = 30
    """A response from an enrolled kiosk tablet is flagged (tablet burst) when that tablet has sent
    more than this many in the clock hour; 0 = never. A desk serves a citizen every few minutes: far
    more from one tablet is someone tapping answers, whom no address limit sees."""
    flag_identical_answers: int = 3
    """A response is flagged when this many responses with exactly the same answers reached its
    placement in the 10 minutes before it; 0 = never. At most 1000: the check reads at most this
    many index entries."""
    flag_reading_chars_per_second: int = 40
    """Reading speed for the "too fast" flag: a response sent sooner after its form was handed out
    than the answered questions take to skim at this many characters a second is flagged; 0 = never."""

    @property
    def public_prefix(self) -> str:
        """The URL prefix of citizen pages, e.g. ``/k``."""
        return "/" + self.short_path


INT_KEYS = {
    "responses_per_device_per_day": (0, 1000),
    "submissions_per_address_per_hour": (0, 1_000_000),
    "kiosk_submissions_per_hour": (0, 1_000_000),
    "max_submission_bytes": (2_000, 1_000_000),
    "kiosk_idle_seconds": (15, 3600),
    "kiosk_thanks_seconds": (2, 120),
    "device_cookie_days": (1, 3650),
    "contact_retention_days": (1, 3650),
    "unknown_codes_per_address_per_hour": (0, 1_000_000),
    "scan_devices_per_address_per_day": (1, 1_000_000),
    "kiosk_enrolment_minutes": (1, 1440),
    "kiosk_device_days": (1, 400),
    "flag_responses_per_address_per_hour": (0, 10_000_000),
    "flag_kiosk_responses_per_hour": (0, 10_000_000),
    "flag_identical_answers": (0, 1000),
    "flag_reading_chars_per_second": (0, 1000),
}


def parse_settings(raw: dict[str, Any]) -> SurveySettings:
    """Check a ``[plugins.survey]`` table; every problem is reported at once."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    known = set(attrs.fields_dict(SurveySettings))
    for key, value in raw.items():
        where = f"[plugins.{PLUGIN_NAME}] {key}"
        if key not in known:
            problems.append(f"{where}: unknown key (known: {', '.join(sorted(known))})")
        elif key == "short_path":
            if not isinstance(value, str) or not SHORT_PATH.match(value) or value in RESERVED_PATHS:
                problems.append(f"{where}: {value!r} must be 1–16 of a-z, 0-9, '-' and not a path the app uses")
            else:
                values[key] = value
        elif key == "measure_surveys":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{where}: must be a list of survey ids")
            else:
                values[key] = tuple(value)
        else:
            low, high = INT_KEYS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{where}: must be a whole number {low}–{high}, not {value!r}")
            else:
                values[key] = value
    if problems:
        raise SettingsError("\n".join(problems))
    return SurveySettings(**values)


_parsed: weakref.WeakKeyDictionary[Any, SurveySettings] = weakref.WeakKeyDictionary()


def settings_of(deployment) -> SurveySettings:
    """The deployment's survey settings (parsed once per deployment object)."""
    cached = _parsed.get(deployment)
    if cached is None:
        cached = parse_settings(deployment.plugin_settings(PLUGIN_NAME))
        _parsed[deployment] = cached
    return cached
