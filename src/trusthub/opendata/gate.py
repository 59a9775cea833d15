"""The publication gate, pure: nothing about a person is published unless a release made it safe.

A version may be published only if every field of every resource is classified non-personal, or
if it is the output of a release whose risk report passed. Direct identifiers are never published,
whatever a risk report says: a report that passes a table holding names or NHS numbers is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from trusthub.opendata.models import Source
from trusthub.registry.models import FieldClassification


@dataclass(frozen=True)
class Decision:
    """Whether a version may be published, and every reason it may not (field names, no values)."""

    allowed: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


ResourceFields = Mapping[str, Mapping[str, FieldClassification | None]]
"""Resource name → field name → classification (None: the field was never classified)."""


def publishable(
    resources: ResourceFields, source: Source, risk_passed: bool | None = None
) -> Decision:
    """Decide on classifications and the release's risk verdict alone: one rule for every path."""
    reasons: list[str] = []
    if not resources:
        reasons.append("a version needs at least one resource")
    for resource, fields in resources.items():
        if not fields:
            reasons.append(f"resource '{resource}' has no data dictionary")
        for name, classification in fields.items():
            where = f"field '{name}' of resource '{resource}'"
            if classification is None:
                reasons.append(f"{where} is not classified")
            elif classification is FieldClassification.DIRECT_IDENTIFIER:
                reasons.append(f"{where} is a direct identifier, which is never published")
            elif classification is not FieldClassification.NON_PERSONAL and (
                source is Source.CATALOGUE
            ):
                reasons.append(
                    f"{where} is classified {classification.value}: only non-personal fields "
                    "are published, unless a release with a passing risk report produced them"
                )
    if source is Source.RELEASE:
        if risk_passed is None:
            reasons.append("the release has no risk report")
        elif not risk_passed:
            reasons.append("the release's risk report did not pass")
    return Decision(allowed=not reasons, reasons=tuple(reasons))


def personal_fields(fields: Sequence[tuple[str, FieldClassification]]) -> list[str]:
    """Names of the fields that say something about a person, for pages that explain the gate."""
    return [n for n, c in fields if c is not FieldClassification.NON_PERSONAL]
