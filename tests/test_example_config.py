"""config/clipcast.example.yaml documents every option and is itself a valid configuration."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.config import load_settings
from core.config_example import example_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "clipcast.example.yaml"


def test_example_file_is_current() -> None:
    assert EXAMPLE.read_text() == example_yaml(), (
        "config/clipcast.example.yaml is stale: run `clipcast config example > config/clipcast.example.yaml`"
    )


def test_every_backend_option_appears() -> None:
    from core.plugins import get_manager

    text = EXAMPLE.read_text()
    for kind in ("stt", "llm", "storage", "publisher"):
        for name, cls in get_manager().backends(kind).items():
            assert f"{name}:" in text
            for option in cls.Options.model_fields:
                assert f"{option}:" in text, f"{kind} backend {name}: option {option} is not in the example"


def test_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(EXAMPLE, tmp_path / "clipcast.yaml")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.stt.backend == "faster-whisper"
    assert settings.llm.backend == "heuristic"
    assert settings.storage.backend == "local"
