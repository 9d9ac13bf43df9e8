"""Storage keys: relative POSIX paths, validated before any backend sees them, and signed for public URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from core.errors import StorageError

_ALLOWED = re.compile(r"^[A-Za-z0-9._\-/]+$")


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path; raise ``StorageError`` saying what is wrong otherwise."""
    if not key or not isinstance(key, str):
        raise StorageError("storage key is empty")
    if key.startswith("/") or re.match(r"^[A-Za-z]:", key) or key.startswith("\\"):
        raise StorageError(f"storage key {key!r} is absolute; keys are relative paths like 'videos/1/a.mp4'")
    parts = key.split("/")
    if any(p in ("..", ".") for p in parts):
        raise StorageError(f"storage key {key!r} contains '.' or '..'; keys may not leave the storage root")
    if any(p == "" for p in parts):
        raise StorageError(f"storage key {key!r} has an empty path segment")
    if not _ALLOWED.match(key):
        raise StorageError(f"storage key {key!r} has characters other than letters, digits, '.', '_', '-' and '/'")
    if len(key) > 1024:
        raise StorageError("storage key is longer than 1024 characters")
    return key


def video_key(sha256: str, ext: str) -> str:
    return f"videos/{sha256[:2]}/{sha256}/original.{ext.lstrip('.') or 'bin'}"


def sign(key: str, expires_at: int, secret: str) -> str:
    """HMAC-SHA256 over a storage key and its expiry (Unix seconds): a presigned URL for local storage."""
    mac = hmac.new(secret.encode(), f"{key}\n{expires_at}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def verify(key: str, expires_at: int, signature: str, secret: str, now: float | None = None) -> bool:
    """True when ``signature`` was made by ``sign`` with this secret and the expiry has not passed."""
    if expires_at < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(sign(key, expires_at, secret).encode(), signature.encode())
