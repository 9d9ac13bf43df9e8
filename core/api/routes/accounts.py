"""Connected platform accounts: list, connect (OAuth redirect + state-checked callback), add token-less ones,
disconnect.

The pending OAuth flow (state, PKCE verifier) travels in an encrypted, HttpOnly, 15-minute cookie rather than
server memory, so any API replica can finish the flow; the callback also checks the flow was started by the
same user.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from core import accounts, crypto, oauth
from core.api.deps import AppDep, Id, PageDep, UserDep, owned, paged, scoped
from core.api.errors import Conflict
from core.api.routes.schedules import drop_schedule
from core.api.schemas import AccountOut, In, PageOut
from core.errors import ClipcastError, InputError
from core.logging import add_secret
from core.models import Post, Schedule, SocialAccount

router = APIRouter(prefix="/api/accounts", tags=["accounts"])
OAUTH_COOKIE = "clipcast_oauth"
#: Where a connection started from the studio ends (the page reads ?connected=ID or ?error=MESSAGE).
STUDIO_ACCOUNTS = "/#/accounts"


class AccountIn(In):
    platform: str = Field(
        min_length=1, max_length=100, description="a publisher that needs no authorization (folder, webhook)"
    )
    name: str | None = Field(None, max_length=200)


@router.get("", response_model=PageOut[AccountOut], summary="Your connected accounts with their token status")
def list_accounts(user: UserDep, app: AppDep, pg: PageDep) -> dict:
    stmt = scoped(select(SocialAccount), SocialAccount, user).order_by(col(SocialAccount.id))
    with app.session() as s:
        page = paged(s, stmt, pg)
    status = {r["id"]: r["status"] for r in _live_status(app, user)}
    page["items"] = [
        AccountOut.model_validate(r).model_copy(update={"status": status.get(r.id, r.status)}) for r in page["items"]
    ]
    return page


def _live_status(app: Any, user: UserDep) -> list[dict[str, Any]]:
    return accounts.list_accounts(app, user_id=user.id, all_users=user.is_admin)


class PlatformOut(BaseModel):
    name: str
    oauth: bool = Field(description="connect through the platform's consent page (else: a form, POST /api/accounts)")
    configured: bool = Field(description="for OAuth platforms: a client id is set in the configuration")
    error: str | None = None


@router.get("/platforms", response_model=list[PlatformOut], summary="Publishers an account can be added for")
def platforms(_user: UserDep, app: AppDep) -> list[PlatformOut]:
    out = []
    for name in sorted(app.plugins.backends("publisher")):
        try:
            client = app.publisher(name).oauth_client()
        except Exception as exc:  # a misconfigured publisher is listed with its error, never hides the others
            out.append(PlatformOut(name=name, oauth=False, configured=False, error=str(exc)))
            continue
        configured = client is None or bool(client.client_id)
        out.append(PlatformOut(name=name, oauth=client is not None, configured=configured))
    return out


@router.post(
    "",
    response_model=AccountOut,
    status_code=201,
    summary="Add an account of a publisher that needs no authorization (e.g. folder, webhook)",
)
def add_account(body: AccountIn, user: UserDep, app: AppDep) -> SocialAccount:
    publisher = app.publisher(body.platform)
    if publisher.oauth_client() is not None:
        raise InputError(
            f"{body.platform} accounts need authorization", f"use GET /api/accounts/connect/{body.platform}"
        )
    return accounts.save_connection(app, body.platform, {}, user_id=user.id, name=body.name)


def _redirect_uri(request: Request, app: AppDep, platform: str) -> str:
    base = app.settings.server.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/api/accounts/callback/{platform}"


@router.get(
    "/connect/{platform}",
    summary="Start connecting an account: redirects to the platform's consent page",
    response_class=RedirectResponse,
    status_code=307,
    responses={200: {"description": 'with ?redirect=false: `{"url": ...}` to open yourself'}},
)
def connect(
    platform: str,
    request: Request,
    user: UserDep,
    app: AppDep,
    redirect: Annotated[bool, Query(description="false: return the URL as JSON")] = True,
    studio: Annotated[bool, Query(description="the callback sends the browser back to the studio")] = False,
) -> Response:
    pending = accounts.begin_connect(app, platform, _redirect_uri(request, app, platform))
    sealed = crypto.encrypt_json(
        app.settings.secret_key, {"pending": pending.to_dict(), "user_id": user.id, "studio": studio}
    )
    response: Response = (
        RedirectResponse(pending.url, status_code=307) if redirect else JSONResponse({"url": pending.url})
    )
    response.set_cookie(
        OAUTH_COOKIE,
        sealed,
        max_age=oauth.PENDING_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=app.settings.api.cookie_secure,
        path="/api/accounts/callback",
    )
    return response


@router.get(
    "/callback/{platform}",
    response_model=AccountOut,
    summary="Where the platform sends the browser back; checks the state, then stores the account",
    responses={400: {"description": "state mismatch, expired flow, or the platform refused"}},
)
def callback(platform: str, request: Request, user: UserDep, app: AppDep) -> Response:
    add_secret(request.query_params.get("code"))  # the access log prints this URL: never the one-time code
    sealed = request.cookies.get(OAUTH_COOKIE)
    if not sealed:
        raise oauth.OAuthStateError(
            f"{platform}: no connection was started from this browser (or it expired)",
            f"start again at /api/accounts/connect/{platform}",
        )
    try:
        data = crypto.decrypt_json(app.settings.secret_key, sealed)
    except Exception:
        raise oauth.OAuthStateError(f"{platform}: the connection cookie is invalid", "start the connection again")
    pending = data.get("pending") or {}
    if data.get("user_id") != user.id or pending.get("platform") != platform:
        raise oauth.OAuthStateError(f"{platform}: this connection was started by another user or for another platform")
    try:
        account = accounts.finish_connect(app, pending, str(request.url), user_id=user.id)
    except ClipcastError as exc:
        if not data.get("studio"):
            raise
        response = RedirectResponse(STUDIO_ACCOUNTS + "?" + urlencode({"error": str(exc)}), status_code=303)
        response.delete_cookie(OAUTH_COOKIE, path="/api/accounts/callback")
        return response
    response = (
        RedirectResponse(STUDIO_ACCOUNTS + f"?connected={account.id}", status_code=303)
        if data.get("studio")
        else JSONResponse(AccountOut.model_validate(account).model_dump(mode="json"))
    )
    response.delete_cookie(OAUTH_COOKIE, path="/api/accounts/callback")
    return response


@router.get("/{account_id}", response_model=AccountOut, summary="One account")
def read_account(account_id: Id, user: UserDep, app: AppDep) -> SocialAccount:
    with app.session() as s:
        return owned(s, SocialAccount, account_id, user, "account")


@router.delete(
    "/{account_id}",
    status_code=204,
    summary="Disconnect: revoke at the platform where possible and delete the tokens",
    responses={409: {"description": "a post to this account is being published"}},
)
def delete_account(account_id: Id, user: UserDep, app: AppDep) -> None:
    with app.session() as s:
        owned(s, SocialAccount, account_id, user, "account")
        busy = s.exec(
            select(Post.id).where(Post.account_id == account_id, col(Post.status).in_(("uploading", "processing")))
        ).first()
    if busy is not None:
        raise Conflict(f"post {busy} to this account is being published", "wait for it to finish")
    with app.session() as s:  # its schedules go with it; posts keep their history
        for schedule in s.exec(select(Schedule).where(Schedule.account_id == account_id)).all():
            drop_schedule(s, schedule)
    accounts.disconnect(app, account_id)
