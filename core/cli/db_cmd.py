"""``clipcast db upgrade``: apply migrations."""

from __future__ import annotations

import typer

from core import db
from core.cli.common import console, state

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database to the latest (or the given) revision."""
    settings = state.settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    db.upgrade(url, revision)
    console.print(f"database at revision [bold]{db.current_revision(url)}[/bold]")
