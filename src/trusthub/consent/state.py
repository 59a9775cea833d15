"""Derive a citizen's current choices from their events — pure, so it is table-tested."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from trusthub.consent.models import ChoiceAction, ChoiceKind


@dataclass(frozen=True, slots=True)
class Event:
    kind: ChoiceKind
    action: ChoiceAction
    scope: str | None
    occurred_at: datetime
    sequence: int
    """Order of recording; breaks ties between events that name the same moment."""


@dataclass(frozen=True, slots=True)
class ChoiceState:
    national_opt_out: bool
    objections: frozenset[str]
    consents: frozenset[str]
    withdrawn_consents: frozenset[str] = frozenset()


def current_state(events: Iterable[Event]) -> ChoiceState:
    """The latest event for each (kind, scope) decides; withdrawal undoes what was set."""
    latest: dict[tuple[ChoiceKind, str | None], ChoiceAction] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.sequence)):
        latest[(event.kind, event.scope)] = event.action

    def scopes(kind: ChoiceKind, wanted: ChoiceAction) -> frozenset[str]:
        return frozenset(
            scope
            for (k, scope), action in latest.items()
            if k is kind and scope is not None and action is wanted
        )

    return ChoiceState(
        national_opt_out=latest.get((ChoiceKind.NATIONAL_DATA_OPT_OUT, None)) is ChoiceAction.SET,
        objections=scopes(ChoiceKind.OBJECTION, ChoiceAction.SET),
        consents=scopes(ChoiceKind.CONSENT, ChoiceAction.SET),
        withdrawn_consents=scopes(ChoiceKind.CONSENT, ChoiceAction.WITHDRAWN),
    )
