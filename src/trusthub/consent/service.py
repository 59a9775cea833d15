"""The consent part's action layer: record a choice as an event, report the derived state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trusthub.consent.models import ChoiceAction, ChoiceEvent, ChoiceKind
from trusthub.consent.schemas import ChoiceIn, ChoiceStateView
from trusthub.consent.state import ChoiceState, Event, current_state
from trusthub.identity.models import Citizen
from trusthub.problems import NotFound


def record_choice(session: Session, citizen_id: int, choice: ChoiceIn) -> ChoiceStateView:
    if session.get(Citizen, citizen_id) is None:
        raise NotFound("citizen")
    session.add(
        ChoiceEvent(
            citizen_id=citizen_id,
            kind=choice.kind,
            action=choice.action,
            scope=choice.scope,
            channel=choice.channel,
            occurred_at=choice.occurred_at or datetime.now(UTC),
        )
    )
    session.flush()
    return choice_state(session, citizen_id)


def current_choices(session: Session, citizen_id: int) -> ChoiceState:
    """The citizen's choices as the pure rules take them, derived from every event recorded."""
    rows = session.scalars(select(ChoiceEvent).where(ChoiceEvent.citizen_id == citizen_id))
    return current_state(
        Event(r.kind, r.action, r.scope, _aware(r.occurred_at), r.id) for r in rows
    )


_events = ChoiceEvent.__table__.c
EVENTS_OF = (
    select(_events.citizen_id, _events.kind, _events.action, _events.scope)
    .add_columns(_events.occurred_at, _events.id)
    .where(_events.citizen_id.in_(bindparam("citizens", expanding=True)))
)
"""Built once and run as plain Core: the exchange asks this for every record it answers."""

EVENTS_OF_ONE = (
    select(_events.citizen_id, _events.kind, _events.action, _events.scope)
    .add_columns(_events.occurred_at, _events.id)
    .where(_events.citizen_id == bindparam("citizen"))
)
"""The same for one citizen: a plain parameter, so nothing is re-rendered per execution."""


def current_choices_many(session: Session, citizen_ids: Iterable[int]) -> dict[int, ChoiceState]:
    """``current_choices`` for many citizens in one query (citizens without events are free)."""
    wanted = sorted(set(citizen_ids))
    events: dict[int, list[Event]] = {citizen_id: [] for citizen_id in wanted}
    if wanted:
        rows = (
            session.connection().execute(EVENTS_OF_ONE, {"citizen": wanted[0]})
            if len(wanted) == 1
            else session.connection().execute(EVENTS_OF, {"citizens": wanted})
        )
        for citizen_id, kind, action, scope, occurred_at, sequence in rows:
            events[citizen_id].append(
                Event(ChoiceKind(kind), ChoiceAction(action), scope, _aware(occurred_at), sequence)
            )
    return {citizen_id: current_state(found) for citizen_id, found in events.items()}


def choice_state(session: Session, citizen_id: int) -> ChoiceStateView:
    if session.get(Citizen, citizen_id) is None:
        raise NotFound("citizen")
    state = current_choices(session, citizen_id)
    return ChoiceStateView(
        national_opt_out=state.national_opt_out,
        objections=sorted(state.objections),
        consents=sorted(state.consents),
    )


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
