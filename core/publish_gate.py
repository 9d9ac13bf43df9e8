"""One process makes a post's final irreversible call: a compare-and-set on the post's checkpoint.

Some platforms publish in a second step made during a status check (Instagram's ``media_publish`` once the
container is FINISHED). Two status checks of one post can run at once (a check job, ``posts check``, a resumed
publish job), and both would make that call. So a publisher asks first, ``with irreversible_step("name") as go``:

* ``go`` is True for exactly one caller: a single conditional ``UPDATE post SET options = <checkpoint with
  publishing=name, publishing_by=<owner>>, owner = ..., lease_until = ... WHERE id = ? AND status = 'processing'
  AND CAST(options AS TEXT) = <what it read> AND (<no live owner> OR owner = <this process>)`` (one statement,
  SQLite and PostgreSQL alike) moved the checkpoint to "publishing" and made this process the post's owner,
  whose lease its keeper thread renews while the call runs. Any concurrent writer changed the text, so its
  update matches no row.
* ``go`` is False when another caller holds the step (its lease is fresh) or won the race: the loser makes no
  call and reads the result back later (the platform's status says published).
* At the end of the block the marker is removed and the post released (a process that dies inside leaves the
  marker with an expiring lease: the next check after it asks the platform first, then may call again).

Outside a status check driven by the core (a publisher's own tests), ``go`` is always True.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, or_, text, update
from sqlmodel import col

from core import leases
from core.contracts import PostStatus
from core.logging import get_logger
from core.models import Post, utcnow

log = get_logger("clipcast.publish")

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("clipcast_post", default=None)


@contextmanager
def checking(app: Any, post_id: int) -> Iterator[None]:
    """The core runs a publisher's ``check_status`` for ``post_id`` and records its answer inside this block; a
    step claimed in it is finished (marker removed, post released) only at the end, after the answer is saved."""
    with app.session() as s:
        before = s.get(Post, post_id)
    held = before is not None and before.owner == leases.me() and not leases.expired(before)
    state = {"app": app, "post_id": post_id, "claimed": False, "held_before": held}
    token = _current.set(state)
    try:
        yield
    finally:
        _current.reset(token)
        if state["claimed"]:
            try:
                _finish(app, post_id, bool(held))
            except Exception as exc:  # database away: the lease expires, the next check asks the platform first
                log.warning("could not clear the publishing step", post_id=post_id, error=repr(exc))


def _options_text(app: Any, post_id: int) -> tuple[str | None, Post | None]:
    with app.session() as s:
        row = (
            s.connection()
            .execute(text("SELECT CAST(options AS TEXT) FROM post WHERE id = :id"), {"id": post_id})
            .first()
        )
        post = s.get(Post, post_id)
    return (row[0] if row else None), post


def try_claim(app: Any, post_id: int, step: str) -> bool:
    """Move ``post_id``'s checkpoint to ``publishing=step`` for this process, if nobody else holds it."""
    raw, post = _options_text(app, post_id)
    if raw is None or post is None or post.status != PostStatus.PROCESSING:
        return False
    options = json.loads(raw) if raw else {}
    checkpoint = dict(options.get("checkpoint") or {})
    if checkpoint.get("publishing") and not leases.expired(post):
        return False  # a live process is making the call
    checkpoint.update(publishing=step, publishing_by=leases.me())
    now = utcnow()
    with app.session() as s:
        won = s.exec(  # type: ignore[call-overload]
            update(Post)
            .where(
                col(Post.id) == post_id,
                col(Post.status) == PostStatus.PROCESSING,
                cast(col(Post.options), String) == raw,
                or_(
                    col(Post.owner).is_(None),
                    col(Post.lease_until).is_(None),
                    col(Post.lease_until) <= now,
                    col(Post.owner) == leases.me(),
                ),
            )
            .values(
                options={**options, "checkpoint": checkpoint},
                owner=leases.me(),
                lease_until=now + timedelta(seconds=leases.lease_seconds(app)),
            )
        ).rowcount
    if won:
        leases.keeper(app).add(Post, post_id)
    return bool(won)


def _finish(app: Any, post_id: int, held_before: bool) -> None:
    with app.session() as s:
        post = s.get(Post, post_id)
        if post is None:
            return
        options = dict(post.options or {})
        marks = ("publishing", "publishing_by")
        post.options = {
            **options,
            "checkpoint": {k: v for k, v in (options.get("checkpoint") or {}).items() if k not in marks},
        }
        s.add(post)
    if not held_before:
        leases.release(app, Post, post_id)


@contextmanager
def irreversible_step(step: str) -> Iterator[bool]:
    """``with irreversible_step("media_publish") as go:`` make the call only when ``go`` (see the module doc)."""
    state = _current.get()
    if state is None:
        yield True
        return
    if state["claimed"] or try_claim(state["app"], state["post_id"], step):
        state["claimed"] = True
        yield True
        return
    log.info("another process makes the final call of this post; reading its result later", post_id=state["post_id"])
    yield False
