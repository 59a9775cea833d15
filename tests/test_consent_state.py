"""The derived state of a citizen's choices: latest event per choice wins (pure, table-tested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from trusthub.consent.models import ChoiceAction, ChoiceKind
from trusthub.consent.state import ChoiceState, Event, current_state

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OPT_OUT = ChoiceKind.NATIONAL_DATA_OPT_OUT
SET, WITHDRAWN = ChoiceAction.SET, ChoiceAction.WITHDRAWN


def ev(kind: ChoiceKind, action: ChoiceAction, day: int, scope: str | None = None) -> Event:
    return Event(kind, action, scope, T0 + timedelta(days=day), sequence=day)


NONE = ChoiceState(False, frozenset(), frozenset())
CASES = [
    ([], NONE),
    ([ev(OPT_OUT, SET, 1)], ChoiceState(True, frozenset(), frozenset())),
    ([ev(OPT_OUT, SET, 1), ev(OPT_OUT, WITHDRAWN, 2)], NONE),
    ([ev(OPT_OUT, WITHDRAWN, 2), ev(OPT_OUT, SET, 1)], NONE),
    ([ev(OPT_OUT, WITHDRAWN, 1), ev(OPT_OUT, SET, 2)], ChoiceState(True, frozenset(), frozenset())),
    (
        [ev(ChoiceKind.OBJECTION, SET, 1, "dsa-7"), ev(ChoiceKind.CONSENT, SET, 2, "dsa-9")],
        ChoiceState(False, frozenset({"dsa-7"}), frozenset({"dsa-9"})),
    ),
    (
        [ev(ChoiceKind.CONSENT, SET, 1, "dsa-9"), ev(ChoiceKind.CONSENT, WITHDRAWN, 3, "dsa-9")],
        ChoiceState(False, frozenset(), frozenset(), frozenset({"dsa-9"})),
    ),
    (
        [ev(ChoiceKind.CONSENT, SET, 1, "a"), ev(ChoiceKind.CONSENT, WITHDRAWN, 2, "b")],
        ChoiceState(False, frozenset(), frozenset({"a"}), frozenset({"b"})),
    ),
]


@pytest.mark.parametrize(("events", "expected"), CASES)
def test_current_state(events: list[Event], expected: ChoiceState) -> None:
    assert current_state(events) == expected


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 1000)), min_size=1, max_size=30))
def test_opt_out_follows_the_latest_event_in_any_order(moves: list[tuple[bool, int]]) -> None:
    events = [
        Event(OPT_OUT, SET if on else WITHDRAWN, None, T0 + timedelta(hours=h), sequence=i)
        for i, (on, h) in enumerate(moves)
    ]
    last = max(events, key=lambda e: (e.occurred_at, e.sequence))
    shuffled = list(reversed(events))
    assert current_state(shuffled).national_opt_out is (last.action is SET)


def test_choices_api_records_events_and_derives_state(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    citizen = {
        "nhs_number": "9434765919",
        "given_name": "Sam",
        "family_name": "Jones",
        "date_of_birth": "1970-01-01",
        "address": {
            "line1": "1 High St",
            "town": "York",
            "postcode": "YO1 7HH",
            "moved_in": "2000-01-01",
        },
    }
    cid = client.post("/api/v1/citizens", json=citizen, headers=admin_headers).json()["id"]
    url = f"/api/v1/citizens/{cid}/choices"
    opt_out = {"kind": "national_data_opt_out", "action": "set", "channel": "web"}
    state = client.post(url, json=opt_out, headers=admin_headers)
    assert state.status_code == 201, state.text
    assert state.json() == {"national_opt_out": True, "objections": [], "consents": []}
    back = client.post(url, json={**opt_out, "action": "withdrawn"}, headers=admin_headers)
    assert back.json()["national_opt_out"] is False
    assert client.get(url, headers=admin_headers).json()["national_opt_out"] is False


@pytest.mark.parametrize(
    ("choice", "field_fragment"),
    [
        (
            {"kind": "national_data_opt_out", "action": "set", "channel": "web", "scope": "x"},
            "no scope",
        ),
        ({"kind": "consent", "action": "set", "channel": "web"}, "scope"),
        ({"kind": "opt_in_everything", "action": "set", "channel": "web"}, "kind"),
        (
            {
                "kind": "national_data_opt_out",
                "action": "set",
                "channel": "web",
                "occurred_at": "2999-01-01T00:00:00Z",
            },
            "future",
        ),
    ],
)
def test_bad_choices_are_refused(
    client: TestClient,
    admin_headers: dict[str, str],
    choice: dict[str, str],
    field_fragment: str,
) -> None:
    response = client.post("/api/v1/citizens/1/choices", json=choice, headers=admin_headers)
    assert response.status_code == 422
    assert field_fragment in response.text


def test_choices_for_an_unknown_citizen_are_not_found(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    choice = {"kind": "national_data_opt_out", "action": "set", "channel": "web"}
    response = client.post("/api/v1/citizens/999/choices", json=choice, headers=admin_headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
