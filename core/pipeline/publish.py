"""The publish protocol: a post reaches a platform at most once, even with at-least-once workers and kills.

States: scheduled → uploading → processing → published | failed(reason, retryable) | cancelled.

* Ownership (``core.leases``): whoever drives a post (a worker's publish job, ``clipcast publish`` in the CLI,
  ``posts retry``) claims it first with a conditional update and holds a lease its process renews; at the end
  of a call the lease is released, whatever happened. A second process finds the lease live and leaves the post
  alone; once a dead owner's lease runs out, the sweeper (``core.sweeper``) gives the post a publish job.
* ``publish_post`` claims a scheduled post (scheduled → uploading), then makes the irreversible call once.
  Publishers report progress through ``request.save_checkpoint`` (committed at once); a ``remote_id`` in a
  checkpoint is the post's remote id, saved before anything else.
* Taking over an ``uploading`` post (its owner died, or a transient error ended the last call): the publisher's
  ``recover`` asks the platform first (a YouTube session probed, a TikTok upload's status, an Instagram
  container, a folder delivery, a webhook's delivery record); ``None`` means nothing is complete there, and
  ``publish`` is called again with the checkpoint in ``request.resume``, which resumes rather than restarts.
* ``check_post`` asks the platform about a post that reached it; it raises ``RetryableError`` while the
  platform is still processing, so the worker's retry/backoff drives polling.
* A publish job that fails for good hands its post back as failed (``abandon``), never left ``uploading``.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import update
from sqlmodel import col, select

from core import accounts, leases, publish_gate, scratch
from core.contracts import PostStatus, PublishRequest, PublishResult
from core.errors import ClipcastError, Deferred, InputError, PermanentError, RetryableError
from core.models import Clip, ClipStatus, Post, utcnow
from core.posts import create_post
from core.progress import NullReporter, Reporter
from core.public_errors import scrub

log = structlog.get_logger("clipcast.publish")  # lazy: follows core.logging.configure() made later

#: Post options that are the protocol's own records, not publisher options.
_INTERNAL = ("checkpoint", "platform_failed", "abandoned")
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
    when = _aware(at) if at else (_next_slot(app, account_id) or utcnow())
    return create_post(app, clip_id, account_id, at=when, user_id=user_id)


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


class PostBusy(RetryableError):
    """Another live process drives this post now (its lease is fresh); it finishes it, or the sweeper re-drives it."""


def cancel_post(app: Any, post_id: int) -> Post:
    """Cancel a post that nothing published: scheduled, failed, or ``uploading`` with no live owner and nothing
    complete at the platform (asked first). One that reached the platform's processing cannot be called back."""
    with app.session() as s:
        claimed = s.exec(  # type: ignore[call-overload]
            update(Post)
            .where(Post.id == post_id, Post.status.in_([PostStatus.SCHEDULED, PostStatus.FAILED]))  # type: ignore[attr-defined]
            .values(status=PostStatus.CANCELLED, updated_at=utcnow())
        ).rowcount
    post = get_post(app, post_id)
    if not claimed and post.status == PostStatus.UPLOADING:
        post = _settle_uploading(app, post)
        if post.status == PostStatus.UPLOADING:
            post = _update(app, post_id, status=PostStatus.CANCELLED, error="cancelled while its upload was unfinished")
            leases.release(app, Post, post_id)
            return post
    if post.status != PostStatus.CANCELLED:
        raise InputError(
            f"post {post_id} is {post.status} and cannot be cancelled",
            "only posts that nothing published can be cancelled; delete a published one on the platform itself",
        )
    return post


def _settle_uploading(app: Any, post: Post) -> Post:
    """Claim an ``uploading`` post and ask the platform whether its upload completed (kept claimed: the caller
    releases it). ``PostBusy`` when a live process drives it."""
    if not leases.claim(app, Post, post.id, where=Post.status == PostStatus.UPLOADING):  # type: ignore[arg-type]
        raise PostBusy(f"post {post.id} is being uploaded by {get_post(app, post.id).owner}; try again shortly")
    publisher = app.publisher(post.platform)
    account = accounts.handle(app, post.account_id)
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("clipcast-publish")) as tmp:
        found = publisher.recover(_request(app, post, Path(tmp)), account)
    if found is not None:
        post = _apply(app, post, found)
        leases.release(app, Post, post.id)  # type: ignore[arg-type]
    return get_post(app, post.id)  # type: ignore[arg-type]


