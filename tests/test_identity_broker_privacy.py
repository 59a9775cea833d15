"""The privacy split, as a property: whatever the service and its request, the identity provider
is sent the hub's own client, callback and fresh secrets, and the vector — nothing else."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey

from trusthub.identity.broker.client import ProviderError, authorization_request, forget
from trusthub.identity.broker.config import IdentityProvider
from trusthub.identity.oidc.vtr import parse_vector

ISSUER = "https://idp.example/idp/x"
IDP = IdentityProvider(
    slug="x",
    name="X",
    discovery_url=ISSUER + "/.well-known/openid-configuration",
    client_id="the-hub",
)
KEY = ECKey.generate_key("P-256", {"alg": "ES256"}, private=True)
SENT = {
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "vtr",
}


def _provider(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/openid-configuration"):
        return httpx.Response(
            200,
            json={
                "issuer": ISSUER,
                "authorization_endpoint": ISSUER + "/authorize",
                "token_endpoint": ISSUER + "/token",
                "jwks_uri": ISSUER + "/jwks",
            },
        )
    return httpx.Response(200, json={"keys": [KEY.as_dict(private=False)]})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["Cl", "Cl.Cm", "Cl.Cm.P1", "Cl.Cm.P2", "Cl.Cm.P3"]))
def test_the_provider_learns_nothing_of_the_service(asked: str) -> None:
    forget(IDP)
    trip = authorization_request(
        IDP, "https://hub.example/identity/broker/callback", parse_vector(asked),
        httpx.MockTransport(_provider),
    )  # fmt: skip
    query = {k: v[0] for k, v in parse_qs(urlsplit(trip.url).query).items()}
    assert set(query) == SENT
    assert query["client_id"] == "the-hub"
    assert query["redirect_uri"] == "https://hub.example/identity/broker/callback"
    assert query["vtr"] == f'["{parse_vector(asked).text}"]'
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == trip.state and query["nonce"] == trip.nonce
    assert len(trip.state) >= 40 and len(trip.code_verifier) >= 43


def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    forget(IDP)

    def liar(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"issuer": "https://elsewhere.example"})

    with pytest.raises(ProviderError) as refused:
        authorization_request(
            IDP, "https://hub.example/cb", parse_vector("Cl"), httpx.MockTransport(liar)
        )
    assert refused.value.reason == "discovery_issuer_mismatch"
