"""The life cycle and the checks of a data-sharing agreement — pure, so both are table-tested.

An agreement is event-sourced: its terms are numbered versions and every approval, suspension or
revocation is an event. The status is derived here from those events and today's date; nothing
about an agreement is ever overwritten.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date


class PurposeCategory(enum.StrEnum):
    DIRECT_CARE = "direct_care"
    PUBLIC_SERVICE_DELIVERY = "public_service_delivery"
    FRAUD_AND_DEBT = "fraud_and_debt"
    RESEARCH = "research"
    PLANNING_AND_STATISTICS = "planning_and_statistics"
    IDENTITY_VERIFICATION = "identity_verification"
    PRIVATE_SERVICE_WITH_CONSENT = "private_service_with_consent"


class LawfulBasis(enum.StrEnum):
    """UK GDPR Article 6(1)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class Article9Condition(enum.StrEnum):
    """UK GDPR Article 9(2), for special category (here: sensitive) data."""

    EXPLICIT_CONSENT = "explicit_consent"
    EMPLOYMENT_AND_SOCIAL_SECURITY = "employment_and_social_security"
    VITAL_INTERESTS = "vital_interests"
    NOT_FOR_PROFIT_BODIES = "not_for_profit_bodies"
    MADE_PUBLIC_BY_THE_PERSON = "made_public_by_the_person"
    LEGAL_CLAIMS = "legal_claims"
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial_public_interest"
    HEALTH_OR_SOCIAL_CARE = "health_or_social_care"
    PUBLIC_HEALTH = "public_health"
    ARCHIVING_RESEARCH_STATISTICS = "archiving_research_statistics"


class DataForm(enum.StrEnum):
    IDENTIFIABLE = "identifiable"
    PSEUDONYMISED = "pseudonymised"
    ANONYMISED = "anonymised"


class AgreementStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    """Both data protection officers approved; the start date has not come."""
    ACTIVE = "active"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class EventKind(enum.StrEnum):
    DRAFTED = "drafted"
    AMENDED = "amended"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REVOKED = "revoked"


class Party(enum.StrEnum):
    PROVIDER = "provider"
    RECIPIENT = "recipient"
    OPERATOR = "operator"


# Which events may follow which status; anything else is refused with the reason.
ALLOWED: Mapping[EventKind, frozenset[AgreementStatus]] = {
    EventKind.AMENDED: frozenset({AgreementStatus.DRAFT}),
    EventKind.APPROVED: frozenset({AgreementStatus.DRAFT}),
    EventKind.SUSPENDED: frozenset({AgreementStatus.APPROVED, AgreementStatus.ACTIVE}),
    EventKind.REINSTATED: frozenset({AgreementStatus.SUSPENDED}),
    EventKind.REVOKED: frozenset(
        {
            AgreementStatus.DRAFT,
            AgreementStatus.APPROVED,
            AgreementStatus.ACTIVE,
            AgreementStatus.SUSPENDED,
        }
    ),
}
APPROVERS = frozenset({Party.PROVIDER, Party.RECIPIENT})


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    version: int
    party: Party


@dataclass(frozen=True, slots=True)
class Lifecycle:
    status: AgreementStatus
    version: int
    approved_by: frozenset[Party]


def lifecycle(events: Iterable[Event], starts_on: date, ends_on: date, today: date) -> Lifecycle:
    """Replay the events (in recorded order) into the agreement's status on ``today``."""
    version = 0
    approved: set[Party] = set()
    suspended = revoked = False
    for event in events:
        if event.kind in (EventKind.DRAFTED, EventKind.AMENDED):
            version = event.version
            approved.clear()
        elif event.kind is EventKind.APPROVED and event.version == version:
            approved.add(event.party)
        elif event.kind is EventKind.SUSPENDED:
            suspended = True
        elif event.kind is EventKind.REINSTATED:
            suspended = False
        elif event.kind is EventKind.REVOKED:
            revoked = True
    return Lifecycle(
        _status(approved, suspended, revoked, starts_on, ends_on, today),
        version,
        frozenset(approved),
    )


def _status(
    approved: set[Party],
    suspended: bool,
    revoked: bool,
    starts_on: date,
    ends_on: date,
    today: date,
) -> AgreementStatus:
    if revoked:
        return AgreementStatus.REVOKED
    if not approved >= APPROVERS:
        return AgreementStatus.DRAFT
    if today > ends_on:
        return AgreementStatus.EXPIRED
    if suspended:
        return AgreementStatus.SUSPENDED
    if today < starts_on:
        return AgreementStatus.APPROVED
    return AgreementStatus.ACTIVE


def refusal(current: Lifecycle, kind: EventKind, party: Party) -> str | None:
    """Why ``party`` may not record ``kind`` now, or None if it may."""
    if kind is EventKind.DRAFTED:
        return "an agreement is drafted only once"
    if current.status not in ALLOWED[kind]:
        return f"an agreement that is {current.status.value} cannot be {kind.value}"
    if kind is EventKind.APPROVED:
        if party not in APPROVERS:
            return "only the provider's or the recipient's data protection officer approves"
        if party in current.approved_by:
            return f"the {party.value} has already approved version {current.version}"
    if kind is EventKind.REINSTATED and party is Party.RECIPIENT:
        return "only the provider or the operator reinstates a suspended agreement"
    return None


@dataclass(frozen=True, slots=True)
class TermsFacts:
    """What the checks need to know about proposed terms and the dataset they draw on."""

    fields: tuple[str, ...]
    field_classes: Mapping[str, str]
    lawful_basis: LawfulBasis
    article9_condition: Article9Condition | None
    legal_gateway: str | None
    data_form: DataForm
    dpia_reference: str | None
    purpose_category: PurposeCategory
    starts_on: date
    ends_on: date
    provider_is_recipient: bool


def terms_problems(facts: TermsFacts) -> list[tuple[str, str]]:
    """Every reason the terms cannot be registered, as (field, message) pairs."""
    problems: list[tuple[str, str]] = []
    unknown = [f for f in facts.fields if f not in facts.field_classes]
    if unknown:
        problems.append(("fields", f"not fields of the dataset: {', '.join(unknown)}"))
    if len(set(facts.fields)) != len(facts.fields):
        problems.append(("fields", "a field is listed twice"))
    if facts.provider_is_recipient:
        problems.append(("recipient", "an organisation does not share with itself"))
    if facts.ends_on <= facts.starts_on:
        problems.append(("ends_on", "the agreement must end after it starts"))
    sensitive = [f for f in facts.fields if facts.field_classes.get(f) == "sensitive"]
    if sensitive and facts.article9_condition is None:
        problems.append(
            (
                "article9_condition",
                "sensitive fields are shared, so an Article 9 condition is needed",
            )
        )
    personal = facts.data_form is not DataForm.ANONYMISED
    if sensitive and personal and not facts.dpia_reference:
        problems.append(("dpia_reference", "sharing sensitive personal data needs a DPIA"))
    needs_gateway = facts.lawful_basis in (LawfulBasis.PUBLIC_TASK, LawfulBasis.LEGAL_OBLIGATION)
    if needs_gateway and personal and not facts.legal_gateway:
        problems.append(
            ("legal_gateway", "a public task or legal obligation names its legal gateway")
        )
    consent_only = facts.purpose_category is PurposeCategory.PRIVATE_SERVICE_WITH_CONSENT
    if consent_only and facts.lawful_basis is not LawfulBasis.CONSENT:
        problems.append(("lawful_basis", "a private service with consent rests on consent"))
    return problems
