"""Learning from one account's posts: a ridge regression of performance on what Clipcast knew before posting.

Target: ``log((views_7d + 1) / (median + 1))``, the post's views at 7 days against the account's median (so 0
is a typical post, +0.69 twice as many views). Features: the selector's sub-scores as stored on the clip, the
clip's length, the posting hour (as a point on the 24-hour circle, in the schedule's time zone) and the
``topic_words`` most common words of the account's clip titles and transcripts (present or not). Every column
is standardised, so a weight reads as "log-performance per standard deviation".

Ridge (numpy, closed form) with its penalty picked by leave-one-out error from a fixed grid; the weights'
uncertainty comes from ``bootstrap`` resamples of the posts (standard deviation and a 90% interval). The
model is never fitted on fewer than ``analytics.min_posts`` posts with 7-day numbers. ``reset`` forgets the
model and counts only posts published after it.

``pick`` applies it after selection (the selector stays untouched): a schedule's eligible clips are re-ranked
by ``score + learn_points * clip(prediction, -2, 2)`` for the slot's hour, and the chosen clip's reason says
what the account's history added.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlmodel import col, select

from core.analytics.collect import aware
from core.logging import get_logger
from core.models import AccountModel, Clip, Post, PostMetricSummary, Schedule, utcnow

log = get_logger("clipcast.analytics")

ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
STOPWORDS = set(
    [
        "about",
        "after",
        "again",
        "also",
        "because",
        "been",
        "before",
        "being",
        "could",
        "does",
        "doing",
        "from",
        "have",
        "having",
        "here",
        "into",
        "just",
        "like",
        "made",
        "make",
        "more",
        "most",
        "much",
        "only",
        "other",
        "over",
        "really",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "thing",
        "things",
        "think",
        "this",
        "those",
        "through",
        "very",
        "want",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "your",
        "you're",
        "yeah",
        "going",
        "know",
        "actually",
        "right",
        "okay",
    ]
)
WORD = re.compile(r"[a-z][a-z']{3,}")


@dataclass
class Example:
    """One post as the learner sees it. ``views_7d`` is None for a clip not posted yet (prediction only)."""

    sub_scores: dict[str, float]
    duration: float
    hour: float
    text: str
    views_7d: float | None = None


def words_of(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def spearman(a: Any, b: Any) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        order = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=float)
        for value in np.unique(x):
            same = x == value
            r[same] = r[same].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


# --------------------------------------------------------------------------------------------------- model


def _columns(examples: list[Example], topic_words: int) -> tuple[list[str], list[str]]:
    subs = sorted({k for e in examples for k in e.sub_scores})
    docs = Counter(w for e in examples for w in words_of(e.text))
    floor = max(3, math.ceil(0.1 * len(examples)))
    words = [w for w, n in sorted(docs.items(), key=lambda kv: (-kv[1], kv[0])) if n >= floor][:topic_words]
    return subs, words


def _matrix(examples: list[Example], subs: list[str], words: list[str], fill: dict[str, float]) -> Any:
    rows = []
    for e in examples:
        present = words_of(e.text)
        angle = 2 * math.pi * (e.hour % 24) / 24
        rows.append(
            [float(e.sub_scores.get(k, fill.get(k, 50.0))) for k in subs]
            + [e.duration, math.sin(angle), math.cos(angle)]
            + [1.0 if w in present else 0.0 for w in words]
        )
    return np.asarray(rows, dtype=float)


def _names(subs: list[str], words: list[str]) -> list[str]:
    return [f"sub:{k}" for k in subs] + ["length", "hour_sin", "hour_cos"] + [f"word:{w}" for w in words]


def _ridge(x: Any, y: Any, alpha: float) -> Any:
    return np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ y)


def _loo_error(x: Any, y: Any, alpha: float) -> float:
    """Leave-one-out mean squared error of ridge in closed form (residual / (1 - leverage))."""
    hat = x @ np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T)
    resid = y - hat @ y
    lev = np.clip(np.diag(hat), 0, 0.999)
    return float(np.mean((resid / (1 - lev)) ** 2))


def fit(examples: list[Example], *, topic_words: int = 20, bootstrap: int = 200, seed: int = 0) -> dict[str, Any]:
    """Fit the model on posts with 7-day views; returns it as plain JSON-able data."""
    train = [e for e in examples if e.views_7d is not None]
    if len(train) < 5:
        raise ValueError("at least 5 posts with 7-day views are needed to fit anything")
    views = np.asarray([e.views_7d for e in train], dtype=float)
    median = float(np.median(views))
    y = np.log((views + 1) / (median + 1))
    subs, words = _columns(train, topic_words)
    fill = {k: float(np.mean([e.sub_scores[k] for e in train if k in e.sub_scores])) for k in subs}
    raw = _matrix(train, subs, words, fill)
    names = _names(subs, words)
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    keep = std > 1e-9
    x = (raw[:, keep] - mean[keep]) / std[keep]
    yc = y - y.mean()
    alpha = min(ALPHAS, key=lambda a: _loo_error(x, yc, a))
    weights = _ridge(x, yc, alpha)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(bootstrap):
        idx = rng.integers(0, len(train), len(train))
        xb = x[idx]
        boot.append(_ridge(xb - xb.mean(axis=0), y[idx] - y[idx].mean(), alpha))
    samples = np.asarray(boot)
    sign = np.sign(weights)
    return {
        "version": 1,
        "posts": len(train),
        "median_views": median,
        "intercept": float(y.mean()),
        "alpha": alpha,
        "subs": subs,
        "words": words,
        "fill": fill,
        "features": [n for n, k in zip(names, keep, strict=True) if k],
        "mean": [float(v) for v in mean[keep]],
        "std": [float(v) for v in std[keep]],
        "weights": [float(v) for v in weights],
        "weights_std": [float(v) for v in samples.std(axis=0)],
        "ci_low": [float(v) for v in np.percentile(samples, 5, axis=0)],
        "ci_high": [float(v) for v in np.percentile(samples, 95, axis=0)],
        "sign_agreement": [float(v) for v in (np.sign(samples) == sign).mean(axis=0)],
        "fit_rho": spearman(x @ weights, y),
    }


def _standardised(model: dict[str, Any], examples: list[Example]) -> Any:
    raw = _matrix(examples, model["subs"], model["words"], model.get("fill") or {})
    names = _names(model["subs"], model["words"])
    index = [names.index(n) for n in model["features"]]
    return (raw[:, index] - np.asarray(model["mean"])) / np.asarray(model["std"])


def predict(model: dict[str, Any], examples: list[Example]) -> Any:
    """Predicted log-performance against the account's median (0 = a typical post)."""
    if not examples:
        return np.zeros(0)
    return model["intercept"] + _standardised(model, examples) @ np.asarray(model["weights"])


