"""The publish protocol: a post reaches a platform at most once, even with at-least-once workers.

States: scheduled → uploading → processing → published | failed(reason, retryable) | cancelled.

* ``publish_post`` claims a scheduled post atomically (``UPDATE ... WHERE status='scheduled'``), commits the
  ``uploading`` state, then makes the irreversible call once. Publishers report progress through
  ``request.save_checkpoint`` (committed at once); a ``remote_id`` in a checkpoint is the post's remote id, saved
  before anything else.
* On redelivery: a post with a remote id only gets status checks. A post in ``uploading`` without one is first
  checked against the platform (``Publisher.recover``: a YouTube session URI is probed, an Instagram container
  is looked at); only when the platform holds nothing is a new attempt made. While another worker may still be
  uploading (its last checkpoint is younger than ``lease_seconds``) the call raises ``RetryableError``.
* ``check_post`` asks the platform; it raises ``RetryableError`` while the platform is still processing, so the
  worker's retry/backoff drives polling.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import update
from sqlmodel import select

from core import accounts
from core.contracts import PostStatus, PublishRequest, PublishResult
from core.errors import ClipcastError, InputError, PermanentError, RetryableError
from core.models import Clip, ClipStatus, Post, SocialAccount, utcnow
from core.progress import NullReporter, Reporter

log = structlog.get_logger("clipcast.publish")  # lazy: follows core.logging.configure() made later

#: Seconds an ``uploading`` post is presumed to be in the hands of a live worker after its last checkpoint.
UPLOAD_LEASE = 120.0
TERMINAL = {PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.CANCELLED}


def _aware(at: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the models store aware UTC)."""
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _next_slot(app: Any, account_id: int) -> datetime | None:
    from core.schedules import next_free_slot  # lazy: it pulls in APScheduler

    try:
        return next_free_slot(app, account_id)
    except ClipcastError:
        raise
    except Exception as exc:  # a schedule bug must not block an explicit post
        log.warning("next_free_slot failed; posting now", account_id=account_id, error=repr(exc))
        return None


def schedule_post(
    app: Any, clip_id: int, account_id: int, *, at: datetime | None = None, user_id: int | None = None
) -> Post:
    """Create a scheduled post of a rendered clip. ``at`` None: the account's next free schedule slot, else now."""
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
        active = s.exec(
            select(Post).where(
                Post.clip_id == clip_id,
                Post.account_id == account_id,
                Post.status.not_in([PostStatus.FAILED, PostStatus.CANCELLED]),  # type: ignore[attr-defined]
            )
        ).first()
        if active is not None:
            raise InputError(
                f"clip {clip_id} is already {active.status} for account {account_id} (post {active.id})",
                f"cancel post {active.id} first if you want to post it again",
            )
    when = _aware(at) if at else (_next_slot(app, account_id) or utcnow())
    with app.session() as s:
        clip = s.get(Clip, clip_id)
        account = s.get(SocialAccount, account_id)
        post = Post(
            user_id=user_id if user_id is not None else clip.user_id,
            clip_id=clip_id,
            account_id=account_id,
            platform=account.platform,
            status=PostStatus.SCHEDULED,
            scheduled_at=when,
            title=clip.title,
            caption=(clip.platform_captions or {}).get(account.platform) or clip.caption,
            options={"hashtags": list(clip.hashtags or [])},
        )
        s.add(post)
        if clip.status in (ClipStatus.RENDERED, ClipStatus.APPROVED, ClipStatus.PROPOSED):
            clip.status = ClipStatus.SCHEDULED
            clip.updated_at = utcnow()
            s.add(clip)
        s.flush()
        s.refresh(post)
    log.info("post scheduled", post_id=post.id, clip_id=clip_id, account_id=account_id, at=str(when))
    return post


def get_post(app: Any, post_id: int) -> Post:
    with app.session() as s:
        post = s.get(Post, post_id)
    if post is None:
        raise InputError(f"there is no post {post_id}", "list posts with `clipcast posts`")
    return post


def list_posts(app: Any, *, user_id: int | None = None, status: str | None = None, limit: int = 100) -> list[Post]:
    with app.session() as s:
        query = select(Post).order_by(Post.scheduled_at.desc()).limit(limit)  # type: ignore[attr-defined]
        if user_id is not None:
            query = query.where(Post.user_id == user_id)
        if status:
            query = query.where(Post.status == status)
        return list(s.exec(query))


def cancel_post(app: Any, post_id: int) -> Post:
    """Cancel a post that has not started; one already at the platform cannot be called back."""
    with app.session() as s:
        claimed = s.exec(  # type: ignore[call-overload]
            update(Post)
            .where(Post.id == post_id, Post.status == PostStatus.SCHEDULED)
            .values(status=PostStatus.CANCELLED, updated_at=utcnow())
        ).rowcount
    post = get_post(app, post_id)
    if not claimed and post.status != PostStatus.CANCELLED:
        raise InputError(
            f"post {post_id} is {post.status} and cannot be cancelled",
            "only scheduled posts can be cancelled; delete a published one on the platform itself",
        )
    return post


