"""The plugin system: built-ins, third-party packages through the entry-point group, broken plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.contracts import SpeechToText
from core.errors import UnknownBackendError
from core.hookspecs import hookimpl
from core.plugins import build_manager, reset_manager

ROOT = Path(__file__).resolve().parent.parent
CLIPCAST = str(Path(sys.executable).with_name("clipcast"))


def make_package(where: Path, name: str, module_body: str) -> Path:
    """A minimal third-party plugin package: a module plus a five-line pyproject entry point."""
    pkg = where / name
    pkg.mkdir()
    (pkg / f"{name}.py").write_text(textwrap.dedent(module_body))
    (pkg / "pyproject.toml").write_text(
        textwrap.dedent(f"""\
        [project]
        name = "{name}"
        version = "1.2.3"
        [project.entry-points.clipcast]
        {name} = "{name}"
        """)
    )
    return pkg


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install two throwaway plugin packages (one good, one broken) with pip into a private directory."""
    base = tmp_path_factory.mktemp("plugins")
    good = make_package(
        base,
        "clipcast_shout",
        """
        from pydantic import BaseModel, ConfigDict
        from core.contracts import SpeechToText, Transcript
        from core.hookspecs import hookimpl

        class Shout(SpeechToText):
            name = "shout"

            class Options(BaseModel):
                model_config = ConfigDict(extra="forbid")
                volume: int = 11

            def transcribe(self, audio, *, language=None, progress=None):
                return Transcript(language="en", duration=0.0, backend=self.name)

        @hookimpl
        def register_stt_backends(register):
            register(Shout)
        """,
    )
    broken = make_package(base, "clipcast_broken", "raise RuntimeError('this plugin is broken on purpose')\n")
    target = base / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(good),
            str(broken),
        ],
        check=True,
        capture_output=True,
    )
    return target


def run_cli(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{site}{os.pathsep}{ROOT}",
        "CLIPCAST_LOAD_PLUGINS": "clipcast_shout,clipcast_broken",
    }
    env.pop("CLIPCAST_CONFIG", None)
    return subprocess.run([CLIPCAST, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_builtin_backends_are_listed() -> None:
    manager = build_manager()
    assert "local" in manager.backends("storage")
    assert manager.load_errors == {}


@pytest.mark.slow
def test_third_party_package_adds_a_backend_and_a_broken_one_is_reported(site: Path, tmp_path: Path) -> None:
    res = run_cli(site, "plugins", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert "shout" in data["backends"]["stt"]
    shout = next(p for p in data["plugins"] if p["name"] == "clipcast_shout")
    assert shout["version"] == "1.2.3" and shout["hooks"] == ["register_stt_backends"]
    assert "this plugin is broken on purpose" in data["errors"]["clipcast_broken"]

    # The configuration can select the new backend, and validates its options.
    (tmp_path / "clipcast.yaml").write_text("stt:\n  backend: shout\n  shout: {volume: 3}\n")
    res = run_cli(site, "config", "check", cwd=tmp_path)
    if "unknown llm backend" not in res.stderr:  # heuristic may not be installed in a partial checkout
        assert res.returncode == 0, res.stderr
        assert "volume: 3" in res.stdout
    (tmp_path / "clipcast.yaml").write_text("stt:\n  backend: shout\n  shout: {volume: loud}\n")
    res = run_cli(site, "config", "check", cwd=tmp_path)
    assert res.returncode == 1
    assert "stt.shout.volume: input should be a valid integer" in res.stderr


def test_env_var_plugins_and_unknown_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPCAST_PLUGINS", "sample_plugins.echo, no_such_module_here")
    manager = build_manager()
    assert "echo" in manager.backends("stt")
    assert "echo-pub" in manager.backends("publisher")
    assert "no_such_module_here" in manager.load_errors
    with pytest.raises(UnknownBackendError) as err:
        manager.backend("stt", "nope")
    assert "available: " in str(err.value) and "echo" in str(err.value)


def test_registering_a_wrong_class_is_reported_not_fatal() -> None:
    class NotABackend:
        name = "bad"

    class Plugin:
        @hookimpl
        def register_stt_backends(self, register):  # type: ignore[no-untyped-def]
            register(NotABackend)

    manager = build_manager()
    manager.pm.register(Plugin(), name="wrong-class")
    assert "bad" not in manager.backends("stt")
    assert "not a SpeechToText" in manager.load_errors["wrong-class"]


def test_backend_needs_a_name() -> None:
    class Nameless(SpeechToText):
        def transcribe(self, audio, *, language=None, progress=None):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    class Plugin:
        @hookimpl
        def register_stt_backends(self, register):  # type: ignore[no-untyped-def]
            register(Nameless)

    manager = build_manager()
    manager.pm.register(Plugin(), name="nameless")
    manager.backends("stt")
    assert "without a class-level name" in manager.load_errors["nameless"]


def test_trace_env_var_prints_hook_calls(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLIPCAST_TRACE_HOOKS", "1")
    manager = build_manager()
    manager.backends("storage")
    assert "register_storage_backends" in capsys.readouterr().err


def test_load_plugins_env_var_and_config_choose_which_installed_plugins_load(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import load_settings
    from core.plugins import get_manager

    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(tmp_path)

    def loaded(env_value: str | None, config: str = "") -> tuple[list[str], dict[str, str]]:
        (tmp_path / "clipcast.yaml").write_text(config)
        if env_value is None:
            monkeypatch.delenv("CLIPCAST_LOAD_PLUGINS", raising=False)
        else:
            monkeypatch.setenv("CLIPCAST_LOAD_PLUGINS", env_value)
        reset_manager()
        load_settings(validate_backends=False)
        manager = get_manager()
        return sorted(n for n, _ in manager.pm.list_name_plugin()), manager.load_errors

    names, errors = loaded(None)
    assert "clipcast_shout" in names and "clipcast_broken" in errors
    names, errors = loaded("")
    assert "clipcast_shout" not in names and errors == {}
    assert "plugins.storage.local" in names  # built-ins are not third-party plugins
    names, errors = loaded("clipcast_shout")
    assert "clipcast_shout" in names and errors == {}
    names, errors = loaded(None, "plugins:\n  enabled: [clipcast_shout]\n  disabled: [plugins.publishers.tiktok]\n")
    assert "clipcast_shout" in names and errors == {} and "plugins.publishers.tiktok" not in names
    names, errors = loaded("clipcast_shout,clipcast_broken", "plugins:\n  disabled: [clipcast_broken]\n")
    assert "clipcast_shout" in names and errors == {}


def test_the_suite_loads_no_installed_plugin_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.plugins import Policy

    assert os.environ["CLIPCAST_LOAD_PLUGINS"] == ""  # set by tests/conftest.py for every test
    assert not Policy().installed_allowed("anything")
    monkeypatch.setenv("CLIPCAST_LOAD_PLUGINS", "one, two")
    assert Policy().installed_allowed("two") and not Policy().installed_allowed("three")
    assert not Policy(disabled=("two",)).installed_allowed("two")
    monkeypatch.delenv("CLIPCAST_LOAD_PLUGINS")
    assert Policy().installed_allowed("three") and not Policy(enabled=("one",)).installed_allowed("three")
