"""The hub with data worth looking at: HMRC records for Ada and Bob, agreements, real accesses."""

from __future__ import annotations

from fastapi.testclient import TestClient

from exchange_world import NINOS, RESEARCH, active, ask, paye, sessions, terms
from identity_world import ISSUER, World, query_of, sign_in_at
from trusthub.db import transaction

__all__ = ["NINOS", "ask", "browser_for", "seed", "sign_in"]


def seed(hub: World) -> dict[str, str]:
    """HMRC's PAYE records for Ada and Bob; agreements on public task, research and consent."""
    consented = {
        "recipient": "bank",
        "purpose": "Confirm income for a loan the citizen applied for.",
        "purpose_category": "private_service_with_consent",
        "lawful_basis": "consent",
        "legal_gateway": None,
    }
    with transaction(sessions(hub)) as session:
        paye(session, hub, "HM Revenue and Customs")
        return {
            "service": active(session, terms()),
            "research": active(session, terms(**RESEARCH)),
            "consented": active(session, terms(**consented)),
        }


def browser_for(hub: World) -> TestClient:
    """Another browser on the same running hub, with a cookie jar of its own."""
    return TestClient(hub.client.app, base_url=ISSUER)


def sign_in(client: TestClient, nhs: str) -> None:
    """Sign in from the citizen's page, through the hub's own sign-in, and come back to it."""
    start = client.get("/citizen/sign-in/start", follow_redirects=False)
    assert start.status_code == 303, start.text
    to_sign_in = client.get(start.headers["location"], follow_redirects=False)
    assert to_sign_in.status_code == 303, to_sign_in.text
    carry_on = sign_in_at(client, to_sign_in.headers["location"], nhs)
    back = client.get(carry_on, follow_redirects=False)
    assert back.status_code == 302, back.text
    assert back.headers["location"].startswith(ISSUER + "/citizen/signed-in?")
    assert "code" in query_of(back.headers["location"])
    landed = client.get(back.headers["location"], follow_redirects=False)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/citizen"
