"""Agreement actions for the registry's service layer: draft, amend, approve, suspend, revoke."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from trusthub.problems import Conflict, InvalidInput, NotFound
from trusthub.registry.agreement_rules import (
    Event,
    EventKind,
    Lifecycle,
    Party,
    TermsFacts,
    lifecycle,
    refusal,
    terms_problems,
)
from trusthub.registry.agreement_schemas import (
    AgreementAction,
    AgreementEventView,
    AgreementTerms,
    AgreementView,
    RegisterEntry,
)
from trusthub.registry.models import (
    Agreement,
    AgreementEvent,
    AgreementVersion,
    Dataset,
    Organisation,
)

FIXED_TERMS = ("provider", "recipient", "dataset")


def _organisation(session: Session, slug: str, field: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise InvalidInput(
            [{"field": field, "message": "no organisation is registered by that name"}]
        )
    return org


def _check_terms(
    session: Session, terms: AgreementTerms
) -> tuple[Organisation, Organisation, Dataset]:
    provider = _organisation(session, terms.provider, "provider")
    recipient = _organisation(session, terms.recipient, "recipient")
    dataset = session.scalar(
        select(Dataset)
        .where(Dataset.organisation_id == provider.id, Dataset.slug == terms.dataset)
        .options(selectinload(Dataset.fields))
    )
    if dataset is None:
        raise InvalidInput([{"field": "dataset", "message": "the provider holds no such dataset"}])
    facts = TermsFacts(
        fields=tuple(terms.fields),
        field_classes={f.name: f.classification.value for f in dataset.fields},
        lawful_basis=terms.lawful_basis,
        article9_condition=terms.article9_condition,
        legal_gateway=terms.legal_gateway,
        data_form=terms.data_form,
        dpia_reference=terms.dpia_reference,
        purpose_category=terms.purpose_category,
        starts_on=terms.starts_on,
        ends_on=terms.ends_on,
        provider_is_recipient=provider.id == recipient.id,
    )
    problems = terms_problems(facts)
    if problems:
        raise InvalidInput([{"field": f, "message": m} for f, m in problems])
    return provider, recipient, dataset


def _load(session: Session, reference: str) -> Agreement:
    agreement = session.scalar(
        select(Agreement)
        .where(Agreement.reference == reference)
        .options(selectinload(Agreement.versions), selectinload(Agreement.events))
    )
    if agreement is None:
        raise NotFound("agreement")
    return agreement


def _lifecycle(agreement: Agreement, today: date) -> Lifecycle:
    terms = AgreementTerms.model_validate(agreement.versions[-1].terms)
    events = (Event(EventKind(e.kind), e.version, Party(e.party)) for e in agreement.events)
    return lifecycle(events, terms.starts_on, terms.ends_on, today)


def _view(agreement: Agreement, today: date) -> AgreementView:
    state = _lifecycle(agreement, today)
    return AgreementView(
        reference=agreement.reference,
        status=state.status,
        version=state.version,
        approved_by=sorted(state.approved_by),
        terms=AgreementTerms.model_validate(agreement.versions[-1].terms),
        history=[
            AgreementEventView(
                kind=EventKind(e.kind),
                version=e.version,
                party=Party(e.party),
                actor=e.actor,
                note=e.note,
                occurred_at=e.occurred_at,
            )
            for e in agreement.events
        ],
    )


def draft_agreement(
    session: Session, terms: AgreementTerms, actor: str, today: date | None = None
) -> AgreementView:
    """Register new terms as version 1 of a draft that both DPOs must then approve."""
    provider, recipient, dataset = _check_terms(session, terms)
    agreement = Agreement(
        reference=f"pending-{secrets.token_hex(8)}",  # replaced once the id is known
        provider_id=provider.id,
        recipient_id=recipient.id,
        dataset_id=dataset.id,
    )
    session.add(agreement)
    session.flush()
    agreement.reference = f"DSA-{terms.starts_on.year}-{agreement.id:05d}"
    agreement.versions.append(AgreementVersion(version=1, terms=terms.model_dump(mode="json")))
    agreement.events.append(
        AgreementEvent(kind=EventKind.DRAFTED, version=1, party=Party.PROVIDER, actor=actor)
    )
    session.flush()
    return _view(agreement, today or date.today())


def amend_agreement(
    session: Session, reference: str, terms: AgreementTerms, actor: str, today: date | None = None
) -> AgreementView:
    """Add a new version of the terms; approvals of earlier versions no longer count."""
    today = today or date.today()
    agreement = _load(session, reference)
    current = AgreementTerms.model_validate(agreement.versions[-1].terms)
    changed = [k for k in FIXED_TERMS if getattr(terms, k) != getattr(current, k)]
    if changed:
        raise InvalidInput(
            [{"field": k, "message": "cannot change; draft a new agreement"} for k in changed]
        )
    state = _lifecycle(agreement, today)
    reason = refusal(state, EventKind.AMENDED, Party.PROVIDER)
    if reason:
        raise Conflict(reason)
    _check_terms(session, terms)
    version = state.version + 1
    agreement.versions.append(
        AgreementVersion(version=version, terms=terms.model_dump(mode="json"))
    )
    agreement.events.append(
        AgreementEvent(kind=EventKind.AMENDED, version=version, party=Party.PROVIDER, actor=actor)
    )
    session.flush()
    return _view(agreement, today)


def act_on_agreement(
    session: Session,
    reference: str,
    kind: EventKind,
    action: AgreementAction,
    today: date | None = None,
) -> AgreementView:
    """Record an approval, suspension, reinstatement or revocation if the life cycle allows it."""
    today = today or date.today()
    agreement = _load(session, reference)
    state = _lifecycle(agreement, today)
    reason = refusal(state, kind, action.party)
    if reason:
        raise Conflict(reason)
    agreement.events.append(
        AgreementEvent(
            kind=kind,
            version=state.version,
            party=action.party,
            actor=action.actor,
            note=action.note,
        )
    )
    session.flush()
    return _view(agreement, today)


def get_agreement(session: Session, reference: str, today: date | None = None) -> AgreementView:
    return _view(_load(session, reference), today or date.today())


def public_register(session: Session, today: date | None = None) -> list[RegisterEntry]:
    """Every agreement beyond draft, as the DEA codes ask them published."""
    today = today or date.today()
    agreements = session.scalars(
        select(Agreement)
        .order_by(Agreement.id)
        .options(selectinload(Agreement.versions), selectinload(Agreement.events))
    )
    entries = []
    for agreement in agreements:
        view = _view(agreement, today)
        if view.status.value == "draft":
            continue
        terms = view.terms.model_dump(exclude={"contacts"})
        entries.append(RegisterEntry(reference=view.reference, status=view.status, **terms))
    return entries
