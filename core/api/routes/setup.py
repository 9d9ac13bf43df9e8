"""First run: while no user exists, anyone who can reach the server may create the first administrator (the
same rules as ``clipcast users create``); from then on this route refuses and users are made by admins."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlmodel import Session, func, select

from core.api.deps import AppDep
from core.api.errors import Conflict
from core.api.routes.auth import client_key, start_session
from core.api.schemas import In, LoginOut, UserOut
from core.api.security import SESSION_COOKIE
from core.errors import ClipcastError
from core.models import User
from core.users import authenticate_token, create_user, get_user

router = APIRouter(prefix="/api/setup", tags=["auth"])


class SetupOut(BaseModel):
    needs_admin: bool
    user: UserOut | None = Field(None, description="who the session cookie belongs to, if it is valid")


class SetupIn(In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


def _lock_users(s: Session) -> None:
    """Hold the user table for writing until this transaction ends, so two first-run requests at the same moment
    cannot both see no user and both create an administrator: the second waits, then sees the first's row.
    SQLite has one writer at a time: a write statement (matching no row) takes the database's write lock now
    instead of at the INSERT. PostgreSQL: a table lock that conflicts with itself (reads still go on)."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.exec(text('LOCK TABLE "user" IN SHARE ROW EXCLUSIVE MODE'))  # type: ignore[call-overload]
    else:
        s.exec(text('UPDATE "user" SET is_admin = is_admin WHERE 1 = 0'))  # type: ignore[call-overload]


def _no_users(app: AppDep) -> bool:
    with app.session() as s:
        return s.exec(select(func.count()).select_from(User)).one() == 0


@router.get(
    "", response_model=SetupOut, summary="Whether the first administrator still has to be created, and who is logged in"
)
def setup_state(request: Request, app: AppDep) -> SetupOut:
    """Never 401: the studio asks this before it knows whether anyone is logged in."""
    user = None
    token = request.cookies.get(SESSION_COOKIE)
    with app.session() as s:
        if token:
            try:
                user = UserOut.model_validate(get_user(s, authenticate_token(s, token).id))
            except ClipcastError:
                user = None
    return SetupOut(needs_admin=_no_users(app), user=user)


@router.post(
    "",
    response_model=LoginOut,
    status_code=201,
    summary="Create the first administrator and log in (only while no user exists)",
    responses={409: {"description": "a user exists already"}, 429: {"description": "too many attempts"}},
)
def create_first_admin(body: SetupIn, request: Request, response: Response, app: AppDep) -> LoginOut:
    request.app.state.auth_limiter.hit(f"login:{client_key(request)}", "login attempts")
    with app.session() as s:
        _lock_users(s)
        if s.exec(select(func.count()).select_from(User)).one():
            raise Conflict("the first administrator exists already", "log in, or ask an administrator for an account")
        user = create_user(s, body.email, body.password, is_admin=True)
        return start_session(app, s, user, response)
