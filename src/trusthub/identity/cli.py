"""`trusthub identity`: clients of the OpenID Connect provider, its signing keys, housekeeping."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console

from trusthub.cli_options import DATABASE_URL_OPTION, resolve_database_url
from trusthub.config import get_settings
from trusthub.db import make_engine, make_session_factory, transaction
from trusthub.identity import service
from trusthub.identity.matching import cli as matching_cli
from trusthub.identity.oidc.schemas import RelyingPartyCreate
from trusthub.problems import Problem

console = Console(stderr=True)

identity_app = typer.Typer(
    help="The identity hub: OpenID Connect clients, signing keys and housekeeping.",
    no_args_is_help=True,
)
client_app = typer.Typer(
    help="Register clients of the OpenID Connect provider.", no_args_is_help=True
)
keys_app = typer.Typer(help="List and rotate the provider's signing keys.", no_args_is_help=True)
identity_app.add_typer(client_app, name="client")
identity_app.add_typer(keys_app, name="keys")


def _fail(problem: Problem) -> typer.Exit:
    console.print(f"[red]{problem.title}[/red]: {problem.detail}")
    for error in problem.errors:
        console.print(f"  {error['field']}: {error['message']}")
    return typer.Exit(1)


def _read_jwks(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        console.print(f"[red]cannot read {path} as JSON[/red]")
        raise typer.Exit(1) from error
    if not isinstance(data, dict):
        console.print("[red]the JWKS must be a JSON object[/red]")
        raise typer.Exit(1)
    return data


@client_app.command("add")
def client_add(
    organisation: str = typer.Option(..., "--organisation", "-o", help="Organisation slug."),
    jwks: Path = typer.Option(..., help="File with the client's PUBLIC JWKS.", exists=True),
    scope: list[str] = typer.Option(["exchange"], help="Scope it may get; repeat for more."),
    name: str | None = typer.Option(None, help="Display name."),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Register an organisation's machine client and print its client_id.

    The client gets access tokens from POST /oauth2/token with grant_type=client_credentials,
    authenticating with a private_key_jwt assertion signed by a key of JWKS (ES256 or RS256).
    """
    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as session:
            client_id = service.register_machine_client(
                session, organisation, _read_jwks(jwks), scopes=scope, name=name
            )
    except Problem as problem:
        raise _fail(problem) from problem
    finally:
        engine.dispose()
    typer.echo(client_id)


@client_app.command("add-relying-party")
def client_add_relying_party(
    name: str = typer.Option(..., help="The service's name, shown to citizens."),
    redirect_uri: list[str] = typer.Option(..., help="Exact redirect URI; repeat for more."),
    post_logout_redirect_uri: list[str] = typer.Option([], help="Where logout may return to."),
    organisation: str | None = typer.Option(None, help="Organisation slug."),
    sector: str | None = typer.Option(None, help="Sector identifier (default: redirect host)."),
    jwks: Path | None = typer.Option(
        None, help="PUBLIC JWKS for private_key_jwt; without it the client gets a secret."
    ),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Register a service citizens sign in to; prints its registration as JSON.

    With --jwks it authenticates by private_key_jwt (recommended); otherwise by
    client_secret_basic, and the secret is printed once — only its hash is kept.
    """
    try:
        data = RelyingPartyCreate(
            name=name,
            organisation=organisation,
            redirect_uris=redirect_uri,
            post_logout_redirect_uris=post_logout_redirect_uri,
            sector_identifier=sector,
            token_endpoint_auth_method="private_key_jwt" if jwks else "client_secret_basic",
            jwks=_read_jwks(jwks) if jwks else None,
        )
    except ValidationError as invalid:
        for error in invalid.errors():
            field = ".".join(str(part) for part in error["loc"]) or "registration"
            console.print(f"[red]{field}[/red]: {error['msg'].removeprefix('Value error, ')}")
        raise typer.Exit(1) from invalid
    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as session:
            view = service.register_relying_party(session, data)
    except Problem as problem:
        raise _fail(problem) from problem
    finally:
        engine.dispose()
    typer.echo(view.model_dump_json(indent=2))


@keys_app.command("list")
def keys_list() -> None:
    """List the signing keys: the first of each algorithm signs, the others are retired."""
    ring = service.signing_keys(get_settings())
    seen: set[str] = set()
    for key in ring.keys:
        alg = str(key.get("alg"))
        state = "retired" if alg in seen else "active"
        seen.add(alg)
        typer.echo(f"{key.kid}\t{alg}\t{state}")


@keys_app.command("rotate")
def keys_rotate(
    alg: str = typer.Option("ES256", help="ES256 or RS256."),
    keep: int = typer.Option(1, min=1, help="Retired keys of this algorithm to keep published."),
) -> None:
    """Make a new active signing key; the old one stays published so its tokens still verify.

    Servers pick the new key up on their next request. Rotate again only after the longest
    token lifetime (5 minutes) has passed, or tokens signed by a pruned key stop verifying.
    """
    typer.echo(service.rotate_signing_keys(get_settings(), alg, keep))


@identity_app.command("purge")
def purge(database_url: str | None = DATABASE_URL_OPTION) -> None:
    """Delete expired codes, tokens, sessions, held requests and used assertion ids."""
    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as session:
            counts = service.purge_expired(session)
    finally:
        engine.dispose()
    typer.echo(json.dumps(counts))


identity_app.command("match")(matching_cli.match_command)
identity_app.command("match-prepare")(matching_cli.prepare_command)
