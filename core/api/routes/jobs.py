"""Jobs: list, detail, live progress as Server-Sent Events, cancel, retry."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlmodel import col, select

from core import jobs, tasks
from core.api.deps import AppDep, Id, PageDep, UserDep, owned, read_owned, read_page, scoped
from core.api.schemas import JobOut, PageOut
from core.models import Job, JobStatus

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

#: Seconds between job-row reads while streaming, and between keep-alive comments.
POLL = 0.5
KEEPALIVE = 15.0
FINAL = {JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value}


@router.get("", response_model=PageOut[JobOut], summary="Your jobs, newest first")
async def list_jobs(
    user: UserDep,
    app: AppDep,
    pg: PageDep,
    status: Annotated[JobStatus | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    video: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict:
    stmt = scoped(select(Job), Job, user).order_by(col(Job.id).desc())
    return await read_page(
        app,
        stmt,
        pg,
        Job.status == status.value if status else None,
        Job.kind == kind if kind else None,
        Job.video_id == video if video else None,
        rows=True,
    )


@router.get("/{job_id}", response_model=JobOut, summary="One job: status, stage, progress, error")
async def read_job(job_id: Id, user: UserDep, app: AppDep) -> dict:
    return await read_owned(app, Job, job_id, user, row=True)


@router.get(
    "/{job_id}/events",
    summary="Server-Sent Events: one `progress` event per change, then `end` when the job finishes",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
def job_events(job_id: Id, request: Request, user: UserDep, app: AppDep) -> StreamingResponse:
    with app.session() as s:
        owned(s, Job, job_id, user)

    def snapshot() -> dict | None:
        with app.session() as s:
            job = s.get(Job, job_id)
            return JobOut.model_validate(job).model_dump(mode="json") if job else None

    async def stream() -> AsyncIterator[str]:
        last: tuple | None = None
        last_sent = time.monotonic()
        yield "retry: 2000\n\n"
        while True:
            data = await run_in_threadpool(snapshot)
            if data is None:
                yield 'event: end\ndata: {"status": "deleted"}\n\n'
                return
            state = (data["status"], data["stage"], data["progress"], data["message"], data["error"])
            if state != last:
                last, last_sent = state, time.monotonic()
                yield f"event: progress\nid: {data['updated_at']}\ndata: {json.dumps(data)}\n\n"
            if data["status"] in FINAL:
                yield f"event: end\ndata: {json.dumps(data)}\n\n"
                return
            if time.monotonic() - last_sent > KEEPALIVE:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/{job_id}/cancel", response_model=JobOut, summary="Ask a job to stop (queued: at once)")
def cancel(job_id: Id, user: UserDep, app: AppDep) -> Job:
    with app.session() as s:
        owned(s, Job, job_id, user)
    return jobs.cancel_job(app, job_id)


@router.post(
    "/{job_id}/retry",
    response_model=JobOut,
    summary="Re-queue a failed or cancelled job from the stage that failed",
    responses={400: {"description": "the job has not failed or been cancelled"}},
)
def retry(job_id: Id, user: UserDep, app: AppDep) -> Job:
    with app.session() as s:
        owned(s, Job, job_id, user)
    return tasks.retry_job(app, job_id)
