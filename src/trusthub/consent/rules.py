"""Which of a citizen's choices applies to which use of their data — the one place this is decided.

Pure: it takes the use (from the agreement) and the citizen's derived choices, and returns
whether the use may go ahead, the refusal reason if not, and — where a choice was set aside —
the exemption and why, so that it can be written to the ledger.

The national data opt-out covers research and planning on identifiable or pseudonymised data,
unless the citizen consented to that use, the law requires it, or the data is anonymised.
An objection (UK GDPR Article 21) binds where the lawful basis is public task or legitimate
interests. Where the lawful basis is consent, a current consent to that agreement is required.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trusthub.consent.state import ChoiceState
from trusthub.registry.agreement_rules import DataForm, LawfulBasis, PurposeCategory

OPT_OUT_PURPOSES = frozenset({PurposeCategory.RESEARCH, PurposeCategory.PLANNING_AND_STATISTICS})
OBJECTABLE_BASES = frozenset({LawfulBasis.PUBLIC_TASK, LawfulBasis.LEGITIMATE_INTERESTS})
LAW_REQUIRES = frozenset({LawfulBasis.LEGAL_OBLIGATION})


class ChoiceRefusal(enum.StrEnum):
    OPTED_OUT = "citizen_opted_out"
    OBJECTED = "citizen_objected"
    CONSENT_MISSING = "consent_missing"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class Exemption(enum.StrEnum):
    ANONYMISED = "anonymised_data"
    CONSENTED = "citizen_consented"
    REQUIRED_BY_LAW = "required_by_law"


@dataclass(frozen=True, slots=True)
class Use:
    agreement: str
    purpose_category: PurposeCategory
    data_form: DataForm
    lawful_basis: LawfulBasis


@dataclass(frozen=True, slots=True)
class ChoiceOutcome:
    allowed: bool
    refusal: ChoiceRefusal | None = None
    exemption: Exemption | None = None
    exemption_reason: str = ""


EXEMPTION_REASONS = {
    Exemption.ANONYMISED: "the national data opt-out does not apply to anonymised data",
    Exemption.CONSENTED: "the citizen consented to this agreement, which overrides the opt-out",
    Exemption.REQUIRED_BY_LAW: "the law requires this use (legal obligation)",
}


def apply_choices(use: Use, choices: ChoiceState) -> ChoiceOutcome:
    """Decide whether the citizen's recorded choices let this use go ahead."""
    consented = use.agreement in choices.consents
    if use.lawful_basis is LawfulBasis.CONSENT and not consented:
        withdrawn = use.agreement in choices.withdrawn_consents
        return ChoiceOutcome(
            False, ChoiceRefusal.CONSENT_WITHDRAWN if withdrawn else ChoiceRefusal.CONSENT_MISSING
        )
    if use.agreement in choices.objections and use.lawful_basis in OBJECTABLE_BASES:
        return ChoiceOutcome(False, ChoiceRefusal.OBJECTED)
    if not (choices.national_opt_out and use.purpose_category in OPT_OUT_PURPOSES):
        return ChoiceOutcome(True)
    exemption = _opt_out_exemption(use, consented)
    if exemption is None:
        return ChoiceOutcome(False, ChoiceRefusal.OPTED_OUT)
    return ChoiceOutcome(True, exemption=exemption, exemption_reason=EXEMPTION_REASONS[exemption])


def _opt_out_exemption(use: Use, consented: bool) -> Exemption | None:
    if use.data_form is DataForm.ANONYMISED:
        return Exemption.ANONYMISED
    if consented:
        return Exemption.CONSENTED
    if use.lawful_basis in LAW_REQUIRES:
        return Exemption.REQUIRED_BY_LAW
    return None
