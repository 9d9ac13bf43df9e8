"""The plugin manager: built-in plugins, then the ``clipcast`` entry-point group, then ``CLIPCAST_PLUGINS``.

Which load: ``CLIPCAST_LOAD_PLUGINS`` (a comma list of entry-point names; set but empty loads none), else the
configuration's ``plugins.enabled`` (None: every installed one), decides which installed plugins load;
``plugins.disabled`` names plugins that never load, installed or built-in. Modules named in ``CLIPCAST_PLUGINS``
are an explicit request and load unless disabled. ``load_settings`` passes the configuration here
(``set_policy``); a changed policy rebuilds the manager.

Third-party plugins load one by one inside try/except: a broken plugin is recorded in ``load_errors`` (and
shown by ``clipcast plugins``) while start-up continues. ``CLIPCAST_TRACE_HOOKS=1`` prints every hook call.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from core import hookspecs
from core.contracts import Backend, BrollProvider, ClipSelector, Publisher, Source, SpeechToText, Storage
from core.errors import PluginError, UnknownBackendError

#: Built-in plugins: modules with hook implementations, loaded before anything else.
BUILTIN_PLUGINS = [
    "plugins.stt.faster_whisper",
    "plugins.stt.openai",
    "plugins.llm.heuristic",
    "plugins.llm.openai",
    "plugins.llm.gemini",
    "plugins.llm.openai_compat",
    "plugins.storage.local",
    "plugins.storage.s3",
    "plugins.publishers.folder",
    "plugins.publishers.webhook",
    "plugins.publishers.youtube",
    "plugins.publishers.tiktok",
    "plugins.publishers.instagram",
    "plugins.sources.folder",
    "plugins.sources.youtube",
    "plugins.sources.rss",
    "plugins.broll.library",
    "plugins.broll.pexels",
]

#: Backend kinds: kind name → (registration hook, required base class).
KINDS: dict[str, tuple[str, type[Backend]]] = {
    "stt": ("register_stt_backends", SpeechToText),
    "llm": ("register_llm_backends", ClipSelector),
    "storage": ("register_storage_backends", Storage),
    "publisher": ("register_publishers", Publisher),
    "source": ("register_sources", Source),
    "broll": ("register_broll_providers", BrollProvider),
}


@dataclass
class PluginManager:
    """pluggy's manager plus the backend registry built from the ``register_*`` hooks."""

    pm: pluggy.PluginManager
    load_errors: dict[str, str] = field(default_factory=dict)
    _backends: dict[str, dict[str, type[Backend]]] | None = None
    _owners: dict[tuple[str, str], str] = field(default_factory=dict)
    trace: bool = False
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def backends(self, kind: str) -> dict[str, type[Backend]]:
        """All backends of a kind, by name."""
        if self._backends is None:
            self._backends = self._collect()
        return self._backends[kind]

    def backend(self, kind: str, name: str) -> type[Backend]:
        """The backend class called ``name``; an error listing the available ones if there is none."""
        found = self.backends(kind)
        if name not in found:
            raise UnknownBackendError(kind, name, list(found))
        return found[name]

    def _collect(self) -> dict[str, dict[str, type[Backend]]]:
        registry: dict[str, dict[str, type[Backend]]] = {kind: {} for kind in KINDS}
        for kind, (hook_name, base) in KINDS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                owner = self.pm.get_name(impl.plugin) or str(impl.plugin)

                def register(cls: type, *, _kind: str = kind, _base: type = base, _owner: str = owner) -> None:
                    if not (isinstance(cls, type) and issubclass(cls, _base)):
                        raise PluginError(f"plugin {_owner} registered {cls!r}, which is not a {_base.__name__}")
                    if not getattr(cls, "name", None):
                        raise PluginError(f"plugin {_owner} registered {cls.__name__} without a class-level name")
                    registry[_kind][cls.name] = cls
                    self._owners[(_kind, cls.name)] = _owner

                try:
                    if self.trace:
                        print(f"{hook_name}(register) [{owner}]", file=sys.stderr)
                    impl.function(register)
                except Exception as exc:  # one plugin's bug must not take the others down
                    self.load_errors[owner] = f"{hook_name} failed: {exc!r}"
        return registry

    def owner(self, kind: str, name: str) -> str:
        self.backends(kind)
        return self._owners.get((kind, name), "?")

    def describe(self) -> list[dict[str, Any]]:
        """One entry per plugin: name, version, hooks it implements, backends it provides."""
        for kind in KINDS:
            self.backends(kind)
        rows = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda np: np[0]):
            version = self.versions.get(name) or _version_of(plugin)
            provided = {
                kind: sorted(n for (k, n), owner in self._owners.items() if k == kind and owner == name)
                for kind in KINDS
            }
            rows.append(
                {
                    "name": name,
                    "version": version,
                    "hooks": sorted(c.name for c in self.pm.get_hookcallers(plugin) or []),
                    "backends": {k: v for k, v in provided.items() if v},
                }
            )
        return rows


