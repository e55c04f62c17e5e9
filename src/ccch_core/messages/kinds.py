"""The built-in sender kinds, named without importing their code.

The registry needs each kind's name, channels and keys when a deployment opens (to check
``ccch.toml``), but the senders themselves (smtplib, ssl, urllib3) only when messages are
delivered: ``create`` imports :mod:`ccch_core.messages.senders` on first use.
"""

from __future__ import annotations

from .base import SenderContext, SenderKind


def _lazy(name: str):
    def create(context: SenderContext):
        from . import senders

        return getattr(senders, name)(context)

    create.__name__ = name
    return create


SMTP = SenderKind(
    "smtp", ("email",), _lazy("_create_smtp"),
    "E-mail through an SMTP server (STARTTLS, SSL or plain; login optional).",
    keys=("host", "port", "security", "username", "password", "password_env", "from_address", "from_name",
          "reply_to", "timeout", "helo", "ca_file"),
)
HTTP_SMS = SenderKind(
    "http_sms", ("sms",), _lazy("_create_http_sms"),
    "SMS through a brandname gateway's HTTP API (JSON, form or query fields described in ccch.toml).",
    keys=("url", "method", "body", "fields", "headers", "api_key", "api_key_env", "secret_key", "secret_key_env",
          "brandname", "success_status", "success_field", "success_values", "retry_values", "message_id_field",
          "error_field", "idempotency_header", "timeout"),
)
ZALO_ZNS = SenderKind(
    "zalo_zns", ("zalo",), _lazy("_create_zalo_zns"),
    "Zalo Notification Service (ZNS) template messages from an Official Account.",
    keys=("app_id", "secret_key", "secret_key_env", "access_token", "access_token_env", "refresh_token",
          "refresh_token_env", "api_url", "oauth_url", "templates", "mode", "timeout"),
)
FOLDER = SenderKind(
    "folder", ("email", "sms", "zalo"), _lazy("_create_folder"),
    "Development: writes each message to a file under the deployment folder instead of sending it.",
    keys=("folder", "from_address", "from_name"),
)

BUILTIN_SENDERS: tuple[SenderKind, ...] = (SMTP, HTTP_SMS, ZALO_ZNS, FOLDER)
"""The senders ccch ships, registered by the core's ``register_message_senders``."""
