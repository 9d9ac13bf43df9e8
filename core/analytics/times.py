"""Posting-time suggestions from an account's own history.

Each post's performance is its 7-day views against the account's median (``log((v + 1) / (median + 1))``, as
the learner uses). Per local hour and per weekday (the time zone of the account's schedule, else UTC) the
suggestion reports the count and the mean, and ranks by a mean shrunk towards "typical" by ``PRIOR`` imaginary
average posts, so an hour with one lucky post does not top the list. Nothing is suggested from fewer than
``analytics.min_posts`` posts; an hour needs at least two posts to be suggested.
"""

from __future__ import annotations

import math
from typing import Any

from core.analytics.learn import local_time, training_posts

PRIOR = 3.0
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _table(groups: dict[int, list[float]], label: Any) -> list[dict[str, Any]]:
    rows = [
        {"at": label(k), "posts": len(v), "mean": sum(v) / len(v), "shrunk": sum(v) / (len(v) + PRIOR)}
        for k, v in groups.items()
    ]
    return sorted(rows, key=lambda r: -r["shrunk"])


def suggest(app: Any, account_id: int, *, best: int = 2) -> dict[str, Any]:
    """Hours and weekdays ranked by shrunk mean performance, with counts, and a cron line for a schedule."""
    rows = training_posts(app, account_id)
    need = app.settings.analytics.min_posts
    out: dict[str, Any] = {"account_id": account_id, "posts": len(rows), "needed": need}
    if len(rows) < need:
        out["message"] = f"{len(rows)} posts have 7-day numbers; suggestions need {need}"
        return out
    views = sorted(v for _p, _c, v, _tz in rows)
    median = views[len(views) // 2]
    hours: dict[int, list[float]] = {}
    days: dict[int, list[float]] = {}
    tz = rows[0][3]
    for post, _clip, v, zone in rows:
        local = local_time(post.published_at or post.scheduled_at, zone)
        y = math.log((v + 1) / (median + 1))
        hours.setdefault(local.hour, []).append(y)
        days.setdefault(local.weekday(), []).append(y)
    out["timezone"] = tz
    out["hours"] = _table(hours, lambda h: f"{h:02d}:00")
    out["weekdays"] = _table(days, lambda d: DAYS[d])
    picks = [int(r["at"][:2]) for r in out["hours"] if r["posts"] >= 2 and r["shrunk"] > 0][:best]
    out["suggested_cron"] = f"0 {','.join(str(h) for h in sorted(picks))} * * *" if picks else None
    return out
