"""``clipcast eval``: run a selector over a labelled manifest and score it beside two baselines, in one run.

Baselines (same videos, same request): ``random`` windows (lengths uniform in the request's bounds, random
places, averaged over ``seeds`` seeds) and ``first`` (the talk's first back-to-back windows of
``first_seconds``, what a clipper without selection would post). Figures are defined in
``core.evaluation.metrics``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from core.config import make_backend
from core.contracts import ClipPlan, ClipSelector, SelectionRequest
from core.errors import InputError
from core.evaluation.manifest import Manifest
from core.evaluation.metrics import (
    Overall,
    VideoScore,
    first_windows,
    mean_overall,
    overall,
    precision_table,
    random_windows,
    score_video,
)
from core.evaluation.prepare import Prepared, prepare
from core.pipeline.pauses import find_pauses
from core.pipeline.select import run_selection


@dataclass
class EvalReport:
    selector: str
    request: SelectionRequest
    videos: list[VideoScore]
    overall: Overall
    baselines: dict[str, Overall]
    precision: list[dict]
    plans: dict[str, list[ClipPlan]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "request": self.request.model_dump(mode="json"),
            "overall": self.overall.as_dict(),
            "baselines": {k: v.as_dict() for k, v in self.baselines.items()},
            "min_score_precision": self.precision,
            "videos": [
                {
                    "id": v.id,
                    "top1": v.top1,
                    "top3": v.top3,
                    "rr": round(v.rr, 3),
                    "highlights_found": v.found,
                    "highlights": v.highlights,
                    "clips": v.clips,
                    "cut_in_speech": v.cut,
                    "clips_detail": [
                        {"start": p.start, "end": p.end, "score": p.score, "title": p.title, "reason": p.reason}
                        for p in self.plans.get(v.id, [])
                    ],
                }
                for v in self.videos
            ],
        }


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; values are read as YAML scalars (``weights={hook: 2}``, ``max_gap=0.4``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {pair!r} is not key=value", "e.g. --option model=llama3.1:8b")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def build_selector(app: Any, name: str | None, options: dict[str, Any] | None = None) -> ClipSelector:
    """The configured (or named) selector, with ``options`` laid over its configured section."""
    if not options:
        return app.selector(name)
    settings = app.settings
    name = name or settings.llm.backend
    section = dict(settings.llm.sections().get(name) or {}) | options
    llm = settings.llm.model_copy(update={name: section})
    selector = make_backend(settings.model_copy(update={"llm": llm}), "llm", name)
    selector.bind(settings)
    return selector


def evaluate(
    app: Any,
    manifest: Manifest,
    selector: ClipSelector,
    request: SelectionRequest,
    *,
    stt: str | None = None,
    seeds: int = 200,
    first_seconds: float = 30.0,
    progress: Callable[[str], None] = lambda _m: None,
) -> EvalReport:
    prepared: list[Prepared] = []
    for entry in manifest.videos:
        progress(f"transcript: {entry.id}")
        prepared.append(prepare(app, manifest, entry, stt=stt))
    scores: list[VideoScore] = []
    plans: dict[str, list[ClipPlan]] = {}
    pauses = {p.entry.id: find_pauses(p.audio) for p in prepared}
    for p in prepared:
        progress(f"selecting: {p.entry.id}")
        got = run_selection(app, selector, p.transcript, request, audio=p.audio, duration=p.duration)
        plans[p.entry.id] = got
        scores.append(
            score_video(
                p.entry.id,
                [(c.start, c.end) for c in got],
                _spans(p),
                pauses[p.entry.id],
                p.duration,
                [c.score for c in got],
            )
        )
    runs = []
    for seed in range(seeds):
        rng = random.Random(seed)
        runs.append(
            overall(
                [
                    score_video(
                        p.entry.id,
                        random_windows(rng, p.duration, request.clips, request.min_seconds, request.max_seconds),
                        _spans(p),
                        pauses[p.entry.id],
                        p.duration,
                    )
                    for p in prepared
                ]
            )
        )
    length = min(max(first_seconds, request.min_seconds), request.max_seconds)
    first = overall(
        [
            score_video(
                p.entry.id,
                first_windows(p.duration, request.clips, length),
                _spans(p),
                pauses[p.entry.id],
                p.duration,
            )
            for p in prepared
        ]
    )
    return EvalReport(
        selector=selector.name,
        request=request,
        videos=scores,
        overall=overall(scores),
        baselines={f"random windows ({seeds} seeds)": mean_overall(runs), f"first {length:g} s windows": first},
        precision=precision_table(scores),
        plans=plans,
    )


def _spans(p: Prepared) -> list[tuple[float, float]]:
    return [(h.start, h.end) for h in p.entry.highlights]


# ---------------------------------------------------------------------------------------------- printing


def _row(name: str, o: Overall) -> str:
    err = f"{o.boundary_error:.1f} s" if o.boundary_error is not None else "-"
    return (
        f"{name:<28} {o.top1:>5.2f} {o.top3:>5.2f} {o.mrr:>5.2f} {o.recall:>6.2f} {100 * o.cut_share:>8.0f}% {err:>9}"
    )


HEADER = f"{'':<28} {'top-1':>5} {'top-3':>5} {'MRR':>5} {'recall':>6} {'cut-in-speech':>9} {'bound.err':>9}"


def format_report(report: EvalReport) -> str:
    r = report.request
    lines = [
        f"selector {report.selector}: {r.clips} clips of {r.min_seconds:g}-{r.max_seconds:g} s per video; "
        "hit = clip covers >= 60% of a highlight and the highlight fills >= 50% of the clip",
        "",
        f"{'video':<28} {'top-1':>5} {'top-3':>5} {'RR':>5} {'found':>6} {'cut':>9} {'bound.err':>9}",
    ]
    for v in report.videos:
        err = f"{sum(v.errors) / len(v.errors):.1f} s" if v.errors else "-"
        lines.append(
            f"{v.id[:28]:<28} {v.top1:>5.0f} {v.top3:>5.0f} {v.rr:>5.2f} {v.found:>3}/{v.highlights:<2} "
            f"{v.cut:>5}/{v.clips:<3} {err:>9}"
        )
    o = report.overall
    lines += [
        "",
        f"overall: {o.videos} videos, {o.highlights} highlights, {o.clips} clips",
        HEADER,
        _row(report.selector, o),
        *(_row(name, b) for name, b in report.baselines.items()),
        "",
        "min_score precision (share of returned clips at or above the score that hit a highlight):",
        "  " + "  ".join(f">={row['min_score']}: {_prec(row)}" for row in report.precision),
    ]
    return "\n".join(lines)


def _prec(row: dict) -> str:
    return f"{row['precision']:.2f} ({row['clips']})" if row["precision"] is not None else f"- ({row['clips']})"
