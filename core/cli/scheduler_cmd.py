"""``clipcast scheduler`` (the one scheduler process), ``clipcast schedules`` and ``clipcast sources``."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from sqlmodel import select

from core.cli.common import console, out, state
from core.errors import InputError
from core.models import Schedule, SocialAccount, WatchedSource


def scheduler() -> None:
    """Run the scheduler: dispatch due posts, fill schedule slots, poll watched sources, refresh tokens.

    Run exactly one; a second one waits as a standby and takes over if the first stops.
    """
    from core.scheduler import main_loop

    app = state.app()
    if not app.settings.redis_url:
        console.print(
            "[yellow]no Redis configured: jobs this scheduler creates run inside this process "
            "(in embedded mode, `clipcast serve` already runs the scheduler)[/yellow]"
        )
    main_loop(app)


schedules_app = typer.Typer(help="Posting schedules (cron slots per account).", no_args_is_help=True)
sources_app = typer.Typer(help="Watched sources: folders, YouTube channels/playlists, RSS feeds.", no_args_is_help=True)


@schedules_app.command("list")
def schedules_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """All posting schedules."""
    with state.app().session() as s:
        rows = list(s.exec(select(Schedule)))
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("id", "name", "account", "cron", "zone", "min score", "auto", "max/day", "on")
    for r in rows:
        table.add_row(
            str(r.id),
            r.name,
            str(r.account_id),
            r.cron,
            r.timezone,
            f"{r.min_score:g}",
            "yes" if r.auto_approve else "no",
            str(r.max_per_day or "-"),
            "yes" if r.enabled else "no",
        )
    out.print(table)


@schedules_app.command("add")
def schedules_add(
    account: int = typer.Argument(..., help="social account id"),
    cron: str = typer.Argument(..., help="crontab slots, e.g. '0 9,18 * * *'"),
    timezone: str = typer.Option("UTC", "--tz", help="IANA time zone of the slots"),
    name: str = typer.Option("", "--name"),
    min_score: float = typer.Option(0, "--min-score", min=0, max=100),
    auto_approve: bool = typer.Option(False, "--auto-approve"),
    max_per_day: int | None = typer.Option(None, "--max-per-day", min=1),
    blackout: str = typer.Option("[]", "--blackout", help='JSON list, e.g. \'[{"start":"22:00","end":"07:00"}]\''),
) -> None:
    """Post the best approved clip to ACCOUNT at every CRON slot."""
    from core.schedules import validate_schedule

    try:
        windows = json.loads(blackout)
    except json.JSONDecodeError as exc:
        raise InputError(f"--blackout is not valid JSON: {exc}")
    validate_schedule(cron, timezone, windows)
    app = state.app()
    with app.session() as s:
        acc = s.get(SocialAccount, account)
        if acc is None:
            raise InputError(f"there is no social account {account}", "list them with `clipcast accounts`")
        row = Schedule(
            account_id=account,
            user_id=acc.user_id,
            name=name or f"{acc.platform}:{cron}",
            cron=cron,
            timezone=timezone,
            min_score=min_score,
            auto_approve=auto_approve,
            blackout=windows,
            max_per_day=max_per_day,
        )
        s.add(row)
        s.flush()
        console.print(f"schedule {row.id} added")


@schedules_app.command("remove")
def schedules_remove(schedule_id: int) -> None:
    """Delete a schedule (its posts stay)."""
    with state.app().session() as s:
        row = s.get(Schedule, schedule_id)
        if row is None:
            raise InputError(f"there is no schedule {schedule_id}")
        s.delete(row)
    console.print(f"schedule {schedule_id} removed")


@sources_app.command("list")
def sources_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """All watched sources."""
    with state.app().session() as s:
        rows = list(s.exec(select(WatchedSource)))
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("id", "kind", "target", "every", "last poll", "last error")
    for r in rows:
        every = r.cron or f"{r.interval_minutes:g} min"
        table.add_row(str(r.id), r.kind, r.target, every, str(r.last_polled_at or "-"), r.last_error or "")
    out.print(table)


@sources_app.command("add")
def sources_add(
    kind: str = typer.Argument(..., help="folder | youtube | rss (or a plugin's source)"),
    target: str = typer.Argument(..., help="folder path, channel/playlist URL or feed URL"),
    every: float = typer.Option(15, "--every", help="poll interval, minutes"),
    cron: str | None = typer.Option(None, "--cron", help="poll at crontab times instead (UTC)"),
    preset: str = typer.Option("{}", "--preset", help='JSON, e.g. \'{"clips": 3, "render": true}\''),
) -> None:
    """Watch a source; each new item becomes a job with the preset (analyze + render; analyze only with
    "render": false)."""
    from core.scheduler import add_source

    try:
        options = json.loads(preset)
    except json.JSONDecodeError as exc:
        raise InputError(f"--preset is not valid JSON: {exc}")
    row = add_source(state.app(), kind, target, preset=options, interval_minutes=every, cron=cron)
    console.print(f"source {row.id} added")


@sources_app.command("poll")
def sources_poll(source_id: int) -> None:
    """Poll one source now (new items are queued as jobs)."""
    from core.scheduler import poll_source

    app = state.app()
    with app.session() as s:
        row = s.get(WatchedSource, source_id)
    if row is None:
        raise InputError(f"there is no source {source_id}")
    report = poll_source(app, row)
    if report.error:
        raise InputError(f"source {source_id}: {report.error}")
    console.print(f"{len(report.new_jobs)} new item(s): jobs {report.new_jobs}")


@sources_app.command("remove")
def sources_remove(source_id: int) -> None:
    """Stop watching a source."""
    with state.app().session() as s:
        row = s.get(WatchedSource, source_id)
        if row is None:
            raise InputError(f"there is no source {source_id}")
        row.enabled = False
        s.add(row)
    console.print(f"source {source_id} disabled")
