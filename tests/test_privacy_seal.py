"""Sealed personal data (privacy.seal): read back with the deployment's secret, never stored in clear."""

from __future__ import annotations

from ccch_core.privacy import SEALED_PREFIX, seal, unseal


def test_a_sealed_value_opens_only_with_its_secret_and_purpose():
    sealed = seal("bí mật", "contest-contact", "0912345678")
    assert sealed.startswith(SEALED_PREFIX) and "0912345678" not in sealed
    assert seal("bí mật", "contest-contact", "0912345678") != sealed  # a fresh IV each time
    assert unseal("bí mật", "contest-contact", sealed) == "0912345678"
    assert unseal("another secret", "contest-contact", sealed) is None
    assert unseal("bí mật", "feedback-contact", sealed) is None
    tampered = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    assert unseal("bí mật", "contest-contact", tampered) is None
    assert unseal("bí mật", "contest-contact", SEALED_PREFIX + "not base64 at all!") is None


def test_values_stored_in_clear_by_an_older_version_still_read():
    assert unseal("bí mật", "contest-contact", "0912345678") == "0912345678"
    assert unseal("bí mật", "contest-contact", None) is None
