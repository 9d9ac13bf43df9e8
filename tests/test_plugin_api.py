"""The public plugin API: every name is documented, renames warn, and built-in plugins import only ``clipcast``."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import clipcast

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugin_api.md"
PUBLIC_MODULES = ["clipcast", "clipcast.oauth", "clipcast.media", "clipcast.testing"]


def documented() -> dict[str, set[str]]:
    """``## `module` `` sections of docs/plugin_api.md → the names bulleted as ``- `Name`:`` in them."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in DOCS.read_text().splitlines():
        if m := re.match(r"^## `([\w.]+)`$", line):
            current = sections.setdefault(m.group(1), set())
        elif (m := re.match(r"^- `(\w+)`:", line)) and current is not None:
            current.add(m.group(1))
    return sections


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_documented_and_resolves(module_name: str) -> None:
    module = importlib.import_module(module_name)
    docs = documented().get(module_name)
    assert docs is not None, f"docs/plugin_api.md has no section for {module_name}"
    public = set(module.__all__)
    assert public - docs == set(), f"public names of {module_name} missing from docs/plugin_api.md"
    assert docs - public == set(), f"docs/plugin_api.md lists names {module_name} does not export"
    for name in public:
        assert getattr(module, name) is not None


def test_the_version_is_a_major_minor_string() -> None:
    assert re.fullmatch(r"\d+\.\d+", clipcast.PLUGIN_API)
    assert f"version {clipcast.PLUGIN_API}" in DOCS.read_text().splitlines()[0]


def test_a_renamed_name_keeps_working_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(clipcast._RENAMED, "PublisherBase", ("Publisher", "2.0"))
    with pytest.warns(DeprecationWarning, match=r"clipcast.PublisherBase is deprecated .* 2.0: use clipcast.Publisher"):
        old = clipcast.PublisherBase
    assert old is clipcast.Publisher
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = clipcast.Nope


def test_lazy_helpers_are_the_internal_objects() -> None:
    from core.keys import validate_key

    assert clipcast.validate_key is validate_key
    assert clipcast.sign_key is importlib.import_module("core.keys").sign


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in a file, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_builtin_plugins_import_only_the_public_api() -> None:
    """A built-in plugin may import ``clipcast`` and its own package's helpers, never ``core``."""
    offences = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        own = ".".join(path.relative_to(ROOT).parts[:2]).removesuffix(".py")  # plugins.<kind>
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top == "core" or (top == "plugins" and not (module == own or module.startswith(own + "."))):
                offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offences == [], "built-in plugins must import from clipcast:\n" + "\n".join(offences)


def test_the_public_api_imports_no_plugin_eagerly() -> None:
    """``import clipcast`` must not import a plugin back (a plugin importing clipcast would then be circular)."""
    import subprocess
    import sys

    code = "import sys, clipcast; print(sorted(m for m in sys.modules if m.split('.')[0] in ('plugins',)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_examples_and_templates_import_only_the_public_api() -> None:
    sources = [*(ROOT / "examples").rglob("*.py"), *(ROOT / "core" / "plugin_templates").glob("*.py.tmpl")]
    assert sources
    offences = []
    for path in sources:
        text = path.read_text().replace("${module}", "generated_module").replace("${Class}", "Generated")
        for node in ast.walk(ast.parse(text, str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offences += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("core", "plugins")]
    assert offences == []
