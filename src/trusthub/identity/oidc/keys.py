"""The provider's signing keys: loaded from configuration, published as a JWKS, rotated by order.

As node-oidc-provider does, order is the rotation state: for each algorithm the first key signs
and the keys after it are retired, still published so that tokens they signed keep verifying
until they expire. Rotating puts a new key first; pruning drops the oldest retired ones.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from joserfc.jwk import ECKey, Key, KeySet, RSAKey, import_key

SIGNING_ALGS = ("ES256", "RS256")
DEFAULT_ALG: Final = "ES256"
PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e", "kid", "alg", "use")
RSA_MIN_BITS = 2048


class KeyConfigError(ValueError):
    """The configured keys cannot be used; the message says which rule they break."""


def _check_key(key: Key) -> None:
    alg = key.get("alg")
    if alg not in SIGNING_ALGS:
        raise KeyConfigError(f"every signing key needs an alg of {', '.join(SIGNING_ALGS)}")
    if not key.is_private:
        raise KeyConfigError("signing keys must include their private part")
    if alg == "ES256" and not (isinstance(key, ECKey) and key.curve_name == "P-256"):
        raise KeyConfigError("an ES256 key must be an EC key on P-256")
    if alg == "RS256" and not (isinstance(key, RSAKey) and key.raw_value.key_size >= RSA_MIN_BITS):
        raise KeyConfigError(f"an RS256 key must be an RSA key of {RSA_MIN_BITS} bits or more")


@dataclass(frozen=True)
class KeyRing:
    """An ordered set of private signing keys; the first of each algorithm is the active one."""

    keys: tuple[Key, ...]

    @classmethod
    def from_jwks(cls, data: dict[str, Any]) -> KeyRing:
        """Import and check a private JWKS; kids must be unique and every key usable."""
        entries = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise KeyConfigError("the signing keys must be a JWKS with at least one key")
        keys: list[Key] = []
        for entry in entries:
            try:
                key = import_key(entry)
            except (ValueError, TypeError) as error:
                raise KeyConfigError("a signing key could not be read as a JWK") from error
            _check_key(key)
            key.ensure_kid()
            keys.append(key)
        kids = [k.kid for k in keys]
        if len(set(kids)) != len(kids):
            raise KeyConfigError("signing key ids (kid) must be unique")
        return cls(tuple(keys))

    def algorithms(self) -> list[str]:
        """Algorithms this ring can sign with, in the order of SIGNING_ALGS."""
        present = {k.get("alg") for k in self.keys}
        return [alg for alg in SIGNING_ALGS if alg in present]

    def signing_key(self, alg: str = DEFAULT_ALG) -> Key:
        for key in self.keys:
            if key.get("alg") == alg:
                return key
        raise KeyConfigError(f"no signing key for {alg}")

    def signing_set(self, alg: str = DEFAULT_ALG) -> KeySet:
        """The active key alone, as a set, so that joserfc writes its ``kid`` into the header."""
        return KeySet([self.signing_key(alg)])

    @cached_property
    def _published(self) -> dict[str, Any]:
        published = []
        for key in self.keys:
            public = key.as_dict(private=False)
            entry = {m: public[m] for m in PUBLIC_MEMBERS if m in public}
            entry["use"] = "sig"
            published.append(entry)
        return {"keys": published}

    def public_jwks(self) -> dict[str, Any]:
        """Every key's public half with only the standard members, for the jwks_uri."""
        return {"keys": [dict(entry) for entry in self._published["keys"]]}

    @cached_property
    def _verifying(self) -> KeySet:
        return KeySet.import_key_set(self._published)  # type: ignore[arg-type]

    def verification_set(self) -> KeySet:
        """The public keys, imported once per ring rather than on every token checked."""
        return self._verifying


def new_signing_key(alg: str) -> Key:
    """A fresh key for ``alg`` whose kid is its RFC 7638 thumbprint."""
    parameters: dict[str, Any] = {"alg": alg, "use": "sig"}
    key: Key
    if alg == "ES256":
        key = ECKey.generate_key("P-256", parameters, private=True)  # type: ignore[arg-type]
    elif alg == "RS256":
        key = RSAKey.generate_key(RSA_MIN_BITS, parameters, private=True)  # type: ignore[arg-type]
    else:
        raise KeyConfigError(f"cannot make keys for {alg}")
    key.ensure_kid()
    return key


def new_jwks(algs: Iterable[str] = SIGNING_ALGS) -> dict[str, Any]:
    """A private JWKS holding one new key per algorithm."""
    return {"keys": [new_signing_key(alg).as_dict(private=True) for alg in algs]}


def rotated(data: dict[str, Any], alg: str, keep: int) -> dict[str, Any]:
    """The JWKS with a new active key for ``alg`` first and at most ``keep`` retired ones after."""
    if keep < 1:
        raise KeyConfigError("keep at least one retired key, so issued tokens still verify")
    current = list(data.get("keys", []))
    same = [k for k in current if k.get("alg") == alg]
    others = [k for k in current if k.get("alg") != alg]
    fresh = new_signing_key(alg).as_dict(private=True)
    return {"keys": [fresh, *same[:keep], *others]}


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def create_private_file_once(path: Path, text: str) -> bool:
    """Create ``path`` (0600) unless it exists; safe when several processes race to do it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


class KeyStore:
    """Keys from configuration — inline JWKS JSON or a file, re-read whenever the file changes."""

    def __init__(self, source: str | Path) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self.path: Path | None = None
        if isinstance(source, str) and source.lstrip().startswith("{"):
            self._ring = KeyRing.from_jwks(json.loads(source))
        else:
            self.path = Path(source)
            self._ring = self._load()

    def _load(self) -> KeyRing:
        assert self.path is not None
        try:
            stat = self.path.stat()
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise KeyConfigError("the signing key file cannot be read as JSON") from error
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return KeyRing.from_jwks(data)

    def keyring(self) -> KeyRing:
        """The current keys; a file is checked each call (one stat): rotation needs no restart."""
        if self.path is None:
            return self._ring
        stat = self.path.stat()
        if (stat.st_mtime_ns, stat.st_size) != self._stamp:
            with self._lock:
                self._ring = self._load()
        return self._ring


def rotate_key_file(path: Path, alg: str, keep: int) -> str:
    """Put a new active key for ``alg`` first in the file; returns its kid."""
    data = json.loads(path.read_text())
    KeyRing.from_jwks(data)  # refuse to rewrite a file that is already broken
    updated = rotated(data, alg, keep)
    write_private_file(path, json.dumps(updated, indent=2))
    kid: str = KeyRing.from_jwks(updated).signing_key(alg).kid or ""
    return kid
