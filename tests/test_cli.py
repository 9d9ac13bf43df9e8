"""The command line as a user runs it: a real subprocess, real exit codes, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLIPCAST = str(Path(sys.executable).with_name("clipcast"))


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPCAST_")}
    full_env.update(env or {})
    return subprocess.run([CLIPCAST, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=120)


def test_help_lists_commands(tmp_path: Path) -> None:
    res = run("--help", cwd=tmp_path)
    assert res.returncode == 0
    for command in ("plugins", "config", "db"):
        assert command in res.stdout


def test_plugins_json_lists_builtin_backends(tmp_path: Path) -> None:
    res = run("plugins", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert "local" in data["backends"]["storage"]
    assert data["errors"] == {}


def test_config_check_reports_errors_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "clipcast.yaml").write_text("storage:\n  backend: floppy\n")
    res = run("config", "check", cwd=tmp_path)
    assert res.returncode == 1
    assert "storage.backend: unknown storage backend 'floppy'; available:" in res.stderr
    assert "Traceback" not in res.stderr


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    res = run("db", "upgrade", cwd=tmp_path, env={"CLIPCAST_DATA_DIR": str(tmp_path / "d")})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "d" / "clipcast.db").is_file()
    assert "database at revision" in res.stderr
