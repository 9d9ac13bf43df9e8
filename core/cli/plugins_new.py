"""``clipcast plugins new KIND NAME``: write a ready plugin package from the templates in core/plugin_templates.

The package imports only the public API (``clipcast``), declares the ``clipcast`` entry point, gives its backend
a typed ``Options`` and ships tests (the contract suite of its kind from ``clipcast.testing`` where there is one)
that pass as generated against the Clipcast installed in the same environment.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from string import Template

import typer

from core.errors import InputError

#: Kind → (hook the plugin implements, what the README says about configuring it).
KINDS: dict[str, str] = {
    "stt": "register_stt_backends",
    "llm": "register_llm_backends",
    "storage": "register_storage_backends",
    "publisher": "register_publishers",
    "source": "register_sources",
    "broll": "register_broll_providers",
    "render": "adjust_render",
}

_CONFIG = {
    "stt": "```yaml\nstt:\n  backend: ${name}\n  ${name}:\n    endpoint: http://127.0.0.1:9000/transcribe\n```",
    "llm": "```yaml\nllm:\n  backend: ${name}\n  ${name}:\n    keywords: [secret, why, how]\n```",
    "storage": "```yaml\nstorage:\n  backend: ${name}\n  ${name}:\n    root: /srv/clipcast-objects\n```",
    "publisher": "```yaml\npublishers:\n  ${name}:\n    api_base: https://video.example/api\n```",
    "source": (
        "```yaml\nsources:\n  - kind: ${name}\n    target: https://video.example/feed.json\n```\n\n"
        "Options of the backend itself go in `sources[].preset.options`."
    ),
    "broll": "```yaml\nbroll:\n  providers: [${name}, library]\n  ${name}:\n    api_base: https://stock.example/api\n```",
    "render": "No options: the hooks run for every clip once the package is installed (turn the plugin off with\n"
    "`plugins.disabled: [${module}]`).",
}

_NEXT = {
    "stt": "Point `_request` and `_parse` at your engine; keep `SpeechToTextContract` passing (raise `min_recall`\n"
    "once the tests talk to a real recogniser).",
    "llm": "Replace `_score` with your model; report paid calls with `self.report_usage(clipcast.UsageRecord(...))`.",
    "storage": "Replace the file calls with your service's API; keep `StorageContract` passing.",
    "publisher": "Adapt the requests to your platform's API and the fake in `tests/` to its documented behaviour\n"
    "(the tutorial in Clipcast's docs/plugin_tutorial.md builds a Mastodon publisher this way).",
    "source": "Adapt `_items` to your feed's format.",
    "broll": "Point `search` and `_assets` at your stock API (keep every request on `clipcast.guarded_client`).",
    "render": "See Clipcast's docs/plugin_hooks.md for every hook, with an example each.",
}

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _template(name: str) -> Template:
    return Template((files("core") / "plugin_templates" / name).read_text(encoding="utf-8"))


def render_package(kind: str, name: str, dest_dir: Path) -> Path:
    """Write the package for a ``kind`` plugin called ``name`` under ``dest_dir``; returns its directory."""
    from clipcast import PLUGIN_API

    if kind not in KINDS:
        raise InputError(f"unknown plugin kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    if not NAME.fullmatch(name) or len(name) > 40:
        raise InputError(
            f"plugin name {name!r} is not usable", "use lowercase letters, digits and single hyphens, e.g. my-asr"
        )
    snake = name.replace("-", "_")
    values = {
        "name": name,
        "kind": kind,
        "module": f"clipcast_{snake}",
        "dist": f"clipcast-{name}",
        "Class": "".join(part.capitalize() for part in name.split("-")),
        "hashtag": snake,
        "plugin_api": PLUGIN_API,
    }
    root = dest_dir / values["dist"]
    if root.exists():
        raise InputError(f"{root} already exists", "pick another name or directory, or remove it first")
    config = Template(_CONFIG[kind]).substitute(values)
    if kind != "render":
        config += f"\n\n`clipcast config check` validates these options against `{values['Class']}.Options`."
    out = {
        "pyproject.toml": _template("pyproject.toml.tmpl").substitute(values),
        "README.md": _template("README.md.tmpl").substitute(values, config=config, next_steps=_NEXT[kind]),
        f"{values['module']}/__init__.py": _template(f"{kind}.py.tmpl").substitute(values),
        f"tests/test_{values['module']}.py": _template(f"test_{kind}.py.tmpl").substitute(values),
    }
    for rel, text in out.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def new(
    kind: str = typer.Argument(..., help=f"one of: {', '.join(KINDS)}"),
    name: str = typer.Argument(..., help="the backend's name, e.g. my-asr (the package is clipcast-my-asr)"),
    directory: Path = typer.Option(Path("."), "--dir", "-d", help="where to create the package"),
) -> None:
    """Write a ready plugin package: pyproject with the entry point, the backend, a README and tests."""
    root = render_package(kind, name, directory)
    typer.echo(f"wrote {root}/ (install it with `pip install -e {root}`, then run `pytest {root}`)")
