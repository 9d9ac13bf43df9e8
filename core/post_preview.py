"""What a post will look like on its platform, before it goes: title, text with hashtags as that platform gets
them, lengths against its limits, privacy, the picture and the render version. The publisher's own
``describe`` composes the text (the same code its ``publish`` uses); nothing is sent anywhere. ``before_publish``
hooks run at publish time and may still change the post."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.contracts import PublishRequest, describe_post
from core.errors import ClipcastError
from core.logging import get_logger
from core.models import Clip, Post, SocialAccount

log = get_logger("clipcast.post_preview")
_VERSION = re.compile(r"-v(\d+)-")


def render_version(key: str | None) -> int | None:
    """The render version a storage key belongs to (``renders/<video>/<clip>-v<N>-<hash>/...``)."""
    m = _VERSION.search(key or "")
    return int(m.group(1)) if m else None


def preview(app: Any, clip: Clip, account: SocialAccount, post: Post | None = None) -> dict[str, Any]:
    """The post ``post`` (or a post of ``clip`` to ``account`` scheduled now) as its platform will get it."""
    opts = dict(post.options or {}) if post else {"hashtags": list(clip.hashtags or [])}
    caption = post.caption if post else (clip.platform_captions or {}).get(account.platform) or clip.caption
    request = PublishRequest(
        post_id=post.id if post else None,
        clip_id=clip.id,
        account_id=account.id,
        video_path=Path("preview"),  # describe() reads no file
        title=(post.title if post else "") or clip.title,
        caption=caption,
        hashtags=opts.get("hashtags", []),
        privacy=opts.get("privacy"),
        publish_at=opts.get("publish_at"),
        duration=clip.rendered_duration or (clip.end - clip.start),
    )
    try:
        shown = app.publisher(account.platform).describe(request)
    except ClipcastError as exc:  # the platform is not configured here: say so, show the plain composition
        log.info("preview without the publisher", platform=account.platform, error=str(exc))
        shown = {**describe_post(request), "unavailable": str(exc)}
    problems = []
    if shown.get("title_limit") and shown.get("title") and len(shown["title"]) > shown["title_limit"]:
        problems.append(
            f"the title is {len(shown['title'])} characters; {account.platform} allows {shown['title_limit']}"
        )
    if shown.get("text_limit") and shown.get("text_length", 0) > shown["text_limit"]:
        problems.append(f"the text is {shown['text_length']} long; {account.platform} allows {shown['text_limit']}")
    key = (post.video_key if post else None) or clip.video_key
    return {
        "platform": account.platform,
        "account_id": account.id,
        "account_name": account.name or account.remote_id,
        "title": shown.get("title"),
        "title_limit": shown.get("title_limit"),
        "text": shown.get("text", ""),
        "text_length": shown.get("text_length", len(shown.get("text", ""))),
        "text_limit": shown.get("text_limit"),
        "privacy": shown.get("privacy"),
        "hashtags": list(request.hashtags),
        "duration": request.duration,
        "thumbnail": f"/api/clips/{clip.id}/thumbnail" if clip.thumbnail_key else None,
        "render_version": render_version(key),
        "current_version": clip.render_version or None,
        "problems": problems,
        "note": shown.get("unavailable", ""),
    }
