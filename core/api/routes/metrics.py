"""Prometheus metrics, computed from the database at scrape time (so every API replica reports the same).

Exposed without authentication (counts only, no ids or names); put /metrics behind the reverse proxy's access
rules when the API is public.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import col, select

from core.analytics.report import AnalyticsCollector
from core.app import Clipcast
from core.models import Job, JobStatus, Post

router = APIRouter(tags=["health"])


class DatabaseCollector:
    def __init__(self, app: Clipcast) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("clipcast_jobs", "Jobs by kind and state", labels=["kind", "state"])
        depth = GaugeMetricFamily("clipcast_queue_depth", "Jobs waiting to run, by queue", labels=["queue"])
        seconds = GaugeMetricFamily(
            "clipcast_job_duration_seconds_sum", "Total run time of finished jobs, by kind (stage)", labels=["kind"]
        )
        finished = GaugeMetricFamily(
            "clipcast_job_duration_seconds_count", "Finished jobs with a run time, by kind (stage)", labels=["kind"]
        )
        posts = GaugeMetricFamily("clipcast_posts", "Posts by outcome", labels=["platform", "status"])
        from core.jobs import KIND_QUEUE

        with self.app.session() as s:
            queued: dict[str, int] = {}
            for kind, status, n in s.exec(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)):
                jobs.add_metric([kind, status], n)
                if status == JobStatus.QUEUED:
                    queue = KIND_QUEUE.get(kind, kind)
                    queued[queue] = queued.get(queue, 0) + n
            for queue in sorted(set(KIND_QUEUE.values())):
                depth.add_metric([queue], queued.get(queue, 0))
            done = s.exec(
                select(Job.kind, Job.started_at, Job.finished_at).where(
                    col(Job.started_at).is_not(None),
                    col(Job.finished_at).is_not(None),
                    Job.status == JobStatus.SUCCEEDED,
                )
            ).all()
            totals: dict[str, list[float]] = {}
            for kind, started, ended in done:
                totals.setdefault(kind, []).append(max(0.0, (ended - started).total_seconds()))
            for kind, values in sorted(totals.items()):
                seconds.add_metric([kind], sum(values))
                finished.add_metric([kind], len(values))
            for platform, status, n in s.exec(
                select(Post.platform, Post.status, func.count()).group_by(Post.platform, Post.status)
            ):
                posts.add_metric([platform or "", status], n)
        yield from (jobs, depth, seconds, finished, posts)


@router.get(
    "/metrics",
    summary="Prometheus metrics: jobs by state, job durations, queue depth, posts by outcome",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry()
        registry.register(DatabaseCollector(request.app.state.clipcast))
        registry.register(AnalyticsCollector(request.app.state.clipcast))
        request.app.state.metrics_registry = registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
