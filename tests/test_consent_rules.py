"""Which choice applies to which use: the opt-out, objections and consents, table-tested."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trusthub.consent.rules import ChoiceRefusal, Exemption, Use, apply_choices
from trusthub.consent.state import ChoiceState
from trusthub.registry.agreement_rules import DataForm, LawfulBasis, PurposeCategory

A = "DSA-2026-00001"
NOTHING = ChoiceState(False, frozenset(), frozenset())
OPTED_OUT = ChoiceState(True, frozenset(), frozenset())
OPTED_OUT_BUT_CONSENTED = ChoiceState(True, frozenset(), frozenset({A}))
OBJECTED = ChoiceState(False, frozenset({A}), frozenset())
WITHDRAWN = ChoiceState(False, frozenset(), frozenset(), frozenset({A}))
CONSENTED = ChoiceState(False, frozenset(), frozenset({A}))

RESEARCH = PurposeCategory.RESEARCH
PLANNING = PurposeCategory.PLANNING_AND_STATISTICS
CARE = PurposeCategory.DIRECT_CARE
FRAUD = PurposeCategory.FRAUD_AND_DEBT
PSEUDO, IDENT, ANON = DataForm.PSEUDONYMISED, DataForm.IDENTIFIABLE, DataForm.ANONYMISED
TASK, CONSENT = LawfulBasis.PUBLIC_TASK, LawfulBasis.CONSENT
LAW, CONTRACT = LawfulBasis.LEGAL_OBLIGATION, LawfulBasis.CONTRACT

CASES = [
    # (purpose, form, basis, choices) -> (allowed, refusal, exemption)
    (RESEARCH, PSEUDO, TASK, NOTHING, True, None, None),
    (RESEARCH, PSEUDO, TASK, OPTED_OUT, False, ChoiceRefusal.OPTED_OUT, None),
    (RESEARCH, IDENT, TASK, OPTED_OUT, False, ChoiceRefusal.OPTED_OUT, None),
    (PLANNING, PSEUDO, TASK, OPTED_OUT, False, ChoiceRefusal.OPTED_OUT, None),
    (RESEARCH, ANON, TASK, OPTED_OUT, True, None, Exemption.ANONYMISED),
    (RESEARCH, PSEUDO, TASK, OPTED_OUT_BUT_CONSENTED, True, None, Exemption.CONSENTED),
    (RESEARCH, PSEUDO, LAW, OPTED_OUT, True, None, Exemption.REQUIRED_BY_LAW),
    (CARE, IDENT, TASK, OPTED_OUT, True, None, None),
    (FRAUD, IDENT, TASK, OPTED_OUT, True, None, None),
    (FRAUD, IDENT, TASK, OBJECTED, False, ChoiceRefusal.OBJECTED, None),
    (FRAUD, IDENT, LAW, OBJECTED, True, None, None),
    (FRAUD, IDENT, CONTRACT, OBJECTED, True, None, None),
    (
        PurposeCategory.PRIVATE_SERVICE_WITH_CONSENT,
        IDENT,
        CONSENT,
        NOTHING,
        False,
        ChoiceRefusal.CONSENT_MISSING,
        None,
    ),
    (
        PurposeCategory.PRIVATE_SERVICE_WITH_CONSENT,
        IDENT,
        CONSENT,
        WITHDRAWN,
        False,
        ChoiceRefusal.CONSENT_WITHDRAWN,
        None,
    ),
    (PurposeCategory.PRIVATE_SERVICE_WITH_CONSENT, IDENT, CONSENT, CONSENTED, True, None, None),
    (RESEARCH, PSEUDO, CONSENT, OPTED_OUT_BUT_CONSENTED, True, None, Exemption.CONSENTED),
]


@pytest.mark.parametrize(
    ("purpose", "form", "basis", "choices", "allowed", "refusal", "exemption"), CASES
)
def test_apply_choices(
    purpose: PurposeCategory,
    form: DataForm,
    basis: LawfulBasis,
    choices: ChoiceState,
    allowed: bool,
    refusal: ChoiceRefusal | None,
    exemption: Exemption | None,
) -> None:
    outcome = apply_choices(Use(A, purpose, form, basis), choices)
    assert (outcome.allowed, outcome.refusal, outcome.exemption) == (allowed, refusal, exemption)
    assert bool(outcome.exemption_reason) == (exemption is not None)


uses = st.builds(
    Use,
    st.just(A),
    st.sampled_from(PurposeCategory),
    st.sampled_from(DataForm),
    st.sampled_from(LawfulBasis),
)


@given(uses)
def test_opted_out_research_on_personal_data_is_never_allowed_without_an_exemption(
    use: Use,
) -> None:
    outcome = apply_choices(use, OPTED_OUT)
    personal = use.data_form is not ANON
    if use.purpose_category in (RESEARCH, PLANNING) and personal and use.lawful_basis is not LAW:
        assert not outcome.allowed
    if outcome.allowed and use.purpose_category in (RESEARCH, PLANNING):
        assert outcome.exemption is not None or use.lawful_basis is CONSENT


@given(uses)
def test_a_citizen_with_no_choices_is_refused_only_for_missing_consent(use: Use) -> None:
    outcome = apply_choices(use, NOTHING)
    assert outcome.allowed is (use.lawful_basis is not CONSENT)
