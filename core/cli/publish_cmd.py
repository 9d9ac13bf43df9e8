"""``clipcast publish CLIP --account ID [--at TIME]`` and ``clipcast posts`` (list, check, cancel, retry)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from core import leases
from core.cli.common import console, out, state
from core.errors import InputError, RetryableError
from core.pipeline import publish as pub

posts_app = typer.Typer(help="Posts: list, check, cancel, retry.", invoke_without_command=True)


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (a time without offset is this machine's local time), 'now', or relative: +90m, +2h, +1d."""
    now = now or datetime.now(UTC)
    text = text.strip()
    if text.lower() == "now":
        return now
    rel = re.fullmatch(r"\+(\d+(?:\.\d+)?)\s*([mhd])", text)
    if rel:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[rel[2]]
        return now + timedelta(**{unit: float(rel[1])})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"cannot read the time {text!r}", "use ISO 8601 like 2026-11-22T09:00 or 2026-11-22T09:00+01:00, or +2h"
        )
    return (at if at.tzinfo else at.astimezone()).astimezone(UTC)


def publish_command(
    clip_id: int = typer.Argument(..., help="a rendered clip's id"),
    account: int = typer.Option(..., "--account", "-a", help="account id (see `clipcast accounts`)"),
    at: str | None = typer.Option(
        None, "--at", help="when: ISO time (local unless an offset is given), +2h, or now; default: next free slot"
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="when posting now, wait until the platform finishes"),
) -> None:
    """Post a clip to an account now, or schedule it (the scheduler dispatches it at that time)."""
    app = state.app()
    post = pub.schedule_post(app, clip_id, account, at=parse_time(at) if at else None)
    due = post.scheduled_at <= datetime.now(UTC) + timedelta(seconds=5)
    if not due:
        console.print(
            f"post {post.id} scheduled for {post.scheduled_at:%Y-%m-%d %H:%M} UTC; "
            "`clipcast scheduler` (or `clipcast serve`) publishes it then"
        )
        return
    console.print(f"post {post.id}: publishing to {post.platform}...")
    _drive(app, post.id, wait=wait)


def _drive(app: Any, post_id: int, *, wait: bool) -> None:
    """Publish inline with this CLI process as the post's owner (the same protocol as a worker's job).

    A transient error or a kill leaves the post ``uploading`` with its checkpoint and no live owner: the
    sweeper of ``clipcast scheduler`` / ``clipcast serve`` resumes it, or ``clipcast posts retry`` does here."""
    leases.set_kind("cli")
    try:
        post = pub.publish_post(app, post_id)
    except RetryableError as exc:
        console.print(
            f"[yellow]post {post_id} was interrupted[/yellow]: {exc}\n"
            f"it resumes from where it stopped: the scheduler does it on its own, or run "
            f"`clipcast posts retry {post_id}`; `clipcast posts check {post_id}` asks the platform"
        )
        raise typer.Exit(1)
    if wait and post.status in ("uploading", "processing"):
        console.print("uploaded; waiting for the platform to finish processing")
        post = pub.wait_for_post(app, post.id, timeout=900, interval=10)
    _report(post)


def _report(post: pub.Post) -> None:
    if post.status == "published":
        console.print(f"post {post.id} published: {post.url or post.remote_id}")
    elif post.status == "failed":
        console.print(
            f"[red]post {post.id} failed[/red]: {post.error}{' (may succeed later)' if post.retryable else ''}"
        )
        raise typer.Exit(1)
    else:
        console.print(f"post {post.id} is {post.status}; check later with `clipcast posts check {post.id}`")


def _row(p: pub.Post) -> dict[str, object]:
    return {
        "id": p.id,
        "clip_id": p.clip_id,
        "account_id": p.account_id,
        "platform": p.platform,
        "status": p.status,
        "scheduled_at": p.scheduled_at.isoformat() if p.scheduled_at else None,
        "remote_id": p.remote_id,
        "url": p.url,
        "error": p.error,
        "retryable": p.retryable,
    }


@posts_app.callback()
def list_posts(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help="scheduled | uploading | processing | published | failed | cancelled"
    ),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List posts, newest scheduled time first."""
    if ctx.invoked_subcommand:
        return
    rows = pub.list_posts(state.app(), status=status, limit=limit)
    if as_json:
        typer.echo(json.dumps([_row(p) for p in rows], indent=2))
        return
    table = Table("id", "clip", "account", "platform", "status", "scheduled (UTC)", "url / error")
    for p in rows:
        detail = p.error if p.status == "failed" else (p.url or p.remote_id or "")
        when = p.scheduled_at.strftime("%Y-%m-%d %H:%M") if p.scheduled_at else ""
        table.add_row(str(p.id), str(p.clip_id), str(p.account_id), p.platform, p.status, when, (detail or "")[:70])
    out.print(table)


@posts_app.command("cancel")
def cancel(post_id: int = typer.Argument(..., help="post id")) -> None:
    """Cancel a post that nothing published (scheduled, failed, or an interrupted upload the platform did not
    complete); one already sent to the platform cannot be called back."""
    post = pub.cancel_post(state.app(), post_id)
    console.print(f"post {post.id}: {post.status}")


@posts_app.command("check")
def check(post_id: int = typer.Argument(..., help="post id")) -> None:
    """Ask the platform where a sent post stands."""
    try:
        post = pub.check_post(state.app(), post_id)
    except RetryableError:
        post = pub.get_post(state.app(), post_id)
    _report(post)


@posts_app.command("retry")
def retry(
    post_id: int = typer.Argument(..., help="post id"),
    at: str | None = typer.Option(None, "--at", help="when (default now); same formats as `clipcast publish --at`"),
) -> None:
    """Schedule a failed post again (refused when any part of it reached the platform), or resume an interrupted
    one (``uploading`` with no live owner) from its checkpoint now."""
    app = state.app()
    post = pub.retry_post(app, post_id, at=parse_time(at) if at else None)
    if post.status == "uploading":
        console.print(f"post {post.id}: resuming its interrupted upload")
        _drive(app, post.id, wait=True)
        return
    console.print(f"post {post.id} scheduled again for {post.scheduled_at:%Y-%m-%d %H:%M} UTC")
