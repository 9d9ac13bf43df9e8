"""``clipcast plugins new``: one package of each kind, generated, installed, tested as generated, listed by
``clipcast plugins`` and configured through ``clipcast config check``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.cli import app as cli
from core.cli.plugins_new import KINDS, render_package
from core.errors import ConfigError, InputError
from core.plugins import reset_manager

BACKEND_KINDS = {
    "stt": "stt", "llm": "llm", "storage": "storage", "publisher": "publisher", "source": "source", "broll": "broll"
}  # fmt: skip


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every kind generated with the CLI into one directory, then installed in one pip call into ``site``."""
    base = tmp_path_factory.mktemp("generated")
    for kind in KINDS:
        if kind == "stt":  # one through the command line, the rest directly (each CLI start costs seconds)
            res = CliRunner().invoke(cli, ["plugins", "new", kind, f"gen-{kind}", "--dir", str(base)])
            assert res.exit_code == 0 and "clipcast-gen-stt" in res.output, res.output
        else:
            render_package(kind, f"gen-{kind}", base)
    site = base / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
        + [str(p) for p in sorted(base.glob("clipcast-gen-*"))],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return base, site


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPCAST_")}
    return {**env, "PYTHONPATH": str(site)}


def test_each_package_has_the_documented_files(generated: tuple[Path, Path]) -> None:
    base, _site = generated
    for kind in KINDS:
        root = base / f"clipcast-gen-{kind}"
        module = root / f"clipcast_gen_{kind}" / "__init__.py"
        assert {p.name for p in root.iterdir()} >= {"pyproject.toml", "README.md", "tests"}
        assert f'clipcast_gen_{kind} = "clipcast_gen_{kind}"' in (root / "pyproject.toml").read_text()
        source = module.read_text()
        assert "import clipcast" in source and "from core" not in source and "import core" not in source
        if kind in BACKEND_KINDS:
            assert "class Options(BaseModel)" in source and 'extra="forbid"' in source


def test_generated_tests_pass_as_generated(generated: tuple[Path, Path]) -> None:
    base, site = generated
    tests = [str(p / "tests") for p in sorted(base.glob("clipcast-gen-*"))]
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::DeprecationWarning", *tests],
        capture_output=True,
        text=True,
        cwd=base,
        env=_env(site),
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "skipped" not in res.stdout, res.stdout[-1000:]


def test_generated_plugins_are_listed_and_configurable(
    generated: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process (the packages' directory on sys.path, a fresh plugin manager), as the CLI runs them."""
    _base, site = generated
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("CLIPCAST_LOAD_PLUGINS", ",".join(f"clipcast_gen_{kind}" for kind in KINDS))
    monkeypatch.chdir(tmp_path)
    reset_manager()
    res = CliRunner().invoke(cli, ["plugins", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["errors"] == {}
    for kind, registry in BACKEND_KINDS.items():
        assert f"gen-{kind}" in data["backends"][registry], (kind, data["backends"])
    names = {p["name"]: p for p in data["plugins"]}
    assert names["clipcast_gen_render"]["hooks"] == ["adjust_render", "before_publish"]
    assert names["clipcast_gen_publisher"]["version"] == "0.1.0"

    (tmp_path / "clipcast.yaml").write_text(
        "stt: {backend: gen-stt, gen-stt: {endpoint: 'http://127.0.0.1:1/x', timeout: 5}}\n"
        "llm: {backend: gen-llm, gen-llm: {keywords: [banana]}}\n"
        f"storage: {{backend: gen-storage, gen-storage: {{root: '{tmp_path / 'objects'}'}}}}\n"
        "publishers: {gen-publisher: {api_base: 'https://video.example/api', max_seconds: 60}}\n"
        "sources: [{kind: gen-source, target: 'https://video.example/feed.json', preset: {options: {max_items: 5}}}]\n"
        "broll: {providers: [gen-broll], gen-broll: {api_base: 'https://stock.example/v2', max_mb: 7}}\n"
    )
    res = CliRunner().invoke(cli, ["config", "check"])
    assert res.exit_code == 0, res.output
    assert "- banana" in res.stdout and "max_seconds: 60" in res.stdout and "https://stock.example/v2" in res.stdout
    (tmp_path / "clipcast.yaml").write_text(
        "llm: {backend: gen-llm, gen-llm: {title_words: 0}}\npublishers: {gen-publisher: {colour: red}}\n"
        "sources: [{kind: gen-source, target: x, preset: {options: {max_items: 0}}}, {kind: nope, target: y}]\n"
        "broll: {providers: [gen-broll, nope], gen-broll: {max_mb: 0}}\n"
    )
    res = CliRunner().invoke(cli, ["config", "check"])
    assert isinstance(res.exception, ConfigError)
    problems = str(res.exception)
    assert "llm.gen-llm.title_words" in problems and "publishers.gen-publisher.colour" in problems
    assert "sources.watch.0.preset.options.max_items" in problems
    assert "sources.watch.1.kind: unknown source kind 'nope'" in problems
    assert "broll.gen-broll.max_mb" in problems and "broll.providers: no B-roll provider called 'nope'" in problems


def test_bad_kind_name_or_existing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown plugin kind 'b-roll'"):
        render_package("b-roll", "x", tmp_path)
    with pytest.raises(InputError, match="not usable"):
        render_package("stt", "../evil", tmp_path)
    render_package("stt", "twice", tmp_path)
    with pytest.raises(InputError, match="already exists"):
        render_package("stt", "twice", tmp_path)
