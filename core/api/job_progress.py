"""One overall percent for a job whose ``progress`` restarts at each stage, and a rough time left.

A job row reports the percent of its *current* stage; a person watching wants the whole job. The weights are
shares of a typical run (transcription dominates analysis, encoding dominates rendering); a stage not listed
for its kind counts as nothing, so an unknown stage never moves the bar backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime

STAGES: dict[str, list[tuple[str, float]]] = {
    "analyze": [("ingest", 10), ("transcribe", 60), ("select", 30)],
    "process": [("ingest", 5), ("transcribe", 35), ("select", 15), ("render", 40), ("export", 5)],
    "render": [("render", 100)],
    "publish": [("publish", 90), ("check", 10)],
}


def overall_percent(kind: str, status: str, stage: str, progress: float) -> float:
    """0-100 across every stage of ``kind``; 100 once the job succeeded."""
    if status == "succeeded":
        return 100.0
    stages = STAGES.get(kind)
    if not stages:
        return round(max(0.0, min(progress, 100.0)), 1)
    total = sum(w for _, w in stages)
    names = [n for n, _ in stages]
    if stage not in names:
        return 0.0
    i = names.index(stage)
    done = sum(w for _, w in stages[:i]) + stages[i][1] * max(0.0, min(progress, 100.0)) / 100
    return round(100 * done / total, 1)


def eta_seconds(status: str, overall: float, started_at: datetime | None, now: datetime | None = None) -> float | None:
    """Seconds left at the rate so far; None while queued, finished, or too early to tell (under 3 %)."""
    if status != "running" or started_at is None or overall < 3:
        return None
    started = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    elapsed = ((now or datetime.now(UTC)) - started).total_seconds()
    return round(max(0.0, elapsed * (100 - overall) / overall), 0)
