"""Time-based one-time codes (TOTP, RFC 6238) for the second sign-in factor (xác thực hai bước).

The defaults every authenticator app uses (Google Authenticator, Microsoft Authenticator, FreeOTP,
Aegis…): HMAC-SHA1, 6 digits, a 30-second step, a 160-bit secret shown as base32. These few
lines of the standard library do what the ``pyotp`` package would; a dependency was not worth it
for them, and the part that matters here — a code is accepted at most once — is ours anyway
(:func:`ccch_core.accounts.verify_second_factor` keeps the last accepted step per account).

The secret is stored sealed (:func:`seal`): encrypted and authenticated under a key derived from
the deployment's secret, so a copied database or backup alone does not give anyone the codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
"""Codes of one step before and after the current one are accepted (a phone's clock off by up to
30 seconds, or a code typed just as it changed)."""

SECRET_BYTES = 20

_CODE = re.compile(r"^\d{6}$")


class SecretError(ValueError):
    """A sealed secret that cannot be opened (another deployment's secret key, or altered)."""


def generate_secret() -> str:
    """A new random secret, base32 without padding (32 characters, what the apps expect)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key_bytes(secret: str) -> bytes:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def code_at(secret: str, step: int) -> str:
    """The code of time step ``step`` (RFC 4226 HOTP over the step counter)."""
    digest = hmac.digest(_key_bytes(secret), struct.pack(">Q", step), "sha1")
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_step(now: float | None = None) -> int:
    """The time step of ``now`` (seconds since the epoch; default: the clock)."""
    return int((time.time() if now is None else now) // STEP_SECONDS)


def normalise_code(text: str | None) -> str | None:
    """The six digits of a typed code ("123 456", "123-456" accepted), or None when it is not one.
    Bounded: anything longer than a code with separators is not a code."""
    if not text or len(text) > 16:
        return None
    digits = re.sub(r"[\s\-.]", "", text)
    return digits if _CODE.match(digits) and digits.isascii() else None


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (within the allowed drift) whose code is ``code``, or None.

    Every candidate is compared in constant time, so the time taken says nothing about which one
    matched or how close a guess was."""
    step = current_step(now)
    found = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, candidate), code) and found is None:
            found = candidate
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI an authenticator app reads from a QR code or a link."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
                       "period": STEP_SECONDS}, quote_via=quote)
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand: "ABCD EFGH …"."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


# -- sealing the stored secret ------------------------------------------------------------------
#
# Encrypt-then-MAC with HMAC-SHA256 only (no new dependency): the keystream is HMAC(k_enc, nonce)
# with a fresh random 16-byte nonce (a PRF in counter mode with one block, enough for a 20-byte
# secret), and the tag HMAC(k_mac, version | account id | nonce | ciphertext) binds the sealed
# value to its account, so a sealed secret copied onto another account's row does not open.

_VERSION = b"t1"


def _keys(deployment_secret: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(f"ccch:totp-seal:{deployment_secret}".encode()).digest()
    return hmac.digest(root, b"encrypt", "sha256"), hmac.digest(root, b"authenticate", "sha256")


def seal(deployment_secret: str, account_id: int, secret: str) -> str:
    """``secret`` encrypted and authenticated for storage in ``account_id``'s row."""
    raw = secret.encode("ascii")
    if len(raw) > 32:
        raise ValueError("a TOTP secret is at most 32 base32 characters")
    enc, mac = _keys(deployment_secret)
    nonce = secrets.token_bytes(16)
    stream = hmac.digest(enc, nonce, "sha256")
    body = bytes(a ^ b for a, b in zip(raw, stream, strict=False))
    tag = hmac.digest(mac, _VERSION + str(account_id).encode() + b"|" + nonce + body, "sha256")
    return _VERSION.decode() + ":" + base64.urlsafe_b64encode(nonce + body + tag).decode("ascii")


def unseal(deployment_secret: str, account_id: int, sealed: str) -> str:
    """The secret :func:`seal` stored; :class:`SecretError` if it was sealed under another key or
    for another account, or altered."""
    version, _, text = sealed.partition(":")
    try:
        blob = base64.urlsafe_b64decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SecretError("not a sealed secret") from None
    if version.encode() != _VERSION or len(blob) < 16 + 32 + 1:
        raise SecretError("not a sealed secret")
    nonce, body, tag = blob[:16], blob[16:-32], blob[-32:]
    enc, mac = _keys(deployment_secret)
    expected = hmac.digest(mac, _VERSION + str(account_id).encode() + b"|" + nonce + body, "sha256")
    if not hmac.compare_digest(tag, expected):
        raise SecretError("the sealed secret does not open with this deployment's secret key")
    stream = hmac.digest(enc, nonce, "sha256")
    return bytes(a ^ b for a, b in zip(body, stream, strict=False)).decode("ascii")
