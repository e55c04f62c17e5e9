"""The ``[messages]`` table of ``ccch.toml``: which sender serves each channel, limits, retention.

::

    [messages]
    delivery = "server"          # "server": `ccch serve` delivers too; "separate": a systemd unit runs
                                 # `ccch messages send --loop` (docs/messages.md)
    retention_days = 30          # a recipient's address is erased this long after delivery
    max_attempts = 8             # transient failures before a message is marked failed

    [messages.daily_caps]        # at most this many messages of a purpose a day (Vietnam day)
    otp = 1000

    [messages.channels.email]
    sender = "smtp"
    host = "mail.hatinh.gov.vn"
    rate_per_minute = 120        # at most this many attempts a minute on the channel

    [messages.templates.report_overdue]
    sms = "…"                    # the deployment's own text for a template

Every problem is reported at once, naming the key and the value.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import attrs

from .base import CHANNELS
from .templates import TEMPLATE_TEXT_KEYS

MESSAGES_KEYS = ("delivery", "retention_days", "max_attempts", "poll_seconds", "sending_timeout_seconds",
                 "daily_caps", "channels", "templates")
COMMON_CHANNEL_KEYS = ("sender", "rate_per_minute", "strip_diacritics", "max_segments")
"""Keys of a channel table that the outbox reads itself; the rest belong to the sender."""
DELIVERY_MODES = ("server", "separate")


@attrs.frozen
class ChannelSettings:
    """One ``[messages.channels.<channel>]`` table."""

    channel: str
    sender: str
    rate_per_minute: int | None
    strip_diacritics: bool
    max_segments: int | None
    options: dict[str, Any]
    """The sender's own settings."""


