"""``clipcast plugins``: what is installed, what it provides, and what failed to load; ``plugins new`` writes
a new plugin package (core/cli/plugins_new.py)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from core.cli import plugins_new
from core.cli.common import out
from core.plugins import KINDS, get_manager

app = typer.Typer(help="List installed plugins (with no command), or write a new one.")


@app.callback(invoke_without_command=True)
def plugins(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List plugins with their versions, hooks and backends."""
    if ctx.invoked_subcommand is not None:
        return
    manager = get_manager()
    rows = manager.describe()
    backends = {kind: sorted(manager.backends(kind)) for kind in KINDS}
    if as_json:
        payload = {"plugins": rows, "backends": backends, "errors": manager.load_errors}
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table("plugin", "version", "hooks", "backends")
    for row in rows:
        provided = "; ".join(f"{k}: {', '.join(v)}" for k, v in row["backends"].items())
        table.add_row(row["name"], row["version"] or "", ", ".join(row["hooks"]), provided)
    out.print(table)
    for name, error in manager.load_errors.items():
        out.print(f"[red]failed:[/red] {name}: {error}")


app.command("new")(plugins_new.new)
