"""Reframing: crop sizes, pass-through, the face crop path, and a face-tracked render of a moving face."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from core import models
from core.media.faces import Sample, _cascade, crop_path, detect_faces
from core.media.reframe import crop_size, reframe_filter
from tests.render_media import draw_face

cv2 = pytest.importorskip("cv2")


def face_x(t: float, duration: float) -> int:
    """The moving face's centre: holds left, glides to the right, holds right (1280 px wide frame)."""
    a = min(1.0, max(0.0, (t - 1.0) / (duration - 2.0)))
    return int(250 + a * (1030 - 250))


def moving_face_video(dest: Path, duration: float = 4.0, fps: int = 15) -> Path:
    """1280x720 video of a face travelling from the left edge region to the right, with a tone."""
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "1280x720", "-r", str(fps),
        "-i", "pipe:0", "-f", "lavfi", "-i", f"sine=frequency=300:duration={duration}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(dest),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(int(duration * fps)):
        img = np.full((720, 1280, 3), (90, 110, 70), np.uint8)
        draw_face(img, face_x(i / fps, duration), 360, 220)
        proc.stdin.write(img.tobytes())
    proc.stdin.close()
    assert proc.wait(timeout=120) == 0
    return dest


def test_crop_size_keeps_the_output_shape() -> None:
    assert crop_size(1280, 720, 1080, 1920) == (404, 720)
    assert crop_size(1280, 720, 1080, 1080) == (720, 720)
    assert crop_size(1080, 1920, 1920, 1080) == (1080, 608)


def test_vertical_sources_are_not_rescaled() -> None:
    assert "scale" not in reframe_filter("blur", 1080, 1920, 1080, 1920, inp="a", out="b")
    same_shape = reframe_filter("blur", 720, 1280, 1080, 1920, inp="a", out="b")
    assert "scale=1080:1920" in same_shape and "boxblur" not in same_shape and "crop" not in same_shape


def test_blur_background_is_blurred_small() -> None:
    graph = reframe_filter("blur", 1280, 720, 1080, 1920, inp="a", out="b")
    assert "scale=270:480" in graph and "boxblur" in graph
    assert graph.index("scale=270:480") < graph.index("boxblur") < graph.index("scale=1080:1920")


def test_crop_path_holds_without_faces_and_cuts_on_a_new_speaker() -> None:
    face_left = [(0.10, 0.3, 0.1, 0.2)]
    face_right = [(0.75, 0.3, 0.1, 0.2)]
    samples = (
        [Sample(t=i * 0.5, faces=face_left) for i in range(4)]
        + [Sample(t=2.0 + i * 0.5, faces=[]) for i in range(4)]  # nobody in view: hold
        + [Sample(t=4.0 + i * 0.5, faces=face_right) for i in range(4)]  # another speaker: cut
    )
    keys = crop_path(samples)
    assert keys[0].t == 0.0 and keys[0].cx == pytest.approx(0.15)
    assert [k.cut for k in keys].count(True) == 1
    cut = next(k for k in keys if k.cut)
    assert cut.t == pytest.approx(4.0) and cut.cx == pytest.approx(0.8)
    assert all(k.cx == pytest.approx(0.15) for k in keys if k.t < 4.0)


def test_drawn_face_is_detected() -> None:
    img = np.full((360, 640, 3), (90, 110, 70), np.uint8)
    draw_face(img, 450, 180, 110)
    faces = detect_faces(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), _cascade())
    assert len(faces) == 1
    x, _, w, _ = faces[0]
    assert abs((x + w / 2) * 640 - 450) < 20


def _face_centres(path: Path, times: list[float]) -> list[float | None]:
    """Face centre x (fraction of the width) in frames of a rendered clip; None when no face is found."""
    out: list[float | None] = []
    for t in times:
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(path), "-frames:v", "1", "-vf", "scale=360:640",
             "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        faces = detect_faces(np.frombuffer(raw, np.uint8).reshape(640, 360), _cascade())
        out.append(faces[0][0] + faces[0][2] / 2 if faces else None)
    return out


@pytest.mark.slow
def test_face_mode_keeps_a_moving_face_in_frame(app, tmp_path: Path, ffmpeg: str) -> None:
    from core.pipeline.ingest import ingest
    from core.pipeline.render import RenderOptions, render_clip

    src = moving_face_video(tmp_path / "face.mp4")
    video = ingest(app, src)
    with app.session() as s:
        clip = models.Clip(video_id=video.id, start=0.0, end=4.0)
        s.add(clip)
        s.commit()
        s.refresh(clip)
    times = [0.5, 1.5, 2.5, 3.5]
    centres = {}
    for mode in ("face", "crop"):
        opts = RenderOptions(reframe=mode, remove_silence=False, normalize_loudness=False, preset="ultrafast")
        rendered = render_clip(app, clip.id, options=opts)
        centres[mode] = _face_centres(app.storage.local_path(rendered.video_key), times)
    # Face mode: the face is found in every sampled frame, near the middle.
    assert all(c is not None and 0.2 < c < 0.8 for c in centres["face"]), centres
    # The centre crop loses it while it is at the sides: the test can tell the modes apart.
    assert sum(c is None for c in centres["crop"]) >= 2, centres
