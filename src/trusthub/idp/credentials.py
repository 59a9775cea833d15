"""Passwords (Argon2id, argon2-cffi) and one-time codes (TOTP, RFC 6238, pyotp)."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
"""Argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): strong enough
against offline guessing and cheap enough to sign people in at Keycloak's rate per core
(argon2-cffi's own default, 64 MiB on 4 lanes, costs about four times as much)."""
_DUMMY = _hasher.hash("an account that does not exist")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, given: str) -> bool:
    """True if ``given`` matches; an unknown account costs the same hash, so timing says nothing."""
    try:
        return _hasher.verify(stored or _DUMMY, given) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """A hash made with other parameters than today's, to be replaced at the next sign-in."""
    return _hasher.check_needs_rehash(stored)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_step(secret: str | None, code: str, now: datetime, after: int | None) -> int | None:
    """The 30-second step whose code this is (this one or a neighbour, for clock drift).

    None if the code is wrong or its step is not later than ``after``, the last step used, so
    each code works once (RFC 6238 §5.2).
    """
    code = code.replace(" ", "")
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (after is None or step > after):
            return step
    return None


def totp_uri(secret: str, account: str, issuer_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer_name)
