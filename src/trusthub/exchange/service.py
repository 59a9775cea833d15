"""The exchange's one action layer: decide, minimise, record on the ledger, then answer.

Every decision — permit or refusal — is on the ledger before the answer leaves. If it cannot be
recorded, nothing leaves: the caller gets 503. A batch is decided citizen by citizen with the same
pure rule and recorded as one bulk entry. Requests refused before a decision is taken (no valid
token, no exchange scope, invalid input) are not decisions about anyone: nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from trusthub.consent import service as consent
from trusthub.consent.state import ChoiceState
from trusthub.db import transaction
from trusthub.exchange.access import require_scope
from trusthub.exchange.minimise import minimise
from trusthub.exchange.policy import Ask, Decision, decide
from trusthub.exchange.schemas import (
    BatchAnswer,
    BatchRequest,
    BatchResult,
    LedgerReceipt,
    RecordAnswer,
    RecordRequest,
    Subject,
)
from trusthub.exchange.terms import Terms, TermsCache, load_terms, terms_for_stamp
from trusthub.identity.models import Citizen
from trusthub.identity.oidc.machine import MachineCaller
from trusthub.ledger import service as ledger_service
from trusthub.ledger.commitments import CitizenId
from trusthub.ledger.entry import Outcome
from trusthub.ledger.prepare import BulkDecision, CitizenOutcome
from trusthub.ledger.prepare import Decision as LedgerDecision
from trusthub.ledger.runtime import Ledger
from trusthub.ledger.writer import LedgerUnavailable
from trusthub.problems import Problem
from trusthub.registry.models import Agreement, AgreementEvent, DatasetRecord

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


def _ask(caller: MachineCaller, request: RecordRequest | BatchRequest) -> Ask:
    return Ask(
        recipient=caller.organisation_slug,
        agreement=request.agreement,
        purpose_category=request.purpose_category,
        fields=None if request.fields is None else tuple(request.fields),
    )


_citizens = Citizen.__table__.c
_records = DatasetRecord.__table__.c


def _citizen_and_record_statement(column: Any) -> Any:
    return (
        select(_citizens.id, _records.data)
        .select_from(
            Citizen.__table__.outerjoin(
                DatasetRecord.__table__,
                and_(
                    _records.citizen_id == _citizens.id,
                    _records.dataset_id == bindparam("dataset_id"),
                ),
            )
        )
        .where(column == bindparam("value"))
        .order_by(_records.id)
        .limit(1)
    )


CITIZEN_AND_RECORD = {
    "nhs_number": _citizen_and_record_statement(_citizens.nhs_number),
    "nino": _citizen_and_record_statement(_citizens.nino),
}
"""Built once, run as plain Core: the hot path's one read for the citizen and their record."""


_agreements = Agreement.__table__.c
_events = AgreementEvent.__table__.c


def _stamp_citizen_and_record_statement(column: Any) -> Any:
    citizen = Citizen.__table__.alias("c")
    return (
        select(
            _agreements.dataset_id,
            select(func.count(_events.id))
            .where(_events.agreement_id == _agreements.id)
            .scalar_subquery(),
            select(func.max(_events.id))
            .where(_events.agreement_id == _agreements.id)
            .scalar_subquery(),
            citizen.c.id,
            _records.data,
        )
        .select_from(
            Agreement.__table__.outerjoin(citizen, column(citizen) == bindparam("value")).outerjoin(
                DatasetRecord.__table__,
                and_(
                    _records.citizen_id == citizen.c.id,
                    _records.dataset_id == _agreements.dataset_id,
                ),
            )
        )
        .where(_agreements.reference == bindparam("reference"))
        .order_by(_records.id)
        .limit(1)
    )


STAMP_CITIZEN_AND_RECORD = {
    "nhs_number": _stamp_citizen_and_record_statement(lambda t: t.c.nhs_number),
    "nino": _stamp_citizen_and_record_statement(lambda t: t.c.nino),
}
"""Built once: the agreement's version stamp, the citizen and their record in one statement."""


