"""Passwords (Argon2id, argon2-cffi) and one-time codes (TOTP, RFC 6238, pyotp)."""

from __future__ import annotations

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
"""argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile."""
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


def new_totp_secret() -> str:
    return pyotp.random_base32()


def check_totp(secret: str | None, code: str) -> bool:
    """A 6-digit code of this or the neighbouring 30-second step (clock drift)."""
    code = code.replace(" ", "")
    if not secret or len(code) != 6 or not code.isdigit():
        return False
    return pyotp.TOTP(secret).verify(code, valid_window=1)


def totp_uri(secret: str, account: str, issuer_name: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer_name)
