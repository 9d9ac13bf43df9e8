"""``clipcast plugins``: what is installed, what it provides, and what failed to load."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from core.cli.common import out
from core.plugins import KINDS, get_manager


def plugins(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """List plugins with their versions, hooks and backends."""
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
