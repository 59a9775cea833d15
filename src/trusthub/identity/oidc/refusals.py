"""Why a sign-in request was refused: named in our words, so the page repeats none of its input."""

from __future__ import annotations

CAUSES: tuple[tuple[str, str], ...] = (
    ("The client does not exist on this server", "Its client_id is not a service registered here."),
    ("Missing 'client_id'", "It does not say which service it comes from (no client_id)."),
    ("redirect_uri is not registered", "Its redirect_uri is not one the service registered."),
    ("Redirect URI ", "Its redirect_uri is not one the service registered."),
    ("redirect_uri is required", "It has no redirect_uri."),
    ("Missing 'redirect_uri'", "It has no redirect_uri, and the service registered no default."),
    ("Multiple '", "It gives a parameter more than once."),
    ("'client_id' does not match 'aud' claim", "Its id_token_hint was issued to another service."),
)
"""Refusal descriptions (by how they start; ours and Authlib's, some carry input), their causes."""


def refusal_detail(error: str, description: str) -> str:
    """The problem detail: the OAuth error code and, when known, its cause."""
    cause = next((ours for start, ours in CAUSES if description.startswith(start)), "")
    return f"The service sent a request TrustHub cannot accept ({error}). {cause}".rstrip()
