"""``trusthub idp``: serve a demo identity provider, register its clients, list demo accounts."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from trusthub.cli_options import DATABASE_URL_OPTION, resolve_database_url
from trusthub.config import get_settings
from trusthub.idp.providers import BRANDS

idp_app = typer.Typer(
    help="The demo identity providers: fictional, certified-style OpenID providers at "
    "/idp/{slug} that prove identity the GPG 45 way. Slugs: " + ", ".join(BRANDS) + ".",
    no_args_is_help=True,
)
_err = Console(stderr=True)


def _slug(slug: str) -> str:
    if slug not in BRANDS:
        _err.print(f"[red]no identity provider {slug!r}[/red]; choose one of {', '.join(BRANDS)}")
        raise typer.Exit(2)
    return slug


@idp_app.command("serve")
def serve(
    slug: str = typer.Argument(..., help="Which provider: " + ", ".join(BRANDS) + "."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8100, help="Port."),
    public_url: str | None = typer.Option(
        None, help="The origin clients reach it at (default http://HOST:PORT)."
    ),
) -> None:
    """Serve one provider on its own port; its issuer is that origin + /idp/SLUG.

    It shares the database named by TRUSTHUB_DATABASE_URL (migrated first).
    """
    import uvicorn

    from trusthub.idp.app import create_idp_app

    slug = _slug(slug)
    origin = (public_url or f"http://{host}:{port}").rstrip("/")
    settings = get_settings().model_copy(update={"public_url": origin})
    _err.print(f"[bold]{BRANDS[slug].name}[/bold] issuer: {origin}/idp/{slug}")
    _err.print(f"  discovery: {origin}/idp/{slug}/.well-known/openid-configuration")
    uvicorn.run(
        create_idp_app(settings, slug), host=host, port=port, log_config=None, access_log=False
    )


@idp_app.command("register-client")
def register_client(
    slug: str = typer.Argument(..., help="Which provider."),
    redirect_uri: list[str] = typer.Option(..., "--redirect-uri", help="Exact; repeatable."),
    jwks_uri: str | None = typer.Option(None, help="Where the client publishes its keys."),
    jwks: Path | None = typer.Option(None, help="A file with the client's public JWKS."),
    client_id: str | None = typer.Option(None, help="Keep this id (updates it if it exists)."),
    name: str = typer.Option("TrustHub", help="Shown to people signing in."),
    secret: bool = typer.Option(False, help="client_secret_basic instead of private_key_jwt."),
    database_url: str | None = DATABASE_URL_OPTION,
) -> None:
    """Register a relying party (the hub's broker) at a provider; prints its client id.

    With --jwks-uri or --jwks it signs in by private_key_jwt; with --secret it gets a client
    secret, printed once.
    """
    from trusthub.db import make_engine, make_session_factory, transaction
    from trusthub.idp import service
    from trusthub.problems import Problem

    slug = _slug(slug)
    keys = json.loads(jwks.read_text()) if jwks else None
    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as db:
            made = service.register_client(
                db,
                slug,
                redirect_uri,
                client_id=client_id,
                name=name,
                jwks=keys,
                jwks_uri=jwks_uri,
                secret=secret,
            )
    except Problem as problem:
        _err.print(f"[red]{problem}[/red] {problem.errors or ''}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    base = get_settings().base_url
    typer.echo(f"client_id: {made.client_id}")
    if made.client_secret:
        typer.echo(f"client_secret: {made.client_secret}")
    typer.echo(f"discovery: {base}/idp/{slug}/.well-known/openid-configuration")


@idp_app.command("seed")
def seed(database_url: str | None = DATABASE_URL_OPTION) -> None:
    """Register the hub at every provider, create the ready demo accounts and the fraud list.

    `trusthub demo seed` does this too; run it again at will (it adds only what is missing).
    """
    from trusthub.db import make_engine, make_session_factory, transaction
    from trusthub.idp import demo

    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as db:
            counts = demo.seed(db, get_settings())
    finally:
        engine.dispose()
    typer.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@idp_app.command("demo-accounts")
def demo_accounts(
    database_url: str | None = DATABASE_URL_OPTION,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
) -> None:
    """Print the ready demo accounts: usernames, passwords, TOTP secrets, passport MRZ, licence.

    DEMO ONLY: these are for the synthetic demo world; the passwords are derived from the
    world's seed and are not stored anywhere in clear.
    """
    from dataclasses import asdict

    from trusthub.db import make_engine, make_session_factory
    from trusthub.idp import demo

    engine = make_engine(resolve_database_url(database_url))
    try:
        with make_session_factory(engine)() as db:
            ready = demo.accounts(db, get_settings().demo_seed)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([asdict(a) for a in ready], default=str, indent=2))
        return
    typer.echo("Demo accounts (DEMO ONLY: synthetic demo world; passwords derived from its seed)")
    for a in ready:
        typer.echo(f"\n{a.idp}  {a.username}  ({a.given_name} {a.family_name}, {a.birthdate})")
        typer.echo(f"  password     {a.password}")
        typer.echo(f"  TOTP secret  {a.totp_secret}")
        typer.echo(f"  proven       {a.level} ({a.profile})")
        typer.echo(f"  passport MRZ {a.passport_mrz[0]}\n               {a.passport_mrz[1]}")
        if a.licence_number:
            typer.echo(f"  licence      {a.licence_number}")


@idp_app.command("purge")
def purge(database_url: str | None = DATABASE_URL_OPTION) -> None:
    """Delete the providers' expired codes, tokens, sessions, held requests and old failures."""
    from trusthub.db import make_engine, make_session_factory, transaction
    from trusthub.idp import store

    engine = make_engine(resolve_database_url(database_url))
    try:
        with transaction(make_session_factory(engine)) as db:
            store.purge_expired(db)
    finally:
        engine.dispose()
    typer.echo("purged")