def contributions(model: dict[str, Any], example: Example) -> list[tuple[str, float]]:
    """Each feature group's share of the prediction (sub-score names, length, hour, words), largest first."""
    parts = _standardised(model, [example])[0] * np.asarray(model["weights"])
    groups: dict[str, float] = {}
    for name, value in zip(model["features"], parts, strict=True):
        key = "hour" if name.startswith("hour_") else name.split(":", 1)[-1]
        groups[key] = groups.get(key, 0.0) + float(value)
    return sorted(groups.items(), key=lambda kv: -abs(kv[1]))


# ------------------------------------------------------------------------------------------ per account (DB)


def post_timezone(s: Any, post: Post) -> str:
    if post.schedule_id:
        schedule = s.get(Schedule, post.schedule_id)
        if schedule is not None:
            return schedule.timezone
    first = s.exec(select(Schedule.timezone).where(Schedule.account_id == post.account_id)).first()
    return first or "UTC"


def local_time(at: datetime, tz: str) -> datetime:
    try:
        return aware(at).astimezone(ZoneInfo(tz))
    except Exception:
        return aware(at)


def example_of(clip: Clip, at: datetime, tz: str, views_7d: float | None = None) -> Example:
    local = local_time(at, tz)
    return Example(
        sub_scores=dict(clip.sub_scores or {}),
        duration=float(clip.end - clip.start),
        hour=local.hour + local.minute / 60,
        text=f"{clip.title} {clip.text}",
        views_7d=views_7d,
    )


def training_posts(app: Any, account_id: int) -> list[tuple[Post, Clip, float, str]]:
    """The account's posts with 7-day views since the last reset: (post, clip, views_7d, time zone)."""
    with app.session() as s:
        state = s.get(AccountModel, account_id)
        since = aware(state.learn_since) if state is not None and state.learn_since else None
        rows = s.exec(
            select(Post, Clip, PostMetricSummary.views_7d)
            .join(Clip, Clip.id == Post.clip_id)
            .join(PostMetricSummary, PostMetricSummary.post_id == Post.id)
            .where(Post.account_id == account_id, col(PostMetricSummary.views_7d).is_not(None))
            .order_by(col(Post.id))
        ).all()
        out = []
        for post, clip, views in rows:
            at = aware(post.published_at or post.scheduled_at)
            if since is None or at >= since:
                out.append((post, clip, float(views), post_timezone(s, post)))
        return out


