"""A refused sign-in request says why, in our words, and never repeats what the request sent."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from identity_world import World, auth_request
from trusthub.identity.oidc.refusals import CAUSES, refusal_detail


@pytest.mark.parametrize(
    ("error", "description", "cause"),
    [
        ("invalid_client", "The client does not exist on this server.", "not a service registered"),
        ("invalid_client", "Missing 'client_id' parameter.", "no client_id"),
        (
            "invalid_request",
            "Redirect URI https://evil.example/cb is not supported by client.",
            "redirect_uri is not one the service registered",
        ),
        ("invalid_request", "Missing 'redirect_uri' in request.", "no redirect_uri"),
        ("invalid_request", "redirect_uri is required.", "no redirect_uri"),
        (
            "invalid_request",
            "redirect_uri is not registered for this client.",
            "redirect_uri is not one the service registered",
        ),
        ("invalid_request", "Multiple 'state' in request.", "more than once"),
        ("invalid_request", "'client_id' does not match 'aud' claim", "another service"),
    ],
)
def test_each_known_refusal_names_its_cause(error: str, description: str, cause: str) -> None:
    detail = refusal_detail(error, description)
    assert f"({error})" in detail and cause in detail


def test_an_unknown_description_still_names_the_error_code() -> None:
    assert refusal_detail("invalid_scope", "whatever") == (
        "The service sent a request TrustHub cannot accept (invalid_scope)."
    )


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz:/.?=&<>\"'0123456789", min_size=6))
def test_what_the_request_sent_is_never_repeated(sent: str) -> None:
    assume(not any(sent in ours for _, ours in CAUSES) and sent not in "(invalid_request).")
    detail = refusal_detail("invalid_request", f"Redirect URI {sent} is not supported by client.")
    assert sent not in detail


def test_an_unknown_client_is_told_so(hub: World) -> None:
    answer = hub.client.get(auth_request(hub.rps["gov"], client_id="no-such-client").url)
    assert answer.status_code == 400
    assert "(invalid_client). Its client_id is not a service registered here." in answer.text
    assert "no-such-client" not in answer.text


def test_an_unregistered_redirect_uri_is_told_so(hub: World) -> None:
    req = auth_request(hub.rps["gov"], redirect_uri="https://evil.example/callback")
    answer = hub.client.get(req.url, follow_redirects=False)
    assert answer.status_code == 400
    assert "Its redirect_uri is not one the service registered." in answer.text
    assert "evil.example" not in answer.text
