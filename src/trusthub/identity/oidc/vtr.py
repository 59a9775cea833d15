"""Vectors of Trust (RFC 8485) as GOV.UK One Login uses them: parsed and compared, with no I/O.

A vector such as ``Cl.Cm.P2`` joins components of two categories. ``C`` is how strongly the
citizen signed in (``Cl`` one factor, ``Cm`` two factors, so ``Cl.Cm`` is medium); ``P`` is how
sure we are who they are (GPG 45 confidence, ``P0`` none to ``P4`` very high). Both are ordered,
so a session that holds more satisfies a request that asks for less.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

CREDENTIAL_LEVELS = {"l": 1, "m": 2}
"""Credential component values and their order: Cl (one factor) below Cm (two factors)."""
CONFIDENCE_LEVELS = {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4}
"""Identity confidence P0–P4 (GPG 45: none, low, medium, high, very high)."""
DEFAULT_VTR = ("Cl.Cm",)
"""What a relying party gets when it does not ask: medium authentication, as One Login."""
MAX_VECTORS = 8


class VectorError(ValueError):
    """A ``vtr`` the hub cannot assess; the message names the rule, not the value."""


@dataclass(frozen=True)
class Vector:
    """One vector of trust: its credential level, identity confidence and canonical text."""

    credential: int
    confidence: int
    text: str

    def satisfies(self, asked: Vector) -> bool:
        """Whether holding this vector meets what ``asked`` requires."""
        return self.credential >= asked.credential and self.confidence >= asked.confidence


def parse_vector(text: str) -> Vector:
    """Parse one vector such as ``Cl.Cm.P2``; components may come in any order."""
    if not isinstance(text, str) or not text:
        raise VectorError("a vector must be a non-empty string")
    components = text.split(".")
    if len(set(components)) != len(components):
        raise VectorError("a vector must not repeat a component")
    credentials: list[str] = []
    confidences: list[str] = []
    for component in components:
        if len(component) != 2:
            raise VectorError("each component is a category letter and one value character")
        category, value = component[0], component[1]
        if category == "C" and value in CREDENTIAL_LEVELS:
            credentials.append(value)
        elif category == "P" and value in CONFIDENCE_LEVELS:
            confidences.append(value)
        else:
            raise VectorError("only the components Cl, Cm and P0 to P4 are understood here")
    if not credentials:
        raise VectorError("a vector must say how strongly the citizen signs in (Cl or Cl.Cm)")
    if len(confidences) > 1:
        raise VectorError("a vector may hold one identity confidence (P) component at most")
    credential = max(CREDENTIAL_LEVELS[v] for v in credentials)
    confidence = CONFIDENCE_LEVELS[confidences[0]] if confidences else 0
    if confidence >= 1 and credential < CREDENTIAL_LEVELS["m"]:
        raise VectorError("identity confidence P1 or above needs two-factor sign-in (Cl.Cm)")
    ordered = sorted(credentials, key=CREDENTIAL_LEVELS.__getitem__)
    canonical = ".".join([*(f"C{v}" for v in ordered), *(f"P{v}" for v in confidences)])
    return Vector(credential=credential, confidence=confidence, text=canonical)


def parse_vtr(raw: str | None) -> tuple[Vector, ...]:
    """Parse the ``vtr`` request parameter: a JSON array of vectors, most preferred first."""
    if raw is None or raw == "":
        return tuple(parse_vector(v) for v in DEFAULT_VTR)
    try:
        values = json.loads(raw)
    except ValueError as error:
        raise VectorError("vtr must be a JSON array of strings") from error
    if not isinstance(values, list) or not values:
        raise VectorError("vtr must be a non-empty JSON array of strings")
    if len(values) > MAX_VECTORS:
        raise VectorError(f"vtr may list {MAX_VECTORS} vectors at most")
    return tuple(parse_vector(v) for v in values)


@dataclass(frozen=True)
class Satisfied:
    """The session already meets one of the asked vectors; ``vot`` is the one to assert."""

    vot: Vector


@dataclass(frozen=True)
class StepUp:
    """The citizen must sign in (again) to reach ``target``, the most preferred reachable vector."""

    target: Vector


@dataclass(frozen=True)
class Unmet:
    """No asked vector is held, nor reachable by any sign-in method on offer."""


Decision = Satisfied | StepUp | Unmet


def decide(asked: Sequence[Vector], held: Vector | None, reachable: Vector | None) -> Decision:
    """Choose between answering now, stepping up, and refusing, for one authorization request.

    ``held`` is what the citizen's session holds (None without a session) and ``reachable`` the
    most that the sign-in methods on offer can deliver (None if there are none).
    """
    if held is not None:
        for vector in asked:
            if held.satisfies(vector):
                return Satisfied(vector)
    if reachable is not None:
        for vector in asked:
            if reachable.satisfies(vector):
                return StepUp(vector)
    return Unmet()


def at_least(asked: Sequence[Vector], minimum: Vector | None) -> tuple[Vector, ...]:
    """The asked vectors that meet a relying party's registered minimum; the minimum if none do."""
    if minimum is None:
        return tuple(asked)
    kept = tuple(v for v in asked if v.satisfies(minimum))
    return kept or (minimum,)
