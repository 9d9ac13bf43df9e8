"""The per-account learner: a simulation with known weights, the post threshold, reset, and the re-ranking a
schedule applies with ``selection.learn``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fakes.analytics_env import published_post
from fakes.publish_env import make_app
from sqlmodel import select

from core import accounts
from core.analytics import learn
from core.models import AccountModel, Clip, Schedule, SocialAccount
from core.schedules import eligible_clips, fill_slot

SUBS = ["hook", "value", "emotion", "shareability"]
#: The true effect of each sub-score (per standard deviation) on log-performance; shareability has none.
TRUE = {"hook": 0.8, "value": 0.4, "emotion": -0.5, "shareability": 0.0}
WORDS = ["money", "health", "travel", "cooking", "music", "science", "history", "sports", "gaming", "fashion"]


def synthetic(n: int, seed: int) -> tuple[list[learn.Example], np.ndarray]:
    """Posts whose log-views depend on the sub-scores (TRUE) and length, plus noise; and the selector's own
    unlearned score (the sub-scores' plain mean, which gets emotion's sign wrong)."""
    rng = np.random.default_rng(seed)
    examples, scores = [], []
    for _ in range(n):
        sub = {k: float(rng.uniform(20, 95)) for k in SUBS}
        duration = float(rng.uniform(15, 60))
        z = {k: (sub[k] - 57.5) / 21.7 for k in SUBS}
        log_views = sum(TRUE[k] * z[k] for k in SUBS) - 0.3 * (duration - 37.5) / 13 + rng.normal(0, 0.7)
        text = " ".join(rng.choice(WORDS, size=3, replace=False))
        examples.append(
            learn.Example(
                sub_scores=sub,
                duration=duration,
                hour=float(rng.integers(0, 24)),
                text=text,
                views_7d=float(round(1000 * np.exp(log_views))),
            )
        )
        scores.append(np.mean(list(sub.values())))
    return examples, np.asarray(scores)


def test_simulation_recovers_weights_and_ranks_held_out_posts_better():
    examples, scores = synthetic(200, seed=7)
    train, test = examples[:150], examples[150:]
    model = learn.fit(train, topic_words=10, bootstrap=200)
    weights = {row["feature"]: row for row in learn.weights_table(model)}
    learned = np.asarray([weights[f"sub:{k}"]["weight"] for k in SUBS])
    truth = np.asarray([TRUE[k] for k in SUBS])
    cosine = float(learned @ truth / np.linalg.norm(learned) / np.linalg.norm(truth))
    views = [e.views_7d for e in test]
    rho_learned = learn.spearman(learn.predict(model, test), views)
    rho_unlearned = learn.spearman(scores[150:], views)
    print(
        f"\nweights vs truth: cosine {cosine:.3f}; "
        + ", ".join(f"{k} {w:+.3f}" for k, w in zip(SUBS, learned, strict=True))
    )
    print(f"held-out Spearman rho: learned {rho_learned:.3f}, unlearned scores {rho_unlearned:.3f}")
    for k in ("hook", "value", "emotion"):  # the direction of every real effect, with its interval off zero
        row = weights[f"sub:{k}"]
        assert np.sign(row["weight"]) == np.sign(TRUE[k]) and row["sign_agreement"] > 0.95
        assert row["ci_low"] > 0 if TRUE[k] > 0 else row["ci_high"] < 0
    assert cosine > 0.9
    assert weights["length"]["weight"] < 0
    assert rho_learned > rho_unlearned


def test_fit_refuses_too_few_posts():
    examples, _ = synthetic(4, seed=1)
    with pytest.raises(ValueError):
        learn.fit(examples)


# ----------------------------------------------------------------------------------------- per account (DB)

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def account_with_posts(app, n: int, *, seed: int = 3) -> int:
    account_id = accounts.save_connection(app, "folder", {}, name="outbox").id
    examples, _ = synthetic(n, seed)
    with app.session() as s:
        s.add(Schedule(account_id=account_id, cron="0 18 * * *", timezone="Europe/Berlin"))
    for i, e in enumerate(examples):
        published_post(app, account_id, f"p{i}", T0 + i * timedelta(hours=5), platform="folder",
                       sub_scores=e.sub_scores, duration=e.duration, text=e.text, views_7d=e.views_7d)  # fmt: skip
    return account_id


def test_threshold_reset_and_weights(tmp_path):
    app = make_app(tmp_path, {}, analytics={"min_posts": 20, "bootstrap": 50})
    account_id = account_with_posts(app, 19)
    assert learn.refit(app, account_id) is None and learn.get_model(app, account_id) is None  # 19 < 20
    examples, _ = synthetic(1, seed=99)
    published_post(app, account_id, "p-last", T0 + timedelta(days=30), platform="folder",
                   sub_scores=examples[0].sub_scores, duration=30, views_7d=1500)  # fmt: skip
    row = learn.refit(app, account_id)
    assert row is not None and row.posts == 20 and row.model["posts"] == 20
    assert {r["feature"] for r in learn.weights_table(row.model)} >= {f"sub:{k}" for k in SUBS} | {"length"}
    learn.reset(app, account_id)
    assert learn.get_model(app, account_id) is None
    assert learn.refit(app, account_id) is None  # the posts before the reset no longer count


def test_schedule_pick_uses_the_account_history(tmp_path):
    app = make_app(tmp_path, {}, analytics={"min_posts": 20, "bootstrap": 50, "learn_points": 30},
                   selection={"learn": True})  # fmt: skip
    account_id = account_with_posts(app, 60)
    assert learn.refit(app, account_id) is not None
    account = accounts.get_account(app, account_id)
    with app.session() as s:
        video_id = s.get(Clip, 1).video_id
        ready = {"video_id": video_id, "start": 0, "end": 30, "status": "rendered", "video_key": "renders/x.mp4"}
        loud = Clip(**ready, score=80, title="loud",
                    sub_scores={"hook": 20, "value": 25, "emotion": 95, "shareability": 95})  # fmt: skip
        hooky = Clip(**ready, score=70, title="hooky",
                     sub_scores={"hook": 95, "value": 90, "emotion": 20, "shareability": 30})  # fmt: skip
        s.add_all([loud, hooky])
        s.flush()
        ids = (loud.id, hooky.id)
    with app.session() as s:
        candidates = [s.get(Clip, i) for i in ids]
    chosen = learn.pick(app, account, candidates, T0 + timedelta(days=60))
    assert chosen.id == ids[1]  # the lower-scored clip wins: this account's viewers reward hooks, not emotion
    with app.session() as s:
        reason = s.get(Clip, ids[1]).reason
    assert f"account {account_id} history, 60 posts" in reason and "points" in reason and "hook" in reason
    with app.session() as s:
        schedule = s.exec(select(Schedule)).one()
    outcome = fill_slot(app, schedule, T0 + timedelta(days=61))  # the schedule's own pick goes the same way
    assert outcome.outcome == "posted" and outcome.clip_id == ids[1]
    with app.session() as s:
        assert s.get(Clip, ids[1]).reason.count("history") == 1  # the second pick replaced the note
    with app.session() as s:  # a model that no longer fits the data never costs a slot
        row = s.get(AccountModel, account_id)
        row.model = {**row.model, "features": ["sub:gone"]}
        s.add(row)
    assert learn.pick(app, account, candidates, T0 + timedelta(days=62)).id == ids[0]
    app.settings.selection.learn = False
    with app.session() as s:
        unlearned = eligible_clips(s, schedule, s.get(SocialAccount, account_id))
    assert unlearned[0].id == ids[0]  # without learning the selector's score decides
