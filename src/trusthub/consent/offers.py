"""Which agreements a citizen may object to or consent under — pure, from the public register.

An objection (UK GDPR Article 21) means something only where the lawful basis is public task or
legitimate interests; a consent only where the basis is consent. Only agreements in force or
about to start are offered: a choice about a revoked or expired agreement would change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from trusthub.consent.models import ChoiceKind
from trusthub.consent.rules import OBJECTABLE_BASES
from trusthub.registry.agreement_rules import AgreementStatus, LawfulBasis
from trusthub.registry.agreement_schemas import RegisterEntry

OPEN = frozenset({AgreementStatus.APPROVED, AgreementStatus.ACTIVE})


def offered(kind: ChoiceKind, register: Iterable[RegisterEntry]) -> list[RegisterEntry]:
    """The agreements in force a choice of ``kind`` can be about, in register order."""
    if kind is ChoiceKind.OBJECTION:
        bases = OBJECTABLE_BASES
    elif kind is ChoiceKind.CONSENT:
        bases = frozenset({LawfulBasis.CONSENT})
    else:
        return []
    return [entry for entry in register if entry.status in OPEN and entry.lawful_basis in bases]


def may_choose(kind: ChoiceKind, reference: str, register: Iterable[RegisterEntry]) -> bool:
    """Whether a citizen may record a choice of ``kind`` about agreement ``reference``."""
    return any(entry.reference == reference for entry in offered(kind, register))
