"""``clipcast jobs`` commands and the job row helpers they stand on (in-process CLI, embedded database)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core import jobs
from core.app import Clipcast
from core.cli import app as cli
from core.cli.common import state
from core.errors import InputError
from core.models import Job, JobStatus


@pytest.fixture
def cli_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clipcast]:
    monkeypatch.setenv("CLIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    state._app, state.config_path = None, None
    app = state.app()
    yield app
    state._app = None


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_jobs_lists_and_shows_rows(cli_app: Clipcast) -> None:
    a = jobs.create_job(cli_app, "analyze", options={"source": "/x.mp4"})
    b = jobs.create_job(cli_app, "render", clip_id=None)
    jobs.fail(cli_app, b.id, "ffmpeg failed: broken pipe", stage="render")
    rows = json.loads(invoke("jobs", "--json").stdout)
    assert [(r["id"], r["status"]) for r in rows] == [(b.id, "failed"), (a.id, "queued")]
    failed = json.loads(invoke("jobs", "--status", "failed", "--json").stdout)
    assert [(r["stage"], r["error"]) for r in failed] == [("render", "ffmpeg failed: broken pipe")]
    shown = json.loads(invoke("jobs", "show", str(a.id)).stdout)
    assert shown["kind"] == "analyze" and shown["attempts"] == 0
    table = invoke("jobs").stdout
    assert "analyze" in table and "render" in table


def test_cancel_of_a_queued_job_is_immediate_and_final(cli_app: Clipcast) -> None:
    job = jobs.create_job(cli_app, "analyze")
    result = invoke("jobs", "cancel", str(job.id))
    assert result.exit_code == 0
    assert jobs.get_job(cli_app, job.id).status == JobStatus.CANCELLED
    assert jobs.cancel_job(cli_app, job.id).status == JobStatus.CANCELLED  # cancelling again changes nothing


def test_running_job_gets_a_cancel_request_that_its_reporter_raises(cli_app: Clipcast) -> None:
    from core.progress import Cancelled

    job = jobs.create_job(cli_app, "render")
    jobs.start_attempt(cli_app, job.id)
    reporter = jobs.JobReporter(cli_app, job.id, interval=0)
    reporter.check_cancelled()  # not cancelled yet
    row = jobs.cancel_job(cli_app, job.id)
    assert row.status == JobStatus.RUNNING and row.cancel_requested
    with pytest.raises(Cancelled):
        reporter.check_cancelled()


def test_retry_refuses_unfinished_jobs_and_unknown_ids(cli_app: Clipcast) -> None:
    from core.errors import ClipcastError

    job = jobs.create_job(cli_app, "analyze")
    with pytest.raises(ClipcastError, match=f"job {job.id} is queued; only failed or cancelled"):
        invoke("jobs", "retry", str(job.id))
    with pytest.raises(ClipcastError, match="there is no job 4242"):
        invoke("jobs", "show", "4242")


def test_parent_follows_its_render_children(cli_app: Clipcast) -> None:
    parent = jobs.create_job(cli_app, "process", video_id=None)
    kids = [jobs.create_job(cli_app, "render", clip_id=None, options={"parent_id": parent.id}) for _ in range(4)]
    jobs.start_attempt(cli_app, parent.id)
    jobs.succeed(cli_app, kids[0].id)
    assert jobs.refresh_parent(cli_app, parent.id).progress == 25
    jobs.succeed(cli_app, kids[1].id)
    jobs.succeed(cli_app, kids[2].id)
    jobs.fail(cli_app, kids[3].id, "out of disk")
    final = jobs.refresh_parent(cli_app, parent.id)
    assert final.status == JobStatus.FAILED and final.stage == "render"
    assert final.error == "1 of 4 clips failed to render: clip None: out of disk"


def test_a_stale_progress_count_never_overwrites_a_finished_parent(
    cli_app: Clipcast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two children ending at once each refresh the parent: the one that read "2 of 3 ended" can write after the
    one that saw all 3 and finished the parent. That late write must not turn "3 clips rendered" into "2 of 3"."""
    parent = jobs.create_job(cli_app, "process")
    kids = [jobs.create_job(cli_app, "render", options={"parent_id": parent.id}) for _ in range(3)]
    jobs.start_attempt(cli_app, parent.id)
    for kid in kids[:2]:
        jobs.succeed(cli_app, kid.id)
    children = jobs.children

    def stale_then_sibling_finishes(app: Clipcast, parent_id: int) -> list[Job]:
        seen = children(app, parent_id)  # 2 of 3 ended, as this refresh read them
        jobs.succeed(app, kids[2].id)
        monkeypatch.setattr(jobs, "children", children)
        jobs.refresh_parent(app, parent_id)  # the sibling's refresh, which sees all 3 and finishes the parent
        return seen

    monkeypatch.setattr(jobs, "children", stale_then_sibling_finishes)
    after = jobs.refresh_parent(cli_app, parent.id)
    assert (after.status, after.message, after.progress) == (JobStatus.SUCCEEDED, "3 clips rendered", 100.0)


def test_cancelling_a_parent_cancels_its_queued_clips_at_once(cli_app: Clipcast) -> None:
    parent = jobs.create_job(cli_app, "process")
    kids = [jobs.create_job(cli_app, "render", options={"parent_id": parent.id}) for _ in range(2)]
    jobs.start_attempt(cli_app, parent.id)
    jobs.update_job(cli_app, parent.id, stage="render")
    assert jobs.cancel_job(cli_app, parent.id).status == JobStatus.CANCELLED
    assert [jobs.get_job(cli_app, k.id).status for k in kids] == [JobStatus.CANCELLED] * 2


def test_insert_jobs_writes_the_rows_create_job_writes(cli_app: Clipcast) -> None:
    """The API's Core path (jobs.insert_jobs) and the ORM path (jobs.create_job) give the same row, defaults
    and all, and the ids come back in the order of the specs."""
    spec = {"kind": "render", "options": {"render_options": {"captions": False}}}
    orm = jobs.create_job(cli_app, **spec)
    with cli_app.transaction() as conn:
        core_rows = jobs.insert_jobs(conn, [spec, {**spec, "kind": "analyze"}])
    assert [r["kind"] for r in core_rows] == ["render", "analyze"] and core_rows[0]["id"] < core_rows[1]["id"]
    varying = {"id", "created_at", "updated_at"}
    with cli_app.session() as s:
        stored = [s.get(Job, r["id"]).model_dump() for r in core_rows]  # type: ignore[union-attr]
    assert {k: v for k, v in stored[0].items() if k not in varying} == {
        k: v for k, v in orm.model_dump().items() if k not in varying
    }
    assert {k: v for k, v in core_rows[0].items() if k not in varying} == {
        k: v for k, v in stored[0].items() if k not in varying
    }
    with pytest.raises(InputError, match="unknown job kind"), cli_app.transaction() as conn:
        jobs.insert_jobs(conn, [{"kind": "nope"}])
