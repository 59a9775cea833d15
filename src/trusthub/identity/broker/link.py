"""Which hub citizen an identity provider's account belongs to: linked once, on proof, then kept.

A provider's subject is stored only as an HMAC under the hub's pairwise key, so the link table
cannot be joined with the provider's own records. The first link needs an identity proven to P2;
the citizen is found by the verified name and birth date, and the postcode when one is given.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from trusthub.identity.broker.models import ProviderLink
from trusthub.identity.models import Citizen, CitizenAddress
from trusthub.models_common import utcnow


def subject_hash(key: bytes, provider: str, subject: str) -> str:
    message = b"idp-subject\x00" + provider.encode() + b"\x00" + subject.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


_LINKED = (
    update(ProviderLink)
    .where(
        ProviderLink.provider == bindparam("b_provider"),
        ProviderLink.subject_hash == bindparam("hashed"),
    )
    .values(last_used_at=bindparam("at"))
    .returning(ProviderLink.citizen_id)
)
"""Built once, run on the session's connection: one statement finds the link and marks it used."""
_LINK = insert(ProviderLink)
_NAMED = select(Citizen.id).where(
    func.lower(Citizen.given_name) == bindparam("given"),
    func.lower(Citizen.family_name) == bindparam("family"),
    Citizen.date_of_birth == bindparam("born"),
)


def linked_citizen(db: Session, provider: str, hashed: str) -> int | None:
    params = {"b_provider": provider, "hashed": hashed, "at": utcnow()}
    citizen_id: int | None = db.connection().execute(_LINKED, params).scalar()
    return citizen_id


def _postcodes(address: Any) -> set[str]:
    """Postcodes in a UserInfo ``address`` (one object, or a list for the history)."""
    items = address if isinstance(address, list) else [address]
    found = set()
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("postal_code"), str):
            found.add(item["postal_code"].replace(" ", "").upper())
    return found


def find_citizen(db: Session, userinfo: Mapping[str, Any]) -> int | None:
    """The one citizen whose name and birth date are these (and who lived at a given postcode)."""
    given, family, born = (userinfo.get(k) for k in ("given_name", "family_name", "birthdate"))
    if not all(isinstance(v, str) and v for v in (given, family, born)):
        return None
    try:
        birth = date.fromisoformat(str(born))
    except ValueError:
        return None
    params = {"given": str(given).lower(), "family": str(family).lower(), "born": birth}
    rows = list(db.connection().execute(_NAMED, params).scalars())
    postcodes = _postcodes(userinfo.get("address"))
    if postcodes and len(rows) > 1:
        addresses = db.scalars(select(CitizenAddress).where(CitizenAddress.citizen_id.in_(rows)))
        known = {
            a.citizen_id for a in addresses if a.postcode.replace(" ", "").upper() in postcodes
        }
        rows = [r for r in rows if r in known]
    return rows[0] if len(rows) == 1 else None


def link(db: Session, citizen_id: int, provider: str, hashed: str) -> None:
    now = utcnow()
    db.connection().execute(
        _LINK,
        {
            "citizen_id": citizen_id,
            "provider": provider,
            "subject_hash": hashed,
            "linked_at": now,
            "last_used_at": now,
        },
    )


def links_of(db: Session, citizen_id: int) -> list[ProviderLink]:
    return list(
        db.scalars(
            select(ProviderLink)
            .where(ProviderLink.citizen_id == citizen_id)
            .order_by(ProviderLink.linked_at)
        )
    )
