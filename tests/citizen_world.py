"""The hub with data worth looking at: HMRC records for Ada and Bob, agreements, real accesses."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from identity_world import ADA, BOB, ISSUER, World, machine_token, query_of, sign_in_at
from trusthub.db import make_session_factory, transaction
from trusthub.registry.agreement_rules import EventKind, Party
from trusthub.registry.agreement_schemas import AgreementAction, AgreementTerms
from trusthub.registry.models import Dataset, DatasetRecord
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate
from trusthub.registry.service import (
    act_on_agreement,
    create_dataset,
    create_organisation,
    draft_agreement,
)

CONTACT = [{"role": "DPO", "name": "D P O", "email": "dpo@hmrc.example"}]
NINOS = {ADA: "AB123456C", BOB: "CE000000B"}


def terms(**changes: Any) -> AgreementTerms:
    body: dict[str, Any] = {
        "provider": "hmrc",
        "recipient": "dwp",
        "dataset": "paye",
        "fields": ["nino", "nhs_number", "pay_band"],
        "purpose": "Check earnings when assessing a benefit claim.",
        "purpose_category": "public_service_delivery",
        "lawful_basis": "public_task",
        "legal_gateway": "Digital Economy Act 2017 s.35",
        "data_form": "identifiable",
        "retention_days": 365,
        "starts_on": "2026-01-01",
        "ends_on": "2099-12-31",
        "contacts": CONTACT,
    }
    body.update(changes)
    return AgreementTerms.model_validate(body)


def _active(session: Any, agreed: AgreementTerms) -> str:
    reference = draft_agreement(session, agreed, "D P O").reference
    for party in (Party.PROVIDER, Party.RECIPIENT):
        act_on_agreement(
            session, reference, EventKind.APPROVED, AgreementAction(party=party, actor="D P O")
        )
    return reference


def seed(hub: World) -> dict[str, str]:
    """HMRC's PAYE records for Ada and Bob; agreements on public task, research and consent."""
    factory = make_session_factory(hub.client.app.state.engine)  # type: ignore[attr-defined]
    with transaction(factory) as session:
        create_organisation(
            session,
            OrganisationCreate(
                slug="hmrc", name="HM Revenue and Customs", kind="government_department",
                dpo_name="D P O", dpo_email="dpo@hmrc.example",
            ),
        )  # fmt: skip
        create_dataset(
            session,
            "hmrc",
            DatasetCreate(
                slug="paye",
                title="PAYE",
                record_key="nino",
                fields=[
                    FieldCreate(name="nino", classification="direct_identifier"),
                    FieldCreate(name="nhs_number", classification="direct_identifier"),
                    FieldCreate(name="pay_band", classification="quasi_identifier"),
                    FieldCreate(name="employer", classification="sensitive"),
                ],
            ),
        )
        dataset_id = session.scalar(select(Dataset.id).where(Dataset.slug == "paye"))
        for nhs, nino in NINOS.items():
            session.add(
                DatasetRecord(
                    dataset_id=dataset_id,
                    citizen_id=hub.citizen_ids[nhs],
                    local_id=f"paye-{nino}",
                    data={"nino": nino, "nhs_number": nhs, "pay_band": "C", "employer": "Acme"},
                )
            )
        research = {
            "purpose_category": "research",
            "data_form": "pseudonymised",
            "fields": ["nhs_number", "pay_band"],
        }
        consented = {
            "recipient": "bank",
            "purpose": "Confirm income for a loan the citizen applied for.",
            "purpose_category": "private_service_with_consent",
            "lawful_basis": "consent",
            "legal_gateway": None,
        }
        return {
            "service": _active(session, terms()),
            "research": _active(session, terms(**research)),
            "consented": _active(session, terms(**consented)),
        }


def ask(hub: World, agreement: str, nhs: str, purpose: str, **extra: Any) -> Any:
    """A real access through the exchange, as DWP's machine client makes it."""
    token = machine_token(hub).json()["access_token"]
    body = {"agreement": agreement, "purpose_category": purpose, "subject": {"nhs_number": nhs}}
    body.update(extra)
    return hub.client.post(
        "/exchange/v1/records", json=body, headers={"Authorization": f"Bearer {token}"}
    )


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
