"""Messages (tin nhắn): an outbox in the core, delivered by senders that plugins register.

A plugin queues a message inside its own write transaction with :func:`queue_message`; ``ccch
messages send`` (or ``ccch serve``, or a systemd unit running ``ccch messages send --loop``)
delivers it through the sender configured for its channel in ``ccch.toml``. See docs/messages.md.

Public API for plugins::

    from ccch_core.messages import queue_message, MessageError, ChannelUnavailable, DailyCapReached

    with write_transaction(deployment.db):
        ...  # the action
        queue_message(deployment, channel="email", address=contact, template="report_overdue",
                      params={...}, idempotency_key=f"reminders:overdue:{month}:{unit}:{contact_id}",
                      unit_id=unit, source="reminders")
"""

from .base import (
    CHANNELS,
    ChannelUnavailable,
    DailyCapReached,
    MessageError,
    OutgoingMessage,
    Sender,
    SenderConfigError,
    SenderContext,
    SenderKind,
    SenderState,
    SendResult,
)
from .outbox import (
    STATES,
    Message,
    Messaging,
    cancel_message,
    count_messages,
    counts_by_state,
    get_message,
    list_messages,
    mask_address,
    normalise_address,
    normalise_email,
    queue_message,
    render_message,
    retry_message,
)
from .templates import (
    BUILTIN_TEMPLATES,
    MessageTemplate,
    SmsLength,
    sms_segments,
    sms_text,
)

__all__ = [
    "BUILTIN_TEMPLATES",
    "CHANNELS",
    "STATES",
    "ChannelUnavailable",
    "DailyCapReached",
    "Message",
    "MessageError",
    "MessageTemplate",
    "Messaging",
    "OutgoingMessage",
    "SendResult",
    "Sender",
    "SenderConfigError",
    "SenderContext",
    "SenderKind",
    "SenderState",
    "SmsLength",
    "cancel_message",
    "count_messages",
    "counts_by_state",
    "get_message",
    "list_messages",
    "mask_address",
    "normalise_address",
    "normalise_email",
    "queue_message",
    "render_message",
    "retry_message",
    "sms_segments",
    "sms_text",
]
