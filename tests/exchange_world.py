"""A small exchange world on top of the identity hub: HMRC's PAYE records and DWP's agreements.

Import ``shared`` (a fixture) and the helpers into an exchange test module.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select

from identity_world import ADA, BOB, World, machine_token
from trusthub.consent.models import Channel, ChoiceAction, ChoiceKind
from trusthub.consent.schemas import ChoiceIn
from trusthub.consent.service import record_choice
from trusthub.db import make_session_factory, transaction
from trusthub.ledger import service as ledger_service
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


def terms(**changes: Any) -> AgreementTerms:
    """HMRC's PAYE extract for DWP's benefit checks, with ``changes`` applied."""
    given: dict[str, Any] = {
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
    given.update(changes)
    return AgreementTerms.model_validate(given)


def active(session: Any, agreed: AgreementTerms) -> str:
    """Draft the agreement and have both DPOs approve it."""
    reference = draft_agreement(session, agreed, "D P O").reference
    for party in (Party.PROVIDER, Party.RECIPIENT):
        act_on_agreement(
            session, reference, EventKind.APPROVED, AgreementAction(party=party, actor="D P O")
        )
    return reference


NINOS = {ADA: "AB123456C", BOB: "CE000000B"}


def paye(session: Any, hub: World, name: str = "HMRC") -> None:
    """HMRC (shown as ``name``) holds PAYE records for Ada and Bob."""
    create_organisation(
        session,
        OrganisationCreate(
            slug="hmrc", name=name, kind="government_department",
            dpo_name="D P O", dpo_email="dpo@hmrc.example",
        ),
    )  # fmt: skip
    dataset = create_dataset(
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
    assert dataset.slug == "paye"
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


RESEARCH = {
    "purpose_category": "research",
    "data_form": "pseudonymised",
    "fields": ["nhs_number", "pay_band"],
}
"""Changes to ``terms`` for a pseudonymised research extract."""


@pytest.fixture
def shared(hub: World) -> dict[str, str]:
    """HMRC holds PAYE records for Ada and Bob; Bob has opted out; three agreements with DWP."""
    with transaction(sessions(hub)) as session:
        paye(session, hub)
        record_choice(
            session,
            hub.citizen_ids[BOB],
            ChoiceIn(
                kind=ChoiceKind.NATIONAL_DATA_OPT_OUT, action=ChoiceAction.SET, channel=Channel.WEB
            ),
        )
        return {
            "service": active(session, terms()),
            "research": active(session, terms(**RESEARCH)),
            "research2": active(session, terms(**RESEARCH)),
            "to_bank": active(session, terms(recipient="bank")),
        }


def ask(hub: World, agreement: str, nhs: str, purpose: str, **extra: Any) -> Any:
    """A real access through the exchange, as DWP's machine client makes it."""
    token = machine_token(hub).json()["access_token"]
    body = {"agreement": agreement, "purpose_category": purpose, "subject": {"nhs_number": nhs}}
    body.update(extra)
    return hub.client.post(
        "/exchange/v1/records", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def ledger_entry(hub: World, index: int) -> dict[str, Any]:
    stored = hub.client.get(f"/ledger/v1/entries/{index}").json()
    assert base64.b64decode(stored["leaf_input"])
    entry: dict[str, Any] = stored["entry"]
    return entry


def sessions(hub: World) -> Any:
    return make_session_factory(hub.client.app.state.engine)  # type: ignore[attr-defined]


def ledger_size(hub: World) -> int:
    """The ledger's signed tree size: what a refusal before any decision must leave unchanged."""
    ledger = hub.client.app.state.ledger  # type: ignore[attr-defined]
    with ledger.sessions() as session:
        return ledger_service.tree_size(session)


def bearer(hub: World) -> dict[str, str]:
    token = machine_token(hub).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