@attrs.frozen
class MessagingSettings:
    """The parsed ``[messages]`` table (defaults when it is absent)."""

    delivery: str = "server"
    retention_days: int = 30
    max_attempts: int = 8
    poll_seconds: float = 1.0
    sending_timeout_seconds: int = 300
    daily_caps: dict[str, int] = attrs.field(factory=dict)
    channels: dict[str, ChannelSettings] = attrs.field(factory=dict)
    templates: dict[str, dict[str, str]] = attrs.field(factory=dict)


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def parse_messaging(doc: Mapping[str, Any] | None, where: str) -> tuple[MessagingSettings, list[str]]:
    """Parse the ``[messages]`` table; returns the settings and every problem found."""
    problems: list[str] = []
    doc = dict(doc or {})
    w = f"{where}: messages"
    for key in doc:
        if key not in MESSAGES_KEYS:
            problems.append(f"{w}.{key}: unknown key{_suggest(key, MESSAGES_KEYS)}")
    delivery = doc.get("delivery", "server")
    if delivery not in DELIVERY_MODES:
        problems.append(f"{w}.delivery: must be \"server\" or \"separate\", not {delivery!r}")
        delivery = "server"
    retention = doc.get("retention_days", 30)
    if not _whole(retention, 1, 3650):
        problems.append(f"{w}.retention_days: a whole number of days 1–3650, not {retention!r}")
        retention = 30
    attempts = doc.get("max_attempts", 8)
    if not _whole(attempts, 1, 50):
        problems.append(f"{w}.max_attempts: a whole number 1–50, not {attempts!r}")
        attempts = 8
    poll = doc.get("poll_seconds", 1.0)
    if isinstance(poll, bool) or not isinstance(poll, (int, float)) or not 0.05 <= poll <= 300:
        problems.append(f"{w}.poll_seconds: a number of seconds 0.05–300, not {poll!r}")
        poll = 1.0
    lease = doc.get("sending_timeout_seconds", 300)
    if not _whole(lease, 10, 86_400):
        problems.append(f"{w}.sending_timeout_seconds: a whole number of seconds 10–86400, not {lease!r}")
        lease = 300
    caps: dict[str, int] = {}
    raw_caps = doc.get("daily_caps", {})
    if not isinstance(raw_caps, dict):
        problems.append(f"{w}.daily_caps: must be a table purpose = number")
        raw_caps = {}
    for purpose, cap in raw_caps.items():
        if not _whole(cap, 0, 10_000_000):
            problems.append(f"{w}.daily_caps.{purpose}: a whole number ≥ 0 of messages a day, not {cap!r}")
        else:
            caps[purpose] = cap
    channels: dict[str, ChannelSettings] = {}
    raw_channels = doc.get("channels", {})
    if not isinstance(raw_channels, dict):
        problems.append(f"{w}.channels: must be a table of [messages.channels.<channel>] tables")
        raw_channels = {}
    for channel, table in raw_channels.items():
        cw = f"{w}.channels.{channel}"
        if channel not in CHANNELS:
            problems.append(f"{cw}: unknown channel{_suggest(channel, CHANNELS)}; channels are "
                            f"{', '.join(CHANNELS)}")
            continue
        if not isinstance(table, dict):
            problems.append(f"{cw}: must be a table")
            continue
        sender = table.get("sender")
        if not isinstance(sender, str) or not sender:
            problems.append(f"{cw}.sender: missing: name the sender (smtp, http_sms, zalo_zns, folder)")
            continue
        rate = table.get("rate_per_minute")
        if rate is not None and not _whole(rate, 1, 1_000_000):
            problems.append(f"{cw}.rate_per_minute: a whole number ≥ 1, not {rate!r}")
            rate = None
        strip = table.get("strip_diacritics", False)
        if not isinstance(strip, bool):
            problems.append(f"{cw}.strip_diacritics: true or false, not {strip!r}")
            strip = False
        segments = table.get("max_segments")
        if segments is not None and not _whole(segments, 1, 20):
            problems.append(f"{cw}.max_segments: a whole number 1–20, not {segments!r}")
            segments = None
        options = {k: v for k, v in table.items() if k not in COMMON_CHANNEL_KEYS}
        channels[channel] = ChannelSettings(channel, sender, rate, strip, segments, options)
    templates: dict[str, dict[str, str]] = {}
    raw_templates = doc.get("templates", {})
    if not isinstance(raw_templates, dict):
        problems.append(f"{w}.templates: must be a table of [messages.templates.<key>] tables")
        raw_templates = {}
    for key, table in raw_templates.items():
        tw = f"{w}.templates.{key}"
        if not isinstance(table, dict):
            problems.append(f"{tw}: must be a table with subject, email and/or sms")
            continue
        for field, text in table.items():
            if field not in TEMPLATE_TEXT_KEYS:
                problems.append(f"{tw}.{field}: unknown key{_suggest(field, TEMPLATE_TEXT_KEYS)}; "
                                "a template has subject, email and sms")
            elif not isinstance(text, str) or not text.strip():
                problems.append(f"{tw}.{field}: must be non-empty text")
        templates[key] = {k: v for k, v in table.items() if k in TEMPLATE_TEXT_KEYS and isinstance(v, str)}
    settings = MessagingSettings(delivery, retention, attempts, float(poll), lease, caps, channels, templates)
    return settings, problems


def render_messages_config(folder: str = "outbox") -> str:
    """The ``[messages]`` section ``ccch init`` writes: every channel to the development folder."""
    return (
        "\n# Messages (e-mail, SMS, Zalo): see messages.md in the ccch documentation. Until real\n"
        f"# senders are configured, every message is written to the folder {folder}/ next to this\n"
        "# file, and nothing leaves this machine. `ccch serve` delivers them too (delivery = \"server\").\n"
        "[messages]\n"
        "delivery = \"server\"\n"
        "retention_days = 30\n\n"
        "[messages.daily_caps]\n"
        "otp = 1000\n\n"
        "[messages.channels.email]\n"
        f"sender = \"folder\"\nfolder = \"{folder}\"\n\n"
        "[messages.channels.sms]\n"
        f"sender = \"folder\"\nfolder = \"{folder}\"\n\n"
        "[messages.channels.zalo]\n"
        f"sender = \"folder\"\nfolder = \"{folder}\"\n"
    )
