"""Render a clip row into publish-ready files: MP4, JPEG thumbnail, SRT, WebVTT and ASS, kept in storage.

``render_clip`` is idempotent: a hash of everything that decides the output (clip bounds and text, the
transcript words, options, caption style, brand kit, plugin edits of the RenderSpec, the source's sha256)
is stored on the clip; the same hash with the files present skips the work. Re-styling never re-transcribes:
the words come from the stored transcript.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from core import models, scratch
from core.contracts import RenderSpec, Word
from core.contracts import Transcript as TranscriptData
from core.errors import ClipcastError, InputError
from core.logging import get_logger
from core.media import ffmpeg
from core.media.audio_scan import audio_levels, normalising_gain, scan_audio
from core.media.brand import BrandKit, load_brand
from core.media.captions import (
    Captions,
    FaceBand,
    build_captions,
    load_style,
    resolve_fonts,
    shift_cues,
    to_ass,
    to_srt,
    to_vtt,
)
from core.media.cuts import Timeline, give_words_time, keep_segments, truncate, without_fillers
from core.media.edit_export import to_edl, to_fcpxml
from core.media.emoji import rasterise
from core.media.faces import Keyframe, Sample, crop_path, sample_faces
from core.media.hook import HookTitle, derive_variants
from core.media.layout import LayoutName, LayoutOverrides
from core.media.layout import frame as frame_layout
from core.media.music import resolve_track
from core.media.platforms import PRESETS, Platform, caption_update
from core.media.reframe import faces_on_output, output_size, same_shape
from core.media.render_graph import CEILING_DB, ClipGraph, caption_colours
from core.media.translate import translate_cues
from core.pipeline.broll import BROLL_OPTIONS, BrollPlan, plan_broll, topic_of
from core.progress import Cancelled, NullReporter, Reporter

log = get_logger("clipcast.render")

#: Bump when the render code changes what it produces, so old renders are redone.
RENDER_VERSION = 3

#: Clip field → (file name, in the render's temporary directory and its storage folder; content type).
OUTPUTS = {
    "video_key": ("clip.mp4", "video/mp4"),
    "thumbnail_key": ("thumbnail.jpg", "image/jpeg"),
    "srt_key": ("captions.srt", "application/x-subrip"),
    "vtt_key": ("captions.vtt", "text/vtt"),
    "ass_key": ("captions.ass", "text/x-ssa"),
    "fcpxml_key": ("edit.fcpxml", "application/xml"),  # only with export_edit
    "edl_key": ("edit.edl", "text/plain"),  # only with export_edit
}
#: Outputs written only when an option asks for them (their key is None otherwise).
EDIT_OUTPUTS = ("fcpxml_key", "edl_key")


class RenderOptions(BaseModel):
    """How to render; ``None`` fields take ``settings.render``'s value (see ``resolved``)."""

    model_config = ConfigDict(extra="forbid")

    aspect: Literal["9:16", "1:1", "16:9"] | None = None
    reframe: Literal["crop", "blur", "face"] | None = None
    layout: LayoutName | None = Field(
        None, description="auto | single | split | wide: framing chosen from the faces per shot (core.media.layout)"
    )
    layouts: LayoutOverrides | None = Field(
        None, description="layouts forced between two times (s on the source's timeline), e.g. a shot to show wide"
    )
    caption_style: str | None = None
    captions: bool = Field(True, description="burn captions into the picture (SRT/VTT/ASS are written anyway)")
    brand: str | None = None
    remove_silence: bool | None = None
    remove_fillers: bool | None = None
    fillers: list[str] | None = None
    min_silence: float | None = Field(None, gt=0)
    silence_pad: float | None = Field(None, ge=0)
    silence_db: float | None = None
    loudness_lufs: float | None = Field(None, description="EBU R128 target, LUFS")
    normalize_loudness: bool = Field(True, description="False: leave the audio level as it is")
    denoise: bool | None = None
    preset: str | None = None
    x264_params: str | None = None
    crf: int | None = Field(None, ge=0, le=51)
    word_fixes: dict[str, str] | None = Field(
        None, description="caption words corrected by hand, keyed by the word's start time (s, 2 decimals)"
    )
    translate: list[str] | None = Field(
        None, description="language codes: extra SRT/VTT captions translated by the LLM backend"
    )
    translate_burn: str | None = Field(None, description="burn this translation (one of translate) instead")
    export_edit: bool | None = Field(None, description="also write the cut list as FCPXML and a CMX 3600 EDL")
    music: str | None = Field(None, description="a track name in render.music_dir (a name, never a path)")
    music_db: float | None = Field(None, ge=-60, le=0, description="the track's gain before ducking, dB")
    hook_title: bool | None = Field(None, description="the clip's title as a title card over its first seconds")
    hook_seconds: float | None = Field(None, gt=0, description="how long the title card shows, s")
    platform: Platform | None = Field(
        None, description="tiktok | shorts | reels: aspect, longest length, safe zones, bitrate (core.media.platforms)"
    )
    auto_emoji: bool | None = Field(
        None, description="emoji for keywords (core.media.emoji.KEYWORDS) over the captions; None: the style's"
    )
    caption_position: Literal["bottom", "middle", "top"] | None = Field(
        None, description="where captions sit (then moved off detected faces); None: the style's, or the preset's"
    )
    encoder: Literal["libx264", "h264_nvenc"] | None = None
    broll: Literal["off", "cutaway", "pip"] | None = Field(
        None, description="B-roll at the clip's keywords: off | cutaway (full frame) | pip (an inset); audio kept"
    )
    broll_max: int | None = Field(None, ge=1, le=20, description="most B-roll inserts")
    broll_seconds: float | None = Field(None, ge=0.5, le=10, description="length of each B-roll insert, s")
    broll_collection: str | None = Field(
        None, description="a collection (sub-folder name) of the B-roll library to draw from; a name, never a path"
    )

    def resolved(self, settings: Any) -> RenderOptions:
        """Every field filled from ``settings.render`` where unset here: the render code reads the result's
        fields without defaults of its own (``loudness_lufs`` None still means "off")."""
        r = settings.render
        data = self.model_dump()
        for name in (
            "aspect", "reframe", "layout", "caption_style", "brand", "remove_silence", "remove_fillers", "fillers",
            "min_silence", "silence_pad", "silence_db", "loudness_lufs", "denoise", "preset", "x264_params",
            "crf", "platform", "hook_title", "hook_seconds", "music", "music_db", "export_edit", "translate", "encoder",
        ):  # fmt: skip
            if data[name] is None:
                data[name] = getattr(r, name)
        b = settings.broll
        for name, default in (("broll", b.mode), ("broll_max", b.max_inserts), ("broll_seconds", b.seconds)):
            if data[name] is None:
                data[name] = default
        if data["translate_burn"] and data["translate_burn"] not in (data["translate"] or []):
            data["translate"] = [*(data["translate"] or []), data["translate_burn"]]
        if data["platform"] and self.aspect is None:
            data["aspect"] = PRESETS[data["platform"]].aspect  # an explicit aspect still wins
        return RenderOptions.model_validate(data)


