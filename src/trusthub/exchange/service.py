"""The exchange's one action layer: decide, minimise, record on the ledger, then answer.

Every decision — permit or refusal — is on the ledger before the answer leaves. If it cannot be
recorded, nothing leaves: the caller gets 503.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trusthub.consent import service as consent
from trusthub.consent.state import ChoiceState
from trusthub.exchange.minimise import agreement_pseudonym_key, minimise
from trusthub.exchange.policy import AgreementFacts, Ask, Decision, decide
from trusthub.exchange.schemas import LedgerReceipt, RecordAnswer, RecordRequest
from trusthub.identity.models import Citizen
from trusthub.identity.oidc.machine import MachineCaller
from trusthub.ledger import service as ledger_service
from trusthub.ledger.entry import Outcome
from trusthub.ledger.prepare import Decision as LedgerDecision
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.writer import LedgerUnavailable
from trusthub.problems import NotFound, Problem
from trusthub.registry import service as registry
from trusthub.registry.agreement_rules import DataForm
from trusthub.registry.models import Dataset, DatasetRecord, FieldClassification, Organisation

UNMATCHED_SUBJECT = "unmatched"
"""What the ledger commits to when no citizen matched the identifier given."""


class Refused(Problem):
    """A refusal, already on the ledger: problem+json with the reasons and the ledger receipt."""

    def __init__(self, decision: Decision, receipt: LedgerReceipt) -> None:
        super().__init__(
            403,
            "Refused",
            "The request does not meet the agreement or the citizen's choices.",
            kind="refused",
        )
        self.reasons = decision.reasons
        self.receipt = receipt

    def to_json(self, instance: str | None = None) -> dict[str, Any]:
        body = super().to_json(instance)
        body["reasons"] = [r.value for r in self.reasons]
        body["ledger"] = self.receipt.model_dump()
        return body


def _agreement(session: Session, reference: str, today: date) -> AgreementFacts | None:
    try:
        view = registry.get_agreement(session, reference, today)
    except NotFound:
        return None
    terms = view.terms
    return AgreementFacts(
        reference=view.reference,
        status=view.status,
        recipient=terms.recipient,
        fields=tuple(terms.fields),
        purpose_category=terms.purpose_category,
        data_form=terms.data_form,
        lawful_basis=terms.lawful_basis,
    )


def _dataset(session: Session, provider: str, slug: str) -> Dataset | None:
    return session.scalar(
        select(Dataset)
        .join(Organisation, Dataset.organisation_id == Organisation.id)
        .where(Organisation.slug == provider, Dataset.slug == slug)
    )


def _citizen_id(session: Session, request: RecordRequest) -> int | None:
    subject = request.subject
    column = Citizen.nhs_number if subject.nhs_number else Citizen.nino
    return session.scalar(select(Citizen.id).where(column == (subject.nhs_number or subject.nino)))


def request_record(
    session: Session,
    ledger: Ledger,
    caller: MachineCaller,
    request: RecordRequest,
    master_key: bytes,
    today: date | None = None,
) -> RecordAnswer:
    """Answer one recipient's request for one citizen's record, or refuse it — on the ledger."""
    today = today or date.today()
    agreement = _agreement(session, request.agreement, today)
    citizen_id = _citizen_id(session, request)
    record: DatasetRecord | None = None
    choices: ChoiceState | None = None
    identifiers: frozenset[str] = frozenset()
    if agreement is not None and citizen_id is not None:
        view = registry.get_agreement(session, agreement.reference, today)
        dataset = _dataset(session, view.terms.provider, view.terms.dataset)
        if dataset is not None:
            record = session.scalar(
                select(DatasetRecord)
                .where(DatasetRecord.dataset_id == dataset.id)
                .where(DatasetRecord.citizen_id == citizen_id)
                .limit(1)
            )
            identifiers = frozenset(
                f.name
                for f in dataset.fields
                if f.classification is FieldClassification.DIRECT_IDENTIFIER
            )
        if record is not None:
            choices = consent.current_choices(session, citizen_id)
    ask = Ask(
        recipient=caller.organisation_slug,
        agreement=request.agreement,
        purpose_category=request.purpose_category,
        fields=None if request.fields is None else tuple(request.fields),
    )
    decision = decide(ask, agreement, choices)
    receipt = _record(ledger, caller, request, agreement, decision, citizen_id)
    if not decision.permit or record is None or agreement is None:
        raise Refused(decision, receipt)
    key = (
        agreement_pseudonym_key(master_key, agreement.reference)
        if agreement.data_form is DataForm.PSEUDONYMISED
        else None
    )
    return RecordAnswer(
        agreement=agreement.reference,
        record=minimise(record.data, decision.fields, identifiers, key),
        exemption=decision.exemption_reason or None,
        ledger=receipt,
    )


def _record(
    ledger: Ledger,
    caller: MachineCaller,
    request: RecordRequest,
    agreement: AgreementFacts | None,
    decision: Decision,
    citizen_id: int | None,
) -> LedgerReceipt:
    """Write the decision to the ledger; without that record no answer may leave (503)."""
    reasons = [r.value for r in decision.reasons]
    if decision.exemption is not None:
        reasons.append(f"exemption:{decision.exemption.value}")
    entry = LedgerDecision(
        citizen_id=UNMATCHED_SUBJECT if citizen_id is None else citizen_id,
        organisation=caller.organisation_slug,
        client=caller.client_id,
        purpose=request.purpose_category.value,
        outcome=Outcome.PERMIT if decision.permit else Outcome.REFUSE,
        agreement=agreement.reference if agreement else None,
        lawful_basis=agreement.lawful_basis if agreement else None,
        fields=decision.fields if decision.permit else (),
        reasons=reasons,
    )
    try:
        receipt = ledger_service.record(ledger, entry)
    except LedgerUnavailable as error:
        raise Problem(
            503,
            "Service Unavailable",
            "The decision could not be recorded on the ledger, so nothing was released.",
            kind="ledger-unavailable",
        ) from error
    return LedgerReceipt(index=receipt.index, leaf_hash=receipt.leaf_hash.hex())
