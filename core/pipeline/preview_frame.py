"""One still of a clip with a caption style, reframe, aspect and brand kit, before rendering it.

The studio shows it while a creator picks a style. It is the render's own graph (``ClipGraph``, the same
captions, crop and brand overlays) over a short window at the clip's start, encoded at the fastest preset, of
which one frame is kept as a JPEG. No audio work (loudness, silence cuts, music) and no intro/outro: they do
not change the picture of that frame. Stored under ``previews/<video>/<clip>-<hash>.jpg`` keyed by everything
the picture depends on, so asking again with the same settings costs one storage read.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from core import models, scratch
from core.errors import InputError
from core.logging import get_logger
from core.media import ffmpeg
from core.media.captions import build_captions
from core.media.cuts import Timeline
from core.media.reframe import faces_on_output
from core.media.render_graph import ClipGraph
from core.pipeline.render import RenderOptions, _emoji_overlays, _face_keyframes, _hook, _prepare, probe_source

log = get_logger("clipcast.preview_frame")

#: Seconds of the clip rendered for the still, and where in them the still is taken (captions have appeared).
WINDOW, AT = 1.6, 0.9
#: Bump when the still's recipe changes (old cached stills are then ignored).
RECIPE = 1


def preview_key(video_id: int, clip_id: int, digest: str) -> str:
    return f"previews/{video_id}/{clip_id}-{digest[:20]}.jpg"


def preview_frame(app: Any, clip_id: int, options: RenderOptions) -> tuple[str, bool]:
    """The storage key of the still of ``clip_id`` with ``options`` (made now unless cached), and whether it
    came from the cache."""
    explicit_style = options.caption_style
    resolved = options.resolved(app.settings)
    with app.session() as s:
        clip = s.get(models.Clip, clip_id)
        if clip is None:
            raise InputError(f"there is no clip {clip_id}")
        video = s.get(models.Video, clip.video_id)
        assert video is not None
        s.expunge_all()
    end = min(clip.end, clip.start + WINDOW)
    window = clip.model_copy(update={"end": end})
    prep = _prepare(app, window, video, resolved, explicit_style)
    digest = hashlib.sha256(json.dumps([RECIPE, prep.render_hash], default=str).encode()).hexdigest()
    key = preview_key(video.id, clip_id, digest)  # type: ignore[arg-type]
    if app.storage.exists(key):
        return key, True
    spec = prep.spec
    info = probe_source(spec.source)
    end = min(spec.end, info.duration)
    if spec.start >= end:
        raise InputError(f"clip {clip_id} starts at {spec.start:.2f} s, after the media ends ({info.duration:.2f} s)")
    timeline = Timeline.of([(spec.start, end)])
    keyframes, faces = None, []
    if spec.reframe == "face":
        samples, keyframes = _face_keyframes(spec, timeline, app.settings.render.ffmpeg_timeout)
        src_w, src_h = info.display_size
        faces = faces_on_output(
            samples, keyframes, src_w, src_h, spec.width, spec.height, lambda t: timeline.to_out(spec.start + t)
        )
    out_words = timeline.retime_words(prep.words)
    captions = build_captions(
        out_words, prep.style, spec.width, spec.height, faces=faces, hook=_hook(window, prep, resolved, 1e9)
    )
    tmp = Path(tempfile.mkdtemp(prefix=scratch.prefix("clipcast-preview")))
    try:
        (tmp / "burn.ass").write_text(captions.burn, encoding="utf-8")
        graph = ClipGraph(
            source=spec.source,
            info=info,
            timeline=timeline,
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            reframe=str(spec.reframe),
            keyframes=keyframes,
            ass_path=(tmp / "burn.ass") if resolved.captions and out_words else None,
            fonts_dir=prep.fonts_dir,
            brand=prep.brand,
            video_filters=list(spec.video_filters),
            overlays=[*(_emoji_overlays(captions, tmp) if resolved.captions else []), *spec.overlays],
            preset="ultrafast",
            crf=30,
        )
        mp4 = tmp / "window.mp4"
        ffmpeg.run(graph.build(mp4), timeout=app.settings.render.ffmpeg_timeout, what=f"preview of clip {clip_id}")
        at = min(AT, max(0.0, timeline.duration - 0.1))
        still = tmp / "still.jpg"
        ffmpeg.run(["-ss", f"{at:.3f}", "-i", str(mp4), "-frames:v", "1", "-q:v", "4", str(still)], timeout=60,
                   what="preview still")  # fmt: skip
        app.storage.put_file(key, still, "image/jpeg")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("preview frame made", clip_id=clip_id, key=key)
    return key, False
