"""The exchange's check of machine tokens trusts a verified token again only while that is safe.

A token once verified is not re-verified for a few seconds, so these tests try what must still
be refused after that: a token whose signing key is gone, a token past its expiry, and any
alteration of a token that was accepted.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt

from identity_world import World, machine_token
from trusthub.identity.oidc.keys import new_jwks
from trusthub.identity.service import authenticate_machine_client
from trusthub.problems import Problem


def _token(world: World) -> str:
    answer = machine_token(world)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_a_verified_token_is_refused_once_its_signing_key_is_gone(hub: World) -> None:
    token = _token(hub)
    assert authenticate_machine_client(token, hub.settings).organisation_slug == "dwp"
    assert hub.settings.identity_signing_keys is not None
    with open(hub.settings.identity_signing_keys, "w") as keys:  # every old key retired
        json.dump(new_jwks(), keys)
    with pytest.raises(Problem) as refused:
        authenticate_machine_client(token, hub.settings)
    assert refused.value.status == 401


def test_a_verified_token_is_refused_after_its_expiry(hub: World) -> None:
    provider = hub.provider
    key = provider.keyring().signing_key("ES256")
    now = int(time.time())
    claims = {
        "iss": provider.issuer,
        "aud": provider.machine_audience,
        "sub": hub.machine_id,
        "client_id": hub.machine_id,
        "organisation": "dwp",
        "scope": "exchange",
        "iat": now,
        "exp": now + 2,
        "jti": uuid.uuid4().hex,
    }
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}
    token = jwt.encode(header, claims, key, algorithms=["ES256"])
    assert authenticate_machine_client(token, hub.settings).client_id == hub.machine_id
    time.sleep(max(0.0, now + 3.5 - time.time()))
    with pytest.raises(Problem):
        authenticate_machine_client(token, hub.settings)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_alteration_of_an_accepted_token_is_accepted(hub: World, data: st.DataObject) -> None:
    token = getattr(hub, "_trusted_token", None)
    if token is None:
        token = _token(hub)
        hub._trusted_token = token  # type: ignore[attr-defined]
    authenticate_machine_client(token, hub.settings)
    at = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    swap = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[at]))
    altered = token[:at] + swap + token[at + 1 :]
    try:
        caller = authenticate_machine_client(altered, hub.settings)
    except Problem:
        return
    # base64url has spare bits in a segment's last character: the bytes, and so the verdict,
    # may be the very same token's
    assert caller == authenticate_machine_client(token, hub.settings)
    assert at in _last_characters(altered)


def _last_characters(token: str) -> set[int]:
    ends, position = set(), -1
    for segment in token.split("."):
        position += len(segment) + 1
        ends.add(position - 1)
    return ends
