"""``clipcast users`` and ``clipcast tokens``: accounts for the HTTP API, made from the command line.

Passwords come from a prompt, ``--password-stdin`` or ``CLIPCAST_PASSWORD`` — never a command-line argument,
which other users of the machine could read in the process list.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import typer
from rich.table import Table
from sqlmodel import col, select

from core.cli.common import console, out, state
from core.models import ApiToken, User, utcnow
from core.users import create_token, create_user, find_user, revoke_token, set_admin

users_app = typer.Typer(help="API users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get("CLIPCAST_PASSWORD"):
        return os.environ["CLIPCAST_PASSWORD"]
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("create")
def users_create(
    email: str = typer.Argument(..., help="the user's email (their login)"),
    admin: bool = typer.Option(False, "--admin", help="may see and manage everything"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
    videos_per_day: int | None = typer.Option(None, min=0, help="daily videos quota (default: api settings)"),
    minutes_per_day: float | None = typer.Option(None, min=0, help="daily minutes-of-video quota"),
    llm_usd_per_day: float | None = typer.Option(None, min=0, help="daily LLM spend quota, USD"),
) -> None:
    """Create a user (`--admin` for the first administrator)."""
    password = _password(password_stdin)
    with state.app().session() as s:
        user = create_user(
            s,
            email,
            password,
            is_admin=admin,
            videos_per_day=videos_per_day,
            minutes_per_day=minutes_per_day,
            llm_usd_per_day=llm_usd_per_day,
        )
        console.print(f"created {'admin ' if admin else ''}user [bold]{user.email}[/bold] (id {user.id})")


@users_app.command("promote")
def users_promote(email_or_id: str = typer.Argument(..., help="the user's email or id")) -> None:
    """Make a user an administrator (also how an installation gets one back)."""
    with state.app().session() as s:
        user = find_user(s, email_or_id)
        set_admin(s, user, True)
        console.print(f"[bold]{user.email}[/bold] is an administrator")


@users_app.command("demote")
def users_demote(email_or_id: str = typer.Argument(..., help="the user's email or id")) -> None:
    """Take administrator rights away (refused for the last administrator)."""
    with state.app().session() as s:
        user = find_user(s, email_or_id)
        set_admin(s, user, False)
        console.print(f"[bold]{user.email}[/bold] is no longer an administrator")


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users."""
    with state.app().session() as s:
        rows = list(s.exec(select(User).order_by(col(User.id))))
    if as_json:
        fields = ("id", "email", "is_admin", "videos_per_day", "minutes_per_day", "llm_usd_per_day")
        typer.echo(json.dumps([{f: getattr(u, f) for f in fields} for u in rows], indent=2))
        return
    table = Table("id", "email", "admin", "videos/day", "minutes/day", "LLM $/day")
    for u in rows:
        table.add_row(
            str(u.id), u.email, "yes" if u.is_admin else "", *(str(v) if v is not None else "∞" for v in (
                u.videos_per_day, u.minutes_per_day, u.llm_usd_per_day))
        )  # fmt: skip
    out.print(table)


@tokens_app.command("create")
def tokens_create(
    user: str = typer.Option(..., "--user", "-u", help="email or id of the token's owner"),
    name: str = typer.Option("", "--name", help="what the token is for"),
    days: float | None = typer.Option(None, "--days", min=0.01, help="expires after this many days (default never)"),
) -> None:
    """Create a personal API token and print it (the only time it is shown)."""
    with state.app().session() as s:
        owner = find_user(s, user)
        expires = utcnow() + timedelta(days=days) if days else None
        row, token = create_token(s, owner, name=name, expires_at=expires)
        console.print(f"token {row.id} for {owner.email} (store it now; it is not shown again):")
    typer.echo(token)


@tokens_app.command("list")
def tokens_list(user: str | None = typer.Option(None, "--user", "-u", help="only this user's tokens")) -> None:
    """List tokens (prefix, owner, last use, state); never the tokens themselves."""
    with state.app().session() as s:
        stmt = select(ApiToken, User.email).join(User, col(User.id) == col(ApiToken.user_id)).order_by(col(ApiToken.id))
        if user:
            stmt = stmt.where(ApiToken.user_id == find_user(s, user).id)
        rows = list(s.exec(stmt))
    table = Table("id", "user", "name", "kind", "prefix", "last used", "state")
    now = utcnow()
    for tok, email in rows:
        state_ = "revoked" if tok.revoked_at else "expired" if tok.expires_at and tok.expires_at <= now else "active"
        last = tok.last_used_at.isoformat(timespec="seconds") if tok.last_used_at else ""
        table.add_row(str(tok.id), email, tok.name, tok.kind, tok.prefix + "…", last, state_)
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int = typer.Argument(..., help="the token's id (see `clipcast tokens list`)")) -> None:
    """Revoke a token; it stops working at once."""
    with state.app().session() as s:
        row = revoke_token(s, token_id)
        console.print(f"token {row.id} ({row.prefix}…) revoked")
