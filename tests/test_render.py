"""Rendering real clips of the shared sample talk: format, silence removal with captions in sync, styles,
brand kit + ``adjust_render`` plugin, idempotency and clear errors for bad inputs."""

from __future__ import annotations

import difflib
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
    # Audio and video cover the same time (the clip has cuts: each piece is trimmed in both).
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.05, (v["duration"], a["duration"])
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
    assert integrated == pytest.approx(-14.0, abs=1.0), integrated


@pytest.mark.slow
def test_pause_is_cut_and_captions_match_a_fresh_transcription(talk_app, full_render: models.Clip, tmp_path) -> None:
    app, video = talk_app
    path = app.storage.local_path(full_render.video_key)
    # The talk has a ~21 s pause (17-39 s) and ~18 s of speech: the pause is gone, the speech is all there.
    assert 16 < full_render.rendered_duration < video.duration - 18
    # Captions vs a fresh transcription of the rendered clip: words matched by text agree in time, also after
    # the cuts (the 13.1-13.9 s gap before "When" and the long pause are both removed).
    srt = parse_srt(app.storage.open(full_render.srt_key).read().decode())
    ass = app.storage.open(full_render.ass_key).read().decode()
    caption_words = []  # (word, start) from the karaoke events: the highlighted word of each
    for m in re.finditer(r"Dialogue: 0,(\d+):(\d\d):(\d\d\.\d\d),[^\n]*?\{\\c&H[0-9A-F]+\}([^{]+)\{\\r\}", ass):
        caption_words.append((norm(m[4]), int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])))
    wav = ff.extract_audio(path, tmp_path / "clip.wav")
    fresh = [(norm(w.text), w.start) for w in app.stt().transcribe(wav).words]
    matcher = difflib.SequenceMatcher(a=[w for w, _ in caption_words], b=[w for w, _ in fresh], autojunk=False)
    pairs = [
        (caption_words[blk.a + k], fresh[blk.b + k])
        for blk in matcher.get_matching_blocks()
        if blk.size >= 3  # runs of words, not a lone "the" matched across a misheard phrase
        for k in range(blk.size)
    ]
    assert len(pairs) >= 30, (caption_words, fresh)
    worst = max(abs(c[1] - f[1]) for c, f in pairs)
    assert worst < 0.35, pairs
    when = next(c for c, f in pairs if c[0] == "when")
    assert when[1] < 13.5  # "When" is said at 13.9 s in the source: the gap before it is cut
    cue = next(c for c in srt if c[2].startswith("When"))
    assert cue[0] == pytest.approx(when[1], abs=0.02)  # the SRT cue starts with the word


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


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
    # Captions are burned in the lower third (below the fitted 16:9 picture): that band differs from the fill.
    frame = frame_rgb(app.storage.local_path(clip.video_key), 1.5).astype(int)
    background = np.median(frame[5], axis=0)
    band = frame[1280:1650]
    assert (np.abs(band - background).sum(axis=2) > 150).sum() > 2000


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
def test_brand_kit_and_adjust_render_plugin(talk_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, video = talk_app
    logo = tmp_path / "logo.png"
    ff.run(["-f", "lavfi", "-i", "color=c=0xFF00FF:s=200x200", "-frames:v", "1", str(logo)], timeout=30)
    kit = tmp_path / "acme.yaml"
    monkeypatch.setattr(app.settings.render, "brands_dir", tmp_path)  # brand kits: names in a configured directory
    intro = tmp_path / "intro.mp4"  # 1 s, 16:9, no audio track: scaled, padded and given silence
    ff.run(["-f", "lavfi", "-i", "color=c=blue:s=640x360:r=25:d=1", "-c:v", "libx264", str(intro)], timeout=60)
    kit.write_text(
        "logo: logo.png\nlogo_position: top-left\nlogo_size: 0.2\nlogo_opacity: 1\nlogo_margin: 40\n"
        "progress_bar: true\naccent_colour: '#00FF00'\nprogress_height: 16\nintro: intro.mp4\n"
    )
    app.plugins.pm.register(RedCorner(), name="red-corner")
    clip = render_clip(
        app, new_clip(app, video, 1.0, 5.0), options=RenderOptions(brand="acme", remove_silence=False, **FAST)
    )
    path = app.storage.local_path(clip.video_key)
    assert clip.rendered_duration == pytest.approx(5.0, abs=0.1)  # 1 s intro + 4 s clip
    r, g, b = (int(x) for x in frame_rgb(path, 0.5)[960, 540])
    assert b > 200 and r < 60  # the intro comes first
    frame = frame_rgb(path, 1.0 + 2.0)  # half-way through the clip itself
    r, g, b = (int(x) for x in frame[40 + 100, 40 + 100])  # inside the logo
    assert r > 200 and g < 60 and b > 200
    r, g, b = (int(x) for x in frame[60, 1080 - 60])  # the plugin's red box
    assert r > 200 and g < 60 and b < 60
    bar = frame[1920 - 8]

    def accent(px: np.ndarray) -> bool:
        return int(px[0]) < 50 and int(px[1]) > 180 and int(px[2]) < 50

    assert accent(bar[100]) and accent(bar[450])  # at half time the bar has passed the first half...
    assert not accent(bar[700]) and not accent(bar[1000])  # ...but not more


def test_builtin_brand_example_loads() -> None:
    from core.media.brand import available_brands, load_brand

    assert "example" in available_brands()
    kit = load_brand("example")
    assert kit.logo is not None and kit.logo.is_file() and kit.progress_bar


def test_bad_inputs_fail_clearly(talk_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, video = talk_app
    outside = new_clip(app, video, 30.0, 75.0)
    with pytest.raises(InputError, match=r"lies outside video .* 42\.\d+ s long"):
        render_clip(app, outside)
    ok = new_clip(app, video, 1.0, 4.0)
    style = tmp_path / "fancy.yaml"
    style.write_text("font: Fancy Grotesk\nfont_file: fonts/FancyGrotesk.ttf\n")
    monkeypatch.setattr(app.settings.render, "styles_dir", tmp_path)  # names, never paths
    monkeypatch.setattr(app.settings.render, "brands_dir", tmp_path)
    with pytest.raises(InputError, match=r"font file .*FancyGrotesk\.ttf does not exist"):
        render_clip(app, ok, options=RenderOptions(caption_style="fancy"))
    kit = tmp_path / "brand.yaml"
    kit.write_text("logo: missing-logo.png\n")
    with pytest.raises(InputError, match=r"logo file .*missing-logo\.png does not exist"):
        render_clip(app, ok, options=RenderOptions(brand="brand"))
    with pytest.raises(InputError, match="there is no clip 99999"):
        render_clip(app, 99999)
    with app.session() as s:
        assert s.get(models.Clip, ok).status == models.ClipStatus.PROPOSED  # nothing was half-done


def test_longest_clips_start_first_and_results_keep_the_order_asked(talk_app, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.pipeline.render as render_mod

    app, video = talk_app
    ids = [new_clip(app, video, 0.0, 3.0), new_clip(app, video, 0.0, 12.0), new_clip(app, video, 5.0, 11.0)]
    started: list[int] = []

    def fake(app_, clip_id: int, **_: object) -> models.Clip:
        started.append(clip_id)
        if clip_id == ids[0]:
            raise InputError("this one fails")
        return models.Clip(id=clip_id, video_id=video.id, start=0, end=1)

    monkeypatch.setattr(render_mod, "render_clip", fake)
    results = render_mod.render_clips(app, ids, parallel=1)
    assert started == [ids[1], ids[2], ids[0]]  # 12 s, 6 s, 3 s
    assert list(results) == ids and isinstance(results[ids[0]], InputError)
    assert [r.id for r in list(results.values())[1:]] == ids[1:]


@pytest.mark.slow
def test_a_posted_render_is_never_replaced(talk_app) -> None:
    """Repro 5: re-rendering a posted clip re-rendered it in place; later posts of it carried other bytes."""
    from core.pipeline.publish import schedule_post

    app, video = talk_app
    cid = new_clip(app, video, 1.0, 4.0)
    first = render_clip(app, cid, options=RenderOptions(**FAST))
    with app.session() as s:
        account = models.SocialAccount(platform="folder", name="outbox-v", remote_id="outbox-v")
        s.add(account)
        s.flush()
        account_id = account.id
    post = schedule_post(app, cid, account_id)
    before = app.storage.local_path(first.video_key).read_bytes()
    again = render_clip(app, cid, options=RenderOptions(caption_style="clean", **FAST))
    assert again.render_version == first.render_version + 1 and again.video_key != first.video_key
    with app.session() as s:
        assert s.get(models.Post, post.id).video_key == first.video_key  # the post keeps its version...
    assert app.storage.local_path(first.video_key).read_bytes() == before  # ...and its bytes
