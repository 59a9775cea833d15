"""The broker's decisions, pure: what to ask an identity provider, and what its answer is worth.

The hub asks an identity provider for the vector the service needs (or, to link a provider's
account to a citizen for the first time, at least ``LINK_VECTOR``). It accepts an answer only if
the achieved ``vot`` meets what was asked and the GPG 45 scores back its ``P`` level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trusthub.identity.gpg45 import supports
from trusthub.identity.oidc.vtr import Vector, VectorError, parse_vector

LINK_VECTOR = "Cl.Cm.P2"
"""An identity provider's account is tied to a citizen only on an identity proven to GPG 45
medium (P2): a weaker sign-in could otherwise claim someone else's records."""


def ask_for(target: Vector, linked: bool) -> Vector:
    """The vector to ask the identity provider for: the target, raised to link a new account."""
    link = parse_vector(LINK_VECTOR)
    if linked or target.satisfies(link):
        return target
    credential = max(target.credential, link.credential)
    confidence = max(target.confidence, link.confidence)
    text = "Cl.Cm" if credential >= 2 else "Cl"
    return parse_vector(f"{text}.P{confidence}" if confidence else text)


def must_prove(held: Vector, linked: bool) -> bool:
    """Whether a citizen not yet linked must go back to prove who they are before we link them."""
    return not linked and not held.satisfies(parse_vector(LINK_VECTOR))


@dataclass(frozen=True)
class Accept:
    """The answer holds: start a hub session holding ``held``."""

    held: Vector


@dataclass(frozen=True)
class Refuse:
    """The answer does not hold; ``reason`` is a short code safe to log and show."""

    reason: str


Verdict = Accept | Refuse


def judge(asked: Vector, vot: Any, gpg45: Any) -> Verdict:
    """Accept the achieved ``vot`` only if it parses, meets ``asked`` and the scores back it."""
    if not isinstance(vot, str):
        return Refuse("no_vot")
    try:
        achieved = parse_vector(vot)
    except VectorError:
        return Refuse("bad_vot")
    if not achieved.satisfies(asked):
        return Refuse("vot_below_asked")
    if not supports(gpg45, achieved.confidence):
        return Refuse("gpg45_does_not_support_vot")
    return Accept(achieved)