# ----------------------------------------------------------------------------------------------- helpers


def source_path(app: Any, video: models.Video) -> Path:
    """A local file ffmpeg can read for the video (ingest's ``local_source``)."""
    from core.pipeline.ingest import local_source

    return Path(local_source(app, video))


def transcript_words(app: Any, video: models.Video) -> list[Word]:
    if video.transcript_id is None:
        return []
    with app.session() as s:
        key = s.exec(select(models.Transcript.cache_key).where(models.Transcript.id == video.transcript_id)).first()
    return list(_stored_words(app.db_url, video.transcript_id, key)) if key else []


@lru_cache(maxsize=8)
def _stored_words(db_url: str, transcript_id: int, cache_key: str) -> tuple[Word, ...]:
    """A stored transcript's words, read and validated once per process: a transcript row is content-addressed
    by its cache key and never rewritten (the key is part of this cache's, so a reused id cannot hit), and
    rendering 10 clips of an hour-long talk used to load and validate its ~10,000 words 10 times. Callers must
    not mutate the words (the render code makes new ones)."""
    from core import db

    with db.session(db_url) as s:
        row = s.get(models.Transcript, transcript_id)
        return tuple(TranscriptData.model_validate(row.data).words) if row is not None else ()


@lru_cache(maxsize=8)
def _probe_once(path: str, size: int, mtime_ns: int) -> Any:
    return ffmpeg.probe(Path(path))


