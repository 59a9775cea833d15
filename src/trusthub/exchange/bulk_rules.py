"""The consent rules as a lookup table for one use, so bulk work applies them as a set operation.

For one agreement, ``apply_choices`` depends on a citizen's choices only through four facts:
whether they opted out nationally, objected to this agreement, consented to it, or withdrew that
consent. Evaluating the pure rule once for each of the sixteen combinations gives a table that
SQL joins against; the rule itself stays in ``consent.rules``. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from trusthub.consent.rules import ChoiceOutcome, Use, apply_choices
from trusthub.consent.state import ChoiceState
from trusthub.exchange.policy import CHOICE_REASONS


@dataclass(frozen=True, slots=True)
class ChoiceFacts:
    """What of a citizen's choices matters to one agreement."""

    opted_out: bool
    objected: bool
    consented: bool
    withdrawn: bool

    @classmethod
    def of(cls, agreement: str, state: ChoiceState) -> ChoiceFacts:
        return cls(
            state.national_opt_out,
            agreement in state.objections,
            agreement in state.consents,
            agreement in state.withdrawn_consents,
        )

    def state(self, agreement: str) -> ChoiceState:
        """The smallest state with these facts: the rule cannot tell it from the real one."""

        def scope(flag: bool) -> frozenset[str]:
            return frozenset({agreement}) if flag else frozenset()

        return ChoiceState(
            self.opted_out, scope(self.objected), scope(self.consented), scope(self.withdrawn)
        )


@dataclass(frozen=True, slots=True)
class TableRow:
    """One combination of facts and what the rule makes of it, as the ledger records it."""

    facts: ChoiceFacts
    refusal: str | None
    """The policy's reason code when refused, else None."""
    ledger_reasons: tuple[str, ...]
    """Per-citizen reasons on the ledger: the refusal, or the exemption that set a choice aside."""


def _ledger_reasons(outcome: ChoiceOutcome) -> tuple[str, ...]:
    if outcome.refusal is not None:
        return (CHOICE_REASONS[outcome.refusal].value,)
    if outcome.exemption is not None:
        return (f"exemption:{outcome.exemption.value}",)
    return ()


def choice_table(use: Use) -> list[TableRow]:
    """Every combination of the four facts, decided by ``apply_choices``."""
    rows = []
    for flags in itertools.product((False, True), repeat=4):
        facts = ChoiceFacts(*flags)
        outcome = apply_choices(use, facts.state(use.agreement))
        refusal = None if outcome.refusal is None else CHOICE_REASONS[outcome.refusal].value
        rows.append(TableRow(facts, refusal, _ledger_reasons(outcome)))
    return rows
