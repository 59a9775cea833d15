"""The exchange online: one record for a machine client, every answer on the ledger first."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from exchange_world import ask, bearer, ledger_entry, shared
from identity_world import ADA, BOB, World, machine_token

__all__ = ["shared"]


def test_a_permitted_request_gets_only_the_agreed_fields_and_is_on_the_ledger(
    hub: World, shared: dict[str, str]
) -> None:
    answer = ask(hub, shared["service"], ADA, "public_service_delivery")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["record"] == {"nino": "AB123456C", "nhs_number": ADA, "pay_band": "C"}
    entry = ledger_entry(hub, body["ledger"]["index"])
    assert entry["decision"] == "permit"
    assert entry["agreement"] == shared["service"]
    assert sorted(entry["fields"]) == ["nhs_number", "nino", "pay_band"]
    assert ADA not in str(entry) and "AB123456C" not in str(entry)


def test_asking_for_a_field_outside_the_agreement_is_refused_and_recorded(
    hub: World, shared: dict[str, str]
) -> None:
    answer = ask(hub, shared["service"], ADA, "public_service_delivery", fields=["employer"])
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["reasons"] == ["field_not_in_agreement"]
    assert "Acme" not in answer.text
    entry = ledger_entry(hub, body["ledger"]["index"])
    assert entry["decision"] == "refuse" and entry["fields"] == []


def test_the_opt_out_is_applied_online(hub: World, shared: dict[str, str]) -> None:
    refused = ask(hub, shared["research"], BOB, "research")
    assert refused.status_code == 403
    assert refused.json()["reasons"] == ["citizen_opted_out"]
    assert ledger_entry(hub, refused.json()["ledger"]["index"])["decision"] == "refuse"
    assert ask(hub, shared["research"], ADA, "research").status_code == 200


def test_pseudonyms_are_stable_within_an_agreement_and_differ_across(
    hub: World, shared: dict[str, str]
) -> None:
    first = ask(hub, shared["research"], ADA, "research").json()["record"]
    again = ask(hub, shared["research"], ADA, "research").json()["record"]
    other = ask(hub, shared["research2"], ADA, "research").json()["record"]
    assert first["nhs_number"] == again["nhs_number"] != other["nhs_number"]
    assert ADA not in (first["nhs_number"], other["nhs_number"])
    assert first["pay_band"] == "C"


@pytest.mark.parametrize(
    ("agreement", "purpose", "nhs", "reasons"),
    [
        ("DSA-1999-99999", "public_service_delivery", ADA, ["no_such_agreement"]),
        ("to_bank", "public_service_delivery", ADA, ["wrong_recipient"]),
        ("service", "research", ADA, ["purpose_mismatch"]),
        ("service", "public_service_delivery", "9876543210", ["no_such_record"]),
    ],
)
def test_each_refusal_is_explained_and_recorded(
    hub: World, shared: dict[str, str], agreement: str, purpose: str, nhs: str, reasons: list[str]
) -> None:
    answer = ask(hub, shared.get(agreement, agreement), nhs, purpose)
    assert answer.status_code == 403, answer.text
    assert answer.json()["reasons"] == reasons
    assert ledger_entry(hub, answer.json()["ledger"]["index"])["reasons"] == reasons


def test_no_token_no_answer(hub: World, shared: dict[str, str]) -> None:
    body = {
        "agreement": shared["service"],
        "purpose_category": "public_service_delivery",
        "subject": {"nhs_number": ADA},
    }
    assert hub.client.post("/exchange/v1/records", json=body).status_code == 401
    forged = {"Authorization": "Bearer not.a.token"}
    assert hub.client.post("/exchange/v1/records", json=body, headers=forged).status_code == 401


def test_a_bad_identifier_is_refused_before_anything_happens(
    hub: World, shared: dict[str, str]
) -> None:
    answer = ask(hub, shared["service"], "9434765918", "public_service_delivery")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "subject.nhs_number"


def test_when_the_ledger_cannot_record_nothing_is_released(
    hub: World, shared: dict[str, str]
) -> None:
    token = machine_token(hub).json()["access_token"]
    hub.client.app.state.ledger.close()  # type: ignore[attr-defined]
    body = {
        "agreement": shared["service"],
        "purpose_category": "public_service_delivery",
        "subject": {"nhs_number": ADA},
    }
    answer = hub.client.post(
        "/exchange/v1/records", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("ledger-unavailable")
    assert "AB123456C" not in answer.text


def test_a_request_holds_no_connection_while_the_ledger_commits(
    hub: World, shared: dict[str, str]
) -> None:
    """Requests waiting for the ledger hold none of the app's pooled connections, and the
    writer commits on a pool of its own."""
    state = hub.client.app.state  # type: ignore[attr-defined]
    engine, writer = state.engine, state.ledger.writer.engine
    held: list[tuple[int, int]] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE ledger_head SET tree_size = tree_size"):
            held.append((engine.pool.checkedout(), writer.pool.checkedout()))

    event.listen(writer, "before_cursor_execute", on_execute)
    try:
        for batch in (False, True):
            held.clear()
            if batch:
                answer = hub.client.post(
                    "/exchange/v1/records:batch",
                    json={
                        "agreement": shared["service"],
                        "purpose_category": "public_service_delivery",
                        "subjects": [{"nhs_number": ADA}],
                    },
                    headers=bearer(hub),
                )
            else:
                answer = ask(hub, shared["service"], ADA, "public_service_delivery")
            assert answer.status_code == 200, answer.text
            assert held == [(0, 1)]  # the writer's own connection, and nobody else's
    finally:
        event.remove(writer, "before_cursor_execute", on_execute)
