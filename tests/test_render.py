"""Rendering real clips of the shared sample talk: format, silence removal with captions in sync, styles,
brand kit + ``adjust_render`` plugin, idempotency and clear errors for bad inputs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core import models
from core.app import Clipcast
from core.config import Settings
from core.errors import InputError
from core.hookspecs import hookimpl
from core.media import ffmpeg as ff
from core.media.captions import parse_srt
from core.pipeline.render import RenderOptions, render_clip
from tests.conftest import TALK_VIDEO

pytestmark = pytest.mark.skipif(not TALK_VIDEO.is_file(), reason=f"{TALK_VIDEO} is absent (shared sample talk)")

FAST = {"preset": "ultrafast"}


@pytest.fixture(scope="module")
def talk_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Clipcast, models.Video]:
    from core.pipeline.ingest import ingest
    from core.pipeline.transcribe import transcribe

    tmp = tmp_path_factory.mktemp("render")
    app = Clipcast(Settings(data_dir=tmp / "data", output_dir=tmp / "clips"))
    video = ingest(app, TALK_VIDEO)
    transcribe(app, video)
    with app.session() as s:
        video = s.get(models.Video, video.id)
        s.expunge(video)
    return app, video


def new_clip(app: Clipcast, video: models.Video, start: float, end: float) -> int:
    with app.session() as s:
        clip = models.Clip(video_id=video.id, start=start, end=end, text="")
        s.add(clip)
        s.commit()
        s.refresh(clip)
        return clip.id  # type: ignore[return-value]


def streams(path: Path) -> dict:
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(res.stdout)


def frame_rgb(path: Path, t: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{t}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    info = ff.probe(path)
    return np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3)


@pytest.fixture(scope="module")
def full_render(talk_app: tuple[Clipcast, models.Video]) -> models.Clip:
    """The whole talk as one clip with the defaults (blur, karaoke, silence removal, -14 LUFS)."""
    app, video = talk_app
    return render_clip(app, new_clip(app, video, 0.0, video.duration))


@pytest.mark.slow
def test_clip_is_publishable_format(talk_app, full_render: models.Clip) -> None:
    app, _ = talk_app
    path = app.storage.local_path(full_render.video_key)
    data = streams(path)
    v = next(s for s in data["streams"] if s["codec_type"] == "video")
    a = next(s for s in data["streams"] if s["codec_type"] == "audio")
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (v["width"], v["height"], v["avg_frame_rate"]) == (1080, 1920, "30/1")
    assert (a["codec_name"], a["sample_rate"], a["channels"]) == ("aac", "48000", 2)
    # Playable: a full decode reports no error.
    res = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stderr.strip() == ""
    # +faststart: the moov atom comes before the media data.
    head = path.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")
    thumb = app.storage.local_path(full_render.thumbnail_key)
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff"
    assert full_render.status == models.ClipStatus.RENDERED


@pytest.mark.slow
def test_loudness_is_normalised(talk_app, full_render: models.Clip) -> None:
    app, _ = talk_app
    res = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(app.storage.local_path(full_render.video_key)),
         "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True,
    )  # fmt: skip
    integrated = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", res.stderr)[-1])
    assert integrated == pytest.approx(-14.0, abs=1.5)


@pytest.mark.slow
def test_pause_is_cut_and_captions_match_a_fresh_transcription(talk_app, full_render: models.Clip, tmp_path) -> None:
    app, video = talk_app
    path = app.storage.local_path(full_render.video_key)
    # The talk has a ~21 s pause (17-39 s) and ~18 s of speech: the pause is gone, the speech is all there.
    assert 16 < full_render.rendered_duration < video.duration - 18
    srt = parse_srt(app.storage.open(full_render.srt_key).read().decode())
    assert "banana" in " ".join(c[2].lower() for c in srt)
    ass = app.storage.open(full_render.ass_key).read().decode()
    # The karaoke event where BANANA is the highlighted word starts when the word is said.
    m = re.search(r"Dialogue: 0,(\d+):(\d\d):(\d\d\.\d\d),[^\n]*\{\\c&H[0-9A-F]+\}BANANA", ass)
    assert m, ass
    caption_at = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    wav = ff.extract_audio(path, tmp_path / "clip.wav")
    fresh = app.stt().transcribe(wav)
    said = [w for w in fresh.words if "banana" in w.text.lower()]
    assert said, fresh.text
    assert abs(said[0].start - caption_at) < 0.5, (said[0], caption_at)
    # And the pause is cut: "banana" comes a few seconds after the previous sentence, not 20.
    assert caption_at < 20


@pytest.mark.slow
def test_render_is_idempotent_and_restyling_replaces_files(talk_app) -> None:
    app, video = talk_app
    cid = new_clip(app, video, 1.0, 5.0)
    first = render_clip(app, cid, options=RenderOptions(**FAST))
    path = app.storage.local_path(first.video_key)
    mtime = path.stat().st_mtime_ns
    again = render_clip(app, cid, options=RenderOptions(**FAST))
    assert again.render_hash == first.render_hash and path.stat().st_mtime_ns == mtime
    restyled = render_clip(app, cid, options=RenderOptions(caption_style="clean", **FAST))
    assert restyled.video_key != first.video_key
    assert not app.storage.exists(first.video_key)  # the old render's files are gone
    with app.session() as s:
        assert s.get(models.Video, video.id).transcript_id == video.transcript_id  # no re-transcription


@pytest.mark.slow
@pytest.mark.parametrize("style", ["karaoke", "pop", "clean"])
def test_each_style_renders(talk_app, style: str) -> None:
    app, video = talk_app
    clip = render_clip(app, new_clip(app, video, 1.4, 4.8), options=RenderOptions(caption_style=style, **FAST))
    info = ff.probe(app.storage.local_path(clip.video_key))
    assert (info.width, info.height) == (1080, 1920)
    ass = app.storage.open(clip.ass_key).read().decode()
    n_words = len(re.findall(r"\S+", "This is an example video for your convenience"))
    events = ass.count("Dialogue:")
    assert events >= n_words if style != "clean" else 1 <= events < n_words
    # Captions are burned in: the middle (karaoke/pop) or lower (clean) band has white text pixels.
    frame = frame_rgb(app.storage.local_path(clip.video_key), 1.5)
    band = frame[1200:1650] if style == "clean" else frame[800:1150]
    assert (band.min(axis=2) > 235).sum() > 500


@pytest.mark.slow
def test_square_aspect_with_crop(talk_app) -> None:
    app, video = talk_app
    opts = RenderOptions(aspect="1:1", reframe="crop", **FAST)
    clip = render_clip(app, new_clip(app, video, 2.0, 5.0), options=opts)
    info = ff.probe(app.storage.local_path(clip.video_key))
    assert (info.width, info.height) == (1080, 1080)


class RedCorner:
    """A plugin that adds its own filter through ``adjust_render``."""

    @hookimpl
    def adjust_render(self, spec, clip):  # type: ignore[no-untyped-def]
        spec.video_filters = [*spec.video_filters, "drawbox=x=iw-120:y=0:w=120:h=120:color=red:t=fill"]


@pytest.mark.slow
def test_brand_kit_and_adjust_render_plugin(talk_app, tmp_path: Path) -> None:
    app, video = talk_app
    logo = tmp_path / "logo.png"
    ff.run(["-f", "lavfi", "-i", "color=c=0xFF00FF:s=200x200", "-frames:v", "1", str(logo)], timeout=30)
    kit = tmp_path / "acme.yaml"
    kit.write_text(
        "logo: logo.png\nlogo_position: top-left\nlogo_size: 0.2\nlogo_opacity: 1\nlogo_margin: 40\n"
        "progress_bar: true\naccent_colour: '#00FF00'\nprogress_height: 16\n"
    )
    app.plugins.pm.register(RedCorner(), name="red-corner")
    clip = render_clip(
        app, new_clip(app, video, 1.0, 5.0), options=RenderOptions(brand=str(kit), remove_silence=False, **FAST)
    )
    frame = frame_rgb(app.storage.local_path(clip.video_key), 2.0)
    r, g, b = (int(x) for x in frame[40 + 100, 40 + 100])  # inside the logo
    assert r > 200 and g < 60 and b > 200
    r, g, b = (int(x) for x in frame[60, 1080 - 60])  # the plugin's red box
    assert r > 200 and g < 60 and b < 60
    bar = frame[1920 - 8]
    assert bar[100][1] > 200 and bar[100][0] < 80  # the bar has passed 100 px at half time...
    assert bar[1000][1] < 200 or bar[1000][0] > 80  # ...but not the end


def test_bad_inputs_fail_clearly(talk_app, tmp_path: Path) -> None:
    app, video = talk_app
    outside = new_clip(app, video, 30.0, 75.0)
    with pytest.raises(InputError, match=r"lies outside video .* 42\.\d+ s long"):
        render_clip(app, outside)
    ok = new_clip(app, video, 1.0, 4.0)
    style = tmp_path / "fancy.yaml"
    style.write_text("font: Fancy Grotesk\nfont_file: fonts/FancyGrotesk.ttf\n")
    with pytest.raises(InputError, match="font file .*FancyGrotesk.ttf does not exist"):
        render_clip(app, ok, options=RenderOptions(caption_style=str(style)))
    kit = tmp_path / "brand.yaml"
    kit.write_text("logo: missing-logo.png\n")
    with pytest.raises(InputError, match="logo file .*missing-logo.png does not exist"):
        render_clip(app, ok, options=RenderOptions(brand=str(kit)))
    with pytest.raises(InputError, match="there is no clip 99999"):
        render_clip(app, 99999)
    with app.session() as s:
        assert s.get(models.Clip, ok).status == models.ClipStatus.PROPOSED  # nothing was half-done