def retry_post(app: Any, post_id: int, *, at: datetime | None = None) -> Post:
    """Schedule a failed post again when nothing of it reached the platform; or, for an ``uploading`` post with
    no live owner, schedule it to be driven on from its checkpoint (the worker resumes, never restarts)."""
    post = get_post(app, post_id)
    if post.status == PostStatus.UPLOADING:  # the caller drives it on (publish_post), or the sweeper does
        if not leases.expired(post):
            raise PostBusy(f"post {post_id} is being uploaded by {post.owner}; wait for it")
        return post
    if post.status == PostStatus.FAILED and (post.options or {}).get("abandoned"):
        return _update(app, post_id, status=PostStatus.UPLOADING, error=None, retryable=False)
    if post.status != PostStatus.FAILED:
        raise InputError(f"post {post_id} is {post.status}; only failed or interrupted posts can be retried")
    if post.remote_id and not (post.options or {}).get("platform_failed"):
        raise InputError(
            f"post {post_id} already reached {post.platform} (remote id {post.remote_id}); retrying could post twice",
            f"`clipcast posts check {post_id}` asks the platform where it stands",
        )
    opts = {k: v for k, v in (post.options or {}).items() if k not in ("checkpoint", "platform_failed")}
    return _update(
        app,
        post_id,
        status=PostStatus.SCHEDULED,
        error=None,
        retryable=False,
        options=opts,
        remote_id=None,
        scheduled_at=_aware(at) if at else utcnow(),
        dispatched_at=None,
    )


def abandon(app: Any, post_id: int, reason: str) -> Post | None:
    """A publish job failed for good: its ``uploading`` post (with no live owner) becomes failed and retryable,
    keeping its checkpoint, so it can be cancelled, retried, or its video and account deleted."""
    if not leases.claim(app, Post, post_id, where=Post.status == PostStatus.UPLOADING):
        return None
    try:
        post = _update(app, post_id, options={**(get_post(app, post_id).options or {}), "abandoned": True})
        return _fail(app, post, f"gave up: {reason}", retryable=True)
    finally:
        leases.release(app, Post, post_id)


def _update(app: Any, post_id: int, **fields: Any) -> Post:
    with app.session() as s:
        post = s.get(Post, post_id)
        for key, value in fields.items():
            if key == "error" and isinstance(value, str):
                value = scrub(value, app.settings)  # shown in the posts list: no server directories
            setattr(post, key, value)
        post.updated_at = utcnow()
        s.add(post)
    return post


def _checkpoint_sink(app: Any, post_id: int) -> Any:
    """Checkpoints are written only while this process owns the post (a taken-over owner writes nothing)."""

    def save(data: dict[str, Any]) -> None:
        with app.session() as s:
            post = s.get(Post, post_id)
            if post.owner not in (None, leases.me()):
                raise PostBusy(f"post {post_id} was taken over by {post.owner}; this upload stops")
            opts = dict(post.options or {})
            opts["checkpoint"] = {**opts.get("checkpoint", {}), **data}
            post.options = opts
            if data.get("remote_id"):
                post.remote_id = str(data["remote_id"])
            post.updated_at = utcnow()
            s.add(post)

    return save


def _video_path(app: Any, key: str, workdir: Path) -> Path:
    local = app.storage.local_path(key)
    if local is not None:
        return Path(local)
    return app.storage.download(key, workdir / Path(key).name)


