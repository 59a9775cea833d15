"""The pages: each handler calls the service layer and renders; each page has a ``.json`` twin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from trusthub.deps import DbSession
from trusthub.registry import service
from trusthub.registry.agreement_schemas import RegisterEntry
from trusthub.registry.schemas import OrganisationView
from trusthub.web.rendering import json_path, render

router = APIRouter(include_in_schema=False)

Handler = TypeVar("Handler", bound=Callable[..., Response])


def page(path: str) -> Callable[[Handler], Handler]:
    """Serve a handler at ``path`` and its ``.json`` twin, the twin first so that it wins."""

    def register(handler: Handler) -> Handler:
        router.add_api_route(json_path(path), handler, methods=["GET"], response_model=None)
        router.add_api_route(
            path, handler, methods=["GET"], response_model=None, response_class=HTMLResponse
        )
        return handler

    return register


class Promise(BaseModel):
    """One thing TrustHub promises a citizen, said plainly."""

    title: str
    text: str


class Link(BaseModel):
    """A way into one part of TrustHub."""

    text: str
    href: str
    description: str


class StartPage(BaseModel):
    """What the start page says, so that its JSON twin says the same."""

    promises: list[Promise]
    links: list[Link]


class OrganisationsPage(BaseModel):
    organisations: list[OrganisationView]


class OrganisationPage(BaseModel):
    organisation: OrganisationView


class RegisterPage(BaseModel):
    """The public register of data-sharing agreements, as the DEA 2017 codes require."""

    agreements: list[RegisterEntry]


START = StartPage(
    promises=[
        Promise(
            title="You prove who you are once",
            text="You confirm your identity once, and every service that needs to know it is "
            "you can rely on that, at the level of certainty it needs.",
        ),
        Promise(
            title="Your data is used only under registered agreements",
            text="An organisation may use your personal data only under a data-sharing "
            "agreement registered here, which says what data, for what purpose and under which "
            "law. Every agreement respects your opt-out.",
        ),
        Promise(
            title="Every use is written to a ledger you can check",
            text="Each time your data is used, TrustHub records who asked, why, and what they "
            "got, in a ledger that cannot be quietly changed. You and independent auditors can "
            "check it.",
        ),
        Promise(
            title="Research gets anonymised data only",
            text="When data is shared for research, it leaves only after it has been "
            "anonymised and checked, so that no one in it can be picked out.",
        ),
        Promise(
            title="Non-personal data is open to everyone",
            text="Data that says nothing about any person, such as flood risk or company "
            "records, is open for anyone to use.",
        ),
    ],
    links=[
        Link(
            text="See who has used your data",
            href="/citizen",
            description="Your own area: who has used your data, and your national data opt-out.",
        ),
        Link(
            text="For organisations and data protection officers",
            href="/organisations",
            description="The organisations registered here, the data they hold and how each "
            "field is classified.",
        ),
        Link(
            text="Open data",
            href="/opendata",
            description="Non-personal data anyone can use — house prices, flood warnings, "
            "company records — with a CKAN-compatible API and full downloads.",
        ),
        Link(
            text="Register of data-sharing agreements",
            href="/register",
            description="Who shares personal data with whom, why, and under which law.",
        ),
        Link(
            text="API documentation",
            href="/docs",
            description="For developers: every page and action is also available through the API.",
        ),
    ],
)


@page("/")
def start(request: Request) -> Response:
    """The start page explains TrustHub to a citizen before anything else."""
    return render(request, "start.html", lambda: START)


@page("/organisations")
def organisations(request: Request, session: DbSession) -> Response:
    """The register as data protection officers see it: who holds what, and who answers for it."""
    return render(
        request,
        "organisations.html",
        lambda: OrganisationsPage(organisations=service.list_organisations(session)),
    )


@page("/organisations/{slug}")
def organisation(request: Request, slug: str, session: DbSession) -> Response:
    return render(
        request,
        "organisation.html",
        lambda: OrganisationPage(organisation=service.get_organisation(session, slug)),
    )


@page("/register")
def register(request: Request, session: DbSession) -> Response:
    """Every agreement past draft: who shares what with whom, why, and under which law."""
    return render(
        request,
        "register.html",
        lambda: RegisterPage(agreements=service.public_register(session)),
    )
