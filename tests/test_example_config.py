"""config/clipcast.example.yaml documents every option and is itself a valid configuration."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "clipcast.example.yaml"


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        out.append(prefix + name)
        ann: Any = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and ann.model_config.get("extra") == "forbid":
            out += _fields(ann, prefix + name + ".")
    return out


def test_every_option_is_documented() -> None:
    text = EXAMPLE.read_text()
    keys = set(re.findall(r"^\s*#?\s*([A-Za-z_][\w-]*):", text, flags=re.M))
    missing = [path for path in _fields(Settings) if path.rsplit(".", 1)[-1] not in keys]
    assert not missing, f"undocumented options in {EXAMPLE.name}: {missing}"


def test_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(EXAMPLE, tmp_path / "clipcast.yaml")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.stt.backend == "faster-whisper"
    assert settings.llm.backend == "heuristic"
    assert settings.storage.backend == "local"
