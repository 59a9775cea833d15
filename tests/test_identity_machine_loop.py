"""Client-credential grants on the event loop keep every promise of the threaded path.

The grant reads its client before Authlib runs and records the used jti after it; these tests
hold that order to the same rules: one use per jti across both paths, a refused grant's jti
still spent, no token while SQLite's write lock is taken elsewhere (the write waits in a
thread), and PostgreSQL connections that died between grants replaced without a refusal.
"""

from __future__ import annotations

import sqlite3
import threading
import time

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from starlette.datastructures import Headers

from identity_world import ISSUER, World, assertion_form, machine_token
from pg_support import end_every_other_backend, on_postgresql_only
from trusthub.db import make_session_factory, transaction
from trusthub.identity.oidc import flows
from trusthub.identity.oidc.machine_grant import named_client
from trusthub.identity.oidc.server import HubRequest


def _form(world: World, **kwargs: object) -> dict[str, str]:
    assert world.machine_key is not None
    form = {"grant_type": "client_credentials", "scope": "exchange"}
    form.update(assertion_form(world.machine_key, world.machine_id, **kwargs))
    return form


def _action_layer(world: World, form: dict[str, str]) -> int:
    """The same grant through the threaded action (as the documented route runs it)."""
    engine = world.client.app.state.engine  # type: ignore[attr-defined]
    request = HubRequest(
        "POST",
        ISSUER + "/oauth2/token",
        Headers({"content-type": "application/x-www-form-urlencoded"}),
        [],
        list(form.items()),
    )
    with transaction(make_session_factory(engine)) as db:
        return int(flows.token(db, world.provider, request).status_code)


def test_a_jti_spent_on_one_path_is_refused_on_the_other(hub: World) -> None:
    form = _form(hub, jti="both-ways")
    assert _action_layer(hub, form) == 200
    answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"
    assert "used before" in answer.json()["error_description"]

    other = _form(hub, jti="loop-first")
    assert hub.client.post("/oauth2/token", data=other).status_code == 200
    assert _action_layer(hub, other) in (400, 401)


def test_a_refused_grant_still_spends_its_jti(hub: World) -> None:
    form = _form(hub, jti="refused-then-reused")
    form["scope"] = "admin"
    assert hub.client.post("/oauth2/token", data=form).json()["error"] == "invalid_scope"
    form["scope"] = "exchange"
    again = hub.client.post("/oauth2/token", data=form)
    assert again.status_code in (400, 401) and again.json()["error"] == "invalid_client"


def test_an_assertion_for_another_client_than_it_names_is_refused(hub: World) -> None:
    """The row read first is the ``sub``'s; a signature by any other client's key fails."""
    form = _form(hub, sub=hub.rps["gov"].client_id, iss=hub.rps["gov"].client_id)
    answer = hub.client.post("/oauth2/token", data=form)
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"


def test_a_grant_waits_for_a_taken_sqlite_write_lock_then_succeeds(hub: World) -> None:
    url = make_url(hub.settings.database_url)
    if url.get_backend_name() != "sqlite":
        return
    holder = sqlite3.connect(str(url.database), timeout=10, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, held elsewhere
    released = threading.Event()

    def release() -> None:
        time.sleep(0.3)
        holder.rollback()
        released.set()

    threading.Thread(target=release).start()
    try:
        answer = machine_token(hub, jti="behind-a-lock")
    finally:
        released.wait(10)
        holder.close()
    assert answer.status_code == 200, answer.text
    assert released.is_set()
    assert machine_token(hub, jti="behind-a-lock").json()["error"] == "invalid_client"


@on_postgresql_only
def test_postgresql_connections_killed_between_grants_are_replaced(hub: World) -> None:
    assert machine_token(hub).status_code == 200
    end_every_other_backend(hub.settings.database_url)
    assert machine_token(hub).status_code == 200
    replay = _form(hub, jti="after-restart")
    assert hub.client.post("/oauth2/token", data=replay).status_code == 200
    assert hub.client.post("/oauth2/token", data=replay).json()["error"] == "invalid_client"


@given(st.text(max_size=200), st.sampled_from(["jwt-bearer", "other"]))
def test_reading_the_named_client_never_fails(assertion: str, kind: str) -> None:
    assertion_type = (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" if kind == "jwt-bearer" else kind
    )
    form = [("client_assertion_type", assertion_type), ("client_assertion", assertion)]
    request = HubRequest("POST", ISSUER + "/oauth2/token", Headers({}), [], form)
    found = named_client(request)
    assert found is None or (isinstance(found, str) and 1 <= len(found) <= 64)
