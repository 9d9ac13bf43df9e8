"""Personal API tokens: created (shown once), listed (prefix only), revoked."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from sqlmodel import select

from core.api.deps import AppDep, Id, PageDep, UserDep, paged
from core.api.routes.auth import client_key
from core.api.schemas import PageOut, TokenCreate, TokenCreated, TokenOut
from core.models import ApiToken, utcnow
from core.users import create_token, get_user, revoke_token

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.get("", response_model=PageOut[TokenOut], summary="Your tokens (personal and sessions)")
def list_tokens(user: UserDep, app: AppDep, pg: PageDep) -> dict:
    stmt = select(ApiToken).order_by(ApiToken.id.desc())  # type: ignore[union-attr]
    with app.session() as s:
        return paged(s, stmt, pg, ApiToken.user_id == user.id)


@router.post(
    "",
    response_model=TokenCreated,
    status_code=201,
    summary="Create a personal token; the response is the only time it is shown",
)
def add_token(body: TokenCreate, request: Request, user: UserDep, app: AppDep) -> dict:
    request.app.state.auth_limiter.hit(f"token:{client_key(request)}", "token creations")
    expires = utcnow() + timedelta(days=body.expires_days) if body.expires_days else None
    with app.session() as s:
        row, token = create_token(s, get_user(s, user.id), name=body.name, expires_at=expires)
        return {**TokenOut.model_validate(row).model_dump(), "token": token}


@router.delete("/{token_id}", response_model=TokenOut, summary="Revoke a token (it stops working at once)")
def delete_token(token_id: Id, user: UserDep, app: AppDep) -> ApiToken:
    with app.session() as s:
        return revoke_token(s, token_id, user_id=None if user.is_admin else user.id)
