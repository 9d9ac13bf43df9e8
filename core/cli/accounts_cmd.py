"""``clipcast accounts``: list connected platform accounts, connect one (OAuth in a browser), disconnect one."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from core import accounts
from core.cli.common import console, out, state

app = typer.Typer(help="Platform accounts: list, connect, disconnect.", invoke_without_command=True)


@app.callback()
def list_accounts(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="machine-readable output")
) -> None:
    """List accounts with their status: ok, expiring (reconnect soon) or reconnect (posting is blocked)."""
    if ctx.invoked_subcommand:
        return
    rows = accounts.list_accounts(state.app(), all_users=True)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print("no accounts yet: `clipcast accounts connect youtube|tiktok|instagram|folder|webhook`")
        return
    table = Table("id", "platform", "name", "status", "token expires (UTC)")
    colour = {"ok": "green", "expiring": "yellow", "reconnect": "red"}
    for r in rows:
        expires = r["expires_at"].strftime("%Y-%m-%d %H:%M") if r["expires_at"] else ""
        status = f"[{colour.get(r['status'], 'white')}]{r['status']}[/]"
        table.add_row(str(r["id"]), r["platform"], r["name"], status, expires)
    out.print(table)


@app.command("connect")
def connect(
    platform: str = typer.Argument(..., help="youtube | tiktok | instagram (OAuth), folder | webhook (no login)"),
    headless: bool = typer.Option(
        False, "--headless", help="print the URL and paste the redirected URL back (for servers without a browser)"
    ),
    port: int = typer.Option(8765, "--port", help="loopback port of the redirect http://127.0.0.1:PORT/callback"),
    no_browser: bool = typer.Option(False, "--no-browser", help="do not open a browser; print the URL only"),
    name: str | None = typer.Option(None, "--name", help="label for token-less accounts (folder, webhook)"),
    timeout: float = typer.Option(300, "--timeout", help="seconds to wait for the browser's redirect"),
) -> None:
    """Authorise Clipcast to post for an account. Register http://127.0.0.1:PORT/callback as redirect URI."""
    account = accounts.connect_interactive(
        state.app(),
        platform,
        name=name,
        headless=headless,
        port=port,
        open_browser=not no_browser,
        timeout=timeout,
        echo=console.print,
        read=typer.prompt,
    )
    console.print(f"connected {account.platform} account [bold]{account.name}[/bold] as id {account.id}")


@app.command("disconnect")
def disconnect(
    account_id: int = typer.Argument(..., help="account id (see `clipcast accounts`)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
) -> None:
    """Revoke Clipcast's access at the platform (where it allows) and delete the stored tokens."""
    if not yes:
        typer.confirm(f"Disconnect account {account_id} and delete its tokens?", abort=True)
    revoked = accounts.disconnect(state.app(), account_id)
    note = "access revoked at the platform" if revoked else "tokens deleted (the platform did not confirm a revocation)"
    console.print(f"account {account_id} disconnected: {note}")
