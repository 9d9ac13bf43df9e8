"""Helpers for analytics tests: published posts (with their clips) written straight into the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.models import Clip, ClipStatus, Post, PostMetricSummary, Video


def published_post(
    app: Any,
    account_id: int,
    remote_id: str,
    published_at: datetime,
    *,
    platform: str = "youtube",
    user_id: int | None = None,
    sub_scores: dict[str, float] | None = None,
    duration: float = 30.0,
    text: str = "",
    title: str = "a clip",
    score: float = 50.0,
    schedule_id: int | None = None,
    views_7d: float | None = None,
) -> int:
    """A clip published to the account at ``published_at`` as ``remote_id``; returns the post id. With
    ``views_7d``, the post also gets a metrics summary with that number (as if collected)."""
    with app.session() as s:
        video = Video(user_id=user_id, source="test", duration=600.0)
        s.add(video)
        s.flush()
        clip = Clip(
            video_id=video.id,
            user_id=user_id,
            start=10.0,
            end=10.0 + duration,
            score=score,
            sub_scores=dict(sub_scores or {}),
            title=title,
            text=text,
            status=ClipStatus.PUBLISHED,
            video_key=f"renders/{remote_id}.mp4",
        )
        s.add(clip)
        s.flush()
        post = Post(
            user_id=user_id,
            clip_id=clip.id,
            account_id=account_id,
            schedule_id=schedule_id,
            platform=platform,
            status="published",
            scheduled_at=published_at,
            published_at=published_at,
            remote_id=remote_id,
            remote_post_id=remote_id,
        )
        s.add(post)
        s.flush()
        if views_7d is not None:
            s.add(PostMetricSummary(post_id=post.id, account_id=account_id, views_7d=views_7d))  # type: ignore[arg-type]
        return post.id  # type: ignore[return-value]
