"""Configuration: lookup order, interpolation, and the messages a person sees when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import effective_config, load_settings, secret_values
from core.errors import ConfigError

pytestmark = pytest.mark.usefixtures("echo_plugin")


@pytest.fixture
def echo_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPCAST_PLUGINS", "sample_plugins.echo")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clipcast.yaml"
    path.write_text(text)
    return path


def test_no_file_gives_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(validate_backends=False)
    assert settings.source_file is None
    assert settings.stt.backend == "faster-whisper"
    assert settings.llm.backend == "heuristic"
    assert settings.storage.backend == "local"
    assert settings.effective_database_url.startswith("sqlite:///")


def test_lookup_order_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "stt: {backend: echo}\n")
    assert load_settings().source_file == Path("clipcast.yaml")
    other = tmp_path / "other.yaml"
    other.write_text("stt: {backend: echo}\nselection: {clips: 7}\n")
    monkeypatch.setenv("CLIPCAST_CONFIG", str(other))
    assert load_settings().selection.clips == 7


def test_interpolation_with_and_without_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPS_WANTED", "9")
    path = write(
        tmp_path,
        "stt:\n  backend: echo\n  echo:\n    text: ${GREETING:-hi there}\nselection:\n  clips: ${CLIPS_WANTED}\n",
    )
    settings = load_settings(path)
    assert settings.selection.clips == 9
    assert settings.stt.sections()["echo"]["text"] == "hi there"


def test_missing_env_var_names_key_line_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "stt:\n  backend: echo\npublishers:\n  echo-pub:\n    client_key: ${NOPE_NOT_SET}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    msg = str(err.value)
    assert "line 5" in msg and "publishers.echo-pub.client_key" in msg and "NOPE_NOT_SET is not set" in msg


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "stt:\n  backend: echo\nselection: [unclosed\nllm: {}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    msg = str(err.value)
    assert str(path) in msg and "line 4" in msg and "invalid YAML" in msg


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml does not exist"):
        load_settings(tmp_path / "nowhere.yaml")


def test_unknown_backend_lists_available(tmp_path: Path) -> None:
    path = write(tmp_path, "stt:\n  backend: whisperx\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "stt.backend: unknown stt backend 'whisperx'; available: " in str(err.value)
    assert "echo" in str(err.value)


def test_wrong_type_names_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "stt: {backend: echo}\nselection:\n  clips: lots\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "selection.clips: input should be a valid integer" in str(err.value)
    assert "line 3" in str(err.value)


def test_required_publisher_option(tmp_path: Path) -> None:
    path = write(tmp_path, "stt: {backend: echo}\npublishers:\n  echo-pub:\n    max_seconds: 30\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "publishers.echo-pub.client_key: field required" in str(err.value)


def test_backend_option_typo_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "stt:\n  backend: echo\n  echo:\n    txet: oops\n")
    with pytest.raises(ConfigError, match=r"stt\.echo\.txet: unknown option"):
        load_settings(path)


def test_min_above_max_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "stt: {backend: echo}\nselection: {min_seconds: 90, max_seconds: 60}\n")
    with pytest.raises(ConfigError, match="min_seconds must not exceed max_seconds"):
        load_settings(path)


def test_effective_config_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPCAST_SECRET_KEY", "k" * 32)
    path = write(
        tmp_path,
        "stt: {backend: echo}\n"
        "database_url: postgresql://clip:hunter2pass@db.example/clipcast\n"
        "publishers:\n  echo-pub:\n    client_key: public-id\n    client_secret: very-secret-value\n",
    )
    settings = load_settings(path)
    shown = repr(effective_config(settings))
    assert "very-secret-value" not in shown and "hunter2pass" not in shown and "k" * 32 not in shown
    assert "public-id" in shown
    assert {"very-secret-value", "hunter2pass", "k" * 32} <= set(secret_values(settings))
