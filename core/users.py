"""Users and their API tokens, shared by the CLI (``clipcast users``) and the HTTP API.

Tokens are shown once (returned by ``create_token``) and stored as sha256; ``lookup_token`` (a read) refuses
revoked and expired ones and says when ``last_used_at`` is due, which ``touch_token`` writes (at most once a
minute per token, to spare writes); ``authenticate_token`` does both in one session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam
from sqlmodel import Session, select

from core.api.errors import Conflict, NotFound, Unauthorized
from core.api.security import hash_password, hash_token, new_token, verify_password
from core.errors import InputError
from core.models import ApiToken, User, utcnow

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
_LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: detached from any session so it can travel through request handlers."""

    id: int
    email: str
    is_admin: bool
    token_id: int | None = None


def _check_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InputError(f"{email!r} is not an email address", "use the form name@example.com")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InputError("the password is longer than 1024 characters")


def _by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    is_admin: bool = False,
    videos_per_day: int | None = None,
    minutes_per_day: float | None = None,
    llm_usd_per_day: float | None = None,
) -> User:
    email = _check_email(email)
    _check_password(password)
    if _by_email(session, email):
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        email=email,
        password_hash=hash_password(password),
        is_admin=is_admin,
        videos_per_day=videos_per_day,
        minutes_per_day=minutes_per_day,
        llm_usd_per_day=llm_usd_per_day,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def find_user(session: Session, email_or_id: str) -> User:
    if email_or_id.isdigit():
        return get_user(session, int(email_or_id))
    user = _by_email(session, email_or_id)
    if user is None:
        raise NotFound(f"no user with email {email_or_id}")
    return user


def set_password(session: Session, user: User, password: str, *, keep_token_id: int | None = None) -> int:
    """Set a new password and end the user's dashboard sessions (all but ``keep_token_id``, the caller's own):
    whoever knew the old password is logged out. Personal API tokens stay. Returns the sessions ended."""
    _check_password(password)
    user.password_hash = hash_password(password)
    session.add(user)
    now, ended = utcnow(), 0
    for row in session.exec(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == "session")):
        if row.revoked_at is None and row.id != keep_token_id:
            row.revoked_at, ended = now, ended + 1
            session.add(row)
    return ended


def set_admin(session: Session, user: User, is_admin: bool) -> None:
    """Promote or demote; the last administrator cannot be demoted (nobody could make a new one over HTTP)."""
    if user.is_admin and not is_admin:
        admins = session.exec(select(User.id).where(User.is_admin == True, User.id != user.id)).first()  # noqa: E712
        if admins is None:
            raise Conflict(
                f"{user.email} is the last administrator and cannot be demoted",
                "promote another user first (clipcast users promote EMAIL)",
            )
    user.is_admin = is_admin
    session.add(user)


def check_login(session: Session, email: str, password: str) -> User:
    """The user if the password matches; one message for unknown email and wrong password alike."""
    user = _by_email(session, email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("wrong email or password")
    return user


def create_token(
    session: Session,
    user: User,
    *,
    name: str = "",
    kind: str = "personal",
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token row and the token itself (the only time it is available in clear)."""
    token = new_token()
    row = ApiToken(
        user_id=user.id,
        name=name[:200],
        kind=kind,
        token_hash=hash_token(token),
        prefix=token[:10],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, token_id: int, *, user_id: int | None = None) -> ApiToken:
    """Revoke one token (limited to ``user_id``'s tokens when given). Revoking twice is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row


_LOOKUP = (
    select(
        ApiToken.id,  # type: ignore[call-overload]
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),  # type: ignore[union-attr]
        User.email,
        User.is_admin,
    )
    .join(User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def lookup_token(conn: Connection, token: str) -> tuple[Principal, bool]:
    """The token's caller, read only, and whether its ``last_used_at`` is due a write (``touch_token``).

    Split from the write so the API can run this read on its event loop (core.api.deps.read_db) and send
    the rare write to a thread. Core columns, no ORM objects: a get job went from 0.9 to 0.6 ms of CPU."""
    found = conn.execute(_LOOKUP, {"token_hash": hash_token(token)}).first()  # one query per request
    now = utcnow()
    if found is None or found.revoked_at is not None:
        raise Unauthorized("invalid or revoked token", "create a new token or log in again")
    if found.expires_at is not None and found.expires_at <= now:
        raise Unauthorized("the token or session has expired", "log in again")
    due = found.last_used_at is None or now - found.last_used_at > _LAST_USED_EVERY
    return Principal(id=found.user_id, email=found.email, is_admin=found.is_admin, token_id=found.id), due


def touch_token(session: Session, token_id: int) -> None:
    """Record that the token was used now."""
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = utcnow()
        session.add(row)


def authenticate_token(session: Session, token: str) -> Principal:
    """``lookup_token`` and, when due, ``touch_token`` in one session."""
    principal, due = lookup_token(session.connection(), token)
    if due and principal.token_id is not None:
        touch_token(session, principal.token_id)
    return principal
