"""The citizen's page and the auditor's page, over the real hub, exchange and ledger."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from citizen_world import NINOS, ask, browser_for, seed, sign_in
from identity_world import ADA, BOB, World, set_cookie
from trusthub.consent.models import Channel, ChoiceEvent
from trusthub.db import make_session_factory
from trusthub.ledger import citizen_view

HTML = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(hub: World) -> tuple[World, dict[str, str]]:
    """Ada's record given once and refused once; Bob's given once."""
    references = seed(hub)
    assert ask(hub, references["service"], ADA, "public_service_delivery").status_code == 200
    refused = ask(hub, references["service"], ADA, "public_service_delivery", fields=["employer"])
    assert refused.status_code == 403
    assert ask(hub, references["service"], BOB, "public_service_delivery").status_code == 200
    return hub, references


def _csrf(client: TestClient) -> str:
    match = CSRF.search(client.get("/citizen", headers=HTML).text)
    assert match, "the page's forms carry a CSRF token"
    return match.group(1)


def _events(hub: World) -> list[ChoiceEvent]:
    factory = make_session_factory(hub.client.app.state.engine)  # type: ignore[attr-defined]
    with factory() as session:
        return list(session.query(ChoiceEvent).order_by(ChoiceEvent.id))


def test_the_timeline_shows_each_access_in_plain_english_newest_first(
    world: tuple[World, dict[str, str]],
) -> None:
    hub, references = world
    sign_in(hub.client, ADA)
    page = hub.client.get("/citizen", headers=HTML)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    body = page.text
    assert "Ada Lovelace" in body
    assert "Providing a public service to you" in body
    assert "A public task the organisation has in law" in body
    assert "They asked for data the agreement does not cover" in body
    assert references["service"] in body
    data = hub.client.get("/citizen.json").json()
    assert data["total"] == 2
    refused, permitted = data["accesses"]
    assert (refused["decision"], permitted["decision"]) == ("refuse", "permit")
    assert refused["index"] > permitted["index"]
    assert permitted["fields"] == ["nhs_number", "nino", "pay_band"]
    assert permitted["organisation_name"] == "DWP"
    assert refused["reasons_words"] == ["They asked for data the agreement does not cover"]
    assert "csrf_token" not in data
    for item in data["accesses"]:
        assert f'data-commitment="{item["commitment"]}"' in body


def test_downloads_hold_the_same_accesses(world: tuple[World, dict[str, str]]) -> None:
    hub, _ = world
    sign_in(hub.client, ADA)
    shown = hub.client.get("/citizen.json").json()["accesses"]
    as_csv = hub.client.get("/citizen/accesses.csv")
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["entry_id"] for r in rows] == [a["entry_id"] for a in shown]
    assert rows[1]["fields"] == "nhs_number; nino; pay_band"
    assert rows[0]["decision_words"] == "Refused"
    as_json = hub.client.get("/citizen/accesses.json").json()
    assert [a["entry_id"] for a in as_json["accesses"]] == [a["entry_id"] for a in shown]
    assert ADA not in as_csv.text and NINOS[ADA] not in as_csv.text


def test_another_citizen_sees_nothing_of_the_first(world: tuple[World, dict[str, str]]) -> None:
    hub, _ = world
    sign_in(hub.client, ADA)
    adas = hub.client.get("/citizen.json").json()["accesses"]
    bob = browser_for(hub)
    sign_in(bob, BOB)
    seen = [
        bob.get("/citizen", headers=HTML).text,
        bob.get("/citizen.json").text,
        bob.get("/citizen/accesses.csv").text,
        bob.get("/citizen/accesses.json").text,
    ]
    assert bob.get("/citizen.json").json()["total"] == 1
    for access in adas:
        for text in seen:
            assert access["entry_id"] not in text
            assert access["commitment"] not in text
            assert access["blinding"] not in text
    assert all("Ada" not in text for text in seen)


@pytest.mark.parametrize(
    "path",
    [
        "/citizen.json?citizen=1",
        "/citizen.json?citizen_id=1&page=1",
        "/citizen/accesses.json?citizen=1",
        "/citizen.json?page=99999",
    ],
)
def test_tampered_parameters_reveal_nobody_else(
    world: tuple[World, dict[str, str]], path: str
) -> None:
    hub, _ = world
    sign_in(hub.client, ADA)
    adas = {a["entry_id"] for a in hub.client.get("/citizen/accesses.json").json()["accesses"]}
    bob = browser_for(hub)
    sign_in(bob, BOB)
    answer = bob.get(path)
    assert answer.status_code == 200
    assert not any(entry_id in answer.text for entry_id in adas)
    assert answer.json()["citizen"] != str(hub.citizen_ids[ADA])


@pytest.mark.parametrize(
    "path", ["/citizen.json", "/citizen/accesses.csv", "/citizen/accesses.json"]
)
def test_without_a_session_machines_get_401(world: tuple[World, dict[str, str]], path: str) -> None:
    hub, _ = world
    answer = hub.client.get(path)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    set_cookie(hub.client, "__Host-trusthub_session", "forged-session-value")
    assert hub.client.get(path).status_code == 401


def test_without_a_session_people_are_sent_to_sign_in(
    world: tuple[World, dict[str, str]],
) -> None:
    hub, _ = world
    answer = hub.client.get("/citizen", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/citizen/sign-in"
    sign_in_page = hub.client.get("/citizen/sign-in", headers=HTML)
    assert "Demo sign-in" in sign_in_page.text
    assert 'href="/citizen/sign-in/start"' in sign_in_page.text
    posted = hub.client.post(
        "/citizen/choices/opt-out", data={"opt_out": "yes"}, follow_redirects=False
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/citizen/sign-in"
    assert _events(hub) == []


def test_a_sign_in_that_comes_back_with_another_state_is_refused(
    world: tuple[World, dict[str, str]],
) -> None:
    hub, _ = world
    hub.client.get("/citizen/sign-in/start", follow_redirects=False)
    answer = hub.client.get("/citizen/signed-in?state=not-mine&code=x", headers=HTML)
    assert answer.status_code == 400


def test_the_opt_out_is_set_from_the_page_and_then_applied(
    world: tuple[World, dict[str, str]],
) -> None:
    hub, references = world
    sign_in(hub.client, ADA)
    token = _csrf(hub.client)
    posted = hub.client.post(
        "/citizen/choices/opt-out",
        data={"opt_out": "yes", "csrf_token": token},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/citizen?saved=opt-out#choices"
    page = hub.client.get("/citizen?saved=opt-out", headers=HTML).text
    assert "Your national data opt-out choice has been saved." in page
    assert hub.client.get("/citizen.json").json()["choices"]["national_opt_out"] is True
    events = _events(hub)
    assert [(e.citizen_id, e.channel) for e in events] == [(hub.citizen_ids[ADA], Channel.WEB)]
    refused = ask(hub, references["research"], ADA, "research")
    assert refused.json()["reasons"] == ["citizen_opted_out"]
    latest = hub.client.get("/citizen.json").json()["accesses"][0]
    assert latest["reasons_words"] == ["You have opted out of research and planning uses"]


@pytest.mark.parametrize("token", [None, "", "a-token-from-elsewhere"])
def test_a_choice_without_this_browsers_csrf_token_is_refused(
    world: tuple[World, dict[str, str]], token: str | None
) -> None:
    hub, _ = world
    sign_in(hub.client, ADA)
    _csrf(hub.client)
    form: dict[str, Any] = {"opt_out": "yes"}
    if token is not None:
        form["csrf_token"] = token
    answer = hub.client.post("/citizen/choices/opt-out", data=form, headers=HTML)
    assert answer.status_code == 403
    assert _events(hub) == []


def test_objections_and_consents_go_only_where_the_basis_allows(
    world: tuple[World, dict[str, str]],
) -> None:
    hub, references = world
    sign_in(hub.client, ADA)
    token = _csrf(hub.client)
    offered = hub.client.get("/citizen.json").json()["choices"]
    assert {o["reference"] for o in offered["objections"]} == {
        references["service"],
        references["research"],
    }
    assert [o["reference"] for o in offered["consents"]] == [references["consented"]]

    def choose(kind: str, agreement: str, action: str) -> int:
        form = {"agreement": agreement, "action": action, "csrf_token": token}
        answer = hub.client.post(
            f"/citizen/choices/{kind}", data=form, headers=HTML, follow_redirects=False
        )
        return int(answer.status_code)

    assert choose("objection", references["consented"], "set") == 422
    assert choose("consent", references["service"], "set") == 422
    assert choose("objection", "DSA-1999-99999", "set") == 422
    assert _events(hub) == []
    assert choose("objection", references["service"], "set") == 303
    assert choose("consent", references["consented"], "set") == 303
    state = hub.client.get("/citizen.json").json()["choices"]
    assert [o["chosen"] for o in state["objections"] if o["reference"] == references["service"]]
    assert state["consents"][0]["chosen"] is True
    assert choose("consent", references["consented"], "withdrawn") == 303
    assert hub.client.get("/citizen.json").json()["choices"]["consents"][0]["chosen"] is False
    refused = ask(hub, references["service"], ADA, "public_service_delivery")
    assert refused.json()["reasons"] == ["citizen_objected"]


def test_the_timeline_is_paged(
    world: tuple[World, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, _ = world
    monkeypatch.setattr(citizen_view, "PER_PAGE", 1)
    sign_in(hub.client, ADA)
    first = hub.client.get("/citizen.json").json()
    second = hub.client.get("/citizen.json?page=2").json()
    beyond = hub.client.get("/citizen.json?page=50").json()
    assert (first["pages"], first["page"], second["page"], beyond["page"]) == (2, 1, 2, 2)
    assert first["accesses"][0]["index"] > second["accesses"][0]["index"]
    assert beyond["accesses"] == second["accesses"]
    assert 'rel="next"' in hub.client.get("/citizen", headers=HTML).text


def test_the_auditors_page_counts_public_entries_only(
    world: tuple[World, dict[str, str]],
) -> None:
    hub, references = world
    page = hub.client.get("/ledger", headers=HTML)
    assert page.status_code == 200
    data = hub.client.get("/ledger.json").json()
    stats = data["stats"]
    assert (stats["tree_size"], stats["permitted"], stats["refused"]) == (3, 2, 1)
    assert stats["by_organisation"] == [
        {"key": "dwp", "label": "DWP", "permitted": 2, "refused": 1, "total": 3}
    ]
    assert stats["by_agreement"][0]["key"] == references["service"]
    assert stats["refusals"] == [
        {
            "reason": "field_not_in_agreement",
            "label": "They asked for data the agreement does not cover",
            "count": 1,
        }
    ]
    assert stats["growth"][-1]["tree_size"] == 3
    assert set(data["charts"]) == {"growth", "organisations", "agreements", "refusals"}
    ids = re.findall(r'<title id="([^"]+)"', page.text)
    assert len(ids) == 4 and len(set(ids)) == 4
    for text in (page.text, str(data)):
        assert ADA not in text and "Ada" not in text and NINOS[ADA] not in text
        assert "blinding" not in text


def test_the_auditors_page_of_an_empty_log(hub: World) -> None:
    data = hub.client.get("/ledger.json").json()
    assert data["stats"]["tree_size"] == 0 and data["charts"] == {}
    assert hub.client.get("/ledger", headers=HTML).status_code == 200