def retry_post(app: Any, post_id: int, *, at: datetime | None = None) -> Post:
    """Schedule a failed post again, but only when nothing of it reached the platform (no remote id)."""
    post = get_post(app, post_id)
    if post.status != PostStatus.FAILED:
        raise InputError(f"post {post_id} is {post.status}; only failed posts can be retried")
    if post.remote_id:
        raise InputError(
            f"post {post_id} already reached {post.platform} (remote id {post.remote_id}); retrying could post twice",
            "check the platform, then schedule the clip again with `clipcast publish` if it is really missing",
        )
    opts = {k: v for k, v in (post.options or {}).items() if k != "checkpoint"}
    return _update(
        app,
        post_id,
        status=PostStatus.SCHEDULED,
        error=None,
        retryable=False,
        options=opts,
        scheduled_at=_aware(at) if at else utcnow(),
        dispatched_at=None,
    )


def _update(app: Any, post_id: int, **fields: Any) -> Post:
    with app.session() as s:
        post = s.get(Post, post_id)
        for key, value in fields.items():
            setattr(post, key, value)
        post.updated_at = utcnow()
        s.add(post)
    return post


def _checkpoint_sink(app: Any, post_id: int) -> Any:
    def save(data: dict[str, Any]) -> None:
        with app.session() as s:
            post = s.get(Post, post_id)
            opts = dict(post.options or {})
            opts["checkpoint"] = {**opts.get("checkpoint", {}), **data}
            post.options = opts
            if data.get("remote_id"):
                post.remote_id = str(data["remote_id"])
            post.updated_at = utcnow()
            s.add(post)

    return save


def _video_path(app: Any, clip: Clip, workdir: Path) -> Path:
    local = app.storage.local_path(clip.video_key)
    if local is not None:
        return Path(local)
    return app.storage.download(clip.video_key, workdir / f"clip-{clip.id}.mp4")


def _request(app: Any, post: Post, workdir: Path) -> PublishRequest:
    with app.session() as s:
        clip = s.get(Clip, post.clip_id)
    if clip is None or not clip.video_key:
        raise InputError(f"clip {post.clip_id} of post {post.id} has no rendered video any more")
    opts = dict(post.options or {})
    return PublishRequest(
        post_id=post.id,
        clip_id=clip.id,
        account_id=post.account_id,
        video_path=_video_path(app, clip, workdir),
        video_url=app.storage.url(clip.video_key, expires=6 * 3600),
        title=post.title or clip.title,
        caption=post.caption,
        hashtags=opts.get("hashtags", []),
        privacy=opts.get("privacy"),
        publish_at=opts.get("publish_at"),
        duration=clip.rendered_duration or (clip.end - clip.start),
        options={k: v for k, v in opts.items() if k not in ("hashtags", "privacy", "publish_at", "checkpoint")},
        resume=opts.get("checkpoint", {}),
        checkpoint=_checkpoint_sink(app, post.id),  # type: ignore[arg-type]
    )


def _fail(app: Any, post: Post, reason: str, *, retryable: bool = False) -> Post:
    post = _update(app, post.id, status=PostStatus.FAILED, error=reason, retryable=retryable)
    log.warning("post failed", post_id=post.id, platform=post.platform, reason=reason, retryable=retryable)
    app.emit("post.failed", post_id=post.id, clip_id=post.clip_id, data={"reason": reason, "retryable": retryable})
    return post


def _apply(app: Any, post: Post, result: PublishResult) -> Post:
    """Record a platform answer; remote id first, then the rest."""
    if result.remote_id and result.remote_id != post.remote_id:
        post = _update(app, post.id, remote_id=result.remote_id)
    if result.status == PostStatus.PUBLISHED:
        post = _update(
            app,
            post.id,
            status=PostStatus.PUBLISHED,
            url=result.url,
            remote_post_id=result.remote_post_id,
            published_at=utcnow(),
            error=None,
        )
        with app.session() as s:
            clip = s.get(Clip, post.clip_id)
            if clip is not None:
                clip.status = ClipStatus.PUBLISHED
                clip.updated_at = utcnow()
                s.add(clip)
        log.info("post published", post_id=post.id, platform=post.platform, url=result.url)
        app.emit("post.published", post_id=post.id, clip_id=post.clip_id, data={"url": result.url})
        return post
    if result.status == PostStatus.FAILED:
        return _fail(app, post, result.error or "the platform reported a failure", retryable=result.retryable)
    return _update(app, post.id, status=PostStatus.PROCESSING)


