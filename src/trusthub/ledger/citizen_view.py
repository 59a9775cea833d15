"""The citizen's page as data: their accesses in plain English and the choices open to them.

Built from the ledger's private index (through ``views``), consent's service and the public
register; the page, its ``.json`` twin and the downloads all show these same values.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from trusthub.consent import offers
from trusthub.consent import service as consent
from trusthub.consent.models import ChoiceKind
from trusthub.identity.service import get_citizen
from trusthub.ledger import views, words
from trusthub.ledger.commitments import CommitmentKey
from trusthub.ledger.service import CitizenEntry
from trusthub.registry import service as registry
from trusthub.registry.agreement_schemas import RegisterEntry

PER_PAGE = 25
MAX_DOWNLOAD = 10_000
"""Downloads hold the newest accesses up to this many; the page says so when there are more."""


class Access(BaseModel):
    """One use of the citizen's data, as the ledger recorded it, with words for every code."""

    index: int = Field(description="The entry's index in the public log.")
    position: int | None = Field(description="The record's position in a bulk entry, or null.")
    entry_id: str
    time: datetime
    source: str
    source_words: str
    organisation: str
    organisation_name: str
    purpose: str
    purpose_words: str
    agreement: str | None
    lawful_basis: str | None
    lawful_basis_words: str
    fields: list[str]
    decision: str
    decision_words: str
    reasons: list[str]
    reasons_words: list[str]
    commitment: str = Field(description="The public commitment that stands for you in the entry.")
    blinding: str = Field(description="Hex; with your citizen id it recomputes the commitment.")


class ChoiceOffer(BaseModel):
    """An agreement the citizen may object to, or consent under, and what they chose."""

    reference: str
    recipient: str
    recipient_name: str
    purpose: str
    purpose_words: str
    lawful_basis_words: str
    chosen: bool


class Choices(BaseModel):
    national_opt_out: bool
    objections: list[ChoiceOffer]
    consents: list[ChoiceOffer]


class CitizenPage(BaseModel):
    citizen: str = Field(description="Your citizen id as the ledger's commitments use it.")
    name: str
    total: int
    page: int
    pages: int
    accesses: list[Access]
    choices: Choices
    saved: str | None = None
    demo_sign_in: bool = False
    csrf_token: str = Field(default="", exclude=True)


SAVED = {
    "opt-out": "Your national data opt-out choice has been saved.",
    "objection": "Your objection choice has been saved.",
    "consent": "Your consent choice has been saved.",
}


def access(found: CitizenEntry, names: dict[str, str]) -> Access:
    entry = found.entry
    decision = found.record.decision if found.record else entry.decision
    reasons = list(found.record.reasons if found.record else entry.reasons)
    basis = entry.lawful_basis.value if entry.lawful_basis else None
    return Access(
        index=found.index,
        position=found.position,
        entry_id=entry.id,
        time=entry.time,
        source=entry.source,
        source_words=words.source(entry.source),
        organisation=entry.organisation,
        organisation_name=names.get(entry.organisation, entry.organisation),
        purpose=entry.purpose,
        purpose_words=words.purpose(entry.purpose),
        agreement=entry.agreement,
        lawful_basis=basis,
        lawful_basis_words=words.lawful_basis(basis),
        fields=list(entry.fields),
        decision=decision.value,
        decision_words=words.decision(decision.value),
        reasons=reasons,
        reasons_words=[words.reason(r) for r in reasons],
        commitment=found.commitment,
        blinding=found.blinding.hex(),
    )


def organisation_names(session: Session) -> dict[str, str]:
    return {o.slug: o.name for o in registry.list_organisations(session)}


def accesses(
    session: Session, ledger_session: Session, key: CommitmentKey, citizen_id: int
) -> list[Access]:
    """Every access to the citizen's data, newest first, in words."""
    names = organisation_names(session)
    found = views.citizen_accesses(ledger_session, citizen_id, key)
    return [access(f, names) for f in found]


def _offers(
    kind: ChoiceKind, register: list[RegisterEntry], chosen: frozenset[str], names: dict[str, str]
) -> list[ChoiceOffer]:
    return [
        ChoiceOffer(
            reference=e.reference,
            recipient=e.recipient,
            recipient_name=names.get(e.recipient, e.recipient),
            purpose=e.purpose,
            purpose_words=words.purpose(e.purpose_category.value),
            lawful_basis_words=words.lawful_basis(e.lawful_basis.value),
            chosen=e.reference in chosen,
        )
        for e in offers.offered(kind, register)
    ]


def choices(session: Session, citizen_id: int, names: dict[str, str]) -> Choices:
    state = consent.current_choices(session, citizen_id)
    register = registry.public_register(session)
    return Choices(
        national_opt_out=state.national_opt_out,
        objections=_offers(ChoiceKind.OBJECTION, register, state.objections, names),
        consents=_offers(ChoiceKind.CONSENT, register, state.consents, names),
    )


def citizen_page(
    session: Session,
    ledger_session: Session,
    key: CommitmentKey,
    citizen_id: int,
    page: int = 1,
    saved: str | None = None,
) -> CitizenPage:
    """The signed-in citizen's page; ``page`` beyond the last shows the last."""
    citizen = get_citizen(session, citizen_id)
    everything = accesses(session, ledger_session, key, citizen_id)
    pages = max(1, -(-len(everything) // PER_PAGE))
    page = min(max(1, page), pages)
    start = (page - 1) * PER_PAGE
    return CitizenPage(
        citizen=str(citizen_id),
        name=f"{citizen.given_name} {citizen.family_name}",
        total=len(everything),
        page=page,
        pages=pages,
        accesses=everything[start : start + PER_PAGE],
        choices=choices(session, citizen_id, organisation_names(session)),
        saved=SAVED.get(saved or ""),
    )


CSV_COLUMNS = [
    "time",
    "organisation",
    "organisation_name",
    "purpose",
    "purpose_words",
    "agreement",
    "lawful_basis",
    "lawful_basis_words",
    "fields",
    "decision",
    "decision_words",
    "reasons_words",
    "index",
    "position",
    "entry_id",
    "commitment",
    "blinding",
]


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def accesses_csv(rows: list[Access]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = row.model_dump()
        writer.writerow([_cell(data[column]) for column in CSV_COLUMNS])
    return out.getvalue()


class Downloads(BaseModel):
    """The JSON download: the same rows as the CSV."""

    citizen: str
    accesses: list[Access]
