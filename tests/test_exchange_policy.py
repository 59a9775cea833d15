"""The policy decision and minimisation: deny by default, every reason given, nothing extra."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.consent.state import ChoiceState
from trusthub.exchange.minimise import agreement_pseudonym_key, minimise, pseudonym
from trusthub.exchange.policy import AgreementFacts, Ask, Decision, Reason, decide
from trusthub.registry.agreement_rules import (
    AgreementStatus,
    DataForm,
    LawfulBasis,
    PurposeCategory,
)

REF = "DSA-2026-00001"
AGREEMENT = AgreementFacts(
    reference=REF,
    status=AgreementStatus.ACTIVE,
    recipient="uni",
    fields=("nhs_number", "age_band", "diagnosis"),
    purpose_category=PurposeCategory.RESEARCH,
    data_form=DataForm.PSEUDONYMISED,
    lawful_basis=LawfulBasis.PUBLIC_TASK,
)
ASK = Ask(recipient="uni", agreement=REF, purpose_category=PurposeCategory.RESEARCH)
FREE = ChoiceState(False, frozenset(), frozenset())
OPTED_OUT = ChoiceState(True, frozenset(), frozenset())


def test_a_good_request_is_permitted_with_the_agreed_fields() -> None:
    decision = decide(ASK, AGREEMENT, FREE)
    assert decision == Decision(True, fields=AGREEMENT.fields)


REFUSALS = [
    ("no agreement", ASK, None, FREE, (Reason.NO_SUCH_AGREEMENT,)),
    (
        "draft",
        ASK,
        replace(AGREEMENT, status=AgreementStatus.DRAFT),
        FREE,
        (Reason.AGREEMENT_NOT_ACTIVE,),
    ),
    (
        "suspended",
        ASK,
        replace(AGREEMENT, status=AgreementStatus.SUSPENDED),
        FREE,
        (Reason.AGREEMENT_NOT_ACTIVE,),
    ),
    (
        "revoked",
        ASK,
        replace(AGREEMENT, status=AgreementStatus.REVOKED),
        FREE,
        (Reason.AGREEMENT_NOT_ACTIVE,),
    ),
    (
        "not started",
        ASK,
        replace(AGREEMENT, status=AgreementStatus.APPROVED),
        FREE,
        (Reason.AGREEMENT_NOT_ACTIVE,),
    ),
    (
        "expired",
        ASK,
        replace(AGREEMENT, status=AgreementStatus.EXPIRED),
        FREE,
        (Reason.AGREEMENT_EXPIRED,),
    ),
    ("wrong recipient", replace(ASK, recipient="bank"), AGREEMENT, FREE, (Reason.WRONG_RECIPIENT,)),
    (
        "purpose mismatch",
        replace(ASK, purpose_category=PurposeCategory.FRAUD_AND_DEBT),
        AGREEMENT,
        FREE,
        (Reason.PURPOSE_MISMATCH,),
    ),
    (
        "field outside",
        replace(ASK, fields=("nhs_number", "home_address")),
        AGREEMENT,
        FREE,
        (Reason.FIELD_NOT_IN_AGREEMENT,),
    ),
    (
        "identifier in anonymised data",
        ASK,
        replace(AGREEMENT, data_form=DataForm.ANONYMISED, identifiers=frozenset({"nhs_number"})),
        FREE,
        (Reason.IDENTIFIER_IN_ANONYMISED_DATA,),
    ),
    ("no record", ASK, AGREEMENT, None, (Reason.NO_SUCH_RECORD,)),
    ("opted out", ASK, AGREEMENT, OPTED_OUT, (Reason.CITIZEN_OPTED_OUT,)),
    (
        "objected",
        ASK,
        AGREEMENT,
        ChoiceState(False, frozenset({REF}), frozenset()),
        (Reason.CITIZEN_OBJECTED,),
    ),
    (
        "consent missing",
        ASK,
        replace(AGREEMENT, lawful_basis=LawfulBasis.CONSENT),
        FREE,
        (Reason.CONSENT_MISSING,),
    ),
    (
        "consent withdrawn",
        ASK,
        replace(AGREEMENT, lawful_basis=LawfulBasis.CONSENT),
        ChoiceState(False, frozenset(), frozenset(), frozenset({REF})),
        (Reason.CONSENT_WITHDRAWN,),
    ),
    (
        "several at once",
        replace(ASK, recipient="bank", fields=("salary",)),
        replace(AGREEMENT, status=AgreementStatus.EXPIRED),
        OPTED_OUT,
        (
            Reason.AGREEMENT_EXPIRED,
            Reason.WRONG_RECIPIENT,
            Reason.FIELD_NOT_IN_AGREEMENT,
            Reason.CITIZEN_OPTED_OUT,
        ),
    ),
]


@pytest.mark.parametrize(("case", "ask", "agreement", "choices", "reasons"), REFUSALS)
def test_each_refusal_reason(
    case: str,
    ask: Ask,
    agreement: AgreementFacts | None,
    choices: ChoiceState | None,
    reasons: tuple[Reason, ...],
) -> None:
    decision = decide(ask, agreement, choices)
    assert not decision.permit, case
    assert decision.reasons == reasons
    assert decision.fields == ()


def test_opt_out_does_not_bind_anonymised_data_and_says_why() -> None:
    anonymised = replace(AGREEMENT, data_form=DataForm.ANONYMISED, identifiers=frozenset({"nino"}))
    decision = decide(ASK, anonymised, OPTED_OUT)
    assert decision.permit
    assert decision.exemption is not None and "anonymised" in decision.exemption_reason


names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)


@given(
    agreed=st.lists(names, min_size=1, max_size=6, unique=True),
    asked=st.one_of(st.none(), st.lists(names, max_size=8)),
    record=st.dictionaries(names, st.text(max_size=5), max_size=12),
    identifiers=st.frozensets(names, max_size=4),
    status=st.sampled_from(AgreementStatus),
    choices=st.sampled_from([FREE, OPTED_OUT, None]),
)
def test_no_field_outside_the_agreement_ever_leaves(
    agreed: list[str],
    asked: list[str] | None,
    record: dict[str, str],
    identifiers: frozenset[str],
    status: AgreementStatus,
    choices: ChoiceState | None,
) -> None:
    agreement = replace(AGREEMENT, fields=tuple(agreed), status=status)
    ask = replace(ASK, fields=None if asked is None else tuple(asked))
    decision = decide(ask, agreement, choices)
    key = agreement_pseudonym_key(b"k" * 32, REF)
    released = minimise(record, decision.fields, identifiers, key)
    assert set(released) <= set(agreed)
    if not decision.permit:
        assert released == {}
    for name in set(released) & identifiers:
        if record.get(name) is not None:
            assert released[name] != record[name]


def test_pseudonyms_are_stable_within_an_agreement_and_differ_across() -> None:
    master = bytes(range(32))
    one, other = agreement_pseudonym_key(master, REF), agreement_pseudonym_key(master, "DSA-2")
    assert pseudonym(one, "nhs_number", "9434765919") == pseudonym(one, "nhs_number", "9434765919")
    assert pseudonym(one, "nhs_number", "9434765919") != pseudonym(
        other, "nhs_number", "9434765919"
    )
    assert pseudonym(one, "nhs_number", "9434765919") != pseudonym(one, "nhs_number", "9434765920")
    assert len(pseudonym(one, "nhs_number", "9434765919")) == 43


def test_a_short_master_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        agreement_pseudonym_key(b"short", REF)
