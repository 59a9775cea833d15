"""Open-data fixtures: a catalogue with real-shaped data on each backend, and a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from trusthub.app import create_app
from trusthub.config import Settings
from trusthub.db import transaction
from trusthub.opendata import service
from trusthub.opendata.ckan_schemas import Package
from trusthub.opendata.sources import registry
from trusthub.registry.models import OrganisationKind
from trusthub.registry.schemas import OrganisationCreate
from trusthub.registry.service import create_organisation

PRICE_ROWS = 3_000
WARNING_ROWS = 400


@dataclass
class Catalogue:
    """What the fixture published: the packages, and where their tables live."""

    settings: Settings
    price_paid: Package
    warnings: Package

    @property
    def data_dir(self) -> Path:
        return self.settings.opendata_data_dir

    @property
    def price_resource(self) -> str:
        return self.price_paid.resources[0].id

    @property
    def warnings_resource(self) -> str:
        return self.warnings.resources[0].id


def add_organisation(session: Session, slug: str, name: str) -> None:
    create_organisation(
        session,
        OrganisationCreate(
            slug=slug,
            name=name,
            kind=OrganisationKind.GOVERNMENT_DEPARTMENT,
            dpo_name="Data Protection Officer",
            dpo_email=f"dpo@{slug}.example",
        ),
    )


@pytest.fixture(scope="session")
def source_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Generated once per run: files shaped like the real ones."""
    kinds = registry()
    out = tmp_path_factory.mktemp("opendata-sources")
    return {
        "price-paid": kinds["price-paid"].generate(out / "pp", PRICE_ROWS, 7),
        "flood-warnings": kinds["flood-warnings"].generate(out / "fw", WARNING_ROWS, 7),
    }


def publish_kind(
    factory: sessionmaker[Session], data_dir: Path, kind: str, files: list[Path]
) -> Package:
    chosen = registry()[kind]
    sources = {n: service.TableSource(q) for n, q in chosen.select(files).items()}
    with transaction(factory) as session:
        return service.publish_version(session, data_dir, chosen.manifest(), sources)


@pytest.fixture
def od_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"opendata_data_dir": tmp_path / "opendata", "opendata_sql_timeout": 2.0}
    )


@pytest.fixture
def catalogue(
    od_settings: Settings,
    session_factory: sessionmaker[Session],
    source_files: dict[str, list[Path]],
) -> Catalogue:
    with transaction(session_factory) as session:
        add_organisation(session, "hm-land-registry", "HM Land Registry")
        add_organisation(session, "environment-agency", "Environment Agency")
    data_dir = od_settings.opendata_data_dir
    return Catalogue(
        settings=od_settings,
        price_paid=publish_kind(
            session_factory, data_dir, "price-paid", source_files["price-paid"]
        ),
        warnings=publish_kind(
            session_factory, data_dir, "flood-warnings", source_files["flood-warnings"]
        ),
    )


@pytest.fixture
def od_client(catalogue: Catalogue) -> Iterator[TestClient]:
    app = create_app(catalogue.settings)
    with TestClient(app) as test_client:
        yield test_client
    app.state.engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_url(catalogue: Catalogue) -> Iterator[str]:
    """The app under a real uvicorn on 127.0.0.1, for clients that speak plain HTTP."""
    app = create_app(catalogue.settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()
