"""Pure rules of the identity provider: pairwise subjects, claim release, keys and client checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey

from identity_world import new_ec_key, new_rsa_key, public
from trusthub.identity.oidc.claims import Person, pairwise_subject, userinfo_claims
from trusthub.identity.oidc.clients import check_public_jwks, check_redirect_uri
from trusthub.identity.oidc.keys import (
    KeyConfigError,
    KeyRing,
    KeyStore,
    new_jwks,
    rotate_key_file,
    rotated,
)

KEY = b"k" * 32


def test_pairwise_subjects_are_stable_per_sector_and_unlinkable_across() -> None:
    one = pairwise_subject(KEY, "gov.example", 7)
    assert one == pairwise_subject(KEY, "gov.example", 7)
    assert one != pairwise_subject(KEY, "bank.example", 7)
    assert one != pairwise_subject(KEY, "gov.example", 8)
    assert one != pairwise_subject(b"another key".ljust(32, b"!"), "gov.example", 7)
    assert len(one) == 43 and "=" not in one  # base64url of 32 bytes, unpadded


def test_the_sector_and_citizen_cannot_be_shifted_into_each_other() -> None:
    assert pairwise_subject(KEY, "gov.example1", 2) != pairwise_subject(KEY, "gov.example", 12)


ADA = Person("Ada", "Lovelace", date(1985, 12, 10))


@pytest.mark.parametrize(
    ("scopes", "confidence", "expected"),
    [
        ({"openid"}, 0, {"sub"}),
        ({"openid", "profile"}, 0, {"sub"}),
        ({"openid", "profile"}, 1, {"sub"}),
        ({"openid"}, 2, {"sub"}),
        ({"openid", "profile"}, 2, {"sub", "given_name", "family_name", "birthdate"}),
    ],
)
def test_profile_claims_need_a_proven_identity(
    scopes: set[str], confidence: int, expected: set[str]
) -> None:
    assert set(userinfo_claims("s", scopes, confidence, ADA)) == expected


def test_keyring_uses_the_first_key_of_each_algorithm() -> None:
    data = new_jwks()
    ring = KeyRing.from_jwks(data)
    assert ring.algorithms() == ["ES256", "RS256"]
    later = rotated(data, "ES256", keep=1)
    new_ring = KeyRing.from_jwks(later)
    assert new_ring.signing_key("ES256").kid != ring.signing_key("ES256").kid
    assert new_ring.signing_key("RS256").kid == ring.signing_key("RS256").kid
    kids = [k["kid"] for k in new_ring.public_jwks()["keys"]]
    assert ring.signing_key("ES256").kid in kids
    for published in new_ring.public_jwks()["keys"]:
        assert set(published) <= {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
    assert len(rotated(later, "ES256", keep=1)["keys"]) == 3  # ES new, ES retired, RS


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
@pytest.mark.parametrize(
    "make",
    [
        lambda: {},
        lambda: {"keys": []},
        lambda: {"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}]},
        lambda: {"keys": [ECKey.generate_key("P-256", {"alg": "ES256"}).as_dict(private=False)]},
        lambda: {"keys": [ECKey.generate_key("P-384", {"alg": "ES256"}).as_dict(private=True)]},
        lambda: {"keys": [ECKey.generate_key("P-256", {}).as_dict(private=True)]},
        lambda: {"keys": [RSAKey.generate_key(1024, {"alg": "RS256"}).as_dict(private=True)]},
    ],
    ids=["empty", "no keys", "symmetric", "public only", "P-384", "no alg", "RSA 1024"],
)
def test_unusable_signing_keys_are_refused(make: Callable[[], dict[str, Any]]) -> None:
    with pytest.raises(KeyConfigError):
        KeyRing.from_jwks(make())


def test_a_key_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(new_jwks(["ES256"])))
    store = KeyStore(path)
    first = store.keyring().signing_key().kid
    new_kid = rotate_key_file(path, "ES256", keep=1)
    assert store.keyring().signing_key().kid == new_kid != first
    assert path.stat().st_mode & 0o077 == 0


def test_inline_keys_are_accepted() -> None:
    store = KeyStore(json.dumps(new_jwks(["ES256"])))
    assert store.keyring().algorithms() == ["ES256"]


def test_client_jwks_must_be_public_signing_keys() -> None:
    assert check_public_jwks(public(new_ec_key()))["keys"][0]["kty"] == "EC"
    assert check_public_jwks(public(new_rsa_key()))["keys"][0]["kty"] == "RSA"
    for bad in (
        {"keys": [new_ec_key().as_dict(private=True)]},
        {"keys": [ECKey.generate_key("P-384", {}).as_dict(private=False)]},
        {"keys": [{**new_ec_key().as_dict(private=False), "use": "enc"}]},
        {"keys": [{**new_ec_key().as_dict(private=False), "alg": "HS256"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "bad", "y": "bad"}]},
        {"keys": "none"},
        [],
    ):
        with pytest.raises(ValueError):
            check_public_jwks(bad)


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://rp.example/cb", True),
        ("http://127.0.0.1:8080/cb", True),
        ("http://localhost/cb", True),
        ("http://rp.example/cb", False),
        ("https://rp.example/cb#frag", False),
        ("https://*.example/cb", False),
        ("javascript:alert(1)", False),
        ("/relative", False),
    ],
)
def test_redirect_uris_registered_must_be_safe(uri: str, ok: bool) -> None:
    if ok:
        assert check_redirect_uri(uri) == uri
    else:
        with pytest.raises(ValueError):
            check_redirect_uri(uri)
