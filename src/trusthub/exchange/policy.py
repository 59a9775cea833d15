"""The policy decision: may this request be answered, and with which fields? Pure, deny by default.

Every check runs, so a refusal carries every reason that applies, in a fixed order, as stable
machine-readable codes. Only a request that passes every check is permitted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trusthub.consent.rules import ChoiceRefusal, Exemption, Use, apply_choices
from trusthub.consent.state import ChoiceState
from trusthub.registry.agreement_rules import (
    AgreementStatus,
    DataForm,
    LawfulBasis,
    PurposeCategory,
)


class Reason(enum.StrEnum):
    NO_SUCH_AGREEMENT = "no_such_agreement"
    AGREEMENT_NOT_ACTIVE = "agreement_not_active"
    AGREEMENT_EXPIRED = "agreement_expired"
    WRONG_RECIPIENT = "wrong_recipient"
    PURPOSE_MISMATCH = "purpose_mismatch"
    FIELD_NOT_IN_AGREEMENT = "field_not_in_agreement"
    IDENTIFIER_IN_ANONYMISED_DATA = "identifier_in_anonymised_data"
    NO_SUCH_RECORD = "no_such_record"
    CITIZEN_OPTED_OUT = "citizen_opted_out"
    CITIZEN_OBJECTED = "citizen_objected"
    CONSENT_MISSING = "consent_missing"
    CONSENT_WITHDRAWN = "consent_withdrawn"


CHOICE_REASONS = {
    ChoiceRefusal.OPTED_OUT: Reason.CITIZEN_OPTED_OUT,
    ChoiceRefusal.OBJECTED: Reason.CITIZEN_OBJECTED,
    ChoiceRefusal.CONSENT_MISSING: Reason.CONSENT_MISSING,
    ChoiceRefusal.CONSENT_WITHDRAWN: Reason.CONSENT_WITHDRAWN,
}


@dataclass(frozen=True, slots=True)
class AgreementFacts:
    """What the decision needs from a registered agreement (its current version and status)."""

    reference: str
    status: AgreementStatus
    recipient: str
    fields: tuple[str, ...]
    purpose_category: PurposeCategory
    data_form: DataForm
    lawful_basis: LawfulBasis
    identifiers: frozenset[str] = frozenset()
    """The dataset's direct identifiers: never released in clear under an anonymised form."""


@dataclass(frozen=True, slots=True)
class Ask:
    """What the recipient asked for."""

    recipient: str
    agreement: str
    purpose_category: PurposeCategory
    fields: tuple[str, ...] | None = None
    """None asks for every field the agreement allows."""


@dataclass(frozen=True, slots=True)
class Decision:
    permit: bool
    reasons: tuple[Reason, ...] = ()
    fields: tuple[str, ...] = ()
    exemption: Exemption | None = None
    exemption_reason: str = ""
    refused_fields: tuple[str, ...] = ()


def decide(
    ask: Ask,
    agreement: AgreementFacts | None,
    choices: ChoiceState | None,
) -> Decision:
    """Permit only if the agreement is active, for this recipient and purpose, covers the fields,
    a record exists (``choices`` is None when it does not) and the citizen's choices allow it."""
    if agreement is None:
        return Decision(False, (Reason.NO_SUCH_AGREEMENT,))
    reasons: list[Reason] = []
    if agreement.status is AgreementStatus.EXPIRED:
        reasons.append(Reason.AGREEMENT_EXPIRED)
    elif agreement.status is not AgreementStatus.ACTIVE:
        reasons.append(Reason.AGREEMENT_NOT_ACTIVE)
    if ask.recipient != agreement.recipient:
        reasons.append(Reason.WRONG_RECIPIENT)
    if ask.purpose_category is not agreement.purpose_category:
        reasons.append(Reason.PURPOSE_MISMATCH)
    wanted = agreement.fields if ask.fields is None else ask.fields
    outside = tuple(f for f in wanted if f not in agreement.fields)
    if outside:
        reasons.append(Reason.FIELD_NOT_IN_AGREEMENT)
    if agreement.data_form is DataForm.ANONYMISED and agreement.identifiers.intersection(wanted):
        reasons.append(Reason.IDENTIFIER_IN_ANONYMISED_DATA)
    if choices is None:
        reasons.append(Reason.NO_SUCH_RECORD)
        return Decision(False, tuple(reasons), refused_fields=outside)
    use = Use(
        agreement.reference, agreement.purpose_category, agreement.data_form, agreement.lawful_basis
    )
    outcome = apply_choices(use, choices)
    if outcome.refusal is not None:
        reasons.append(CHOICE_REASONS[outcome.refusal])
    if reasons:
        return Decision(False, tuple(reasons), refused_fields=outside)
    return Decision(
        True,
        fields=tuple(dict.fromkeys(wanted)),
        exemption=outcome.exemption,
        exemption_reason=outcome.exemption_reason,
    )
