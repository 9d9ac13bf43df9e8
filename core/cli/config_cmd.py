"""``clipcast config check``: validate the configuration and print it as it will be used."""

from __future__ import annotations

import typer
import yaml

from core.cli.common import console, state
from core.config import deployment_problems, effective_config

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Validate the configuration and print the effective values, secrets masked."""
    settings = state.settings()
    problems = deployment_problems(settings)
    if problems:
        for problem in problems:
            console.print(f"[red]{problem}[/red]")
        raise typer.Exit(1)
    typer.echo(yaml.safe_dump(effective_config(settings), sort_keys=False, allow_unicode=True))
    console.print(f"[green]configuration OK[/green] ({settings.source_file or 'embedded defaults'})")


@app.command("example")
def example() -> None:
    """Print a complete, commented configuration with every option at its default."""
    from core.config_example import example_yaml

    typer.echo(example_yaml(), nl=False)
