"""Settings read from the environment, so that keys and addresses never live in code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
