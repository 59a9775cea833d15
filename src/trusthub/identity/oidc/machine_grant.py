"""Client-credential grants with ``private_key_jwt``, answered on the event loop.

The same Authlib grant, client record and checks as every other token request; only the order
of the two database statements around them differs, so that nothing blocks the loop:

1. the client's row is read (awaited) for the ``sub`` the assertion names, before Authlib runs;
2. Authlib checks the assertion (signature, audience, lifetime, iss = sub) and the grant, and
   signs the token, with no I/O; the used ``jti`` is noted, not yet written;
3. the jti is recorded (awaited), committed at once, whatever the grant's outcome, as before:
   an assertion checked once stays spent. If it was used already, the token is dropped and the
   client refused exactly as Authlib refuses a replay. Nothing leaves before this write.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from starlette.responses import Response

from trusthub.identity.oidc import driver, store
from trusthub.identity.oidc.clients import CLIENT_SQL, ClientRecord, record_of
from trusthub.identity.oidc.grants import (
    AccessTokens,
    ClientCredentialsGrant,
    PrivateKeyJWT,
)
from trusthub.identity.oidc.loop_sql import LoopStatements, WouldWait, loop_statements
from trusthub.identity.oidc.provider import Provider
from trusthub.identity.oidc.server import HubRequest, HubServer

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REPLAYED = "JWT ID is used before."
"""Authlib's own words for a replayed assertion (``JWTBearerClientAssertion.verify_claims``)."""


def named_client(oauth_request: HubRequest) -> str | None:
    """The ``sub`` an assertion names, read without trusting it: only to know which row to read.

    Authlib reads the same claim the same way, then verifies the assertion with that client's
    keys; a client other than the one read here gets no record, so is refused.
    """
    form = oauth_request.form
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        return None
    parts = (form.get("client_assertion") or "").split(".")
    if len(parts) != 3:  # header, payload, signature
        return None
    try:
        payload = parts[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if not isinstance(sub, str) or not 1 <= len(sub) <= 64:  # as load_client
        return None
    return sub


class _NotedJTI(PrivateKeyJWT):
    """``private_key_jwt`` whose used jti is noted for the caller to record."""

    server: MachineServer

    def remember(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        self.server.noted.append((client_id, jti, expires_at))
        return True


class MachineServer(HubServer):
    """The hub's server for one client-credential grant, its client read beforehand."""

    def __init__(self, provider: Provider, client: ClientRecord | None) -> None:
        super(HubServer, self).__init__(scopes_supported=None)  # only what this grant needs
        self.provider = provider
        self.client = client
        self.noted: list[tuple[str, str, datetime]] = []
        self.signals: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.releases = []
        self.register_token_generator("default", AccessTokens(provider))
        self.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, _NotedJTI(self))
        self.register_grant(ClientCredentialsGrant)

    def relax_durability(self) -> None:
        """The jti is written on its own, committed at once without the fsync wait."""

    def query_client(self, client_id: str) -> ClientRecord | None:
        client = self.client
        return client if client is not None and client.client_id == client_id else None

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Held until the jti is recorded: a replay is not counted as an authentication."""
        self.signals.append((name, args, kwargs))

    def release_signals(self) -> None:
        for name, args, kwargs in self.signals:
            super().send_signal(name, *args, **kwargs)


async def answer(state: Any, provider: Provider, oauth_request: HubRequest) -> Response | None:
    """The grant's response; None if this request is not one for this path (no assertion, or a
    database with no loop-side statements): the caller then answers it in a worker thread."""
    client_id = named_client(oauth_request)
    if client_id is None:
        return None
    bind = state.engine
    statements = loop_statements(bind)
    if statements is None:
        return None
    try:
        row = await statements.run(CLIENT_SQL[statements.dialect], (client_id,), fetch=True)
    except WouldWait:  # a read kept waiting (rare on SQLite's WAL): the threaded path waits
        return None
    server = MachineServer(provider, None if row is None else record_of(tuple(row)))
    response: Response = server.create_token_response(oauth_request)
    for noted_client, jti, expires_at in server.noted:
        if not await _record(statements, bind, noted_client, jti, expires_at):
            return server.handle_error_response(oauth_request, InvalidClientError(REPLAYED))  # type: ignore[no-any-return]
    server.release_signals()
    return response


async def _record(
    statements: LoopStatements, bind: Any, client_id: str, jti: str, expires_at: datetime
) -> bool:
    """Record a used jti, committed at once; False if it was used before."""
    sql, params = store.assertion_write(statements.dialect, client_id, jti, expires_at)
    try:
        return await statements.run(sql, params, fetch=True) is not None
    except WouldWait:  # SQLite's write lock is taken: wait for it away from the loop
        side = driver.unsynced(bind)
        assert side is not None
        loop = asyncio.get_running_loop()
        row = await loop.run_in_executor(None, driver.row_committed, side, sql, params)
        return row is not None
