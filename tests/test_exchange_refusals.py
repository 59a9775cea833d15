"""The online path refuses what it must, end to end: bad credentials, bad input, every reason.

A request refused before a decision (no valid token, no exchange scope, invalid input) is about
no one and stores nothing: the ledger's size does not move. A refusal by the policy is a
decision, and is on the ledger.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from joserfc import jwt

from exchange_world import (
    active,
    ask,
    bearer,
    ledger_entry,
    ledger_size,
    sessions,
    shared,
    terms,
)
from identity_world import (
    ADA,
    ADMIN_TOKEN,
    World,
    assertion_form,
    auth_request,
    authorize_in_browser,
    machine_token,
    new_ec_key,
    public,
    query_of,
    redeem,
)
from trusthub.consent.models import Channel, ChoiceAction, ChoiceKind
from trusthub.consent.schemas import ChoiceIn
from trusthub.consent.service import record_choice
from trusthub.db import transaction
from trusthub.identity.service import register_machine_client
from trusthub.registry.agreement_rules import EventKind, Party
from trusthub.registry.agreement_schemas import AgreementAction
from trusthub.registry.service import act_on_agreement, amend_agreement, draft_agreement

__all__ = ["shared"]

RECORDS = "/exchange/v1/records"


def _body(agreement: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agreement": agreement,
        "purpose_category": "public_service_delivery",
        "subject": {"nhs_number": ADA},
    }
    body.update(changes)
    return body


# --- who is asking ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "expired", "wrong key", "other client"])
def test_a_bad_client_assertion_gets_no_token_and_so_no_answer(
    hub: World, shared: dict[str, str], case: str
) -> None:
    assert hub.machine_key is not None
    now = int(time.time())
    form: dict[str, str] = {"grant_type": "client_credentials", "scope": "exchange"}
    if case == "expired":
        form.update(assertion_form(hub.machine_key, hub.machine_id, iat=now - 200, exp=now - 100))
    elif case == "wrong key":
        form.update(assertion_form(new_ec_key(), hub.machine_id))
    elif case == "other client":
        other = hub.rps["gov"].client_id  # signed with our key, claiming to be someone else
        form.update(assertion_form(hub.machine_key, hub.machine_id, iss=other, sub=other))
    else:
        form["client_id"] = hub.machine_id
    answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code in (400, 401), answer.text
    assert answer.json()["error"] == "invalid_client"
    assert "access_token" not in answer.json()


def _stranger_signed(hub: World) -> str:
    token = machine_token(hub).json()["access_token"]
    claims = jwt.decode(token, hub.provider.keyring().verification_set()).claims
    kid = hub.provider.keyring().signing_set("ES256").keys[0].kid
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, new_ec_key())


def _expired(hub: World) -> str:
    token = machine_token(hub).json()["access_token"]
    claims = jwt.decode(token, hub.provider.keyring().verification_set()).claims
    key = hub.provider.keyring().signing_set("ES256")
    now = int(time.time())
    stale = {**claims, "iat": now - 900, "exp": now - 600}
    return jwt.encode({"alg": "ES256", "typ": "at+jwt"}, stale, key)


def _citizens_token(hub: World) -> str:
    """An access token the hub issued to a relying party for a citizen: not a machine token."""
    req = auth_request(hub.rps["gov"])
    code = query_of(authorize_in_browser(hub.client, req.url))["code"]
    token: str = redeem(hub, "gov", code, req.verifier).json()["access_token"]
    return token


@pytest.mark.parametrize(
    "case", ["none", "not a jwt", "basic", "expired", "stranger's key", "citizen's token"]
)
def test_the_exchange_refuses_a_bad_token_and_records_nothing(
    hub: World, shared: dict[str, str], case: str
) -> None:
    headers = {
        "none": {},
        "not a jwt": {"Authorization": "Bearer not.a.token"},
        "basic": {"Authorization": "Basic ZHdwOnNlY3JldA=="},
        "expired": {"Authorization": f"Bearer {_expired(hub)}"},
        "stranger's key": {"Authorization": f"Bearer {_stranger_signed(hub)}"},
        "citizen's token": {"Authorization": f"Bearer {_citizens_token(hub)}"},
    }[case]
    before = ledger_size(hub)
    batch = _body(shared["service"], subjects=[{"nhs_number": ADA}])
    del batch["subject"]
    for path, body in ((RECORDS, _body(shared["service"])), (RECORDS + ":batch", batch)):
        answer = hub.client.post(path, json=body, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("invalid-token")
        assert "AB123456C" not in answer.text
    assert ledger_size(hub) == before


def test_a_token_without_the_exchange_scope_is_refused_before_any_decision(
    hub: World, shared: dict[str, str]
) -> None:
    key = new_ec_key()
    with transaction(sessions(hub)) as session:
        client_id = register_machine_client(session, "dwp", public(key), scopes=["exchange:bulk"])
    form = {"grant_type": "client_credentials", **assertion_form(key, client_id)}
    token = hub.client.post("/oauth2/token", data=form).json()["access_token"]
    before = ledger_size(hub)
    answer = hub.client.post(
        RECORDS, json=_body(shared["service"]), headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("insufficient-scope")
    assert ledger_size(hub) == before


# --- what is asked ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('{"agreement": ', "body"),
        ("[1, 2]", "body"),
        ("", "body"),
        ('{"agreement": "DSA-2026-00001"}', "purpose_category"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(
    hub: World, shared: dict[str, str], content: str, field: str
) -> None:
    before = ledger_size(hub)
    headers = {**bearer(hub), "content-type": "application/json"}
    answer = hub.client.post(RECORDS, content=content, headers=headers)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == field
    assert ledger_size(hub) == before


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"colour": "blue"}, ["colour"]),
        ({"subject": {"nhs_number": ADA, "name": "Ada"}}, ["subject.name"]),
        ({"subject": {"nhs_number": "9434765918"}}, ["subject.nhs_number"]),
        ({"subject": {"nhs_number": "94347"}}, ["subject.nhs_number"]),
        ({"subject": {"nino": "QQ123456Z"}}, ["subject.nino"]),
        ({"subject": {"nhs_number": ADA, "nino": "AB123456C"}}, ["subject"]),
        ({"subject": {}}, ["subject"]),
        ({"purpose_category": "curiosity"}, ["purpose_category"]),
        ({"fields": "pay_band"}, ["fields"]),
    ],
)
def test_invalid_input_is_refused_naming_the_field_and_nothing_is_recorded(
    hub: World, shared: dict[str, str], changes: dict[str, Any], fields: list[str]
) -> None:
    before = ledger_size(hub)
    answer = hub.client.post(RECORDS, json=_body(shared["service"], **changes), headers=bearer(hub))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == fields
    assert "9434765918" not in answer.text  # the message names the rule, never the value
    assert ledger_size(hub) == before


# --- may they: every reason of the policy, through the app --------------------------------------


def _act(hub: World, reference: str, kind: EventKind, party: Party, **kwargs: Any) -> None:
    with transaction(sessions(hub)) as session:
        act_on_agreement(
            session, reference, kind, AgreementAction(party=party, actor="D P O"), **kwargs
        )


def _choose(hub: World, kind: ChoiceKind, action: ChoiceAction, scope: str | None) -> None:
    with transaction(sessions(hub)) as session:
        record_choice(
            session,
            hub.citizen_ids[ADA],
            ChoiceIn(kind=kind, action=action, scope=scope, channel=Channel.WEB),
        )


def _refused_for(hub: World, reference: str, purpose: str, reasons: list[str]) -> None:
    answer = ask(hub, reference, ADA, purpose)
    assert answer.status_code == 403, answer.text
    assert answer.json()["reasons"] == reasons
    entry = ledger_entry(hub, answer.json()["ledger"]["index"])
    assert entry["decision"] == "refuse" and entry["reasons"] == reasons


def test_both_dpos_must_approve_before_records_flow(hub: World, shared: dict[str, str]) -> None:
    with transaction(sessions(hub)) as session:
        reference = draft_agreement(session, terms(), "D P O").reference
    _refused_for(hub, reference, "public_service_delivery", ["agreement_not_active"])
    _act(hub, reference, EventKind.APPROVED, Party.PROVIDER)
    _refused_for(hub, reference, "public_service_delivery", ["agreement_not_active"])
    _act(hub, reference, EventKind.APPROVED, Party.RECIPIENT)
    assert ask(hub, reference, ADA, "public_service_delivery").status_code == 200


def test_a_suspension_binds_the_next_request(hub: World, shared: dict[str, str]) -> None:
    assert ask(hub, shared["service"], ADA, "public_service_delivery").status_code == 200
    _act(hub, shared["service"], EventKind.SUSPENDED, Party.PROVIDER)
    _refused_for(hub, shared["service"], "public_service_delivery", ["agreement_not_active"])
    _act(hub, shared["service"], EventKind.REINSTATED, Party.PROVIDER)
    assert ask(hub, shared["service"], ADA, "public_service_delivery").status_code == 200


def test_an_expired_agreement_is_refused(hub: World, shared: dict[str, str]) -> None:
    then = date(2020, 6, 1)
    with transaction(sessions(hub)) as session:
        old = terms(starts_on="2020-01-01", ends_on="2021-01-01")
        reference = draft_agreement(session, old, "D P O", today=then).reference
    for party in (Party.PROVIDER, Party.RECIPIENT):
        _act(hub, reference, EventKind.APPROVED, party, today=then)
    _refused_for(hub, reference, "public_service_delivery", ["agreement_expired"])


def test_an_amendment_needs_new_approvals_keeps_history_and_binds_at_once(
    hub: World, shared: dict[str, str]
) -> None:
    with transaction(sessions(hub)) as session:
        reference = draft_agreement(session, terms(), "D P O").reference
    _act(hub, reference, EventKind.APPROVED, Party.PROVIDER)
    _refused_for(hub, reference, "public_service_delivery", ["agreement_not_active"])
    with transaction(sessions(hub)) as session:
        amend_agreement(session, reference, terms(fields=["nino"]), "D P O")
    _act(hub, reference, EventKind.APPROVED, Party.PROVIDER)
    _refused_for(hub, reference, "public_service_delivery", ["agreement_not_active"])
    _act(hub, reference, EventKind.APPROVED, Party.RECIPIENT)
    answer = ask(hub, reference, ADA, "public_service_delivery")
    assert answer.json()["record"] == {"nino": "AB123456C"}
    refused = ask(hub, reference, ADA, "public_service_delivery", fields=["pay_band"])
    assert refused.json()["reasons"] == ["field_not_in_agreement"]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    history = hub.client.get(f"/api/v1/agreements/{reference}", headers=admin).json()["history"]
    assert [(e["kind"], e["version"]) for e in history] == [
        ("drafted", 1),
        ("approved", 1),
        ("amended", 2),
        ("approved", 2),
        ("approved", 2),
    ]


def test_an_objection_is_applied_online(hub: World, shared: dict[str, str]) -> None:
    _choose(hub, ChoiceKind.OBJECTION, ChoiceAction.SET, shared["service"])
    _refused_for(hub, shared["service"], "public_service_delivery", ["citizen_objected"])


def test_consent_missing_then_given_then_withdrawn(hub: World, shared: dict[str, str]) -> None:
    with transaction(sessions(hub)) as session:
        reference = active(session, terms(lawful_basis="consent", legal_gateway=None))
    _refused_for(hub, reference, "public_service_delivery", ["consent_missing"])
    _choose(hub, ChoiceKind.CONSENT, ChoiceAction.SET, reference)
    assert ask(hub, reference, ADA, "public_service_delivery").status_code == 200
    _choose(hub, ChoiceKind.CONSENT, ChoiceAction.WITHDRAWN, reference)
    _refused_for(hub, reference, "public_service_delivery", ["consent_withdrawn"])
