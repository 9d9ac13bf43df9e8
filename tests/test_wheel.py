"""The install users get: ``python -m build`` makes an sdist and a wheel (built from that sdist, so the sdist is
complete too), the wheel goes into a fresh virtual environment with no checkout on the path, and ``clipcast demo``
runs there from an empty directory (the built-in caption styles, brand kits and fonts come from the package).

The fresh environment borrows the already-installed dependencies through a path entry to this environment's
site-packages (a plain path line: that directory's own ``.pth`` files, the editable install's hook among them,
are not run), so the test costs seconds, not a download of every dependency. ``CLIPCAST_WHEEL_FULL_INSTALL=1``
makes it resolve and install every dependency into the new environment instead (slow; run by hand).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from conftest import need

ROOT = Path(__file__).resolve().parent.parent
FULL = bool(os.environ.get("CLIPCAST_WHEEL_FULL_INSTALL"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPCAST_", "PYTHON")) and k != "VIRTUAL_ENV"}
    return {**env, **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the built wheel installed (not editable) and nothing from the checkout."""
    where = tmp_path_factory.mktemp("venv") / "env"
    wheel = next(dist.glob("clipcast-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", *([] if FULL else ["--without-pip"]), str(where)], check=True)
    python = where / "bin" / "python"
    if FULL:
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=1800)
        return where
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_clipcast_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return where


def test_build_makes_an_sdist_and_a_wheel_with_the_package_data(dist: Path) -> None:
    import tarfile
    import zipfile

    sdist = next(dist.glob("clipcast-*.tar.gz"))
    wheel = next(dist.glob("clipcast-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "clipcast/__init__.py",
        "core/media/styles/karaoke.yaml",
        "core/media/brands/example.yaml",
        "core/media/brands/example-logo.png",
        "core/media/fonts/NotoSans-Bold.ttf",
        "core/api/web/index.html",
        "core/migrations/script.py.mako",
        "plugins/llm/prompts/summarize.md",
    ):
        assert required in names, f"the wheel lacks {required}"
    assert not any(n.startswith(("tests/", "config/")) for n in names)
    with tarfile.open(sdist) as tar:
        assert any(n.endswith("/core/media/styles/pop.yaml") for n in tar.getnames())


def test_installed_wheel_runs_the_demo_with_no_checkout(venv: Path, tmp_path: Path, ffmpeg: str) -> None:
    need(subprocess.run(["which", "espeak-ng"], capture_output=True).returncode == 0, "espeak-ng is not installed")
    python, clipcast = str(venv / "bin" / "python"), str(venv / "bin" / "clipcast")
    env = _clean_env(CLIPCAST_DATA_DIR=str(tmp_path / "data"))
    probe = textwrap.dedent(
        f"""
        import os, sys, clipcast, core, plugins
        from core.media import captions, brand
        sources = [p for p in sys.path if os.path.isfile(os.path.join(p or ".", "core", "contracts.py"))]
        assert sources == [os.path.dirname(os.path.dirname(core.__file__))], sources  # the checkout is not there
        for mod in (clipcast, core, plugins, captions):
            assert mod.__file__.startswith({str(venv)!r}), mod.__file__
        assert captions.available_styles() == ["clean", "karaoke", "pop"], captions.available_styles()
        assert "example" in brand.available_brands()
        print(clipcast.PLUGIN_API)
        """
    )
    res = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        [clipcast, "demo", "--clips", "1", "--output", "out"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert (tmp_path / "out" / "clips.json").is_file()
    assert (tmp_path / "out" / "clip-01.mp4").stat().st_size > 100_000
