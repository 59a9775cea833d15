"""Batches online: each citizen decided on their own, the whole batch one ledger entry first."""

from __future__ import annotations

from typing import Any

from exchange_world import bearer, ledger_entry, ledger_size, shared
from identity_world import ADA, BOB, World
from trusthub.ledger import service as ledger_service

__all__ = ["shared"]

NOBODY = "9876543210"  # a valid NHS number that no citizen holds
BATCH = "/exchange/v1/records:batch"


def _batch(hub: World, agreement: str, subjects: list[Any], purpose: str, **extra: Any) -> Any:
    body = {"agreement": agreement, "purpose_category": purpose, "subjects": subjects}
    body.update(extra)
    return hub.client.post(BATCH, json=body, headers=bearer(hub))


def test_each_citizen_gets_their_own_decision_in_one_ledger_entry(
    hub: World, shared: dict[str, str]
) -> None:
    subjects = [{"nhs_number": ADA}, {"nhs_number": BOB}, {"nhs_number": NOBODY}]
    before = ledger_size(hub)
    answer = _batch(hub, shared["research"], subjects, "research")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert ledger_size(hub) == before + 1
    ada, bob, nobody = body["results"]
    assert ada["position"] == 0 and ada["permitted"]
    assert set(ada["record"]) == {"nhs_number", "pay_band"}
    assert ada["record"]["nhs_number"] != ADA  # pseudonymised, as the agreement's form says
    assert bob == {
        "position": 1,
        "permitted": False,
        "record": None,
        "reasons": ["citizen_opted_out"],
        "exemption": None,
    }
    assert nobody["reasons"] == ["no_such_record"] and nobody["record"] is None
    entry = ledger_entry(hub, body["ledger"]["index"])
    assert entry["decision"] == "permit" and entry["records"]["count"] == 3
    assert entry["agreement"] == shared["research"]
    assert sorted(entry["fields"]) == ["nhs_number", "pay_band"]
    assert ADA not in str(entry) and BOB not in str(entry)


def test_the_batch_answers_with_the_same_pseudonyms_as_single_requests(
    hub: World, shared: dict[str, str]
) -> None:
    single = hub.client.post(
        "/exchange/v1/records",
        json={
            "agreement": shared["research"],
            "purpose_category": "research",
            "subject": {"nhs_number": ADA},
        },
        headers=bearer(hub),
    ).json()["record"]
    batch = _batch(hub, shared["research"], [{"nhs_number": ADA}], "research").json()
    assert batch["results"][0]["record"] == single


def test_each_citizen_can_find_their_record_in_the_bulk_entry(
    hub: World, shared: dict[str, str]
) -> None:
    subjects = [{"nhs_number": ADA}, {"nhs_number": BOB}]
    index = _batch(hub, shared["research"], subjects, "research").json()["ledger"]["index"]
    ledger = hub.client.app.state.ledger  # type: ignore[attr-defined]
    with ledger.sessions() as session:
        for nhs, decision in ((ADA, "permit"), (BOB, "refuse")):
            found = ledger_service.entries_for_citizen(
                session, hub.citizen_ids[nhs], ledger.keys.commitment
            )
            assert [(e.index, e.record.decision.value) for e in found if e.record] == [
                (index, decision)
            ]


def test_one_citizen_named_twice_is_one_record_on_the_ledger(
    hub: World, shared: dict[str, str]
) -> None:
    subjects = [{"nhs_number": ADA}, {"nhs_number": ADA}, {"nhs_number": NOBODY}]
    body = _batch(hub, shared["service"], subjects, "public_service_delivery").json()
    assert [r["permitted"] for r in body["results"]] == [True, True, False]
    assert body["results"][0]["record"] == body["results"][1]["record"]
    assert ledger_entry(hub, body["ledger"]["index"])["records"]["count"] == 2


def test_a_refused_batch_is_still_recorded_and_releases_nothing(
    hub: World, shared: dict[str, str]
) -> None:
    subjects = [{"nhs_number": ADA}, {"nhs_number": BOB}]
    answer = _batch(
        hub, shared["service"], subjects, "public_service_delivery", fields=["employer"]
    )
    assert answer.status_code == 200
    assert "Acme" not in answer.text
    body = answer.json()
    assert [r["reasons"] for r in body["results"]] == [["field_not_in_agreement"]] * 2
    entry = ledger_entry(hub, body["ledger"]["index"])
    assert entry["decision"] == "refuse" and entry["fields"] == []


def test_a_batch_for_another_recipient_is_refused_for_everyone(
    hub: World, shared: dict[str, str]
) -> None:
    subjects = [{"nhs_number": ADA}]
    body = _batch(hub, shared["to_bank"], subjects, "public_service_delivery").json()
    assert body["results"][0]["reasons"] == ["wrong_recipient"]
    body = _batch(hub, "DSA-1999-99999", subjects, "public_service_delivery").json()
    assert body["results"][0]["reasons"] == ["no_such_agreement"]


def test_invalid_identifiers_are_named_by_position_and_nothing_is_recorded(
    hub: World, shared: dict[str, str]
) -> None:
    subjects = [{"nhs_number": ADA}, {"nhs_number": "9434765918"}, {"nino": "not a nino"}]
    before = ledger_size(hub)
    answer = _batch(hub, shared["service"], subjects, "public_service_delivery")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in answer.json()["errors"]]
    assert fields == ["subjects.1.nhs_number", "subjects.2.nino"]
    assert ledger_size(hub) == before


def test_a_batch_above_the_limit_or_empty_is_refused(hub: World, shared: dict[str, str]) -> None:
    before = ledger_size(hub)
    for subjects in ([{"nhs_number": ADA}] * 1001, []):
        answer = _batch(hub, shared["service"], subjects, "public_service_delivery")
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"][0]["field"] == "subjects"
    full = _batch(hub, shared["service"], [{"nhs_number": ADA}] * 1000, "public_service_delivery")
    assert full.status_code == 200 and len(full.json()["results"]) == 1000
    assert ledger_size(hub) == before + 1


def test_when_the_ledger_cannot_record_no_batch_is_released(
    hub: World, shared: dict[str, str]
) -> None:
    headers = bearer(hub)
    hub.client.app.state.ledger.close()  # type: ignore[attr-defined]
    body = {
        "agreement": shared["service"],
        "purpose_category": "public_service_delivery",
        "subjects": [{"nhs_number": ADA}],
    }
    answer = hub.client.post(BATCH, json=body, headers=headers)
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("ledger-unavailable")
    assert "AB123456C" not in answer.text
