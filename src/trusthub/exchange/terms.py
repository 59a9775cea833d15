"""What answering under one agreement needs, loaded once per agreement version and cached.

An agreement changes only by appending events (approvals, amendments, suspensions…), and a
dataset's fields never change once registered, so the pair (number of events, last event id) is
a complete version stamp. Each request reads that stamp in one small query and reuses the cached
facts, identifier fields and pseudonym key only while the stamp and the day are unchanged — so a
suspension or an amendment made by any process binds the very next request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from trusthub.exchange.minimise import agreement_pseudonym_key
from trusthub.exchange.policy import AgreementFacts
from trusthub.problems import NotFound
from trusthub.registry import service as registry
from trusthub.registry.agreement_rules import DataForm
from trusthub.registry.models import Agreement, AgreementEvent, DatasetField, FieldClassification

Stamp = tuple[str, int, int, date]


@dataclass(frozen=True, slots=True)
class Terms:
    """One agreement version as the exchange applies it."""

    facts: AgreementFacts
    dataset_id: int
    identifiers: frozenset[str]
    dataset_fields: frozenset[str]
    """Every field of the agreement's dataset: what a bulk input's columns may name."""
    pseudonym_key: bytes | None
    """Set when the agreement's data form is pseudonymised."""


class TermsCache:
    """A small per-process LRU of ``Terms`` by version stamp; stale stamps simply age out."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Stamp, Terms] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stamp: Stamp) -> Terms | None:
        with self._lock:
            terms = self._items.get(stamp)
            if terms is not None:
                self._items.move_to_end(stamp)
            return terms

    def put(self, stamp: Stamp, terms: Terms) -> None:
        with self._lock:
            self._items[stamp] = terms
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_agreements = Agreement.__table__.c
_events = AgreementEvent.__table__.c
STAMP = (
    select(_agreements.dataset_id, func.count(_events.id), func.max(_events.id))
    .join_from(
        Agreement.__table__, AgreementEvent.__table__, _events.agreement_id == _agreements.id
    )
    .where(_agreements.reference == bindparam("reference"))
    .group_by(_agreements.id, _agreements.dataset_id)
)
"""Built once: a plain Core statement whose compiled form SQLAlchemy caches on first use."""


def _stamp(session: Session, reference: str) -> tuple[int, int, int] | None:
    row = session.connection().execute(STAMP, {"reference": reference}).first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2] or 0))


def _load(
    session: Session, reference: str, dataset_id: int, today: date, master_key: bytes
) -> Terms | None:
    try:
        view = registry.get_agreement(session, reference, today)
    except NotFound:
        return None
    terms = view.terms
    classes = session.execute(
        select(DatasetField.name, DatasetField.classification).where(
            DatasetField.dataset_id == dataset_id
        )
    ).all()
    identifiers = frozenset(
        name for name, kind in classes if kind is FieldClassification.DIRECT_IDENTIFIER
    )
    facts = AgreementFacts(
        reference=view.reference,
        status=view.status,
        recipient=terms.recipient,
        fields=tuple(terms.fields),
        purpose_category=terms.purpose_category,
        data_form=terms.data_form,
        lawful_basis=terms.lawful_basis,
        identifiers=identifiers,
    )
    key = (
        agreement_pseudonym_key(master_key, view.reference)
        if terms.data_form is DataForm.PSEUDONYMISED
        else None
    )
    return Terms(facts, dataset_id, identifiers, frozenset(name for name, _ in classes), key)


def load_terms(
    session: Session,
    reference: str,
    today: date,
    master_key: bytes,
    cache: TermsCache | None = None,
) -> Terms | None:
    """The agreement's current terms and status today, or None if there is no such agreement.

    The one way both the online path and bulk extracts learn an agreement's facts, so every
    policy check (the dataset's identifiers included) binds both alike."""
    return terms_for_stamp(session, reference, _stamp(session, reference), today, master_key, cache)


def terms_for_stamp(
    session: Session,
    reference: str,
    found: tuple[int, int, int] | None,
    today: date,
    master_key: bytes,
    cache: TermsCache | None = None,
) -> Terms | None:
    """The terms for a version stamp read by the caller (its dataset, event count, last event),
    so a hot path can read the stamp in the same statement as its other reads."""
    if found is None:
        return None
    dataset_id, count, last = found
    stamp: Stamp = (reference, count, last, today)
    terms = cache.get(stamp) if cache is not None else None
    if terms is None:
        terms = _load(session, reference, dataset_id, today, master_key)
        if terms is not None and cache is not None:
            cache.put(stamp, terms)
    return terms
