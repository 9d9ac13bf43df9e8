"""Creating post rows: one place that checks a clip may go to an account and fixes the render it will publish.

Used by ``core.pipeline.publish.schedule_post`` (CLI, API) and by posting schedules (``core.schedules``), so
neither imports the other.

A post publishes the render its clip had when it was scheduled (``Post.video_key``): a later re-render makes a
new version with new files and leaves this one alone (``core.pipeline.render``).

One live post per clip and account: a scheduled, uploading, processing or published post blocks another, and so
does a failed one that reached the platform without the platform's own verdict of failure (its video may be
live: posting again could post twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from core.contracts import PostStatus
from core.errors import InputError
from core.logging import get_logger
from core.models import Clip, ClipStatus, Post, SocialAccount, utcnow

log = get_logger("clipcast.posts")


def blocks_repost(post: Post) -> bool:
    """True when ``post`` means the clip is (or may be) on the account already."""
    if post.status == PostStatus.CANCELLED:
        return False
    if post.status == PostStatus.FAILED:
        return bool(post.remote_id) and not (post.options or {}).get("platform_failed")
    return True


def create_post(
    app: Any,
    clip_id: int,
    account_id: int,
    *,
    at: datetime,
    user_id: int | None = None,
    schedule_id: int | None = None,
) -> Post:
    """A ``scheduled`` post of a rendered clip at ``at`` (aware UTC), or ``InputError`` saying why not."""
    with app.session() as s:
        clip = s.get(Clip, clip_id)
        if clip is None or (user_id is not None and clip.user_id not in (None, user_id)):
            raise InputError(f"there is no clip {clip_id}", "list clips with `clipcast clips`")
        account = s.get(SocialAccount, account_id)
        if account is None or (user_id is not None and account.user_id not in (None, user_id)):
            raise InputError(f"there is no account {account_id}", "list accounts with `clipcast accounts`")
        if not clip.video_key:
            raise InputError(
                f"clip {clip_id} has not been rendered yet", f"render it first: `clipcast render {clip_id}`"
            )
        if account.status == "reconnect":
            raise InputError(
                f"account {account_id} ({account.platform}) must be reconnected before posting",
                f"run `clipcast accounts connect {account.platform}`",
            )
        others = s.exec(
            select(Post).where(
                Post.clip_id == clip_id, Post.account_id == account_id, col(Post.status) != PostStatus.CANCELLED
            )
        ).all()
        active = next((p for p in others if blocks_repost(p)), None)
        if active is not None:
            detail = "" if active.status != PostStatus.FAILED else f", but it reached {active.platform} first"
            raise InputError(
                f"clip {clip_id} is already {active.status} for account {account_id} (post {active.id}{detail})",
                f"cancel post {active.id} first if you want to post it again"
                if active.status == PostStatus.SCHEDULED
                else f"check the platform; `clipcast posts check {active.id}` asks it where the post stands",
            )
        post = Post(
            user_id=user_id if user_id is not None else clip.user_id,
            clip_id=clip_id,
            account_id=account_id,
            schedule_id=schedule_id,
            platform=account.platform,
            status=PostStatus.SCHEDULED,
            scheduled_at=at,
            title=clip.title,
            caption=(clip.platform_captions or {}).get(account.platform) or clip.caption,
            video_key=clip.video_key,
            options={"hashtags": list(clip.hashtags or [])},
        )
        s.add(post)
        if clip.status in (ClipStatus.RENDERED, ClipStatus.APPROVED, ClipStatus.PROPOSED):
            clip.status = ClipStatus.SCHEDULED
            clip.updated_at = utcnow()
            s.add(clip)
        s.flush()
        s.refresh(post)
    log.info("post scheduled", post_id=post.id, clip_id=clip_id, account_id=account_id, at=str(at))
    return post