def _version_of(plugin: Any) -> str | None:
    module = plugin if isinstance(plugin, ModuleType) else sys.modules.get(type(plugin).__module__)
    top = (getattr(module, "__name__", "") or "").split(".")[0]
    if top in ("core", "plugins"):
        try:
            return importlib.metadata.version("clipcast")
        except importlib.metadata.PackageNotFoundError:
            return None
    return getattr(module, "__version__", None)


_lock = threading.Lock()
_manager: PluginManager | None = None


@dataclass(frozen=True)
class Policy:
    """Which plugins may load (see the module docstring)."""

    enabled: tuple[str, ...] | None = None
    disabled: tuple[str, ...] = ()

    def installed_allowed(self, name: str) -> bool:
        env = os.environ.get("CLIPCAST_LOAD_PLUGINS")
        if env is not None:
            allowed: tuple[str, ...] | None = tuple(n.strip() for n in env.split(",") if n.strip())
        else:
            allowed = self.enabled
        return (allowed is None or name in allowed) and name not in self.disabled


_policy = Policy()


def set_policy(enabled: list[str] | None, disabled: list[str]) -> None:
    """Use the configuration's ``plugins.enabled`` / ``plugins.disabled``; rebuilds the manager if they changed."""
    global _policy, _manager
    new = Policy(tuple(enabled) if enabled is not None else None, tuple(disabled))
    with _lock:
        if new != _policy:
            _policy, _manager = new, None


def build_manager(policy: Policy | None = None) -> PluginManager:
    """A fresh manager with the allowed plugins loaded (tests use this; code uses ``get_manager``)."""
    policy = policy or _policy
    pm = pluggy.PluginManager("clipcast")
    pm.add_hookspecs(hookspecs)
    manager = PluginManager(pm)
    for module_name in BUILTIN_PLUGINS:
        if module_name not in policy.disabled:
            pm.register(importlib.import_module(module_name), name=module_name)
    for ep in importlib.metadata.entry_points(group="clipcast"):
        if not policy.installed_allowed(ep.name):
            continue
        try:
            plugin = ep.load()
            if pm.is_registered(plugin) or pm.has_plugin(ep.name):
                continue
            pm.register(plugin, name=ep.name)
            if ep.dist is not None:
                manager.versions[ep.name] = ep.dist.version
        except Exception as exc:
            manager.load_errors[ep.name] = f"failed to load entry point {ep.value}: {exc!r}"
    for module_name in filter(None, (m.strip() for m in os.environ.get("CLIPCAST_PLUGINS", "").split(","))):
        if module_name in policy.disabled:
            continue
        try:
            if not pm.has_plugin(module_name):
                pm.register(importlib.import_module(module_name), name=module_name)
        except Exception as exc:
            manager.load_errors[module_name] = f"failed to import: {exc!r}"
    if os.environ.get("CLIPCAST_TRACE_HOOKS"):
        manager.trace = True  # backend registration calls each impl itself, so it traces itself too
        pm.trace.root.setwriter(lambda msg: print(msg, end="", file=sys.stderr))
        pm.enable_tracing()
    return manager


def get_manager() -> PluginManager:
    """The process-wide manager, built on first use."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = build_manager()
        return _manager


def reset_manager() -> None:
    """Forget the process-wide manager and the configured policy (after installing a plugin in a test)."""
    global _manager, _policy
    with _lock:
        _manager, _policy = None, Policy()