def _terms_citizen_and_record(
    session: Session,
    request: RecordRequest,
    today: date,
    master_key: bytes,
    cache: TermsCache | None,
) -> tuple[Terms | None, int | None, dict[str, Any] | None]:
    """The agreement's terms (checked against its stamp), the citizen's id and their record in
    the agreement's dataset: one read when the agreement exists, as the hot path nearly always
    asks under a real one; otherwise the citizen alone, for the ledger."""
    subject = request.subject
    by = "nhs_number" if subject.nhs_number else "nino"
    params = {"value": subject.nhs_number or subject.nino, "reference": request.agreement}
    row = session.connection().execute(STAMP_CITIZEN_AND_RECORD[by], params).first()
    if row is None or not row[1]:  # no agreement, or one with no history: as load_terms
        citizen_id, _ = _citizen_and_record(session, subject, None)
        return None, citizen_id, None
    stamp = (int(row[0]), int(row[1]), int(row[2] or 0))
    terms = terms_for_stamp(session, request.agreement, stamp, today, master_key, cache)
    if terms is None:
        return None, None if row[3] is None else int(row[3]), None
    data: dict[str, Any] | None = row[4]
    return terms, None if row[3] is None else int(row[3]), data


def _citizen_and_record(
    session: Session, subject: Subject, terms: Terms | None
) -> tuple[int | None, dict[str, Any] | None]:
    """The citizen's id and, when the agreement's dataset holds one, their record: one query."""
    by = "nhs_number" if subject.nhs_number else "nino"
    params = {"value": subject.nhs_number or subject.nino, "dataset_id": -1}
    if terms is not None:
        params["dataset_id"] = terms.dataset_id
    row = session.connection().execute(CITIZEN_AND_RECORD[by], params).first()
    if row is None:
        return None, None
    data: dict[str, Any] | None = row[1]
    return int(row[0]), data


def _release(terms: Terms, record: dict[str, Any], decision: Decision) -> dict[str, Any]:
    return minimise(record, decision.fields, terms.identifiers, terms.pseudonym_key)


def _reasons(decision: Decision) -> list[str]:
    reasons = [r.value for r in decision.reasons]
    if decision.exemption is not None:
        reasons.append(f"exemption:{decision.exemption.value}")
    return reasons


def _outcome(decision: Decision) -> Outcome:
    return Outcome.PERMIT if decision.permit else Outcome.REFUSE


def request_record(
    sessions: sessionmaker[Session],
    ledger: Ledger,
    caller: MachineCaller,
    request: RecordRequest,
    master_key: bytes,
    today: date | None = None,
    cache: TermsCache | None = None,
) -> RecordAnswer:
    """Answer one recipient's request for one citizen's record, or refuse it — on the ledger.

    The reads run in their own short transaction, closed before the ledger wait: a request
    never holds a pooled connection while the ledger's writer may need one."""
    require_scope(caller)
    with transaction(sessions) as session:
        terms, citizen_id, record = _terms_citizen_and_record(
            session, request, today or date.today(), master_key, cache
        )
        choices: ChoiceState | None = None
        if record is not None and citizen_id is not None:
            choices = consent.current_choices_many(session, [citizen_id])[citizen_id]
    facts = terms.facts if terms is not None else None
    decision = decide(_ask(caller, request), facts, choices)
    entry = LedgerDecision(
        citizen_id=UNMATCHED_SUBJECT if citizen_id is None else citizen_id,
        organisation=caller.organisation_slug,
        client=caller.client_id,
        purpose=request.purpose_category.value,
        outcome=_outcome(decision),
        agreement=facts.reference if facts else None,
        lawful_basis=facts.lawful_basis if facts else None,
        fields=decision.fields if decision.permit else (),
        reasons=_reasons(decision),
    )
    receipt = _record(ledger, entry)
    if not decision.permit or record is None or terms is None:
        raise Refused(decision, receipt)
    return RecordAnswer(
        agreement=terms.facts.reference,
        record=_release(terms, record, decision),
        exemption=decision.exemption_reason or None,
        ledger=receipt,
    )


