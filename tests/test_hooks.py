"""Every hook is documented in docs/plugin_hooks.md and exercised by a test plugin (the datasette rule)."""

from __future__ import annotations

import re
from pathlib import Path

from core import hookspecs
from core.contracts import Event
from core.hookspecs import hookimpl

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "clipcast_spec"))


def test_there_are_hooks() -> None:
    assert {"register_stt_backends", "adjust_render", "before_publish", "register_routes"} <= set(HOOKS)


def test_every_hook_is_documented_with_its_signature() -> None:
    docs = (ROOT / "docs" / "plugin_hooks.md").read_text()
    headings = dict(re.findall(r"^## (\w+)\(([^)]*)\)$", docs, flags=re.M))
    import inspect

    for name in HOOKS:
        assert name in headings, f"hook {name} has no section in docs/plugin_hooks.md"
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert headings[name].replace(" ", "").split(",") == params, f"documented signature of {name} is stale"
    assert set(headings) == set(HOOKS), "docs/plugin_hooks.md documents hooks that do not exist"


def test_every_hook_is_implemented_by_a_tested_plugin() -> None:
    """Each hook has an implementation in a test plugin or in a built-in plugin that the tests exercise."""
    files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
    sources = "\n".join(p.read_text() for p in files)
    for name in HOOKS:
        assert re.search(rf"@hookimpl[^\n]*\n\s*def {name}\(", sources), f"no plugin implements hook {name}"


def test_on_event_listener_failure_does_not_break_the_pipeline(app) -> None:  # type: ignore[no-untyped-def]
    seen: list[Event] = []

    class Listener:
        @hookimpl
        def on_event(self, event):  # type: ignore[no-untyped-def]
            seen.append(event)

    class Broken:
        @hookimpl
        def on_event(self, event):  # type: ignore[no-untyped-def]
            raise RuntimeError("listener down")

    app.plugins.pm.register(Listener(), name="listener")
    app.plugins.pm.register(Broken(), name="broken")
    app.emit("job.succeeded", job_id=5, data={"clips": 3})
    assert [(e.name, e.job_id, e.data) for e in seen] == [("job.succeeded", 5, {"clips": 3})]


def test_register_commands_adds_a_cli_command(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from core.cli import _register_plugin_commands, app

    class Plugin:
        @hookimpl
        def register_commands(self, cli):  # type: ignore[no-untyped-def]
            @cli.command("hello-plugin")
            def hello(name: str) -> None:
                typer.echo(f"hello {name}")

    from core.plugins import get_manager

    get_manager().pm.register(Plugin(), name="hello")
    _register_plugin_commands(app)
    result = CliRunner().invoke(app, ["hello-plugin", "ada"])
    assert result.exit_code == 0 and "hello ada" in result.output


def test_a_plugin_whose_commands_fail_is_reported_not_fatal(capsys) -> None:  # type: ignore[no-untyped-def]
    import typer

    from core.cli import _register_plugin_commands
    from core.plugins import get_manager

    class Broken:
        @hookimpl
        def register_commands(self, cli):  # type: ignore[no-untyped-def]
            raise RuntimeError("no commands today")

    get_manager().pm.register(Broken(), name="broken-cli")
    _register_plugin_commands(typer.Typer())
    assert "no commands today" in get_manager().load_errors["broken-cli"]
    assert "plugin broken-cli could not add its commands" in capsys.readouterr().err
