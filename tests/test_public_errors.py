"""What users read never names the server's directories, and ordinary words that match a relative root stay."""

from __future__ import annotations

from pathlib import Path

from core.config import Settings
from core.public_errors import HIDDEN, scrub


def test_server_paths_are_hidden_and_everyday_words_stay(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=Path("data"), output_dir=Path("clips"))  # relative, as the defaults are
    data = str((tmp_path / "data").resolve())
    text = f"3 clips rendered; no object 'videos/ab.mp4' in local storage at {data}/storage"
    assert scrub(text, settings) == f"3 clips rendered; no object 'videos/ab.mp4' in local storage at {HIDDEN}"
    assert scrub("clips/x.mp4 is missing", settings) == "clips/x.mp4 is missing"  # not the absolute root
    assert scrub(f"copy of {tmp_path}/elsewhere/data/x", settings) == f"copy of {tmp_path}/elsewhere/data/x"
