"""Pseudonyms for a block of values at once, as bytes in and bytes out: a bulk worker's task.

The same HMAC as ``minimise.pseudonym`` (``cryptography``'s, keyed and fed the field name once,
then copied per value), and the base64url step runs once over the whole block: each 32-byte
digest is padded with one zero byte to 33 bytes, a multiple of three, so the encoding of the
concatenation is the concatenation of the encodings, and each value's first 43 characters are
its unpadded encoding. This module imports no more than that work needs, since worker processes
load it (``ledger.bulk_workers``); the pseudonym key reaches them over their pipes only.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import hashes, hmac

DIGEST = 32
ENCODED = 43
"""Characters of a 32-byte digest in base64url without padding."""
_PAD = bytes(1)


def pseudonym_block(key: bytes, field_name: str, offsets: bytes, data: bytes) -> bytes:
    """Each value's pseudonym, 43 characters apiece, concatenated: value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]`` with ``offsets`` native 64-bit integers."""
    bounds: list[int] = np.frombuffer(offsets, dtype=np.int64).tolist()
    if len(bounds) < 2:
        return b""
    keyed = hmac.HMAC(key, hashes.SHA256())
    keyed.update(field_name.encode() + b"\x00")
    new = keyed.copy
    digests: list[bytes] = []
    add = digests.append
    start = bounds[0]
    for end in bounds[1:]:  # a plain loop: a call per value would cost a tenth more
        mac = new()
        mac.update(data[start:end])
        add(mac.finalize())
        start = end
    block = _PAD.join(digests) + _PAD
    encoded = np.frombuffer(base64.urlsafe_b64encode(block), dtype=np.uint8)
    return encoded.reshape(len(bounds) - 1, 44)[:, :ENCODED].tobytes()


TASKS: dict[str, Callable[..., Any]] = {"pseudonymise": pseudonym_block}
"""What a bulk worker process may be asked to run (``ledger.bulk_workers``)."""
