"""Only the agreed fields leave; for pseudonymised agreements identifiers become keyed pseudonyms.

The pseudonym key is derived per agreement (HKDF-SHA256 from the configured master key, with the
agreement's reference as context), so pseudonyms are stable within one agreement and unlinkable
across agreements. The HMAC and HKDF come from the ``cryptography`` package.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PSEUDONYM_CONTEXT = b"trusthub/exchange/pseudonym/v1:"


def agreement_pseudonym_key(master_key: bytes, agreement_reference: str) -> bytes:
    """A 32-byte key of this agreement's own, so pseudonyms cannot be joined across agreements."""
    if len(master_key) < 32:
        raise ValueError("the pseudonym master key must be at least 32 bytes")
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=PSEUDONYM_CONTEXT + agreement_reference.encode(),
    ).derive(master_key)


def pseudonym(key: bytes, field_name: str, value: object) -> str:
    """HMAC-SHA256 of the field name and value, base64url without padding (43 characters)."""
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(field_name.encode() + b"\x00" + str(value).encode())
    return base64.urlsafe_b64encode(mac.finalize()).rstrip(b"=").decode()


def minimise(
    record: Mapping[str, Any],
    fields: Iterable[str],
    identifiers: frozenset[str],
    key: bytes | None,
) -> dict[str, Any]:
    """Keep only ``fields``; replace each identifier with its pseudonym when a key is given."""
    out: dict[str, Any] = {}
    for name in fields:
        value = record.get(name)
        if key is not None and name in identifiers and value is not None:
            value = pseudonym(key, name, value)
        out[name] = value
    return out
