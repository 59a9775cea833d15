"""A small world for the bulk tests: a hospital's patient list, citizens with different choices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from identity_world import ADA, BOB, World
from trusthub.consent.models import Channel, ChoiceAction, ChoiceKind
from trusthub.consent.schemas import ChoiceIn
from trusthub.consent.service import record_choice
from trusthub.db import make_session_factory, transaction
from trusthub.identifiers import nhs_check_digit
from trusthub.identity.schemas import AddressIn, CitizenCreate
from trusthub.identity.service import register_citizen
from trusthub.registry.agreement_rules import EventKind, Party
from trusthub.registry.agreement_schemas import AgreementAction, AgreementTerms
from trusthub.registry.schemas import DatasetCreate, FieldCreate, OrganisationCreate
from trusthub.registry.service import (
    act_on_agreement,
    create_dataset,
    create_organisation,
    draft_agreement,
)


def nhs_number(seed: int) -> str:
    """A valid NHS number made from ``seed`` (skipping prefixes no check digit can end)."""
    while True:
        first = f"{seed:09d}"[-9:]
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)
        seed += 1


def invalid_nhs_number(seed: int) -> str:
    valid = nhs_number(seed)
    return valid[:9] + str((int(valid[9]) + 1) % 10)


CAROL = nhs_number(943_476_600)
DAN = nhs_number(943_476_700)
UNKNOWN = nhs_number(555_000_100)


def _terms(**changes: Any) -> AgreementTerms:
    terms: dict[str, Any] = {
        "provider": "riverside",
        "recipient": "dwp",
        "dataset": "patients",
        "fields": ["nhs_number", "sex", "diagnosis"],
        "purpose": "Study eye disease in the population.",
        "purpose_category": "research",
        "lawful_basis": "public_task",
        "legal_gateway": "Health and Social Care Act 2012 s.261",
        "data_form": "pseudonymised",
        "article9_condition": "health_or_social_care",
        "dpia_reference": "DPIA-2026-014",
        "retention_days": 365,
        "starts_on": "2026-01-01",
        "ends_on": "2099-12-31",
        "contacts": [{"role": "DPO", "name": "D P O", "email": "dpo@riverside.example"}],
    }
    terms.update(changes)
    return AgreementTerms.model_validate(terms)


def _active(session: Session, terms: AgreementTerms) -> str:
    reference = draft_agreement(session, terms, "D P O").reference
    for party in (Party.PROVIDER, Party.RECIPIENT):
        act_on_agreement(
            session, reference, EventKind.APPROVED, AgreementAction(party=party, actor="D P O")
        )
    return reference


def _choice(session: Session, citizen: int, kind: ChoiceKind, scope: str | None = None) -> None:
    record_choice(
        session,
        citizen,
        ChoiceIn(kind=kind, action=ChoiceAction.SET, scope=scope, channel=Channel.WEB),
    )


@dataclass
class BulkWorld:
    hub: World
    agreements: dict[str, str]
    citizen_ids: dict[str, int]
    tmp: Path
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def ledger(self) -> Any:
        return self.hub.client.app.state.ledger  # type: ignore[attr-defined]

    def session(self) -> Any:
        return transaction(make_session_factory(self.hub.client.app.state.engine))  # type: ignore[attr-defined]


def build_bulk_world(hub: World, tmp: Path) -> BulkWorld:
    """Ada (no choices), Bob (opted out), Carol (opted out, consented to the research
    agreement), Dan (objected to it): four citizens, two research agreements, one for a bank, and
    two anonymised ones (one of them wrongly listing the dataset's identifiers)."""
    ids = dict(hub.citizen_ids)
    with transaction(make_session_factory(hub.client.app.state.engine)) as session:  # type: ignore[attr-defined]
        create_organisation(
            session,
            OrganisationCreate(
                slug="riverside", name="Riverside Eye", kind="nhs_body",
                dpo_name="D P O", dpo_email="dpo@riverside.example",
            ),
        )  # fmt: skip
        create_dataset(
            session,
            "riverside",
            DatasetCreate(
                slug="patients",
                title="Patients",
                record_key="nhs_number",
                fields=[
                    FieldCreate(name="nhs_number", classification="direct_identifier"),
                    FieldCreate(name="given_name", classification="direct_identifier"),
                    FieldCreate(name="sex", classification="quasi_identifier"),
                    FieldCreate(name="diagnosis", classification="sensitive"),
                ],
            ),
        )
        for nhs, given in ((CAROL, "Carol"), (DAN, "Dan")):
            ids[nhs] = register_citizen(
                session,
                CitizenCreate(
                    nhs_number=nhs,
                    given_name=given,
                    family_name="Example",
                    date_of_birth=date(1970, 1, 1),
                    address=AddressIn(
                        line1="2 Ockham Road",
                        town="London",
                        postcode="SW1A 2AA",
                        moved_in=date(2015, 4, 1),
                    ),
                ),
            ).id
        agreements = {
            "research": _active(session, _terms()),
            "research2": _active(session, _terms()),
            "identifiable": _active(session, _terms(data_form="identifiable")),
            "to_bank": _active(session, _terms(recipient="bank")),
            "anonymised": _active(session, _terms(data_form="anonymised", fields=["sex"])),
            "anonymised_ids": _active(session, _terms(data_form="anonymised")),
        }
        _choice(session, ids[BOB], ChoiceKind.NATIONAL_DATA_OPT_OUT)
        _choice(session, ids[CAROL], ChoiceKind.NATIONAL_DATA_OPT_OUT)
        _choice(session, ids[CAROL], ChoiceKind.CONSENT, agreements["research"])
        _choice(session, ids[DAN], ChoiceKind.OBJECTION, agreements["research"])
    return BulkWorld(hub, agreements, ids, tmp)


PATIENTS = [
    {"nhs_number": ADA, "given_name": "Ada", "sex": "female", "diagnosis": "glaucoma"},
    {"nhs_number": BOB, "given_name": "Bob", "sex": "male", "diagnosis": "cataract"},
    {"nhs_number": CAROL, "given_name": "Carol", "sex": "female", "diagnosis": "amd"},
    {"nhs_number": DAN, "given_name": "Dan", "sex": "male", "diagnosis": "uveitis"},
    {"nhs_number": UNKNOWN, "given_name": "Una", "sex": "female", "diagnosis": "myopia"},
    {"nhs_number": f"{ADA[:3]} {ADA[3:6]} {ADA[6:]}", "given_name": "Ada", "sex": "female",
     "diagnosis": "retinopathy"},
    {"nhs_number": BOB, "given_name": "Bob", "sex": "male", "diagnosis": "glaucoma"},
]  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    names = header or list(rows[0])
    lines = [",".join(names)] + [",".join(row[n] for n in names) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path
