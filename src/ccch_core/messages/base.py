"""The pieces every part of messaging shares: channels, what a sender receives and answers, the
sender registry's entries, and the errors.

A *sender* delivers one message at a time to a gateway (an SMTP server, an SMS brandname
gateway's HTTP API, Zalo ZNS, a development folder). Senders are registered by kind through the
``register_message_senders`` hook; a deployment's ``[messages.channels.<channel>]`` table in
``ccch.toml`` picks the kind for each channel and holds its settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

CHANNELS: dict[str, str] = {
    "email": "Thư điện tử",
    "sms": "Tin nhắn SMS",
    "zalo": "Zalo (ZNS)",
}
"""The channels a message can travel by → their Vietnamese label."""


class MessageError(ValueError):
    """A message that cannot be queued (bad address, unknown template, missing parameter…).

    ``field`` names what is wrong (``address``, ``template``, ``params.code``…)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


class ChannelUnavailable(MessageError):
    """The deployment has no sender for the channel (``[messages.channels.<channel>]`` is absent)."""


class DailyCapReached(MessageError):
    """The purpose's daily cap (``[messages.daily_caps]``) is used up for today (Vietnam day)."""


class SenderConfigError(ValueError):
    """A sender's settings are wrong; the message names the ``ccch.toml`` key and the value."""


@attrs.frozen
class OutgoingMessage:
    """One message as a sender receives it: rendered, with its address in clear."""

    id: int
    channel: str
    """``email``, ``sms`` or ``zalo``."""
    address: str
    """An e-mail address, or a normalised phone number (``0912345678``) for ``sms`` and ``zalo``."""
    purpose: str
    """What the message is for: ``otp``, ``report_due``, ``report_overdue``…"""
    template: str
    """The template key it was rendered from (ZNS maps it to an approved template id)."""
    params: Mapping[str, str]
    """The template's parameters (ZNS sends them as ``template_data``)."""
    idempotency_key: str
    """Unique per message and the same on every attempt: send it to gateways that accept one, so
    that a repeated attempt after a crash is not delivered twice."""
    text: str
    """The rendered text: an e-mail's body, an SMS's text (diacritics stripped when the channel
    says so), for ZNS a plain rendition for the log and the development folder."""
    subject: str | None = None
    """An e-mail's subject (None for other channels)."""
    attempt: int = 1
    """1 for the first try, 2 for the first retry…"""


@attrs.frozen
class SendResult:
    """What a sender says about one attempt. Build with :meth:`sent`, :meth:`retry` or
    :meth:`failed`."""

    outcome: str
    """``sent``, ``retry`` (a transient failure: try again later) or ``failed`` (permanent)."""
    reason: str | None = None
    """The gateway's own reason, as it gave it (status, code, text), for the officer to read."""
    gateway_id: str | None = None
    """The gateway's id of the message when it gives one (for a complaint to the provider)."""
    retry_after: float | None = None
    """Seconds the gateway asked to wait (HTTP 429 ``Retry-After``), if it said."""
    channel_down: bool = False
    """True when the gateway as a whole failed (connection refused, timeout, 5xx): the channel
    backs off, so that an outage does not use up every queued message's attempts."""

    @classmethod
    def sent(cls, gateway_id: str | None = None) -> SendResult:
        """The gateway accepted the message."""
        return cls("sent", gateway_id=None if gateway_id is None else str(gateway_id)[:200])

    @classmethod
    def retry(cls, reason: str, *, retry_after: float | None = None, channel_down: bool = True) -> SendResult:
        """A transient failure: the message is tried again later (exponential back-off)."""
        return cls("retry", reason=_cut(reason), retry_after=retry_after, channel_down=channel_down)

    @classmethod
    def failed(cls, reason: str) -> SendResult:
        """A permanent failure (a refused address, a template the gateway rejects): not retried."""
        return cls("failed", reason=_cut(reason))


def _cut(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Sender(Protocol):
    """A configured sender for one channel. ``send`` must not raise for gateway problems: it
    returns :meth:`SendResult.retry` or :meth:`SendResult.failed` with the gateway's reason
    (an exception it lets through is treated as a transient failure of the channel)."""

    def send(self, message: OutgoingMessage) -> SendResult:  # pragma: no cover - protocol
        ...

    def close(self) -> None:  # pragma: no cover - protocol
        ...


class SenderState(Protocol):
    """Small persistent values a sender keeps between runs, per channel (ZNS's rotating refresh
    token). Stored in the deployment database, table ``message_sender_state``."""

    def get(self, key: str) -> str | None:  # pragma: no cover - protocol
        ...

    def set(self, key: str, value: str) -> None:  # pragma: no cover - protocol
        ...


@attrs.frozen
class SenderContext:
    """What a sender kind's ``create`` receives."""

    channel: str
    settings: Mapping[str, Any]
    """The ``[messages.channels.<channel>]`` table without its ``sender`` key."""
    folder: Any
    """The deployment folder (a :class:`pathlib.Path`): relative paths in settings start here."""
    state: SenderState
    where: str = "ccch.toml"
    """How errors name the table: ``ccch.toml: messages.channels.sms``."""

    def setting(self, key: str, default: Any = None, *, required: bool = False) -> Any:
        """A setting, or ``default``; :class:`SenderConfigError` when ``required`` and absent."""
        if key in self.settings:
            return self.settings[key]
        if required:
            raise SenderConfigError(f"{self.where}.{key}: missing required setting")
        return default

    def secret(self, key: str, *, required: bool = True) -> str | None:
        """A credential: the setting ``key``, or the environment variable named by ``<key>_env``
        (``password_env = "CCCH_SMTP_PASSWORD"``). Never from the plan file."""
        env_name = self.settings.get(f"{key}_env")
        if env_name:
            value = os.environ.get(str(env_name))
            if value:
                return value
            if required:
                raise SenderConfigError(
                    f"{self.where}.{key}_env: the environment variable {env_name} is not set")
            return None
        value = self.settings.get(key)
        if value in (None, "") and required:
            raise SenderConfigError(f"{self.where}: set {key} or {key}_env (an environment variable's name)")
        return None if value in (None, "") else str(value)


@attrs.frozen
class SenderKind:
    """An entry of the sender registry (``register_message_senders``)."""

    name: str
    """What ``sender = "…"`` names in ``ccch.toml``: ``smtp``, ``http_sms``, ``zalo_zns``, ``folder``."""
    channels: tuple[str, ...]
    """The channels it can serve."""
    create: Callable[[SenderContext], Sender]
    """Build a sender from the channel's settings; raise :class:`SenderConfigError` on bad ones."""
    description: str = ""
    """One line for ``ccch messages senders``."""
    keys: tuple[str, ...] = ()
    """Every setting it reads (others are reported as unknown keys, with a suggestion)."""
