"""Agreement life cycle and terms checks, table-tested without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.registry.agreement_rules import (
    AgreementStatus,
    Article9Condition,
    DataForm,
    Event,
    EventKind,
    LawfulBasis,
    Party,
    PurposeCategory,
    TermsFacts,
    lifecycle,
    refusal,
    terms_problems,
)

START, END = date(2026, 1, 1), date(2026, 12, 31)
P, R, OP = Party.PROVIDER, Party.RECIPIENT, Party.OPERATOR
DRAFTED = Event(EventKind.DRAFTED, 1, P)
BOTH = [DRAFTED, Event(EventKind.APPROVED, 1, P), Event(EventKind.APPROVED, 1, R)]

STATUS_CASES = [
    ("only drafted", [DRAFTED], date(2026, 6, 1), AgreementStatus.DRAFT),
    (
        "one approval",
        [DRAFTED, Event(EventKind.APPROVED, 1, P)],
        date(2026, 6, 1),
        AgreementStatus.DRAFT,
    ),
    ("both approved, in term", BOTH, date(2026, 6, 1), AgreementStatus.ACTIVE),
    ("both approved, before start", BOTH, date(2025, 12, 31), AgreementStatus.APPROVED),
    ("both approved, after end", BOTH, date(2027, 1, 1), AgreementStatus.EXPIRED),
    ("last day is in term", BOTH, END, AgreementStatus.ACTIVE),
    (
        "suspended",
        [*BOTH, Event(EventKind.SUSPENDED, 1, R)],
        date(2026, 6, 1),
        AgreementStatus.SUSPENDED,
    ),
    (
        "reinstated",
        [*BOTH, Event(EventKind.SUSPENDED, 1, R), Event(EventKind.REINSTATED, 1, P)],
        date(2026, 6, 1),
        AgreementStatus.ACTIVE,
    ),
    (
        "revoked",
        [*BOTH, Event(EventKind.REVOKED, 1, OP)],
        date(2026, 6, 1),
        AgreementStatus.REVOKED,
    ),
    (
        "approval of an old version does not count",
        [
            DRAFTED,
            Event(EventKind.APPROVED, 1, P),
            Event(EventKind.AMENDED, 2, P),
            Event(EventKind.APPROVED, 2, R),
        ],
        date(2026, 6, 1),
        AgreementStatus.DRAFT,
    ),
    (
        "amended then approved by both",
        [
            DRAFTED,
            Event(EventKind.AMENDED, 2, P),
            Event(EventKind.APPROVED, 2, P),
            Event(EventKind.APPROVED, 2, R),
        ],
        date(2026, 6, 1),
        AgreementStatus.ACTIVE,
    ),
]


@pytest.mark.parametrize(("case", "events", "today", "expected"), STATUS_CASES)
def test_status(case: str, events: list[Event], today: date, expected: AgreementStatus) -> None:
    assert lifecycle(events, START, END, today).status is expected, case


REFUSAL_CASES = [
    (AgreementStatus.DRAFT, EventKind.APPROVED, OP, "only the provider's or the recipient's"),
    (AgreementStatus.ACTIVE, EventKind.APPROVED, P, "cannot be approved"),
    (AgreementStatus.ACTIVE, EventKind.AMENDED, P, "cannot be amended"),
    (AgreementStatus.DRAFT, EventKind.SUSPENDED, P, "cannot be suspended"),
    (AgreementStatus.ACTIVE, EventKind.REINSTATED, P, "cannot be reinstated"),
    (AgreementStatus.SUSPENDED, EventKind.REINSTATED, R, "only the provider or the operator"),
    (AgreementStatus.REVOKED, EventKind.REINSTATED, P, "cannot be reinstated"),
    (AgreementStatus.EXPIRED, EventKind.REVOKED, OP, "cannot be revoked"),
    (AgreementStatus.DRAFT, EventKind.DRAFTED, P, "drafted only once"),
]


@pytest.mark.parametrize(("status", "kind", "party", "reason"), REFUSAL_CASES)
def test_refusals(status: AgreementStatus, kind: EventKind, party: Party, reason: str) -> None:
    from trusthub.registry.agreement_rules import Lifecycle

    message = refusal(Lifecycle(status, 1, frozenset()), kind, party)
    assert message is not None and reason in message


def test_same_party_cannot_approve_twice() -> None:
    state = lifecycle([DRAFTED, Event(EventKind.APPROVED, 1, P)], START, END, date(2026, 6, 1))
    assert refusal(state, EventKind.APPROVED, P) == "the provider has already approved version 1"
    assert refusal(state, EventKind.APPROVED, R) is None


@given(st.lists(st.sampled_from([P, R, OP]), max_size=6))
def test_active_needs_both_approvals_of_the_current_version(approvers: list[Party]) -> None:
    events = [DRAFTED, *(Event(EventKind.APPROVED, 1, p) for p in approvers)]
    status = lifecycle(events, START, END, date(2026, 6, 1)).status
    assert (status is AgreementStatus.ACTIVE) == ({P, R} <= set(approvers))


FACTS = TermsFacts(
    fields=("nhs_number", "diagnosis"),
    field_classes={
        "nhs_number": "direct_identifier",
        "diagnosis": "sensitive",
        "clinic": "non_personal",
    },
    lawful_basis=LawfulBasis.PUBLIC_TASK,
    article9_condition=Article9Condition.HEALTH_OR_SOCIAL_CARE,
    legal_gateway="NHS Act 2006 s.251",
    data_form=DataForm.PSEUDONYMISED,
    dpia_reference="DPIA-42",
    purpose_category=PurposeCategory.RESEARCH,
    starts_on=START,
    ends_on=END,
    provider_is_recipient=False,
)

TERMS_CASES = [
    ({"fields": ("nhs_number", "shoe_size")}, "fields", "shoe_size"),
    ({"fields": ("clinic", "clinic")}, "fields", "twice"),
    ({"provider_is_recipient": True}, "recipient", "itself"),
    ({"ends_on": START}, "ends_on", "after it starts"),
    ({"article9_condition": None}, "article9_condition", "Article 9"),
    ({"dpia_reference": None}, "dpia_reference", "DPIA"),
    ({"legal_gateway": None}, "legal_gateway", "gateway"),
    ({"purpose_category": PurposeCategory.PRIVATE_SERVICE_WITH_CONSENT}, "lawful_basis", "consent"),
]


def test_good_terms_have_no_problems() -> None:
    assert terms_problems(FACTS) == []


@pytest.mark.parametrize(("change", "field", "fragment"), TERMS_CASES)
def test_terms_problems(change: dict[str, object], field: str, fragment: str) -> None:
    problems = terms_problems(replace(FACTS, **change))  # type: ignore[arg-type]
    assert any(f == field and fragment in m for f, m in problems), problems


def test_anonymised_data_needs_no_dpia_or_gateway() -> None:
    facts = replace(FACTS, data_form=DataForm.ANONYMISED, dpia_reference=None, legal_gateway=None)
    assert terms_problems(facts) == []
