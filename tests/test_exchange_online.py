"""The exchange online: one record for a machine client, every answer on the ledger first."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from identity_world import ADA, BOB, World, machine_token
from trusthub.consent.models import Channel, ChoiceAction, ChoiceKind
from trusthub.consent.schemas import ChoiceIn
from trusthub.consent.service import record_choice
from trusthub.db import make_session_factory, transaction
from trusthub.registry.agreement_rules import EventKind, Party
from trusthub.registry.agreement_schemas import AgreementAction, AgreementTerms
from trusthub.registry.models import DatasetRecord
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate
from trusthub.registry.service import (
    act_on_agreement,
    create_dataset,
    create_organisation,
    draft_agreement,
)

CONTACT = [{"role": "DPO", "name": "D P O", "email": "dpo@hmrc.example"}]


def _terms(**changes: Any) -> AgreementTerms:
    terms: dict[str, Any] = {
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
    terms.update(changes)
    return AgreementTerms.model_validate(terms)


def _active(session: Any, terms: AgreementTerms) -> str:
    reference = draft_agreement(session, terms, "D P O").reference
    for party in (Party.PROVIDER, Party.RECIPIENT):
        act_on_agreement(
            session, reference, EventKind.APPROVED, AgreementAction(party=party, actor="D P O")
        )
    return reference


@pytest.fixture
def shared(hub: World) -> dict[str, str]:
    """HMRC holds PAYE records for Ada and Bob; Bob has opted out; three agreements with DWP."""
    factory = make_session_factory(hub.client.app.state.engine)  # type: ignore[attr-defined]
    with transaction(factory) as session:
        create_organisation(
            session,
            OrganisationCreate(
                slug="hmrc", name="HMRC", kind="government_department",
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
        from sqlalchemy import select

        from trusthub.registry.models import Dataset

        dataset_id = session.scalar(select(Dataset.id).where(Dataset.slug == "paye"))
        for nhs, nino in ((ADA, "AB123456C"), (BOB, "CE000000B")):
            session.add(
                DatasetRecord(
                    dataset_id=dataset_id,
                    citizen_id=hub.citizen_ids[nhs],
                    local_id=f"paye-{nino}",
                    data={"nino": nino, "nhs_number": nhs, "pay_band": "C", "employer": "Acme"},
                )
            )
        record_choice(
            session,
            hub.citizen_ids[BOB],
            ChoiceIn(
                kind=ChoiceKind.NATIONAL_DATA_OPT_OUT, action=ChoiceAction.SET, channel=Channel.WEB
            ),
        )
        research = {
            "purpose_category": "research",
            "data_form": "pseudonymised",
            "fields": ["nhs_number", "pay_band"],
        }
        return {
            "service": _active(session, _terms()),
            "research": _active(session, _terms(**research)),
            "research2": _active(session, _terms(**research)),
            "to_bank": _active(session, _terms(recipient="bank")),
        }


def _ask(hub: World, agreement: str, nhs: str, purpose: str, **extra: Any) -> Any:
    token = machine_token(hub).json()["access_token"]
    body = {"agreement": agreement, "purpose_category": purpose, "subject": {"nhs_number": nhs}}
    body.update(extra)
    return hub.client.post(
        "/exchange/v1/records", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def _entry(hub: World, index: int) -> dict[str, Any]:
    stored = hub.client.get(f"/ledger/v1/entries/{index}").json()
    assert base64.b64decode(stored["leaf_input"])
    entry: dict[str, Any] = stored["entry"]
    return entry


def test_a_permitted_request_gets_only_the_agreed_fields_and_is_on_the_ledger(
    hub: World, shared: dict[str, str]
) -> None:
    answer = _ask(hub, shared["service"], ADA, "public_service_delivery")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["record"] == {"nino": "AB123456C", "nhs_number": ADA, "pay_band": "C"}
    entry = _entry(hub, body["ledger"]["index"])
    assert entry["decision"] == "permit"
    assert entry["agreement"] == shared["service"]
    assert sorted(entry["fields"]) == ["nhs_number", "nino", "pay_band"]
    assert ADA not in str(entry) and "AB123456C" not in str(entry)


def test_asking_for_a_field_outside_the_agreement_is_refused_and_recorded(
    hub: World, shared: dict[str, str]
) -> None:
    answer = _ask(hub, shared["service"], ADA, "public_service_delivery", fields=["employer"])
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["reasons"] == ["field_not_in_agreement"]
    assert "Acme" not in answer.text
    entry = _entry(hub, body["ledger"]["index"])
    assert entry["decision"] == "refuse" and entry["fields"] == []


def test_the_opt_out_is_applied_online(hub: World, shared: dict[str, str]) -> None:
    refused = _ask(hub, shared["research"], BOB, "research")
    assert refused.status_code == 403
    assert refused.json()["reasons"] == ["citizen_opted_out"]
    assert _entry(hub, refused.json()["ledger"]["index"])["decision"] == "refuse"
    assert _ask(hub, shared["research"], ADA, "research").status_code == 200


def test_pseudonyms_are_stable_within_an_agreement_and_differ_across(
    hub: World, shared: dict[str, str]
) -> None:
    first = _ask(hub, shared["research"], ADA, "research").json()["record"]
    again = _ask(hub, shared["research"], ADA, "research").json()["record"]
    other = _ask(hub, shared["research2"], ADA, "research").json()["record"]
    assert first["nhs_number"] == again["nhs_number"] != other["nhs_number"]
    assert ADA not in (first["nhs_number"], other["nhs_number"])
    assert first["pay_band"] == "C"


@pytest.mark.parametrize(
    ("agreement", "purpose", "nhs", "reasons"),
    [
        ("DSA-1999-99999", "public_service_delivery", ADA, ["no_such_agreement"]),
        ("to_bank", "public_service_delivery", ADA, ["wrong_recipient"]),
        ("service", "research", ADA, ["purpose_mismatch"]),
        ("service", "public_service_delivery", "9876543210", ["no_such_record"]),
    ],
)
def test_each_refusal_is_explained_and_recorded(
    hub: World, shared: dict[str, str], agreement: str, purpose: str, nhs: str, reasons: list[str]
) -> None:
    answer = _ask(hub, shared.get(agreement, agreement), nhs, purpose)
    assert answer.status_code == 403, answer.text
    assert answer.json()["reasons"] == reasons
    assert _entry(hub, answer.json()["ledger"]["index"])["reasons"] == reasons


def test_no_token_no_answer(hub: World, shared: dict[str, str]) -> None:
    body = {
        "agreement": shared["service"],
        "purpose_category": "public_service_delivery",
        "subject": {"nhs_number": ADA},
    }
    assert hub.client.post("/exchange/v1/records", json=body).status_code == 401
    forged = {"Authorization": "Bearer not.a.token"}
    assert hub.client.post("/exchange/v1/records", json=body, headers=forged).status_code == 401


def test_a_bad_identifier_is_refused_before_anything_happens(
    hub: World, shared: dict[str, str]
) -> None:
    answer = _ask(hub, shared["service"], "9434765918", "public_service_delivery")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "subject.nhs_number"


def test_when_the_ledger_cannot_record_nothing_is_released(
    hub: World, shared: dict[str, str]
) -> None:
    token = machine_token(hub).json()["access_token"]
    hub.client.app.state.ledger.close()  # type: ignore[attr-defined]
    body = {
        "agreement": shared["service"],
        "purpose_category": "public_service_delivery",
        "subject": {"nhs_number": ADA},
    }
    answer = hub.client.post(
        "/exchange/v1/records", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("ledger-unavailable")
    assert "AB123456C" not in answer.text
