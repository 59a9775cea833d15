"""Rendering pages as HTML or, at the same path plus ``.json``, as the data the template got."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from trusthub.problems import Problem
from trusthub.registry.models import FieldClassification

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
ASSETS_URL = "/assets"

Page = TypeVar("Page", bound=BaseModel)


class Classification(BaseModel):
    """How a field class is shown: a GOV.UK tag colour and a plain-English meaning."""

    label: str
    tag_class: str
    meaning: str


# Presentation only: which colour each field class gets, and what it means for a person's data.
CLASSIFICATIONS: dict[FieldClassification, Classification] = {
    FieldClassification.DIRECT_IDENTIFIER: Classification(
        label="Direct identifier",
        tag_class="govuk-tag--red",
        meaning="Identifies a person on its own, such as a name or an NHS number. "
        "It never leaves in an anonymised release.",
    ),
    FieldClassification.QUASI_IDENTIFIER: Classification(
        label="Quasi-identifier",
        tag_class="govuk-tag--orange",
        meaning="Identifies a person when combined with others, such as a postcode, "
        "date of birth or sex. It is generalised before release so that nobody stands out.",
    ),
    FieldClassification.SENSITIVE: Classification(
        label="Sensitive",
        tag_class="govuk-tag--purple",
        meaning="Something about a person that must be protected, such as a diagnosis or "
        "an income. Releases must not reveal it for any person.",
    ),
    FieldClassification.NON_PERSONAL: Classification(
        label="Non-personal",
        tag_class="govuk-tag--green",
        meaning="Says nothing about any person. It can be shared and published as open data.",
    ),
}

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(assets=ASSETS_URL, classifications=CLASSIFICATIONS)


def json_path(path: str) -> str:
    """A page's JSON twin, as in Datasette: ``/x`` → ``/x.json``, and ``/`` → ``/.json``."""
    return path.rstrip("/") + ".json" if path != "/" else "/.json"


def wants_json(request: Request) -> bool:
    """Whether the matched route is a page's ``.json`` twin."""
    route_path = getattr(request.scope.get("route"), "path", "")
    return isinstance(route_path, str) and route_path.endswith(".json")


def error_page(request: Request, problem: Problem) -> Response:
    """A GOV.UK-styled error page for people; the API keeps its problem+json."""
    template = "404.html" if problem.status == 404 else "error.html"
    return templates.TemplateResponse(
        request,
        template,
        {"problem": problem, "json_href": None},
        status_code=problem.status,
    )


def render(request: Request, template: str, load: Callable[[], Page]) -> Response:
    """Load a page's data through the service layer, then answer as HTML or as that same data."""
    as_json = wants_json(request)
    try:
        page = load()
    except Problem as problem:
        if as_json:
            raise  # the API's problem+json handler answers machines
        return error_page(request, problem)
    if as_json:
        return JSONResponse(page.model_dump(mode="json"))
    return templates.TemplateResponse(
        request,
        template,
        {"page": page, "json_href": json_path(request.url.path)},
    )
