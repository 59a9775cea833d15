"""Who may call the exchange at all: a machine token with the exchange scope, checked first."""

from __future__ import annotations

from trusthub.identity.oidc.machine import MachineCaller
from trusthub.problems import Problem

SCOPE = "exchange"
"""The machine token scope that record requests, extracts and opt-out checks need."""


def require_scope(caller: MachineCaller) -> None:
    """A token without the exchange scope is refused before any decision (nothing recorded)."""
    if SCOPE not in caller.scopes:
        raise Problem(
            403,
            "Forbidden",
            f"The access token lacks the '{SCOPE}' scope.",
            kind="insufficient-scope",
        )
