"""Connected platform accounts: connect, list with status, tokens (encrypted, refreshed, never logged), disconnect.

Tokens are stored as one Fernet-encrypted JSON dict per account (``core.crypto``), including the absolute
``expires_at`` (and TikTok's ``refresh_expires_at``) so a stale token is never mistaken for a fresh one.

Refreshes are serialised per account: a process-wide lock per account id, plus ``SELECT ... FOR UPDATE`` on
PostgreSQL so workers on other machines wait too. After taking the lock the row is re-read: when another worker
already refreshed (the access token differs from the one that failed), its result is used instead of refreshing
again, which matters for TikTok, whose refresh tokens rotate (using an old one fails and forces re-consent).
The rotated refresh token is written in the same transaction as the new access token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlmodel import select

from core import crypto, oauth
from core.errors import ClipcastError, InputError, PermanentError
from core.models import Post, SocialAccount, utcnow

log = structlog.get_logger("clipcast.accounts")  # lazy: follows core.logging.configure() made later

#: Status "expiring" when the grant (refresh token or Instagram long-lived token) ends within this many seconds.
EXPIRING_WITHIN = 7 * 86400

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


class ReconnectNeeded(PermanentError):
    """The platform no longer accepts this account's grant. A post failing on it may go once reconnected."""

    retryable = True


