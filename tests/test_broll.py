"""B-roll on generated media: the local library's matching and ranking, the Pexels provider against its fake
(search, guarded download, cache, 401/429/empty), and renders that show the B-roll picture at the chosen
word while the audio stays the same. Set RENDER_FRAMES_DIR to keep the checked frames as PNGs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.app import Clipcast
from core.config import Settings, effective_config
from core.contracts import BrollQuery
from core.errors import InputError
from core.pipeline.broll import keyword_moments, plan_broll
from core.pipeline.ingest import ingest
from core.pipeline.render import RenderOptions, render_clip
from tests.fakes.pexels_server import KEY, PexelsFake
from tests.render_media import attach_words, drawn_video, frame, frames_dir, new_clip, timed_words

pytest.importorskip("cv2")

FAST = {"preset": "ultrafast", "normalize_loudness": False, "remove_silence": False, "reframe": "crop"}
LOOPBACK = {"allowed_networks": ["127.0.0.0/8", "::1/128"]}
# the(0.20) volcano(0.55) is(0.90) near(1.25) the(1.60) beach(1.95) city(2.30)
TEXT = "the volcano is near the beach city"
RED, BLUE, GREEN = (220, 30, 30), (30, 60, 220), (30, 200, 60)


def saved(name: str) -> Path | None:
    d = frames_dir()
    return d / name if d else None


def solid_video(dest: Path, rgb: tuple[int, int, int], size: tuple[int, int], seconds: float = 1.0) -> Path:
    colour = "0x{:02x}{:02x}{:02x}".format(*rgb)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s={size[0]}x{size[1]}:r=25:d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def solid_image(dest: Path, rgb: tuple[int, int, int]) -> Path:
    colour = "0x{:02x}{:02x}{:02x}".format(*rgb)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s=400x300", "-frames:v", "1",
         str(dest)],
        check=True,
    )  # fmt: skip
    return dest


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """volcano.mp4 (red, matched by name), beach.png (blue, by tags.yaml), misc/clip_03.mp4 (green, by its
    sidecar), and a link out of the library that must be ignored."""
    root = tmp_path / "broll"
    (root / "misc").mkdir(parents=True)
    solid_video(root / "volcano.mp4", RED, (320, 240))
    solid_image(root / "IMG_0042.png", BLUE)
    (root / "tags.yaml").write_text("IMG_0042.png: [beach, sea]\n")
    solid_video(root / "misc" / "clip_03.mp4", GREEN, (240, 320))
    (root / "misc" / "clip_03.mp4.txt").write_text("city, skyline")
    outside = solid_video(tmp_path / "secret-city.mp4", GREEN, (64, 64))
    (root / "city-link.mp4").symlink_to(outside)
    return root


def make_app(tmp_path: Path, **broll: object) -> Clipcast:
    return Clipcast(Settings(data_dir=tmp_path / "data", output_dir=tmp_path / "clips", broll=broll, ingest=LOOPBACK))


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    def paint(img: np.ndarray, t: float) -> None:  # a grey scene (BGR), none of the B-roll colours
        img[:] = (128, 128, 128)

    return drawn_video(tmp_path / "talk.mp4", paint, duration=3.0, size=(480, 270), fps=15)


def _clip(app: Clipcast, src: Path) -> int:
    video = ingest(app, src)
    attach_words(app, video, timed_words(TEXT))
    return new_clip(app, video, 0.0, 3.0, title="Near the volcano", hashtags=["#Volcano"])


def near(px: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> bool:
    return bool(np.all(np.abs(px.astype(int) - np.array(rgb)) < tol))


def pcm(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-f", "f32le", "-ac", "1", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32)


# --------------------------------------------------------------------------------------------- library


def test_the_library_matches_by_name_tag_and_sidecar_and_never_leaves_its_root(tmp_path: Path, library: Path) -> None:
    app = make_app(tmp_path, library={"roots": [str(library)]})
    lib = app.broll_provider("library")
    (hit,) = lib.search(BrollQuery(keyword="Volcano"))
    assert hit.id == "volcano.mp4" and hit.kind == "video" and hit.matched == "Volcano (name)"
    (hit,) = lib.search(BrollQuery(keyword="beaches"))  # plural folded
    assert hit.id == "IMG_0042.png" and hit.kind == "image" and "tag" in hit.matched
    (hit,) = lib.search(BrollQuery(keyword="city"))  # city-link.mp4 points outside: skipped
    assert hit.id == "misc/clip_03.mp4" and hit.path == (library / "misc" / "clip_03.mp4").resolve()
    assert lib.search(BrollQuery(keyword="misc"))[0].matched == "misc (folder)"
    assert lib.search(BrollQuery(keyword="giraffe")) == []
    # Ranking: a name match beats a tag match; topic words add to it; equal scores go by path, every time.
    solid_video(library / "sea-volcano.mp4", RED, (64, 64))
    lib._index = None
    order = [a.id for a in lib.search(BrollQuery(keyword="sea"))]
    assert order == ["sea-volcano.mp4", "IMG_0042.png"]
    order = [a.id for a in lib.search(BrollQuery(keyword="volcano", topic=["sea"]))]
    assert order == ["sea-volcano.mp4", "volcano.mp4"]
    # A collection is a folder name under the root, never a path.
    assert [a.id for a in lib.search(BrollQuery(keyword="city", collection="misc"))] == ["misc/clip_03.mp4"]
    for bad in ("../x", "/etc", "a/b"):
        with pytest.raises(InputError, match="collection name"):
            lib.search(BrollQuery(keyword="city", collection=bad))


def test_keywords_are_the_clips_nouns_topic_first() -> None:
    moments = keyword_moments(timed_words("so the volcano is near the beach and the volcano"), ["beach"])
    assert [(m.word, round(m.t, 2)) for m in moments] == [("beach", 2.3), ("volcano", 0.9), ("near", 1.6)]


# ---------------------------------------------------------------------------------------------- render


def test_cutaway_shows_the_library_clip_at_its_word_and_keeps_the_audio(
    tmp_path: Path, library: Path, talk: Path
) -> None:
    app = make_app(tmp_path, providers=["library"], library={"roots": [str(library)]})
    cid = _clip(app, talk)
    plain = render_clip(app, cid, options=RenderOptions(**FAST))
    plain_audio = pcm(app.storage.local_path(plain.video_key))
    clip = render_clip(app, cid, options=RenderOptions(broll="cutaway", broll_max=1, broll_seconds=1.0, **FAST))
    out = app.storage.local_path(clip.video_key)
    # "volcano" is the clip's topic (#Volcano): its insert starts on the word (0.55 s) and lasts 1 s.
    img = frame(out, 1.0, saved("broll-cutaway.png"))
    h, w, _ = img.shape
    assert (w, h) == (1080, 1920)
    assert near(img[h // 3, w // 2], RED) and near(img[20, 20], RED) and near(img[h - 20, w - 20], RED)
    yellow = (img[..., 0] > 200) & (img[..., 1] > 180) & (img[..., 2] < 90)
    assert yellow.sum() > 200  # the karaoke highlight is drawn over the B-roll
    before, after = frame(out, 0.3), frame(out, 2.0, saved("broll-cutaway-after.png"))
    assert near(before[h // 3, w // 2], (128, 128, 128)) and near(after[h // 3, w // 2], (128, 128, 128))
    audio = pcm(out)
    assert len(audio) == len(plain_audio) and np.max(np.abs(audio - plain_audio)) < 1e-4


def test_pip_puts_the_tagged_image_in_an_inset(tmp_path: Path, library: Path, talk: Path) -> None:
    app = make_app(tmp_path, providers=["library"], library={"roots": [str(library)]})
    cid = _clip(app, talk)
    with app.session() as s:  # make "beach" the topic, so the image (tagged beach) comes first
        from core import models

        row = s.get(models.Clip, cid)
        row.hashtags, row.title = ["#Beach"], "A day at the beach"
        s.add(row)
        s.commit()
    clip = render_clip(app, cid, options=RenderOptions(broll="pip", broll_max=1, broll_seconds=0.9, **FAST))
    img = frame(app.storage.local_path(clip.video_key), 2.3, saved("broll-pip.png"))
    h, w, _ = img.shape
    # The inset: 42% of the width, top right (4% margin, 8% from the top); the speaker's picture around it.
    inset_x, inset_y = int(w * (1 - 0.04 - 0.21)), int(h * 0.08 + h * 0.21)
    assert near(img[inset_y, inset_x], BLUE)
    assert near(img[h // 2, w // 4], (128, 128, 128)) and near(img[int(h * 0.04), w // 2], (128, 128, 128))
    assert near(frame(app.storage.local_path(clip.video_key), 1.5)[inset_y, inset_x], (128, 128, 128))


# ---------------------------------------------------------------------------------------------- pexels


def test_pexels_is_searched_and_its_file_downloaded_through_the_guard_and_cached(tmp_path: Path, talk: Path) -> None:
    stock = solid_video(tmp_path / "stock-city.mp4", GREEN, (360, 640), seconds=2.0)
    with PexelsFake() as fake:
        fake.add("city", stock, 1080, 1920)
        app = make_app(tmp_path, providers=["pexels"], pexels={"api_key": KEY, "base_url": fake.url}, max_queries=3)
        words = timed_words(TEXT)
        plan = plan_broll(app, words, 3.0, mode="cutaway", max_inserts=1, seconds=0.6, topic=["volcano"],
                          orientation="portrait", collection=None, tmp=tmp_path)  # fmt: skip
        # volcano (the topic), near and beach are asked and not found; city is past max_queries=3.
        assert not plan.inserts and [q["query"] for q in fake.searches] == ["volcano", "near", "beach"]
        assert {q["orientation"] for q in fake.searches} == {"portrait"} and fake.count("GET", r"/video-files/.*") == 0
        app.settings.broll.max_queries = 4
        cid = _clip(app, talk)
        clip = render_clip(app, cid, options=RenderOptions(broll="cutaway", broll_max=1, broll_seconds=0.6, **FAST))
        assert [q["query"] for q in fake.searches][3:] == ["city"]  # the first three came from the cache
        assert fake.calls.count(("GET", "/video-files/10000.mp4")) == 1  # the 1080x1920 file, not the 540x960 one
        img = frame(app.storage.local_path(clip.video_key), 2.45, saved("broll-pexels.png"))
        assert near(img[960, 540], GREEN) and near(frame(app.storage.local_path(clip.video_key), 2.0)[960, 540],
                                                   (128, 128, 128))  # fmt: skip
        assert len(list(app.storage.list("broll-cache/pexels/files/"))) == 1
        # Another insert length: the same answers and the same file, from storage; nothing is asked again.
        plan = plan_broll(app, words, 3.0, mode="cutaway", max_inserts=1, seconds=0.5, topic=["volcano"],
                          orientation="portrait", collection=None, tmp=tmp_path)  # fmt: skip
        assert [i.word for i in plan.inserts] == ["city"] and plan.inserts[0].path.is_file()
        assert len(fake.searches) == 4 and fake.count("GET", r"/video-files/.*") == 1
        # Without the loopback allowance the egress guard refuses the same request.
        strict = Clipcast(
            Settings(data_dir=tmp_path / "d2", broll={"providers": ["pexels"], "pexels": {"api_key": KEY,
                     "base_url": fake.url}})
        )  # fmt: skip
        plan = _plan(strict, tmp_path)
        assert not plan.inserts and len(fake.searches) == 4, plan.notes
        assert any("pexels:" in n and "127.0.0.1" in n for n in plan.notes), plan.notes


def _plan(app: Clipcast, tmp_path: Path, text: str = "city"):  # type: ignore[no-untyped-def]
    return plan_broll(app, timed_words(text), 3.0, mode="cutaway", max_inserts=1, seconds=1.0, topic=[],
                      orientation="portrait", collection=None, tmp=tmp_path)  # fmt: skip


def test_pexels_errors_say_why_and_the_render_goes_on_without_broll(tmp_path: Path, talk: Path) -> None:
    with PexelsFake() as fake:
        app = make_app(tmp_path, providers=["pexels"], pexels={"api_key": "wrong-key-123456", "base_url": fake.url})
        plan = _plan(app, tmp_path, "city skyline")
        assert not plan.inserts and fake.count("GET", "/videos/search") == 1  # not asked again after a refusal
        assert any("Pexels refused the API key (401)" in n for n in plan.notes), plan.notes
        app = make_app(tmp_path, providers=["pexels"], pexels={"api_key": KEY, "base_url": fake.url})
        fake.quota = 0
        plan = _plan(app, tmp_path)
        assert any("Pexels rate limit reached (429)" in n and "resets in 60 min" in n for n in plan.notes), plan.notes
        fake.quota = 10
        cid = _clip(app, talk)
        clip = render_clip(app, cid, options=RenderOptions(broll="cutaway", **FAST))  # nothing in stock: plain
        img = frame(app.storage.local_path(clip.video_key), 1.0)
        assert near(img[960, 540], (128, 128, 128))
        plan = _plan(app, tmp_path, "giraffe")
        assert plan.notes[-1] == "no B-roll: no match for the keywords 'giraffe' (providers asked: pexels)"


def test_the_pexels_key_is_masked_and_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, broll={"providers": ["pexels"], "pexels": {"api_key": KEY}})
    shown = effective_config(settings)["broll"]["pexels"]
    assert shown["api_key"] == "**********" and KEY not in repr(effective_config(settings))
    from core.logging import redact

    app = Clipcast(Settings(data_dir=tmp_path / "e", broll={"providers": ["pexels"]}, ingest=LOOPBACK))
    monkeypatch.delenv("PEXELS_API_KEY", raising=False)
    with pytest.raises(InputError, match="needs an API key"):
        app.broll_provider("pexels")._key()
    monkeypatch.setenv("PEXELS_API_KEY", KEY)
    assert app.broll_provider("pexels")._key() == KEY
    assert KEY not in redact(f"Authorization: {KEY}")


def test_off_costs_nothing(tmp_path: Path, talk: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Off, nothing is searched or built, and the B-roll options do not enter the render hash (so clips rendered
    before B-roll existed stay up to date); on, they do."""
    from core import models
    from core.pipeline import render as r

    app = make_app(tmp_path, providers=["library"])
    cid = _clip(app, talk)
    with app.session() as s:
        clip = s.get(models.Clip, cid)
        video = s.get(models.Video, clip.video_id)
        s.expunge_all()

    def digest(**extra: object) -> str:
        return r._prepare(app, clip, video, RenderOptions(**FAST, **extra).resolved(app.settings), None).render_hash

    on = {digest(broll="cutaway"), digest(broll="pip"), digest(broll="cutaway", broll_max=2)}

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("B-roll was looked at while off")

    monkeypatch.setattr(r, "plan_broll", boom)
    monkeypatch.setattr(app, "broll_provider", boom)
    off = {digest(), digest(broll_max=7, broll_seconds=4.0), digest(broll="off", broll_collection="misc")}
    assert len(off) == 1 and len(on) == 3 and not off & on
    rendered = render_clip(app, cid, options=RenderOptions(**FAST))
    assert rendered.render_hash in off


