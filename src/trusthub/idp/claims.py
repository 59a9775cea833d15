"""What a provider tells its relying party about a person — pure, values in and out.

Names, birth date, addresses and GPG 45 scores are released only for an identity proven to P1
or more: before that they are what the person typed, which no relying party should trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

RELEASE_MIN_CONFIDENCE = 1


@dataclass(frozen=True)
class Address:
    line1: str
    town: str
    postcode: str
    moved_in: date | None = None
    moved_out: date | None = None

    def as_claim(self) -> dict[str, Any]:
        """OIDC Core §5.1.1's address, with the dates the person lived there."""
        claim: dict[str, Any] = {
            "formatted": f"{self.line1}\n{self.town}\n{self.postcode}",
            "street_address": self.line1,
            "locality": self.town,
            "postal_code": self.postcode,
            "country": "GB",
        }
        if self.moved_in:
            claim["valid_from"] = self.moved_in.isoformat()
        if self.moved_out:
            claim["valid_until"] = self.moved_out.isoformat()
        return claim

    def as_record(self) -> dict[str, Any]:
        return {
            "line1": self.line1,
            "town": self.town,
            "postcode": self.postcode,
            "moved_in": self.moved_in.isoformat() if self.moved_in else None,
            "moved_out": self.moved_out.isoformat() if self.moved_out else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Address:
        moved_in, moved_out = record.get("moved_in"), record.get("moved_out")
        return cls(
            line1=str(record["line1"]),
            town=str(record["town"]),
            postcode=str(record["postcode"]),
            moved_in=date.fromisoformat(moved_in) if moved_in else None,
            moved_out=date.fromisoformat(moved_out) if moved_out else None,
        )


@dataclass(frozen=True)
class Identity:
    """A proven identity as the provider holds it."""

    given_name: str | None
    family_name: str | None
    birthdate: date | None
    addresses: tuple[Address, ...]
    gpg45: dict[str, Any] | None


def userinfo_claims(sub: str, scopes: set[str], confidence: int, who: Identity) -> dict[str, Any]:
    """UserInfo: ``sub`` always; the rest for a proven identity and the scopes granted."""
    claims: dict[str, Any] = {"sub": sub}
    if confidence < RELEASE_MIN_CONFIDENCE:
        return claims
    if "profile" in scopes:
        if who.given_name:
            claims["given_name"] = who.given_name
        if who.family_name:
            claims["family_name"] = who.family_name
        if who.birthdate:
            claims["birthdate"] = who.birthdate.isoformat()
        if who.gpg45 is not None:
            claims["gpg45"] = who.gpg45
    if ("address" in scopes or "profile" in scopes) and who.addresses:
        current = [a for a in who.addresses if a.moved_out is None] or list(who.addresses[-1:])
        claims["address"] = current[-1].as_claim()
        claims["address_history"] = [a.as_claim() for a in who.addresses]
    return claims