def _lock_for(account_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(account_id, threading.Lock())


@dataclass
class AccountHandle:
    """What publishers receive as ``account``: identity, decrypted token, and a way to recover from a 401."""

    id: int | None
    platform: str
    remote_id: str = ""
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    token: dict[str, Any] = field(default_factory=dict)
    refresher: Callable[[AccountHandle], dict[str, Any]] | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never show the token
        return f"AccountHandle(id={self.id}, platform={self.platform!r}, remote_id={self.remote_id!r})"

    @property
    def access_token(self) -> str:
        value = self.token.get("access_token")
        if not value:
            raise ReconnectNeeded(
                f"{self.platform} account {self.name or self.id} has no access token",
                f"connect it with `clipcast accounts connect {self.platform}`",
            )
        return value

    def after_unauthorized(self) -> str:
        """The platform answered 401: refresh (once, serialised) and return the new access token."""
        if self.refresher is None:
            raise ReconnectNeeded(f"{self.platform} rejected the access token and it cannot be refreshed here")
        self.token = self.refresher(self)
        return self.access_token


def _handle_of(
    account: SocialAccount, token: dict[str, Any], refresher: Callable[[AccountHandle], dict[str, Any]] | None = None
) -> AccountHandle:
    meta = dict(account.meta or {})
    return AccountHandle(account.id, account.platform, account.remote_id, account.name, meta, token, refresher)


def _is_postgres(app: Any) -> bool:
    return app.db_url.startswith(("postgres", "postgresql"))


def _normalise(new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge a token response into the stored dict: absolute expiries, kept refresh token, issue time."""
    now = time.time()
    merged = {**(old or {}), **new}
    if "expires_in" in new:
        merged["expires_at"] = now + float(new["expires_in"])
    if "refresh_expires_in" in new:
        merged["refresh_expires_at"] = now + float(new["refresh_expires_in"])
    if new.get("access_token") and new.get("access_token") != (old or {}).get("access_token"):
        merged["issued_at"] = now
    if not new.get("refresh_token") and old and old.get("refresh_token"):
        merged["refresh_token"] = old["refresh_token"]
    crypto.register_secrets(merged)
    return merged


def _expires(token: dict[str, Any]) -> datetime | None:
    at = token.get("expires_at")
    return datetime.fromtimestamp(float(at), UTC) if at else None


def account_status(account: SocialAccount, token: dict[str, Any] | None = None, now: float | None = None) -> str:
    """ok | expiring | reconnect. Needs the decrypted token for the grant's end; without it uses the row."""
    if account.status == "reconnect":
        return "reconnect"
    if not token:
        return account.status or "ok"
    now = now or time.time()
    grant_end = token.get("refresh_expires_at")
    if grant_end is None and not token.get("refresh_token"):
        grant_end = token.get("expires_at")  # e.g. Instagram: the long-lived token itself is the grant
    if grant_end is None:
        return "ok"
    remaining = float(grant_end) - now
    if remaining <= 0:
        return "reconnect"
    return "expiring" if remaining < EXPIRING_WITHIN else "ok"


def _decrypt(app: Any, account: SocialAccount) -> dict[str, Any]:
    if not account.token_encrypted:
        return {}
    return crypto.decrypt_json(app.settings.secret_key, account.token_encrypted)


def _store(app: Any, account: SocialAccount, token: dict[str, Any]) -> None:
    account.token_encrypted = crypto.encrypt_json(app.settings.secret_key, token) if token else None
    account.token_expires_at = _expires(token)
    account.updated_at = utcnow()


# ------------------------------------------------------------------------------------------------ connect


def save_connection(
    app: Any, platform: str, token: dict[str, Any], *, user_id: int | None = None, name: str | None = None
) -> SocialAccount:
    """Store a freshly authorised account (or update the same remote account), tokens encrypted."""
    publisher = app.publisher(platform)
    if token:
        crypto.cipher(app.settings.secret_key)  # refuse before calling the platform again
    info = publisher.connect_account(token)
    remote_id = str(info.get("remote_id") or name or platform)
    final = _normalise(info.get("token") or {}) if info.get("token") else {}
    with app.session() as s:
        account = s.exec(
            select(SocialAccount).where(
                SocialAccount.user_id == user_id,
                SocialAccount.platform == platform,
                SocialAccount.remote_id == remote_id,
            )
        ).first() or SocialAccount(user_id=user_id, platform=platform, remote_id=remote_id)
        account.name = name or info.get("name") or remote_id
        account.meta = {**(account.meta or {}), **(info.get("meta") or {})}
        account.scopes = _scopes(final)
        account.status = "ok"
        _store(app, account, final)
        s.add(account)
        s.flush()
        s.refresh(account)
    log.info("account connected", platform=platform, account_id=account.id, account_name=account.name)
    return account


def _scopes(token: dict[str, Any]) -> str:
    scope = token.get("scope") or token.get("permissions") or ""
    if isinstance(scope, list):
        return ",".join(scope)
    return ",".join(p for p in str(scope).replace(" ", ",").split(",") if p)


def begin_connect(app: Any, platform: str, redirect_uri: str) -> oauth.PendingAuth:
    """Web flow, step 1: the URL to send the browser to. Keep the returned object server-side."""
    crypto.cipher(app.settings.secret_key)
    client = app.publisher(platform).oauth_client()
    if client is None:
        raise InputError(f"{platform} accounts need no authorization", f"use save_connection for {platform}")
    return oauth.begin(client, redirect_uri)


def finish_connect(
    app: Any, pending: oauth.PendingAuth | dict[str, Any], callback_url: str, *, user_id: int | None = None
) -> SocialAccount:
    """Web flow, step 2: check state, exchange the code, store the account."""
    pending = pending if isinstance(pending, oauth.PendingAuth) else oauth.PendingAuth.from_dict(pending)
    client = app.publisher(pending.platform).oauth_client()
    token = oauth.complete(client, pending, callback_url)
    return save_connection(app, pending.platform, token, user_id=user_id)


def connect_interactive(
    app: Any, platform: str, *, user_id: int | None = None, name: str | None = None, **flow: Any
) -> SocialAccount:
    """CLI flow: loopback redirect or pasted URL (``headless=True``); token-less publishers just get a row."""
    publisher = app.publisher(platform)
    client = publisher.oauth_client()
    if client is None:
        return save_connection(app, platform, {}, user_id=user_id, name=name)
    crypto.cipher(app.settings.secret_key)
    token = oauth.interactive_connect(client, **flow)
    return save_connection(app, platform, token, user_id=user_id, name=name)


# --------------------------------------------------------------------------------------------------- read


def list_accounts(app: Any, *, user_id: int | None = None, all_users: bool = False) -> list[dict[str, Any]]:
    """Accounts with their live status; decryption problems show as ``reconnect`` rather than failing the list."""
    rows = []
    with app.session() as s:
        query = select(SocialAccount).order_by(SocialAccount.id)
        if not all_users:
            query = query.where(SocialAccount.user_id == user_id)
        for acc in s.exec(query):
            try:
                token = _decrypt(app, acc)
                status = account_status(acc, token)
            except ClipcastError:
                token, status = {}, "reconnect"
            rows.append(
                {
                    "id": acc.id,
                    "platform": acc.platform,
                    "name": acc.name,
                    "remote_id": acc.remote_id,
                    "status": status,
                    "expires_at": acc.token_expires_at,
                    "scopes": acc.scopes,
                }
            )
    return rows


def get_account(app: Any, account_id: int, *, user_id: int | None = None) -> SocialAccount:
    with app.session() as s:
        acc = s.get(SocialAccount, account_id)
    if acc is None or (user_id is not None and acc.user_id != user_id):
        raise InputError(f"there is no account {account_id}", "list accounts with `clipcast accounts`")
    return acc


def handle(app: Any, account_id: int, *, refresh_if_due: bool = True) -> AccountHandle:
    """The publisher-facing view of an account, with a token refreshed first when it is about to expire."""
    acc = get_account(app, account_id)
    token = _decrypt(app, acc)
    if acc.status == "reconnect":
        raise ReconnectNeeded(
            f"{acc.platform} account {acc.name} must be reconnected (the platform refused its token)",
            f"run `clipcast accounts connect {acc.platform}`",
        )
    h = _handle_of(
        acc, token, lambda h: refresh_account(app, account_id, stale_access_token=h.token.get("access_token"))
    )
    if refresh_if_due and token and app.publisher(acc.platform).refresh_due(token, time.time()):
        h.token = refresh_account(app, account_id, stale_access_token=token.get("access_token"))
    return h


# ------------------------------------------------------------------------------------------------ refresh


def refresh_account(app: Any, account_id: int, *, stale_access_token: str | None = None) -> dict[str, Any]:
    """Refresh one account's token, serialised; returns the current token (maybe refreshed by someone else)."""
    with _lock_for(account_id):
        failure: ClipcastError | None = None
        with app.session() as s:
            query = select(SocialAccount).where(SocialAccount.id == account_id)
            if _is_postgres(app):
                query = query.with_for_update()
            acc = s.exec(query).first()
            if acc is None:
                raise InputError(f"there is no account {account_id}")
            token = _decrypt(app, acc)
            if stale_access_token is not None and token.get("access_token") != stale_access_token:
                return token  # another worker refreshed while we waited for the lock
            publisher = app.publisher(acc.platform)
            try:
                new = publisher.refresh_token(_handle_of(acc, token))
            except (oauth.OAuthError, ReconnectNeeded) as exc:
                acc.status = "reconnect"
                acc.updated_at = utcnow()
                s.add(acc)
                failure = exc
            else:
                if not new:
                    return token
                merged = _normalise(new, token)
                _store(app, acc, merged)
                acc.status = "ok"
                acc.scopes = _scopes(merged) or acc.scopes
                s.add(acc)
                log.info("token refreshed", platform=acc.platform, account_id=acc.id)
                return merged
        log.warning("token refresh refused; account needs reconnecting", account_id=account_id, error=str(failure))
        message = getattr(failure, "message", str(failure))
        raise ReconnectNeeded(message, f"reconnect with `clipcast accounts connect {acc.platform}`") from failure


def refresh_due_tokens(app: Any) -> int:
    """Refresh every account whose publisher says it is due (scheduler job). Returns how many were refreshed."""
    now = time.time()
    with app.session() as s:
        accounts = list(
            s.exec(
                select(SocialAccount).where(
                    SocialAccount.token_encrypted.is_not(None),  # type: ignore[union-attr]
                    SocialAccount.status != "reconnect",
                )
            )
        )
    count = 0
    for acc in accounts:
        try:
            token = _decrypt(app, acc)
            if token and app.publisher(acc.platform).refresh_due(token, now):
                refresh_account(app, acc.id, stale_access_token=token.get("access_token"))  # type: ignore[arg-type]
                count += 1
        except ClipcastError as exc:
            log.warning("scheduled token refresh failed", account_id=acc.id, platform=acc.platform, error=str(exc))
    return count


# ----------------------------------------------------------------------------------------------- remove


def disconnect(app: Any, account_id: int, *, user_id: int | None = None, delete: bool = True) -> bool:
    """Revoke at the platform where it allows (best effort), then delete the tokens (and the row unless posts
    reference it). Returns whether the platform confirmed the revocation."""
    acc = get_account(app, account_id, user_id=user_id)
    revoked = False
    try:
        token = _decrypt(app, acc)
        if token:
            revoked = app.publisher(acc.platform).revoke(_handle_of(acc, token))
    except ClipcastError as exc:
        log.warning("revocation skipped", account_id=account_id, error=str(exc))
    with app.session() as s:
        row = s.get(SocialAccount, account_id)
        if row is None:
            return revoked
        used = s.exec(select(Post.id).where(Post.account_id == account_id)).first() is not None
        if delete and not used:
            s.delete(row)
        else:
            row.token_encrypted = None
            row.token_expires_at = None
            row.status = "reconnect"
            row.updated_at = utcnow()
            s.add(row)
    log.info("account disconnected", account_id=account_id, revoked=revoked)
    return revoked
