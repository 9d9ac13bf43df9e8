"""Posts: a clip scheduled to an account at a time (or the next free slot), then published by the workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from core import post_preview
from core.api.deps import AppDep, Id, PageDep, UserDep, owned, read_owned, read_page, scoped
from core.api.errors import Conflict
from core.api.schemas import PageOut, PostIn, PostOut, PostPatch, PostPreviewOut
from core.contracts import PostStatus
from core.errors import InputError
from core.models import Clip, Post, SocialAccount, utcnow
from core.pipeline.publish import cancel_post, retry_post, schedule_post

router = APIRouter(prefix="/api/posts", tags=["posts"])


@router.get("", response_model=PageOut[PostOut], summary="Your posts, next first")
async def list_posts(
    user: UserDep,
    app: AppDep,
    pg: PageDep,
    status: Annotated[PostStatus | None, Query()] = None,
    clip: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    account: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    after: Annotated[datetime | None, Query(description="scheduled at or after (ISO 8601)")] = None,
    before: Annotated[datetime | None, Query(description="scheduled before (ISO 8601)")] = None,
) -> dict:
    stmt = scoped(select(Post), Post, user).order_by(col(Post.scheduled_at), col(Post.id))
    return await read_page(
        app,
        stmt,
        pg,
        Post.status == status.value if status else None,
        Post.clip_id == clip if clip else None,
        Post.account_id == account if account else None,
        Post.scheduled_at >= _utc(after) if after else None,
        Post.scheduled_at < _utc(before) if before else None,
        rows=True,
    )


def _utc(at: datetime) -> datetime:
    """A bound without an offset is read as UTC (stored times are UTC)."""
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


@router.post(
    "",
    response_model=PostOut,
    status_code=201,
    summary="Schedule a clip to an account at `at`, or at the account's next free slot",
)
def add_post(body: PostIn, user: UserDep, app: AppDep) -> Post:
    with app.session() as s:
        clip = owned(s, Clip, body.clip_id, user, "clip")
        account = owned(s, SocialAccount, body.account_id, user, "account")
        if clip.user_id != account.user_id:
            raise InputError(f"clip {clip.id} and account {account.id} belong to different users")
    at = _future(body.at) if body.at is not None else None
    return schedule_post(app, body.clip_id, body.account_id, at=at, user_id=clip.user_id)


#: How far in the past ``at`` may be (clock skew between a client and the server), s.
PAST_GRACE = timedelta(minutes=5)


def _future(at: datetime) -> datetime:
    """``at`` if it has a time zone and is not in the past (``{"at": 0}`` is 1970: due at once, never meant)."""
    if at.tzinfo is None:
        raise InputError("`at` has no time zone", "give an offset, e.g. 2026-11-21T18:00:00Z")
    now = utcnow()
    if at < now - PAST_GRACE:
        raise InputError(
            f"`at` ({at.isoformat()}) is in the past; a post is scheduled for now or later",
            f"give a time after {now.replace(microsecond=0).isoformat()}, or leave `at` out for the next free slot",
        )
    return at


@router.get(
    "/preview", response_model=PostPreviewOut, summary="What a post of a clip to an account would look like there"
)
def preview_new(
    user: UserDep,
    app: AppDep,
    clip: Annotated[int, Query(ge=1, le=2**62)],
    account: Annotated[int, Query(ge=1, le=2**62)],
) -> dict:
    with app.session() as s:
        row = owned(s, Clip, clip, user, "clip")
        acct = owned(s, SocialAccount, account, user, "account")
    return post_preview.preview(app, row, acct)


@router.get("/{post_id}/preview", response_model=PostPreviewOut, summary="What a post will look like on its platform")
def preview_post(post_id: Id, user: UserDep, app: AppDep) -> dict:
    with app.session() as s:
        post = owned(s, Post, post_id, user)
        clip, acct = s.get(Clip, post.clip_id), s.get(SocialAccount, post.account_id)
    if clip is None or acct is None:
        raise Conflict(f"post {post_id}'s clip or account is gone")
    return post_preview.preview(app, clip, acct, post)


@router.get("/{post_id}", response_model=PostOut, summary="One post and where it stands on the platform")
async def read_post(post_id: Id, user: UserDep, app: AppDep) -> Post:
    return await read_owned(app, Post, post_id, user)


@router.patch("/{post_id}", response_model=PostOut, summary="Reschedule or reword a post that has not started")
def update_post(post_id: Id, body: PostPatch, user: UserDep, app: AppDep) -> Post:
    changes = body.model_dump(exclude_unset=True)
    with app.session() as s:
        post = owned(s, Post, post_id, user)
        if post.status != PostStatus.SCHEDULED:
            raise Conflict(f"post {post_id} is {post.status}; only scheduled posts can change")
        if "at" in changes:
            post.scheduled_at = _future(changes.pop("at"))
        for key in ("title", "caption"):
            if key in changes:
                setattr(post, key, changes[key])
        post.updated_at = utcnow()
        s.add(post)
        return post


@router.delete(
    "/{post_id}",
    response_model=PostOut,
    summary="Cancel a scheduled or failed post (one that reached the platform cannot be unsent)",
    responses={409: {"description": "already uploading, processing or published"}},
)
def delete_post(post_id: Id, user: UserDep, app: AppDep) -> Post:
    with app.session() as s:
        post = owned(s, Post, post_id, user)
    if post.status == PostStatus.CANCELLED:
        return post
    if post.status not in (PostStatus.SCHEDULED, PostStatus.FAILED):
        raise Conflict(f"post {post_id} is {post.status}; it can no longer be cancelled")
    return cancel_post(app, post_id)  # a failed one too (repro 12: a job that gave up left it failed)


@router.post(
    "/{post_id}/retry",
    response_model=PostOut,
    summary="Schedule a failed post again (now), when nothing of it reached the platform",
    responses={400: {"description": "not failed, or the platform already has it"}},
)
def retry(post_id: Id, user: UserDep, app: AppDep) -> Post:
    with app.session() as s:
        owned(s, Post, post_id, user)
    return retry_post(app, post_id)
