"""Keys for development only: generated once under var/ (mode 0600), never used in production."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("trusthub.keys")


def development_secret(directory: Path, filename: str, make: Callable[[], str]) -> str:
    """Read a generated key, or create it once (0600, atomically) and say so loudly."""
    path = directory / filename
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{filename}.{secrets.token_hex(8)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make() + "\n")
        try:
            os.link(temporary, path)  # fails if another process won the race; theirs is kept
            log.warning("development_key_generated", path=str(path), use="development only")
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    return path.read_text().strip()
