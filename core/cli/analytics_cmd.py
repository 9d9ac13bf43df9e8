"""``clipcast analytics``: how posts did (a table with view sparklines), what an account's history taught
(``weights``, ``reset``), posting-time suggestions (``times``) and a collection run now (``collect``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.table import Table
from sqlmodel import select

from core.analytics import learn, report, times
from core.cli.common import console, out, state
from core.errors import InputError
from core.models import Post, SocialAccount

app = typer.Typer(help="Post analytics: metrics, learned weights, posting times.", invoke_without_command=True)


def _account_id(ref: str) -> int:
    """An account id, or the name of exactly one account."""
    with state.app().session() as s:
        if ref.isdigit() and s.get(SocialAccount, int(ref)) is not None:
            return int(ref)
        rows = s.exec(select(SocialAccount).where(SocialAccount.name == ref)).all()
    if len(rows) != 1:
        raise InputError(
            f"no single account is called {ref!r}" if rows else f"there is no account {ref!r}",
            "use the id shown by `clipcast accounts`",
        )
    return rows[0].id  # type: ignore[return-value]


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"


def _age(at: datetime | None) -> str:
    if at is None:
        return ""
    hours = (datetime.now(UTC) - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


@app.callback()
def overview(
    ctx: typer.Context,
    account: str | None = typer.Option(None, "--account", "-a", help="only this account (id or name)"),
    limit: int = typer.Option(30, "--limit", "-n", help="most recent posts shown"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Published posts with their latest numbers, a sparkline of their views and their views at 7 days."""
    if ctx.invoked_subcommand:
        return
    cc = state.app()
    conds = [Post.account_id == _account_id(account)] if account else []
    data = report.overview(cc, *conds)
    posts = data["posts"][:limit]
    if as_json:
        typer.echo(json.dumps({**data, "posts": posts}, indent=2, default=str))
        return
    if not posts:
        console.print("no published posts yet")
        return
    lines = report.views_sparklines(cc, [p["post_id"] for p in posts])
    table = Table(
        "post", "platform", "account", "age", "trend", "views", "likes", "comments", "shares", "7 d", "status"
    )
    for p in posts:
        v = p["latest"]
        status = p["status"] if not p["detail"] else f"{p['status']}: {p['detail'][:60]}"
        table.add_row(
            str(p["post_id"]), p["platform"], str(p["account_id"]), _age(p["published_at"]),
            lines.get(p["post_id"], ""), _num(v.get("views")), _num(v.get("likes")), _num(v.get("comments")),
            _num(v.get("shares")), _num(p["views_7d"]), status,
        )  # fmt: skip
    out.print(table)
    totals = ", ".join(f"{k} {_num(v)}" for k, v in sorted(data["totals"].items()))
    console.print(f"{len(data['posts'])} posts; totals: {totals or 'none yet'}; median views at 7 d: "
                  f"{_num(data['median_views_7d']) or 'n/a'}")  # fmt: skip


@app.command("post")
def post_series(post_id: int = typer.Argument(..., help="post id (see `clipcast posts`)")) -> None:
    """Every sample of one post, per metric."""
    series = report.series(state.app(), post_id)
    if not series:
        console.print(f"post {post_id} has no samples yet")
        return
    for metric, points in series.items():
        values = [p["value"] for p in points]
        out.print(f"{metric:>18} {report.sparkline(values, 40)} {_num(values[-1])} ({len(values)} samples)")


@app.command("weights")
def weights(account: str = typer.Argument(..., help="account id or name")) -> None:
    """What the account's own posts taught: each feature's weight with its bootstrap uncertainty."""
    data = learn.describe(state.app(), _account_id(account))
    if not data["weights"]:
        console.print(data["message"])
        return
    out.print(
        f"account {data['account_id']}: learned from {data['posts']} posts (median views at 7 d "
        f"{_num(data['median_views_7d'])}, ridge alpha {data['alpha']:g}); weight = log-performance per standard "
        "deviation, 90% bootstrap interval"
    )
    table = Table("feature", "weight", "±", "90% interval", "same sign")
    for row in data["weights"]:
        table.add_row(
            row["feature"], f"{row['weight']:+.3f}", f"{row['std']:.3f}",
            f"{row['ci_low']:+.3f} … {row['ci_high']:+.3f}", f"{row['sign_agreement']:.0%}",
        )  # fmt: skip
    out.print(table)


@app.command("reset")
def reset(
    account: str = typer.Argument(..., help="account id or name"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
) -> None:
    """Forget what was learned for the account; only posts published from now on will count."""
    account_id = _account_id(account)
    if not yes:
        typer.confirm(f"Forget what account {account_id}'s posts taught?", abort=True)
    learn.reset(state.app(), account_id)
    console.print(f"account {account_id}: learned weights forgotten; learning restarts from new posts")


@app.command("times")
def posting_times(account: str = typer.Argument(..., help="account id or name")) -> None:
    """The hours and weekdays whose posts did best for this account, with counts, as a schedule suggestion."""
    data = times.suggest(state.app(), _account_id(account))
    if "hours" not in data:
        console.print(data["message"])
        return
    for key, title in (("hours", f"hour ({data['timezone']})"), ("weekdays", "weekday")):
        table = Table(title, "posts", "mean", "ranked by")
        for row in data[key][:8]:
            table.add_row(row["at"], str(row["posts"]), f"{row['mean']:+.2f}", f"{row['shrunk']:+.2f}")
        out.print(table)
    cron = data["suggested_cron"]
    console.print(f"suggested schedule: cron '{cron}' ({data['timezone']})" if cron else "no hour stands out yet")


@app.command("collect")
def collect() -> None:
    """Collect the metrics that are due now (the scheduler does this every scheduler.metrics_interval)."""
    from core.analytics.collect import collect_due

    r = collect_due(state.app())
    console.print(
        f"fetched {r.fetched} posts ({r.samples} samples); statuses {r.statuses or '-'}"
        + (f"; throttled: {', '.join(r.throttled)}" if r.throttled else "")
        + (f"; daily budget used: {', '.join(r.over_budget)}" if r.over_budget else "")
        + (f"; learned for accounts {r.learned}" if r.learned else "")
    )