def refit(app: Any, account_id: int, *, force: bool = False) -> AccountModel | None:
    """Fit the account's model when it has ``min_posts`` posts with 7-day views and more of them than the last
    fit (7-day numbers never change once set); None when nothing was fitted."""
    cfg = app.settings.analytics
    rows = training_posts(app, account_id)
    if len(rows) < cfg.min_posts:
        return None
    current = get_model(app, account_id)
    if current is not None and current.posts == len(rows) and not force:
        return None
    examples = [example_of(clip, post.published_at or post.scheduled_at, tz, views) for post, clip, views, tz in rows]
    model = fit(examples, topic_words=cfg.topic_words, bootstrap=cfg.bootstrap, seed=account_id)
    with app.session() as s:
        row = s.get(AccountModel, account_id) or AccountModel(account_id=account_id)
        row.model, row.posts, row.fitted_at = model, len(rows), utcnow()
        s.add(row)
    log.info("learned from the account's posts", account_id=account_id, posts=len(rows), alpha=model["alpha"])
    return row


def get_model(app: Any, account_id: int) -> AccountModel | None:
    with app.session() as s:
        row = s.get(AccountModel, account_id)
    return row if row is not None and row.model else None


def reset(app: Any, account_id: int) -> None:
    """Forget what was learned; only posts published from now on will count."""
    with app.session() as s:
        row = s.get(AccountModel, account_id) or AccountModel(account_id=account_id)
        row.model, row.posts, row.fitted_at, row.learn_since = {}, 0, None, utcnow()
        s.add(row)


def weights_table(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The weights, largest first, with their bootstrap spread."""
    rows = [
        {
            "feature": name,
            "weight": model["weights"][i],
            "std": model["weights_std"][i],
            "ci_low": model["ci_low"][i],
            "ci_high": model["ci_high"][i],
            "sign_agreement": model["sign_agreement"][i],
        }
        for i, name in enumerate(model["features"])
    ]
    return sorted(rows, key=lambda r: -abs(r["weight"]))


def describe(app: Any, account_id: int) -> dict[str, Any]:
    """The learned weights with their uncertainty, or why there are none yet (for the API and the CLI)."""
    with app.session() as s:
        state = s.get(AccountModel, account_id)
    model = state.model if state is not None and state.model else None
    need = app.settings.analytics.min_posts
    return {
        "account_id": account_id,
        "posts": state.posts if state is not None and model else 0,
        "needed": need,
        "fitted_at": state.fitted_at if state is not None and model else None,
        "learn_since": state.learn_since if state is not None else None,
        "median_views_7d": model["median_views"] if model else None,
        "alpha": model["alpha"] if model else None,
        "weights": weights_table(model) if model else [],
        "message": ""
        if model
        else f"{len(training_posts(app, account_id))} posts have 7-day numbers; learning needs {need}",
    }


# --------------------------------------------------------------------------------------------- re-ranking


def pick(app: Any, account: Any, candidates: list[Clip], slot: datetime) -> Clip:
    """The best clip for this account's slot once its history is counted (the selector's best when there is no
    model yet); the chosen clip's reason gains a line saying what the history added. Never fails a slot: any
    trouble with the model falls back to the selector's order."""
    try:
        return _pick(app, account, candidates, slot)
    except Exception as exc:
        log.warning("could not apply the account's history; using the selector's order", error=repr(exc))
        return candidates[0]


def _pick(app: Any, account: Any, candidates: list[Clip], slot: datetime) -> Clip:
    found = get_model(app, account.id)
    if found is None or not candidates:
        return candidates[0]
    model = found.model
    with app.session() as s:
        tz = s.exec(select(Schedule.timezone).where(Schedule.account_id == account.id)).first() or "UTC"
    examples = [example_of(c, slot, tz) for c in candidates]
    preds = predict(model, examples)
    points = [app.settings.analytics.learn_points * max(-2.0, min(2.0, float(p))) for p in preds]
    order = sorted(range(len(candidates)), key=lambda i: -(candidates[i].score + points[i]))
    best = order[0]
    clip = candidates[best]
    top = ", ".join(f"{name} {value:+.2f}" for name, value in contributions(model, examples[best])[:3])
    note = (
        f"[{account.platform} account {account.id} history, {found.posts} posts] {points[best]:+.1f} points "
        f"(predicted {math.exp(float(preds[best])):.2f}x the median views; {top})"
    )
    _note_reason(app, clip.id, account.id, note)  # type: ignore[arg-type]
    if best != 0:
        log.info("account history changed the pick", account_id=account.id, clip_id=clip.id, over=candidates[0].id)
    return clip


def _note_reason(app: Any, clip_id: int, account_id: int, note: str) -> None:
    tag = f"account {account_id} history, "
    with app.session() as s:
        row = s.get(Clip, clip_id)
        if row is None:
            return
        kept = [line for line in (row.reason or "").split("\n") if not (line.startswith("[") and tag in line)]
        row.reason = "\n".join([*kept, note]).strip()
        s.add(row)