def _request(app: Any, post: Post, workdir: Path) -> PublishRequest:
    with app.session() as s:
        clip = s.get(Clip, post.clip_id)
    key = post.video_key or (clip.video_key if clip else None)  # the render fixed when it was scheduled
    if clip is None or not key or not app.storage.exists(key):
        raise PermanentError(f"the render of clip {post.clip_id} that post {post.id} publishes is gone")
    opts = dict(post.options or {})
    return PublishRequest(
        post_id=post.id,
        clip_id=clip.id,
        account_id=post.account_id,
        video_path=_video_path(app, key, workdir),
        video_url=app.storage.url(key, expires=6 * 3600),
        title=post.title or clip.title,
        caption=post.caption,
        hashtags=opts.get("hashtags", []),
        privacy=opts.get("privacy"),
        publish_at=opts.get("publish_at"),
        duration=clip.rendered_duration or (clip.end - clip.start),
        options={k: v for k, v in opts.items() if k not in ("hashtags", "privacy", "publish_at", *_INTERNAL)},
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
    if result.status == PostStatus.FAILED:  # the platform's own verdict: a new post of the clip is safe
        post = _update(app, post.id, options={**(post.options or {}), "platform_failed": True})
        return _fail(app, post, result.error or "the platform reported a failure", retryable=result.retryable)
    return _update(app, post.id, status=PostStatus.PROCESSING)


def publish_post(app: Any, post_id: int, *, reporter: Reporter | None = None) -> Post:
    """Run the irreversible step of a post (once), or drive on a post whose last owner stopped.

    Returns the post (uploading when another live process drives it, processing, published or failed). Raises
    ``RetryableError`` for transient trouble; the post stays ``uploading`` without an owner, and a later call
    (the job's retry, the sweeper's job, ``posts retry``) resumes it from its checkpoint."""
    reporter = reporter or NullReporter()
    reporter.stage("publish")
    post = get_post(app, post_id)
    if post.status in TERMINAL:
        return post
    if post.status == PostStatus.PROCESSING:
        return _try_check(app, post)
    publisher = app.publisher(post.platform)
    try:
        account = accounts.handle(app, post.account_id)
    except accounts.ReconnectNeeded as exc:
        if post.status == PostStatus.SCHEDULED:  # nothing sent yet: fail visibly; `clipcast posts retry` later
            return _fail(app, post, str(exc), retryable=True)
        raise
    with tempfile.TemporaryDirectory(prefix=scratch.prefix("clipcast-publish")) as tmp:
        request = _request(app, post, Path(tmp))
        if post.status == PostStatus.UPLOADING:
            if not leases.claim(app, Post, post_id, where=Post.status == PostStatus.UPLOADING):
                return get_post(app, post_id)  # a live owner drives it
            with leases.holding(app, Post, post_id):
                found = publisher.recover(request, account)
                log.info("taking over an interrupted upload", post_id=post_id, found=bool(found))
                if found is not None:
                    post = _apply(app, post, found)
                    return _try_check(app, post) if post.status == PostStatus.PROCESSING else post
                return _upload(app, publisher, request, account, post_id, reporter)
        try:
            problems = publisher.preflight(request, account)
        except Deferred as exc:  # a full publishing window: the post waits, scheduled, for a free place
            return _defer(app, post, exc)
        except PermanentError as exc:  # the platform refused even the checks (banned, scope missing...)
            return _fail(app, post, f"preflight: {exc}", retryable=getattr(exc, "retryable", False))
        if problems:
            return _fail(app, post, "preflight: " + "; ".join(problems))
        try:
            app.plugins.hook.before_publish(request=request, account=account)
        except PermanentError as exc:
            return _fail(app, post, f"vetoed: {exc}")
        claimed = leases.claim(
            app,
            Post,
            post_id,
            where=Post.status == PostStatus.SCHEDULED,
            status=PostStatus.UPLOADING,
            attempts=Post.attempts + 1,
            dispatched_at=utcnow(),
            title=request.title,
            caption=request.caption,
        )
        if not claimed:  # someone else claimed it (or it was cancelled) in between
            return get_post(app, post_id)
        with leases.holding(app, Post, post_id):
            return _upload(app, publisher, request, account, post_id, reporter)


def _defer(app: Any, post: Post, exc: Deferred) -> Post:
    """Schedule ``post`` again for when the oldest of its account's posts in the window leaves it (else in an
    hour); it stays ``scheduled``, so the dispatcher sends it then."""
    now = utcnow()
    window = timedelta(seconds=exc.window_seconds)
    with app.session() as s:
        oldest = s.exec(
            select(Post.published_at)
            .where(Post.account_id == post.account_id, col(Post.published_at) >= now - window)
            .order_by(col(Post.published_at))
        ).first()
    at = _aware(oldest) + window + timedelta(minutes=1) if oldest else now + timedelta(hours=1)
    log.info("post deferred", post_id=post.id, until=str(at), reason=str(exc))
    return _update(
        app, post.id, scheduled_at=at, dispatched_at=None, error=f"deferred until {at:%Y-%m-%d %H:%M} UTC: {exc}"
    )


def _upload(app: Any, publisher: Any, request: PublishRequest, account: Any, post_id: int, reporter: Reporter) -> Post:
    reporter.check_cancelled()
    try:
        result = publisher.publish(request, account)
    except RetryableError:
        raise  # stays 'uploading': the next call asks the platform, then resumes from the checkpoint
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
    """Ask the platform how a sent post is doing. Raises ``RetryableError`` while it is still processing.

    An ``uploading`` post with no live owner is asked about through its checkpoint (``Publisher.recover``)."""
    post = get_post(app, post_id)
    if post.status in TERMINAL:
        return post
    if post.status == PostStatus.UPLOADING:
        post = _settle_uploading(app, post)
        leases.release(app, Post, post_id)
        if post.status == PostStatus.UPLOADING:
            return post
    if not post.remote_id:
        raise InputError(f"post {post_id} has not reached the platform yet (status {post.status})")
    publisher = app.publisher(post.platform)
    account = accounts.handle(app, post.account_id)
    with publish_gate.checking(app, post_id):  # a final call made in check_status: one process (publish_gate)
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
