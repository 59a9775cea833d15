"""The pseudonym master key from configuration, or a development key kept under var/."""

from __future__ import annotations

import base64
import binascii
import secrets

from trusthub.config import Settings
from trusthub.devkeys import development_secret


class ExchangeKeyError(RuntimeError):
    """The exchange's key is missing or malformed; the message says which setting to fix."""


def pseudonym_master_key(settings: Settings) -> bytes:
    if settings.exchange_pseudonym_key is not None:
        text = settings.exchange_pseudonym_key.get_secret_value()
    elif settings.environment == "production":
        raise ExchangeKeyError("production needs TRUSTHUB_EXCHANGE_PSEUDONYM_KEY set")
    else:
        text = development_secret(
            settings.exchange_keys_dir,
            "exchange-pseudonym.key",
            lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        )
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ExchangeKeyError("TRUSTHUB_EXCHANGE_PSEUDONYM_KEY must be base64") from error
    if len(key) < 32:
        raise ExchangeKeyError("TRUSTHUB_EXCHANGE_PSEUDONYM_KEY must hold at least 32 bytes")
    return key
