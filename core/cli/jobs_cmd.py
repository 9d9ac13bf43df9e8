"""``clipcast jobs``: list background jobs, cancel one, retry a failed one from the stage that failed."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from core import jobs
from core.cli.common import console, out, state

app = typer.Typer(help="Background jobs: list, cancel, retry.", invoke_without_command=True)


def _row(job: jobs.Job) -> dict[str, object]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "stage": job.stage,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "attempts": job.attempts,
        "video_id": job.video_id,
        "clip_id": job.clip_id,
        "created_at": job.created_at.isoformat() if job.created_at else None,
    }


@app.callback()
def list_jobs(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help="queued | running | succeeded | failed | cancelled"),
    kind: str | None = typer.Option(None, "--kind", help="analyze | process | render | publish | check"),
    limit: int = typer.Option(30, "--limit", "-n", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List recent jobs (newest first)."""
    if ctx.invoked_subcommand:
        return
    rows = jobs.list_jobs(state.app(), status=status, kind=kind, limit=limit)
    if as_json:
        typer.echo(json.dumps([_row(j) for j in rows], indent=2))
        return
    table = Table("id", "kind", "status", "stage", "progress", "message / error", "tries")
    for j in rows:
        detail = j.error if j.status == "failed" else j.message
        table.add_row(str(j.id), j.kind, j.status, j.stage, f"{j.progress:.0f}%", (detail or "")[:80], str(j.attempts))
    out.print(table)


@app.command("show")
def show(job_id: int = typer.Argument(..., help="job id")) -> None:
    """Everything about one job, as JSON."""
    typer.echo(json.dumps(_row(jobs.get_job(state.app(), job_id)), indent=2))


@app.command("cancel")
def cancel(job_id: int = typer.Argument(..., help="job id")) -> None:
    """Stop a job: at once when queued, at its next check when running (a running ffmpeg is killed)."""
    job = jobs.cancel_job(state.app(), job_id)
    console.print(f"job {job.id}: {job.status}{' (cancel requested)' if job.cancel_requested else ''}")


@app.command("retry")
def retry(job_id: int = typer.Argument(..., help="job id")) -> None:
    """Re-queue a failed or cancelled job from the stage that failed (finished work is not redone)."""
    from core import tasks

    app_ = state.app()
    job = tasks.retry_job(app_, job_id)
    console.print(f"job {job.id} re-queued ({job.message})")

    if tasks.is_embedded(app_):
        console.print("no Redis configured: waiting for the job in this process")
        job = jobs.wait_for_job(app_, job_id, timeout=24 * 3600)
        console.print(f"job {job.id}: {job.status} {job.error or job.message}")