def _batch_citizens(session: Session, subjects: Sequence[Subject]) -> list[int | None]:
    """Each subject's citizen id (None when nobody matches), in two indexed IN queries."""
    by_nhs: dict[str, int] = {}
    by_nino: dict[str, int] = {}
    nhs = sorted({s.nhs_number for s in subjects if s.nhs_number})
    ninos = sorted({s.nino for s in subjects if s.nino})
    if nhs:
        rows = session.execute(
            select(Citizen.nhs_number, Citizen.id).where(Citizen.nhs_number.in_(nhs))
        )
        by_nhs = {str(value): int(citizen_id) for value, citizen_id in rows}
    if ninos:
        rows = session.execute(select(Citizen.nino, Citizen.id).where(Citizen.nino.in_(ninos)))
        by_nino = {str(value): int(citizen_id) for value, citizen_id in rows}
    return [
        by_nhs.get(s.nhs_number) if s.nhs_number else by_nino.get(s.nino or "") for s in subjects
    ]


def _batch_records(
    session: Session, terms: Terms | None, citizen_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """Each citizen's record in the agreement's dataset (the first, as for a single request)."""
    wanted = sorted(set(citizen_ids))
    if terms is None or not wanted:
        return {}
    rows = session.execute(
        select(DatasetRecord.citizen_id, DatasetRecord.data)
        .where(DatasetRecord.dataset_id == terms.dataset_id)
        .where(DatasetRecord.citizen_id.in_(wanted))
        .order_by(DatasetRecord.id)
    )
    records: dict[int, dict[str, Any]] = {}
    for citizen_id, data in rows:
        records.setdefault(int(citizen_id), data)
    return records


def request_batch(
    sessions: sessionmaker[Session],
    ledger: Ledger,
    caller: MachineCaller,
    request: BatchRequest,
    master_key: bytes,
    today: date | None = None,
    cache: TermsCache | None = None,
) -> BatchAnswer:
    """Decide for each citizen in the batch with the same rule as one request; record every
    decision in one bulk ledger entry before any record leaves (reads closed first, as above)."""
    require_scope(caller)
    with transaction(sessions) as session:
        terms = load_terms(session, request.agreement, today or date.today(), master_key, cache)
        citizen_ids = _batch_citizens(session, request.subjects)
        matched = [c for c in citizen_ids if c is not None]
        records = _batch_records(session, terms, matched)
        choices = consent.current_choices_many(session, records)
    facts = terms.facts if terms is not None else None
    ask = _ask(caller, request)
    decisions = [decide(ask, facts, choices.get(c) if c is not None else None) for c in citizen_ids]
    outcomes: dict[CitizenId, CitizenOutcome] = {}
    for position, (citizen_id, decision) in enumerate(zip(citizen_ids, decisions, strict=True)):
        # The same citizen asked for twice is one record on the ledger, with one decision.
        subject: CitizenId = f"{UNMATCHED_SUBJECT}:{position}" if citizen_id is None else citizen_id
        outcomes.setdefault(
            subject, CitizenOutcome(subject, _outcome(decision), tuple(_reasons(decision)))
        )
    permitted = [d for d in decisions if d.permit]
    entry = BulkDecision(
        citizens=list(outcomes.values()),
        organisation=caller.organisation_slug,
        client=caller.client_id,
        purpose=request.purpose_category.value,
        outcome=Outcome.PERMIT if permitted else Outcome.REFUSE,
        agreement=facts.reference if facts else None,
        lawful_basis=facts.lawful_basis if facts else None,
        fields=permitted[0].fields if permitted else (),
    )
    receipt = _record(ledger, entry)
    results = []
    for position, (citizen_id, decision) in enumerate(zip(citizen_ids, decisions, strict=True)):
        record = records.get(citizen_id) if citizen_id is not None else None
        if decision.permit and record is not None and terms is not None:
            results.append(
                BatchResult(
                    position=position,
                    permitted=True,
                    record=_release(terms, record, decision),
                    exemption=decision.exemption_reason or None,
                )
            )
        else:
            results.append(
                BatchResult(position=position, permitted=False, reasons=list(decision.reasons))
            )
    return BatchAnswer(agreement=request.agreement, results=results, ledger=receipt)


def _record(ledger: Ledger, entry: LedgerDecision | BulkDecision) -> LedgerReceipt:
    """Write the decision(s) to the ledger; without that record no answer may leave (503)."""
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