def test_a_clips_broll_options_are_set_through_the_api(tmp_path: Path) -> None:
    from tests.api_support import client, make_user, seed

    app = make_app(tmp_path)
    alice = make_user(app, "alice@example.com")
    ids = seed(app, alice.id)
    api = client(app)
    r = api.patch(f"/api/clips/{ids['clip']}", json={"broll": "pip", "broll_max": 2}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["render_options"] == {"broll": "pip", "broll_max": 2}
    assert RenderOptions.model_validate(r.json()["render_options"]).resolved(app.settings).broll_seconds == 2.0
    for bad in ({"broll": "everywhere"}, {"broll_collection": "../etc"}, {"broll_seconds": 60}):
        r = api.patch(f"/api/clips/{ids['clip']}", json=bad, headers=alice.headers)
        assert r.status_code == 422, (bad, r.text)


def test_a_library_file_that_is_not_plain_media_is_refused_before_ffmpeg_reads_it(
    tmp_path: Path, library: Path
) -> None:
    """A playlist named like a video (it would make ffmpeg open the files it lists) is refused by its first
    bytes; the next match is used instead, and the refusal is in the notes."""
    (library / "volcano-playlist.mp4").write_text("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    app = make_app(tmp_path, providers=["library"], library={"roots": [str(library)]})
    plan = plan_broll(app, timed_words("volcano"), 3.0, mode="pip", max_inserts=1, seconds=1.0, topic=[],
                      orientation="portrait", collection=None, tmp=tmp_path)  # fmt: skip
    assert [(i.path.name, i.kind, i.demuxer, i.mode) for i in plan.inserts] == [("volcano.mp4", "video", "mov", "pip")]
    assert any("volcano-playlist.mp4" in n and "playlist" in n for n in plan.notes), plan.notes


def test_the_graph_reads_images_as_single_files_and_overlays_before_the_captions(tmp_path: Path) -> None:
    from core.contracts import MediaInfo
    from core.media.broll import BrollInsert
    from core.media.cuts import Timeline
    from core.media.ffmpeg import with_whitelist
    from core.media.render_graph import ClipGraph

    info = MediaInfo(duration=10, size_bytes=1, format_name="mov", width=640, height=360, video_codec="h264",
                     audio_codec="aac")  # fmt: skip
    image = BrollInsert(tmp_path / "100%d.png", "image", "image2", 1.0, 2.5, "cutaway", "beach")
    video = BrollInsert(tmp_path / "city.mp4", "video", "mov", 4.0, 6.0, "pip", "city")
    graph = ClipGraph(source=Path("x.mp4"), info=info, timeline=Timeline.of([(0, 10)]), ass_path=tmp_path / "c.ass",
                      broll=[image, video])  # fmt: skip
    args = with_whitelist(graph.build(Path("o.mp4")))
    # A name with a pattern in it stays one file (no sequence expansion); each input is exactly its slot long.
    i = args.index(str(image.path))
    assert args[i - 13 : i] == ["-loop", "1", "-framerate", "30", "-t", "1.500", "-f", "image2", "-pattern_type",
                                "none", "-protocol_whitelist", "file,pipe", "-i"]  # fmt: skip
    j = args.index(str(video.path))
    assert args[j - 9 : j] == ["-stream_loop", "-1", "-t", "2.000", "-f", "mov", "-protocol_whitelist", "file,pipe",
                               "-i"]  # fmt: skip
    fc = args[args.index("-filter_complex") + 1]
    assert "[1:v]fps=30,scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920" in fc
    assert "setpts=PTS-STARTPTS+1.000/TB[br0]" in fc and "setpts=PTS-STARTPTS+4.000/TB[br1]" in fc
    assert "[2:v]fps=30,scale=454:808:force_original_aspect_ratio=increase,crop=454:808,pad=462:816" in fc
    # Both overlays come before the captions, so the captions are drawn over the B-roll.
    cutaway = fc.index("[vfit][br0]overlay=x=0:y=0:enable='between(t,1.000,2.500)'")
    pip = fc.index("[vbr0][br1]overlay=x=W-w-44:y=154:enable='between(t,4.000,6.000)'")
    assert cutaway < pip < fc.index("[vbr1]ass=filename")
    assert "[2:a]" not in fc and "[1:a]" not in fc  # B-roll never reaches the audio graph
