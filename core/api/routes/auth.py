"""Login/logout for the dashboard (HttpOnly session cookie) and scripts (the same token as a Bearer)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from core.api.deps import AppDep, UserDep
from core.api.schemas import LoginIn, LoginOut, UserOut
from core.api.security import SESSION_COOKIE
from core.app import Clipcast
from core.models import User, utcnow
from core.users import check_login, create_token, revoke_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/login",
    response_model=LoginOut,
    summary="Log in: returns a session token and sets it as an HttpOnly cookie",
    responses={401: {"description": "wrong email or password"}, 429: {"description": "too many attempts"}},
)
def login(body: LoginIn, request: Request, response: Response, app: AppDep) -> LoginOut:
    request.app.state.auth_limiter.hit(f"login:{client_key(request)}", "login attempts")
    with app.session() as s:
        return start_session(app, s, check_login(s, body.email, body.password), response)


def start_session(app: Clipcast, s: Session, user: User, response: Response) -> LoginOut:
    """A session token for ``user``, set as the HttpOnly cookie on ``response`` (login and first-run setup)."""
    hours = app.settings.api.session_hours
    expires = utcnow() + timedelta(hours=hours)
    _row, token = create_token(s, user, name="dashboard login", kind="session", expires_at=expires)
    out = LoginOut(token=token, expires_at=expires, user=UserOut.model_validate(user))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
        secure=app.settings.api.cookie_secure,
        path="/",
    )
    return out


@router.post("/logout", status_code=204, summary="End this session (revokes the token used for the call)")
def logout(user: UserDep, response: Response, app: AppDep) -> Response:
    if user.token_id is not None:
        with app.session() as s:
            revoke_token(s, user.token_id, user_id=user.id)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
