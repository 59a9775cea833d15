"""The token endpoint's lean path: clients read afresh on every grant, and nothing lost at the edge.

The client record built from a row is reused while the row is unchanged, so these tests change
the row between two grants (disable the client, rotate its key, narrow its scopes) and expect
the very next grant to follow the change. The edge that answers ``POST /oauth2/token`` ahead of
the router must still refuse what the route refused and keep the request id and the metrics.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from identity_world import ISSUER, World, assertion_form, machine_token, new_ec_key, public
from trusthub.db import make_session_factory, transaction
from trusthub.identity.oidc.clients import record_of
from trusthub.identity.oidc.models import ClientKind, OAuthClient


def _change_client(world: World, **values: Any) -> None:
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    with transaction(make_session_factory(engine)) as db:
        db.execute(
            update(OAuthClient).where(OAuthClient.client_id == world.machine_id).values(**values)
        )


def test_a_disabled_client_is_refused_at_the_next_grant(hub: World) -> None:
    assert machine_token(hub).status_code == 200
    _change_client(hub, disabled_at=datetime.now(UTC))
    answer = machine_token(hub)
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"] == "invalid_client"


def test_a_rotated_key_counts_at_once_and_the_old_one_no_longer(hub: World) -> None:
    assert machine_token(hub).status_code == 200
    old_key, new_key = hub.machine_key, new_ec_key()
    _change_client(hub, jwks=public(new_key))
    refused = machine_token(hub)
    assert refused.status_code in (400, 401), refused.text
    assert refused.json()["error"] == "invalid_client"
    hub.machine_key = new_key
    assert machine_token(hub).status_code == 200
    hub.machine_key = old_key
    assert machine_token(hub).json()["error"] == "invalid_client"


def test_narrowed_scopes_apply_to_the_next_grant(hub: World) -> None:
    assert machine_token(hub).json()["scope"] == "exchange"
    _change_client(hub, scope="other")
    answer = machine_token(hub)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_scope"


def test_the_edge_refuses_what_is_not_a_form(hub: World) -> None:
    assert hub.machine_key is not None
    form = {"grant_type": "client_credentials"} | assertion_form(hub.machine_key, hub.machine_id)
    answer = hub.client.post("/oauth2/token", json=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in answer.json()["error_description"]


def test_the_edge_refuses_an_oversized_body(hub: World) -> None:
    answer = hub.client.post(
        "/oauth2/token",
        content=b"grant_type=client_credentials&pad=" + b"a" * (70 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert answer.json()["error_description"] == "the request body is too large"


def test_the_edge_keeps_the_request_id_and_the_route_metrics(hub: World) -> None:
    assert hub.machine_key is not None
    form = {"grant_type": "client_credentials", "scope": "exchange"}
    form |= assertion_form(hub.machine_key, hub.machine_id)
    answer = hub.client.post("/oauth2/token", data=form, headers={"X-Request-ID": "edge-test-1"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-request-id"] == "edge-test-1"
    metrics = hub.client.get("/metrics").text
    assert 'route="/oauth2/token",status="200"' in metrics
    assert hub.machine_id not in metrics


def test_the_token_endpoint_is_still_documented(hub: World) -> None:
    paths = hub.client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/oauth2/token"]


def test_a_get_of_the_token_endpoint_is_not_answered_as_a_grant(hub: World) -> None:
    assert hub.client.get("/oauth2/token").status_code == 405


def test_the_issuer_not_the_host_header_is_the_token_audience(hub: World) -> None:
    assert hub.machine_key is not None
    form = {"grant_type": "client_credentials"}
    form |= assertion_form(hub.machine_key, hub.machine_id, audience=ISSUER + "/oauth2/token")
    answer = hub.client.post("/oauth2/token", data=form, headers={"Host": "evil.example"})
    assert answer.status_code == 200, answer.text
    other = {"grant_type": "client_credentials"}
    other |= assertion_form(hub.machine_key, hub.machine_id, audience="https://evil.example")
    assert hub.client.post("/oauth2/token", data=other).json()["error"] == "invalid_client"


_text = st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1, max_size=12)


@given(
    scopes=st.lists(_text.filter(lambda s: " " not in s), min_size=1, max_size=4),
    kid=_text,
    disabled_slug=st.none() | _text,
)
def test_a_record_is_exactly_what_its_row_says(
    scopes: list[str], kid: str, disabled_slug: str | None
) -> None:
    """The reuse is keyed by the whole row: rows that differ never share a record."""
    jwks = json.dumps({"keys": [{"kty": "EC", "kid": kid}]})
    row = (
        "m-1", "M", ClientKind.MACHINE.value, disabled_slug, "s", "[]", "[]",
        '["client_credentials"]', " ".join(scopes), "private_key_jwt", jwks, None, "ES256",
        "government", None, None,
    )  # fmt: skip
    record = record_of(row)
    assert record.scopes == tuple(scopes)
    assert record.organisation_slug == disabled_slug
    assert record.jwks is not None and record.jwks["keys"][0]["kid"] == kid
    changed = (*row[:8], " ".join([*scopes, "extra"]), *row[9:])
    assert record_of(changed).scopes == (*scopes, "extra")
    assert record_of(row) is record
