"""Token encryption at rest: Fernet keys or passphrases, rotation, refusal without a key, clear errors."""

from __future__ import annotations

import pytest

from core import crypto
from core.errors import ConfigError
from core.logging import redact

TOKEN = {"access_token": "ya29.secret-access-value", "refresh_token": "1//refresh-secret-value", "expires_at": 1.5}


def test_round_trip_with_fernet_key_and_passphrase():
    for key in (crypto.generate_key(), "a passphrase that is long enough"):
        blob = crypto.encrypt_json(key, TOKEN)
        assert "secret" not in blob
        assert crypto.decrypt_json(key, blob) == TOKEN


def test_refuses_without_key_or_with_short_key():
    with pytest.raises(ConfigError, match="CLIPCAST_SECRET_KEY"):
        crypto.encrypt_json(None, TOKEN)
    with pytest.raises(ConfigError, match="too short"):
        crypto.encrypt_json("short", TOKEN)


def test_wrong_key_is_a_clear_error_and_rotation_keeps_old_tokens_readable():
    old, new = crypto.generate_key(), crypto.generate_key()
    blob = crypto.encrypt_json(old, TOKEN)
    with pytest.raises(crypto.TokenDecryptError, match="cannot be decrypted"):
        crypto.decrypt_json(new, blob)
    assert crypto.decrypt_json(f"{new},{old}", blob) == TOKEN  # new key first, old one still decrypts
    rotated = crypto.encrypt_json(f"{new},{old}", TOKEN)
    assert crypto.decrypt_json(new, rotated) == TOKEN


def test_decrypted_tokens_are_redacted_from_logs():
    key = crypto.generate_key()
    crypto.decrypt_json(key, crypto.encrypt_json(key, TOKEN))
    assert redact(f"calling with {TOKEN['access_token']}") == "calling with ****"
