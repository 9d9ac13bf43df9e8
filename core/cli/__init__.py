"""The ``clipcast`` command. Each command group lives in its own module; plugins add theirs via
``register_commands``. Errors a user caused print as one clear message and exit 1, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from core.cli import (
    accounts_cmd,
    analytics_cmd,
    analyze_cmd,
    config_cmd,
    db_cmd,
    eval_cmd,
    jobs_cmd,
    notes_cmd,
    plugins_cmd,
    process_cmd,
    publish_cmd,
    scheduler_cmd,
    serve_cmd,
    users_cmd,
    worker_cmd,
)
from core.cli.common import state
from core.errors import ClipcastError

app = typer.Typer(
    name="clipcast",
    help="Turn long videos into short vertical clips and publish them on schedules.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    config: str | None = typer.Option(
        None, "--config", "-c", help="YAML file (default: $CLIPCAST_CONFIG or ./clipcast.yaml)", envvar=None
    ),
) -> None:
    state.config_path = config


app.add_typer(plugins_cmd.app, name="plugins")
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.command("worker")(worker_cmd.worker)
app.add_typer(jobs_cmd.app, name="jobs")
app.command("scheduler")(scheduler_cmd.scheduler)
app.add_typer(scheduler_cmd.schedules_app, name="schedules")
app.add_typer(scheduler_cmd.sources_app, name="sources")
app.command("serve")(serve_cmd.serve)
app.add_typer(users_cmd.users_app, name="users")
app.add_typer(users_cmd.tokens_app, name="tokens")
app.command("analyze")(analyze_cmd.analyze)
app.command("eval")(eval_cmd.eval_command)
app.command("notes")(notes_cmd.notes)
app.command("process")(process_cmd.process_command)
app.command("render")(process_cmd.render_command)
app.command("demo")(process_cmd.demo_command)
app.add_typer(accounts_cmd.app, name="accounts")
app.command("publish")(publish_cmd.publish_command)
app.add_typer(publish_cmd.posts_app, name="posts")
app.add_typer(analytics_cmd.app, name="analytics")


def _register_plugin_commands(cli: Any) -> None:
    """Each plugin's commands on their own: a broken one is reported (and listed by `clipcast plugins`)."""
    from core.plugins import get_manager

    manager = get_manager()
    for impl in manager.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:
            manager.load_errors[impl.plugin_name] = f"register_commands failed: {exc!r}"
            typer.echo(f"warning: plugin {impl.plugin_name} could not add its commands: {exc}", err=True)


def main() -> None:
    _register_plugin_commands(app)
    try:
        app()
    except ClipcastError as exc:
        typer.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(1)
