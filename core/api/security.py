"""Secrets handled by the API: passwords (argon2id), API tokens and dashboard sessions.

Tokens are random (256 bits), shown once, and stored only as their sha256: a database leak does not give working
tokens, and a fast hash is enough because the input is not guessable (unlike passwords, which get argon2).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Cookie that carries a dashboard session token (HttpOnly, SameSite=Lax).
SESSION_COOKIE = "clipcast_session"
#: Every token starts with this, so secret scanners and people can recognise one.
TOKEN_PREFIX = "cc_"

_hasher = PasswordHasher()
#: Verified against when the user does not exist, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-ish time whether or not the user exists (pass None to burn the same work)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
