"""No user-controlled string becomes a server path (reproductions 1 and 2 of the security review).

Watched folders: administrators only, under ``sources.folder_roots``, never overlapping data_dir. Caption
styles and brand kits: names resolved against configured directories; a path is refused and an invalid preset
file's values never reach an error message. Render options that tune the encoder are not API input.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import client, error_of, make_user

from core import scheduler
from core.errors import InputError
from core.media.captions import load_style
from core.models import WatchedSource


@pytest.fixture
def world(app, tmp_path):
    app.settings.sources.folder_roots = [tmp_path / "watched"]
    (tmp_path / "watched" / "inbox").mkdir(parents=True)
    return {
        "api": client(app),
        "user": make_user(app, "bob@example.com"),
        "admin": make_user(app, "admin@example.com", admin=True),
    }


def _add(world, who, body):
    return world["api"].post("/api/sources", json=body, headers=world[who].headers)


def test_only_an_admin_adds_a_folder_and_only_under_the_roots(app, world, tmp_path):
    storage = str(app.settings.data_dir / "storage" / "videos")
    r = _add(world, "user", {"kind": "folder", "target": storage, "preset": {"options": {"recursive": True}}})
    assert r.status_code == 403 and "only administrators may add folder sources" in error_of(r)["message"]
    r = _add(world, "admin", {"kind": "folder", "target": storage})
    assert r.status_code == 400 and "inside Clipcast's data_dir" in error_of(r)["message"]
    r = _add(world, "admin", {"kind": "folder", "target": "/etc"})
    assert r.status_code == 400 and "not under any of sources.folder_roots" in error_of(r)["message"]
    r = _add(world, "admin", {"kind": "folder", "target": str(tmp_path / "watched" / "inbox" / ".." / "..")})
    assert r.status_code == 400  # '..' is resolved before the comparison
    r = _add(world, "admin", {"kind": "folder", "target": "watched/inbox"})
    assert r.status_code == 400 and "absolute path" in error_of(r)["message"]
    r = _add(world, "admin", {"kind": "folder", "target": str(tmp_path / "watched" / "inbox")})
    assert r.status_code == 201, r.text


def test_a_root_around_data_dir_does_not_open_it(app, world, tmp_path):
    app.settings.sources.folder_roots = [tmp_path]  # the data dir lies under this root
    r = _add(world, "admin", {"kind": "folder", "target": str(app.settings.data_dir)})
    assert r.status_code == 400 and "data_dir" in error_of(r)["message"]


def test_no_folder_roots_means_no_folder_sources(app, world, tmp_path):
    app.settings.sources.folder_roots = []
    r = _add(world, "admin", {"kind": "folder", "target": str(tmp_path / "watched" / "inbox")})
    assert r.status_code == 400 and "no sources.folder_roots" in error_of(r)["message"]


@pytest.mark.parametrize(
    ("render_options", "problem"),
    [
        ({"caption_style": "/srv/clipcast/clipcast.yaml"}, "render_options.caption_style"),
        ({"brand": "../../clipcast"}, "render_options.brand"),
        ({"x264_params": "qpfile=/etc/passwd"}, "render_options.x264_params: Extra inputs are not permitted"),
        ({"preset": "ultrafast"}, "render_options.preset: Extra inputs are not permitted"),
    ],
)
def test_a_source_preset_carries_style_names_only(world, render_options, problem):
    body = {"kind": "rss", "target": "https://example.org/feed.xml", "preset": {"render_options": render_options}}
    r = _add(world, "user", body)
    assert r.status_code == 400 and problem in error_of(r)["message"], r.text
    for value in render_options.values():
        assert value not in r.text  # the value is never echoed


def test_a_stored_preset_with_a_style_path_fails_the_poll_without_a_job(app, world, tmp_path):
    with app.session() as s:
        row = WatchedSource(
            kind="rss",
            target="https://example.org/feed.xml",
            user_id=world["user"].id,
            preset={"render_options": {"caption_style": str(tmp_path / "clipcast.yaml")}},
        )
        s.add(row)
        s.flush()
        s.refresh(row)
    report = scheduler.poll_source(app, row, send=lambda *_: None)
    assert "render_options.caption_style" in report.error and report.new_jobs == []


def test_style_names_are_not_paths_and_a_bad_preset_file_is_not_quoted(tmp_path: Path):
    """Reproduction 2: the YAML's values used to be copied into job.error."""
    secret = tmp_path / "clipcast.yaml"
    secret.write_text("secret_key: hunter2-do-not-print\ndatabase_url: postgresql://x\n")
    with pytest.raises(InputError, match="plain names"):
        load_style(str(secret))
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "leaky.yaml").write_text("font_size: hunter2-do-not-print\n")
    with pytest.raises(InputError) as caught:
        load_style("leaky", tmp_path / "styles")
    assert "font_size" in str(caught.value) and "hunter2" not in str(caught.value)