def publish_post(
    app: Any, post_id: int, *, reporter: Reporter | None = None, lease_seconds: float = UPLOAD_LEASE
) -> Post:
    """Run the irreversible step of a post (once), or continue a post that already reached the platform.

    Returns the post (processing, published or failed). Raises ``RetryableError`` for transient trouble; the
    worker may call again safely."""
    reporter = reporter or NullReporter()
    reporter.stage("publish")
    post = get_post(app, post_id)
    if post.status in TERMINAL:
        return post
    if post.remote_id or post.status == PostStatus.PROCESSING:
        return _try_check(app, post)
    publisher = app.publisher(post.platform)
    try:
        account = accounts.handle(app, post.account_id)
    except accounts.ReconnectNeeded as exc:
        if post.status == PostStatus.SCHEDULED:  # nothing sent yet: fail visibly; `clipcast posts retry` later
            return _fail(app, post, str(exc), retryable=True)
        raise
    with tempfile.TemporaryDirectory(prefix="clipcast-publish-") as tmp:
        request = _request(app, post, Path(tmp))
        if post.status == PostStatus.UPLOADING:
            age = (utcnow() - _aware(post.updated_at)).total_seconds()
            if age < lease_seconds:
                raise RetryableError(
                    f"post {post_id} is being uploaded by another worker (last progress {age:.0f} s ago)"
                )
            found = publisher.recover(request, account)
            log.info("recovering interrupted upload", post_id=post_id, found=bool(found))
            if found is not None:
                post = _apply(app, post, found)
                return _try_check(app, post) if post.status == PostStatus.PROCESSING else post
        else:
            try:
                problems = publisher.preflight(request, account)
            except PermanentError as exc:  # the platform refused even the checks (banned, scope missing...)
                return _fail(app, post, f"preflight: {exc}", retryable=getattr(exc, "retryable", False))
            if problems:
                return _fail(app, post, "preflight: " + "; ".join(problems))
            try:
                app.plugins.hook.before_publish(request=request, account=account)
            except PermanentError as exc:
                return _fail(app, post, f"vetoed: {exc}")
            with app.session() as s:
                claimed = s.exec(  # type: ignore[call-overload]
                    update(Post)
                    .where(Post.id == post_id, Post.status == PostStatus.SCHEDULED)
                    .values(
                        status=PostStatus.UPLOADING,
                        attempts=Post.attempts + 1,
                        dispatched_at=utcnow(),
                        updated_at=utcnow(),
                        title=request.title,
                        caption=request.caption,
                    )
                ).rowcount
            if not claimed:  # someone else claimed it (or it was cancelled) in between
                return get_post(app, post_id)
        reporter.check_cancelled()
        try:
            result = publisher.publish(request, account)
        except RetryableError:
            raise  # stays 'uploading': the next delivery checks the platform before trying again
        except PermanentError as exc:
            return _fail(app, get_post(app, post_id), str(exc), retryable=getattr(exc, "retryable", False))
    post = _apply(app, get_post(app, post_id), result)
    reporter.progress(100.0 if post.status == PostStatus.PUBLISHED else 90.0, post.status)
    return post


def _try_check(app: Any, post: Post) -> Post:
    try:
        return check_post(app, post.id)
    except RetryableError:
        return get_post(app, post.id)


def check_post(app: Any, post_id: int) -> Post:
    """Ask the platform how a sent post is doing. Raises ``RetryableError`` while it is still processing."""
    post = get_post(app, post_id)
    if post.status in TERMINAL:
        return post
    if not post.remote_id:
        raise InputError(f"post {post_id} has not reached the platform yet (status {post.status})")
    publisher = app.publisher(post.platform)
    account = accounts.handle(app, post.account_id)
    try:
        result = publisher.check_status(post.remote_id, account)
    except PermanentError as exc:
        return _fail(app, post, str(exc), retryable=getattr(exc, "retryable", False))
    post = _apply(app, post, result)
    if post.status == PostStatus.PROCESSING:
        raise RetryableError(f"post {post_id} is still processing on {post.platform}")
    return post


def wait_for_post(app: Any, post_id: int, *, timeout: float = 600, interval: float = 5) -> Post:
    """Poll ``check_post`` until the post is final or ``timeout`` seconds pass (inline CLI runs)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check_post(app, post_id)
        except RetryableError:
            if time.monotonic() > deadline:
                return get_post(app, post_id)
            time.sleep(interval)


def due_posts(app: Any, *, now: datetime | None = None) -> list[Post]:
    """Scheduled posts whose time has come (the scheduler dispatches these)."""
    now = now or utcnow()
    with app.session() as s:
        return list(
            s.exec(
                select(Post)
                .where(Post.status == PostStatus.SCHEDULED, Post.scheduled_at <= now + timedelta(seconds=1))
                .order_by(Post.scheduled_at)  # type: ignore[arg-type]
            )
        )