def probe_source(path: Path) -> Any:
    """ffprobe the source once per process and file version (path, size, mtime): every clip of a video used
    to probe it again."""
    st = path.stat()
    return _probe_once(str(path), st.st_size, st.st_mtime_ns)


def _words_in(words: Sequence[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if w.end > start and w.start < end]


def _fixed(words: list[Word], fixes: dict[str, str] | None) -> list[Word]:
    if not fixes:
        return words
    return [w.model_copy(update={"text": fixes[f"{w.start:.2f}"]}) if f"{w.start:.2f}" in fixes else w for w in words]


def _file_fingerprint(path: Path | None) -> str | None:
    if path is None:
        return None
    st = path.stat()
    return f"{path}:{st.st_size}:{int(st.st_mtime)}"


class _Prepared(BaseModel):
    """Everything decided before ffmpeg runs."""

    model_config = {"arbitrary_types_allowed": True}
    spec: RenderSpec
    options: RenderOptions
    style: Any
    fonts_dir: Path
    brand: BrandKit | None
    music: Path | None
    words: list[Word]
    render_hash: str


def _prepare(
    app: Any, clip: models.Clip, video: models.Video, options: RenderOptions, explicit_style: str | None
) -> _Prepared:
    settings = app.settings
    if clip.end <= clip.start:
        raise InputError(f"clip {clip.id}: end ({clip.end:.2f} s) is not after start ({clip.start:.2f} s)")
    if clip.start < 0 or (video.duration and clip.end > video.duration + 0.05):
        raise InputError(
            f"clip {clip.id} ({clip.start:.2f}-{clip.end:.2f} s) lies outside video {video.id}, "
            f"which is {video.duration:.2f} s long",
            "choose start/end within the video (clipcast render CLIP_ID --start S --end S)",
        )
    brand = load_brand(options.brand, settings.render.brands_dir) if options.brand else None
    # An explicitly asked style wins, then the brand kit's, then the configured default.
    style_name = explicit_style or (brand.caption_style if brand else None) or options.caption_style
    style = load_style(style_name, settings.render.styles_dir)
    style = style.model_copy(update=caption_colours(brand))
    if options.platform:
        style = style.model_copy(update=caption_update(PRESETS[options.platform], style.margin_v, style.margin_h))
    # The clip's own choices win over the style's and the preset's.
    chosen = {"auto_emoji": options.auto_emoji, "position": options.caption_position}
    style = style.model_copy(update={k: v for k, v in chosen.items() if v is not None})
    fonts_dir = resolve_fonts(style)
    width, height = output_size(options.aspect)
    spec = RenderSpec(
        source=source_path(app, video),
        start=clip.start,
        end=clip.end,
        width=width,
        height=height,
        reframe=options.reframe,
        caption_style=style.name,
        brand=brand.name if brand else None,
        remove_silence=bool(options.remove_silence),
        remove_fillers=bool(options.remove_fillers),
        loudness_lufs=options.loudness_lufs if options.normalize_loudness else None,
        denoise=bool(options.denoise),
    )
    app.plugins.hook.adjust_render(spec=spec, clip=clip)
    words = give_words_time(_fixed(_words_in(transcript_words(app, video), spec.start, spec.end), options.word_fixes))
    music = (
        resolve_track(options.music, settings.render.music_dir) if options.music else (brand.music if brand else None)
    )
    fingerprint = {
        "v": RENDER_VERSION,
        "video": video.sha256 or video.source,
        "spec": spec.model_dump(mode="json", exclude={"source"}),
        "options": options.model_dump(mode="json", exclude=set(BROLL_OPTIONS) if options.broll == "off" else None),
        "style": style.model_dump(mode="json"),
        "brand": brand.model_dump(mode="json") if brand else None,
        "brand_files": [_file_fingerprint(p) for p in (brand.logo, brand.intro, brand.outro)] if brand else None,
        "music": _file_fingerprint(music),
        "words": [w.model_dump() for w in words],
        "text": clip.text,
        "title": clip.title if options.hook_title else None,
    }
    if options.broll != "off":  # off, the hash is what it was before B-roll existed
        fingerprint["broll"] = _broll_fingerprint(app, clip)
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()
    return _Prepared(
        spec=spec,
        options=options,
        style=style,
        fonts_dir=fonts_dir,
        brand=brand,
        music=music,
        words=words,
        render_hash=digest,
    )


def _broll_fingerprint(app: Any, clip: models.Clip) -> dict[str, Any]:
    """What decides the B-roll besides the options: the providers, their cache keys, the clip's topic."""
    cfg = app.settings.broll
    keys = {}
    for name in cfg.providers:
        try:
            keys[name] = app.broll_provider(name).cache_key()
        except ClipcastError as exc:
            keys[name] = f"unusable: {exc}"
    return {
        "settings": cfg.model_dump(mode="json", exclude=set(cfg.sections())),
        "providers": keys,
        "library": app.settings.broll.sections().get("library"),
        "topic": [clip.hashtags, clip.title],
    }


def _broll(app: Any, clip: models.Clip, options: RenderOptions, words: list[Word], spec: RenderSpec, duration: float,
           tmp: Path, reporter: Reporter) -> BrollPlan:  # fmt: skip
    """The clip's B-roll plan (core.pipeline.broll); its notes are logged, so a render without B-roll says why."""
    if options.broll == "off":
        return BrollPlan()
    w, h = spec.width, spec.height
    plan = plan_broll(
        app,
        words,
        duration,
        mode=str(options.broll),
        max_inserts=int(options.broll_max or 1),
        seconds=float(options.broll_seconds or 2.0),
        topic=topic_of(clip.hashtags or [], clip.title or ""),
        orientation="portrait" if h > w else "landscape" if w > h else "square",
        collection=options.broll_collection,
        tmp=tmp,
    )
    for note in plan.notes:
        log.warning("b-roll", clip_id=clip.id, note=note)
    if plan.inserts:
        log.info("b-roll inserts", clip_id=clip.id, inserts=plan.summary())
    else:
        reporter.progress(0.0, plan.notes[-1] if plan.notes else "no B-roll")
    return plan


def _keys(clip: models.Clip, digest: str, version: int, edit: bool = False) -> dict[str, str | None]:
    """Each render version has keys of its own: a file once published (or scheduled) is never written over.
    The edit exports (``EDIT_OUTPUTS``) exist only when asked for."""
    base = f"renders/{clip.video_id}/{clip.id}-v{version}-{digest[:12]}"
    return {
        field: None if field in EDIT_OUTPUTS and not edit else f"{base}/{name}" for field, (name, _) in OUTPUTS.items()
    }


def _face_keyframes(spec: RenderSpec, timeline: Timeline, timeout: float) -> tuple[list[Sample], list[Keyframe]]:
    """Face samples (window timeline) and the crop's keyframes (output timeline)."""
    samples = sample_faces(spec.source, spec.start, spec.end - spec.start, timeout=timeout)
    keys = crop_path(samples)
    out: list[Keyframe] = []
    for k in keys:
        t = timeline.to_out(spec.start + k.t, snap="cut")
        assert t is not None
        if out and t <= out[-1].t + 1e-3:
            out[-1] = Keyframe(out[-1].t, k.cx, k.cy, out[-1].cut or k.cut)
        else:
            out.append(Keyframe(t, k.cx, k.cy, k.cut))
    return samples, out


def _write_edit(tmp: Path, timeline: Timeline, spec: RenderSpec, info: Any, name: str) -> None:
    """The cut list as ``edit.fcpxml`` and ``edit.edl`` (core.media.edit_export), at the source's frame rate."""
    fps = max(1, round(info.fps or spec.fps))
    w, h = info.display_size
    segments = list(timeline.segments)
    (tmp / "edit.fcpxml").write_text(
        to_fcpxml(segments, spec.source, fps=fps, width=w, height=h, duration=info.duration, name=name),
        encoding="utf-8",
    )
    (tmp / "edit.edl").write_text(to_edl(segments, spec.source, fps=fps, name=name), encoding="utf-8")


def _write_translations(tmp: Path, translations: dict[str, list[Any]], offset: float) -> dict[str, dict[str, str]]:
    """``captions.<lang>.srt``/``.vtt`` in ``tmp`` (on the whole video's timeline); lang → ext → file name."""
    out = {}
    for lang, cues in translations.items():
        shifted = shift_cues(cues, offset)
        (tmp / f"captions.{lang}.srt").write_text(to_srt(shifted), encoding="utf-8")
        (tmp / f"captions.{lang}.vtt").write_text(to_vtt(shifted), encoding="utf-8")
        out[lang] = {"srt": f"captions.{lang}.srt", "vtt": f"captions.{lang}.vtt"}
    return out


def _track_key(keys: dict[str, str | None], name: str) -> str:
    base = str(keys["video_key"]).rsplit("/", 1)[0]
    return f"{base}/{name}"


def _hook(clip: models.Clip, prep: _Prepared, options: RenderOptions, duration: float) -> HookTitle | None:
    """The title card, in the brand's accent colour (the style's highlight colour without a brand)."""
    if not options.hook_title or not clip.title.strip():
        return None
    box = prep.brand.accent_colour if prep.brand else prep.style.highlight_colour
    seconds = min(float(options.hook_seconds or 3.0), duration)
    return HookTitle(text=clip.title, seconds=seconds, box_colour=box, text_colour=prep.style.outline_colour)


def _emoji_overlays(captions: Captions, tmp: Path) -> list[dict[str, Any]]:
    """The captions' emoji as timed image overlays (one PNG per distinct emoji, centred horizontally)."""
    files: dict[str, Path] = {}
    out = []
    for show in captions.emoji:
        if show.emoji not in files:
            files[show.emoji] = rasterise(show.emoji, show.px, tmp / f"emoji-{len(files)}.png")
        out.append({"path": str(files[show.emoji]), "x": "(W-w)/2", "y": show.y, "start": show.start, "end": show.end})
    return out


# ------------------------------------------------------------------------------------------------ render


def retrim_clip(app: Any, clip_id: int, *, start: float | None = None, end: float | None = None) -> models.Clip:
    """Move a clip's bounds (s in the source) and refresh its text from the stored transcript."""
    with app.session() as s:
        clip = s.get(models.Clip, clip_id)
        if clip is None:
            raise InputError(f"there is no clip {clip_id}")
        video = s.get(models.Video, clip.video_id)
        assert video is not None
        new_start = clip.start if start is None else start
        new_end = clip.end if end is None else end
        if new_start < 0 or new_end <= new_start or (video.duration and new_end > video.duration + 0.05):
            raise InputError(
                f"clip {clip_id}: {new_start:.2f}-{new_end:.2f} s is not a range inside the video "
                f"(0-{video.duration:.2f} s)",
                "give --start and --end with start < end, both within the video",
            )
        clip.start, clip.end = new_start, new_end
        words = _words_in(transcript_words(app, video), new_start, new_end)
        if words:
            clip.text = " ".join(w.text.strip() for w in words)
        clip.updated_at = models.utcnow()
        s.add(clip)
        s.commit()
        s.refresh(clip)
        s.expunge(clip)
        return clip


def render_clip(
    app: Any, clip_id: int, *, options: RenderOptions | None = None, reporter: Reporter | None = None
) -> models.Clip:
    """Render one clip (see the module docstring). Raises ``InputError`` for unusable clips, styles or kits."""
    reporter = reporter or NullReporter()
    settings = app.settings
    explicit_style = options.caption_style if options else None
    options = (options or RenderOptions()).resolved(settings)
    with app.session() as s:
        clip = s.get(models.Clip, clip_id)
        if clip is None:
            raise InputError(
                f"there is no clip {clip_id}", "clip ids are in clips.json from `clipcast process`, or GET /api/clips"
            )
        video = s.get(models.Video, clip.video_id)
        assert video is not None
        s.expunge_all()
    prep = _prepare(app, clip, video, options, explicit_style)
    spec = prep.spec
    version = clip.render_version + 1
    keys = _keys(clip, prep.render_hash, version, bool(options.export_edit))
    if clip.render_hash == prep.render_hash and all(
        (getattr(clip, k) is None) == (v is None) and (v is None or app.storage.exists(getattr(clip, k)))
        for k, v in keys.items()
    ):
        log.info("render up to date", clip_id=clip_id)
        reporter.progress(100.0, "up to date")
        return clip

    info = probe_source(spec.source)
    end = min(spec.end, info.duration)
    if spec.start >= end:
        raise InputError(f"clip {clip_id} starts at {spec.start:.2f} s, after the media ends ({info.duration:.2f} s)")
    # One audio pass over the clip's window measures both the pauses to cut and the loudness to correct.
    scan = None
    if info.has_audio:
        scan = scan_audio(
            spec.source,
            start=spec.start,
            duration=end - spec.start,
            silences=spec.remove_silence,
            loudness=spec.loudness_lufs is not None,
            noise_db=options.silence_db,
            min_duration=options.min_silence,
            timeout=settings.render.ffmpeg_timeout,
        )
    if spec.remove_silence or spec.remove_fillers:
        segments = keep_segments(
            spec.start,
            end,
            prep.words,
            silences=scan.silences if scan and spec.remove_silence else None,
            remove_silence=spec.remove_silence,
            min_silence=options.min_silence,
            pad=options.silence_pad,
            fillers=(options.fillers or []) if spec.remove_fillers else (),
            levels=audio_levels(  # 10 ms steps: a filler's edges are found between syllables
                spec.source,
                start=spec.start,
                duration=end - spec.start,
                hop=0.01,
                timeout=settings.render.ffmpeg_timeout,
            )
            if spec.remove_fillers and info.has_audio
            else None,
        )
    else:
        segments = [(spec.start, end)]
    gain_db, limit = (
        normalising_gain(scan, spec.loudness_lufs, ceiling_db=CEILING_DB)
        if scan and spec.loudness_lufs is not None
        else (None, False)
    )
    if options.platform:
        segments = truncate(segments, PRESETS[options.platform].max_seconds)
    timeline = Timeline.of(segments)
    shown = without_fillers(prep.words, options.fillers or []) if spec.remove_fillers else prep.words
    out_words = timeline.retime_words(shown)
    keyframes, faces, framing = None, list[FaceBand](), None
    src_w, src_h = info.display_size
    if options.layout and not same_shape(src_w, src_h, spec.width, spec.height):
        lay = frame_layout(
            spec.source, spec.start, end - spec.start, mode=options.layout, overrides=options.layouts or (),
            to_out=lambda t: timeline.to_out(spec.start + t), out_duration=timeline.duration,
            src_size=(src_w, src_h), out_size=(spec.width, spec.height), silence_db=float(options.silence_db),
            timeout=settings.render.ffmpeg_timeout,
        )  # fmt: skip
        framing, faces = lay.filter, lay.bands
        log.info("layout", clip_id=clip_id, segments=[(round(s.start, 2), s.view.kind) for s in lay.plan.segments])
    elif spec.reframe == "face":
        samples, keyframes = _face_keyframes(spec, timeline, settings.render.ffmpeg_timeout)
        faces = faces_on_output(
            samples, keyframes, src_w, src_h, spec.width, spec.height, lambda t: timeline.to_out(spec.start + t)
        )
    brand = prep.brand
    intro = (brand.intro, ffmpeg.probe(brand.intro)) if brand and brand.intro else None
    outro = (brand.outro, ffmpeg.probe(brand.outro)) if brand and brand.outro else None
    captions = build_captions(
        out_words,
        prep.style,
        spec.width,
        spec.height,
        offset=intro[1].duration if intro else 0.0,
        faces=faces,
        hook=_hook(clip, prep, options, timeline.duration),
    )
    translations = {lang: translate_cues(app.selector(), captions.plain, lang) for lang in options.translate or []}

    tmp = Path(tempfile.mkdtemp(prefix=scratch.prefix("clipcast-render")))
    try:
        (tmp / "captions.srt").write_text(captions.srt, encoding="utf-8")
        (tmp / "captions.vtt").write_text(captions.vtt, encoding="utf-8")
        (tmp / "captions.ass").write_text(captions.ass, encoding="utf-8")
        offset = intro[1].duration if intro else 0.0
        tracks = _write_translations(tmp, translations, offset)
        if options.translate_burn:
            style = prep.style.model_copy(update={"animation": "none"})
            hook = _hook(clip, prep, options, timeline.duration)
            burned = translations[options.translate_burn]
            captions.burn = to_ass(burned, style, spec.width, spec.height, faces, hook)
        (tmp / "burn.ass").write_text(captions.burn, encoding="utf-8")
        overlays = _emoji_overlays(captions, tmp) if options.captions else []
        broll = _broll(app, clip, options, out_words, spec, timeline.duration, tmp, reporter)
        graph = ClipGraph(
            source=spec.source,
            info=info,
            timeline=timeline,
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            reframe=str(spec.reframe),
            keyframes=keyframes,
            framing=framing,
            ass_path=(tmp / "burn.ass") if options.captions and out_words else None,
            fonts_dir=prep.fonts_dir,
            brand=brand,
            gain_db=gain_db,
            limit=limit,
            denoise=spec.denoise,
            music=prep.music,
            music_db=options.music_db,
            video_filters=list(spec.video_filters),
            overlays=[*overlays, *spec.overlays],
            broll=broll.inserts,
            pip_scale=settings.broll.pip_scale,
            intro=intro,
            outro=outro,
            preset=options.preset,
            x264_params=options.x264_params,
            crf=options.crf,
            maxrate_kbps=PRESETS[options.platform].maxrate_kbps if options.platform else None,
            encoder=str(options.encoder),
        )
        mp4 = tmp / "clip.mp4"
        ffmpeg.run(
            graph.build(mp4),
            timeout=settings.render.ffmpeg_timeout,
            duration=graph.duration,
            reporter=reporter,
            what=f"rendering clip {clip_id}",
        )
        thumb_at = (intro[1].duration if intro else 0.0) + min(1.0, timeline.duration / 3)
        ffmpeg.run(
            ["-ss", f"{thumb_at:.3f}", "-i", str(mp4), "-frames:v", "1", "-q:v", "3", str(tmp / "thumbnail.jpg")],
            timeout=120,
            what="thumbnail",
        )
        if options.export_edit:
            _write_edit(tmp, timeline, spec, info, clip.title or f"clip {clip_id}")
        for field, (name, ctype) in OUTPUTS.items():
            if (key := keys[field]) is not None:
                app.storage.put_file(key, tmp / name, ctype)
        track_keys = {}
        for lang, names in tracks.items():
            track_keys[lang] = {ext: _track_key(keys, name) for ext, name in names.items()}
            for ext, name in names.items():
                app.storage.put_file(track_keys[lang][ext], tmp / name, OUTPUTS[f"{ext}_key"][1])
        duration = ffmpeg.probe(mp4).duration
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    with app.session() as s:
        row = s.get(models.Clip, clip_id)
        assert row is not None
        old = {k: getattr(row, k) for k in keys}
        old_tracks = [k for t in (row.caption_tracks or {}).values() for k in t.values()]
        row.caption_tracks = track_keys
        for k, v in keys.items():
            setattr(row, k, v)
        row.render_hash = prep.render_hash
        row.render_version = version
        if not row.title_variants:  # selection wrote none: offer the title and the clip's first sentences
            row.title_variants = derive_variants(row.title, row.text)
        row.render_options = options.model_dump(mode="json")
        row.rendered_duration = duration
        row.rendered_at = models.utcnow()
        row.updated_at = models.utcnow()
        if row.status in (models.ClipStatus.PROPOSED, models.ClipStatus.APPROVED):
            row.status = models.ClipStatus.RENDERED
        s.add(row)
        s.commit()
        s.refresh(row)
        s.expunge(row)
    with app.session() as s:  # a render some post publishes stays: that post keeps the bytes it was given
        kept = (
            old["video_key"] and s.exec(select(models.Post.id).where(models.Post.video_key == old["video_key"])).first()
        )
    new_tracks = {k for t in track_keys.values() for k in t.values()}
    old.update({f"track:{k}": k for k in old_tracks if k not in new_tracks})
    for k, v in old.items():  # otherwise the previous render's files are replaced, not kept forever
        if v and v != keys.get(k) and not kept:
            try:
                app.storage.delete(v)
            except Exception as exc:
                log.warning("could not delete an old render file", key=v, error=repr(exc))
    log.info("rendered clip", clip_id=clip_id, seconds=round(duration, 2), cuts=len(segments) - 1)
    return row


class _Aggregate:
    """Combines the progress of clips rendered at once into one stage percentage (thread-safe)."""

    def __init__(self, reporter: Reporter, n: int) -> None:
        self.reporter, self.n, self.done = reporter, n, [0.0] * n
        self.lock = threading.Lock()

    def for_clip(self, i: int, label: str) -> Reporter:
        agg = self

        class _One:
            def stage(self, name: str) -> None:
                pass

            def progress(self, percent: float, message: str = "") -> None:
                with agg.lock:
                    agg.done[i] = percent
                    total = sum(agg.done) / agg.n
                agg.reporter.progress(total, label)

            def check_cancelled(self) -> None:
                agg.reporter.check_cancelled()

        return _One()


def render_clips(
    app: Any,
    clip_ids: Sequence[int],
    *,
    options: RenderOptions | None = None,
    reporter: Reporter | None = None,
    parallel: int | None = None,
) -> dict[int, models.Clip | Exception]:
    """Render several clips, ``settings.render.parallel`` at a time (threads, one ffmpeg each).

    Returns clip id → rendered clip or the exception that stopped it; one clip's failure does not stop the
    others (a cancellation does). The longest clips start first, so the last one to finish is a short one
    rather than a long one rendering alone on an otherwise idle machine.
    """
    reporter = reporter or NullReporter()
    agg = _Aggregate(reporter, max(1, len(clip_ids)))
    workers = max(1, parallel or app.settings.render.parallel)

    def one(i: int, cid: int) -> models.Clip | Exception:
        try:
            reporter.check_cancelled()
            return render_clip(app, cid, options=options, reporter=agg.for_clip(i, f"clip {i + 1}/{len(clip_ids)}"))
        except Cancelled:
            raise
        except ClipcastError as exc:
            log.warning("clip render failed", clip_id=cid, error=str(exc))
            return exc

    with app.session() as s:
        rows = s.exec(select(models.Clip).where(col(models.Clip.id).in_(list(clip_ids)))).all()
        length = {row.id: row.end - row.start for row in rows}
    order = sorted(range(len(clip_ids)), key=lambda i: -length.get(clip_ids[i], 0.0))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render") as pool:
        futures = {i: pool.submit(one, i, clip_ids[i]) for i in order}
        return {cid: futures[i].result() for i, cid in enumerate(clip_ids)}
