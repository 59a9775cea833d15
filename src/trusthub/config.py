"""Settings read from the environment, so that keys and addresses never live in code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every setting is read from a ``TRUSTHUB_``-prefixed environment variable."""

    model_config = SettingsConfigDict(env_prefix="TRUSTHUB_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'trusthub.db'}",
        description="SQLAlchemy URL; SQLite is embedded, PostgreSQL (psycopg) in production.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(default="", description="Base URL printed and used in links.")
    log_level: str = "INFO"
    log_json: bool = True
    demo_citizens: int = Field(
        default=2_000, description="Citizens `make run` seeds on first start."
    )
    demo_seed: int = 2017
    sql_echo: bool = False
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for operator endpoints; unset turns them off."
    )
    ledger_database_url: str | None = Field(
        default=None,
        description="A database of the ledger's own (unset: database_url); see docs/ledger.md.",
    )
    ledger_origin: str = Field(
        default="trusthub.example/ledger",
        description="The log's name: first line of every checkpoint and its signing key's name.",
    )
    ledger_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 checkpoint key: a note key 'PRIVATE+KEY+…', PKCS#8 PEM or a base64 "
        "32-byte seed. Unset: a development key generated under ledger_key_dir.",
    )
    ledger_previous_keys: list[str] = Field(
        default_factory=list,
        description="Verifier keys (name+keyid+key) of retired signing keys, as a JSON list.",
    )
    ledger_commitment_key: SecretStr | None = Field(
        default=None,
        description="Base64 of at least 32 random bytes keying citizen commitments. Unset: a "
        "development key generated under ledger_key_dir.",
    )
    ledger_key_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "ledger-keys",
        description="Where development ledger keys are generated when none are configured.",
    )
    ledger_record_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a recorder waits for its entry to be committed."
    )
    ledger_writer_process: bool = Field(
        default=False,
        description="Commit ledger batches in a child process of each app process, so appends "
        "do not share the recorders' GIL (faster under load; see docs/ledger.md). The same as "
        "ledger_writer='process'; ledger_writer, when set, wins.",
    )
    ledger_writer: Literal["thread", "process", "shared"] | None = Field(
        default=None,
        description="Who commits ledger batches: each app process's writer thread ('thread', "
        "the default), a child of each ('process'), or one writer server shared by all the app "
        "processes of a ledger database, merging their batches into one commit ('shared'; "
        "`trusthub serve --workers N` with N > 1 picks it). An in-memory SQLite ledger always "
        "uses the thread; see docs/ledger.md.",
    )
    opendata_data_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "opendata",
        description="Where open-data tables (one DuckDB file per resource version) are kept.",
    )
    opendata_sql_timeout: float = Field(
        default=10.0, description="Seconds a datastore_search_sql query may run before it is cut."
    )
    opendata_rows_max: int = Field(
        default=32_000, description="Most rows one datastore_search(_sql) call returns (CKAN's)."
    )
    release_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "releases",
        description="Where releases made through the API are written, one folder each.",
    )
    release_key: SecretStr | None = Field(
        default=None,
        description="Key for release pseudonyms, DICOM UIDs and date shifts; unset means a "
        "fresh key per release (nothing links across releases).",
    )

    exchange_pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Master key (base64, 32+ bytes) from which each agreement's pseudonym key "
        "is derived; development generates one under var/keys.",
    )
    exchange_keys_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "keys",
        description="Where development generates the exchange's pseudonym master key.",
    )

    environment: Literal["development", "production"] = Field(
        default="development",
        description="development generates missing keys under var/ and offers demo features.",
    )
    identity_issuer: str = Field(
        default="", description="OpenID Connect issuer URL; empty means the public URL."
    )
    identity_signing_keys: str | None = Field(
        default=None,
        description="Private JWKS for ID and access tokens: a file path or the JSON itself. "
        "For each alg the first key signs; later ones are retired but still published.",
    )
    identity_pairwise_key: SecretStr | None = Field(
        default=None, description="Key (32+ characters) for pairwise subject identifiers."
    )
    identity_keys_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "identity",
        description="Where development generates its signing and pairwise keys (mode 0600).",
    )
    identity_matching_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "matching",
        description="Each department's matching store: its records and trained model.",
    )
    identity_demo_sign_in: bool | None = Field(
        default=None,
        description="Offer the DEMO sign-in (no identity proofing, level Cl/P0); "
        "unset means on in development only.",
    )
    identity_providers: str | None = Field(
        default=None,
        description="Identity providers the hub brokers: a JSON list of {slug, name, "
        "discovery_url, client_id, reach?}. Unset in development: the demo providers.",
    )
    identity_broker_keys: str | None = Field(
        default=None,
        description="Private JWKS (ES256) the hub signs its client assertions to identity "
        "providers with (private_key_jwt): a file path or the JSON itself.",
    )
    identity_core_identity_keys: str | None = Field(
        default=None,
        description="Private JWKS (ES256) for core identity JWTs, distinct from the ID token keys.",
    )

    idp_enabled: bool | None = Field(
        default=None,
        description="Serve the demo identity providers under /idp/{slug}; unset means on in "
        "development only.",
    )
    idp_keys_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "idp",
        description="Each identity provider's signing keys, {slug}.jwks.json (development "
        "generates them, mode 0600).",
    )

    @property
    def ledger_url(self) -> str:
        return self.ledger_database_url or self.database_url

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
