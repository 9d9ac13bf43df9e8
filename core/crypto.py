"""Encryption of platform tokens at rest (Fernet: AES-128-CBC + HMAC-SHA256, with a timestamp).

The key comes from ``CLIPCAST_SECRET_KEY`` / ``settings.secret_key``. Either a Fernet key (44 url-safe base64
characters, from ``core.crypto.generate_key()``) or any passphrase of at least 16 characters (stretched with
SHA-256). Several comma-separated keys rotate: the first encrypts, all of them decrypt. Without a key, storing a
token is refused: an installation never writes a platform token in clear text.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import ConfigError, PermanentError
from core.logging import add_secret

MIN_PASSPHRASE = 16


class TokenDecryptError(PermanentError):
    """Stored tokens cannot be decrypted with the configured key (key changed or data damaged)."""


def generate_key() -> str:
    """A new random Fernet key to put in ``CLIPCAST_SECRET_KEY``."""
    return Fernet.generate_key().decode()


def _fernet(one: str) -> Fernet:
    one = one.strip()
    try:
        if len(one) == 44 and len(base64.urlsafe_b64decode(one)) == 32:
            return Fernet(one.encode())
    except (ValueError, TypeError):
        pass
    if len(one) < MIN_PASSPHRASE:
        raise ConfigError(
            f"CLIPCAST_SECRET_KEY is too short ({len(one)} characters)",
            f"use a Fernet key (python -c 'from core.crypto import generate_key; print(generate_key())') "
            f"or a passphrase of at least {MIN_PASSPHRASE} characters",
        )
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(one.encode()).digest()))


def cipher(secret_key: Any) -> MultiFernet:
    """The cipher for a key setting (str or pydantic ``SecretStr``); ``ConfigError`` when there is none."""
    raw = secret_key.get_secret_value() if hasattr(secret_key, "get_secret_value") else secret_key
    keys = [k for k in (raw or "").split(",") if k.strip()]
    if not keys:
        raise ConfigError(
            "no secret key is configured, so platform tokens cannot be stored encrypted",
            "set CLIPCAST_SECRET_KEY (or secret_key in the YAML) to a Fernet key or a long passphrase",
        )
    return MultiFernet([_fernet(k) for k in keys])


def encrypt_json(secret_key: Any, data: dict[str, Any]) -> str:
    """Encrypt a token dict; the result is ASCII and safe for a text column."""
    return cipher(secret_key).encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(secret_key: Any, blob: str) -> dict[str, Any]:
    """Decrypt a token dict and register every token in it with the log redactor."""
    try:
        data = json.loads(cipher(secret_key).decrypt(blob.encode()))
    except InvalidToken:
        raise TokenDecryptError(
            "stored platform tokens cannot be decrypted with the configured secret key",
            "restore the previous CLIPCAST_SECRET_KEY (list it after the new key to rotate), or reconnect the account",
        )
    register_secrets(data)
    return data


def register_secrets(token: dict[str, Any]) -> None:
    """Tell the log redactor about every token-like value in a token dict."""
    for key, value in token.items():
        if isinstance(value, str) and ("token" in key or "secret" in key):
            add_secret(value)
