"""Every hook is documented in docs/plugin_hooks.md and exercised by a test plugin (the datasette rule)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

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


def _examples() -> dict[str, str]:
    """Each hook section's first python block in docs/plugin_hooks.md."""
    docs = (ROOT / "docs" / "plugin_hooks.md").read_text()
    sections = re.split(r"^## (\w+)\(", docs, flags=re.M)[1:]
    found = {}
    for name, body in zip(sections[::2], sections[1::2], strict=True):
        if m := re.search(r"```python\n(.*?)```", body, re.S):
            found[name] = m.group(1)
    return found


def test_every_hook_example_is_a_working_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example runs as a plugin module: pluggy validates it against the spec, then the hook is called."""
    import types

    import pluggy
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    import clipcast
    from clipcast.testing import talk_transcript
    from core.plugins import KINDS

    examples = _examples()
    assert set(examples) == set(HOOKS), "every hook section needs a python example"
    registration = {hook: base for hook, base in KINDS.values()}
    for name, code in examples.items():
        module = types.ModuleType(f"example_{name}")
        monkeypatch.setitem(sys.modules, module.__name__, module)  # pydantic resolves annotations through it
        exec(compile(code, f"docs/plugin_hooks.md#{name}", "exec"), module.__dict__)
        pm = pluggy.PluginManager("clipcast")
        pm.add_hookspecs(hookspecs)
        pm.register(module, name=name)  # raises PluginValidationError for a wrong name or arguments
        hook = getattr(pm.hook, name)
        if name in registration:
            got: list[type] = []
            hook(register=got.append)
            assert got and all(issubclass(c, registration[name]) and c.name for c in got), name
            got[0]()  # constructs with default options
        elif name == "clip_candidates":
            transcript = talk_transcript(["Why do clips work?", "Because they are short.", "That is all."])
            (found,) = hook(transcript=transcript, request=clipcast.SelectionRequest(min_seconds=1, max_seconds=5))
            assert found and found[0].source == "questions"
        elif name == "adjust_render":
            spec = clipcast.RenderSpec(source=tmp_path / "in.mp4", start=0, end=5)
            hook(spec=spec, clip=types.SimpleNamespace(score=95))
            assert "eq=saturation=1.3" in spec.video_filters
        elif name == "before_publish":
            req = clipcast.PublishRequest(video_path=tmp_path / "c.mp4", caption="hello")
            hook(request=req, account=None)
            assert req.hashtags == ["clipcast"]
            with pytest.raises(clipcast.PublishVetoed):
                hook(request=clipcast.PublishRequest(video_path=tmp_path / "c.mp4", caption="Giveaway!"), account=None)
        elif name == "on_event":
            hook(event=clipcast.Event(name="post.published", clip_id=7, data={"url": "https://x"}))
            assert module.live == [7]
        elif name == "register_commands":
            import typer

            cli = typer.Typer()
            cli.command("noop")(lambda: None)
            hook(cli=cli)
            assert "hello ada" in CliRunner().invoke(cli, ["hello", "ada"]).output
        elif name == "register_routes":
            app = FastAPI()
            hook(app=app)
            assert TestClient(app).get("/api/my-plugin/status").json() == {"ok": True, "plugin_api": "1.0"}
        else:
            pytest.fail(f"no check for the {name} example: add one here")
