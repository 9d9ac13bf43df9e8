"""Clips: filtered lists, edits (a change to the picture queues a re-render), approve/reject, files."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col, select

from core.api.deps import AppDep, Id, PageDep, UserDep, owned, read_owned, read_page, scoped
from core.api.errors import Conflict, NotFound, ValidationProblem
from core.api.files import serve_file
from core.api.render_checks import check_names
from core.api.routes.processing import queue_render
from core.api.schemas import PRESET_NAME, ClipOut, ClipPatch, ClipWord, JobOut, PageOut, StylesOut
from core.contracts import Reframe
from core.errors import InputError
from core.media.brand import available_brands
from core.media.captions import available_styles
from core.media.hook import derive_variants
from core.media.music import available_tracks
from core.media.platforms import PRESETS
from core.models import Clip, ClipStatus, Video, utcnow
from core.pipeline.broll import BROLL_OPTIONS
from core.pipeline.preview_frame import preview_frame
from core.pipeline.render import RenderOptions, retrim_clip, transcript_words

router = APIRouter(prefix="/api/clips", tags=["clips"])

#: Fields whose change alters what a render writes (picture, sound, caption files, edit export): a change to
#: one of a rendered clip queues a re-render. All but start/end are stored in ``clip.render_options``, which
#: every later render of the clip uses (PATCH, POST /api/videos/{id}/render, approve with render=true).
PICTURE = (
    "start",
    "end",
    "aspect",
    "reframe",
    "layout",
    "layouts",
    "captions",
    "caption_style",
    "brand",
    "remove_silence",
    "remove_fillers",
    "word_fixes",
    "platform",
    "music",
    "music_db",
    "hook_title",
    "hook_seconds",
    "auto_emoji",
    "caption_position",
    "export_edit",
    "translate",
    "translate_burn",
    *BROLL_OPTIONS,
)
STYLE = PICTURE[2:]
MIN_CLIP_SECONDS = 1.0
#: The render defaults the studio shows (auto_emoji and caption_position: the caption style decides).
DEFAULTS = ("caption_style", "reframe", "layout", "aspect", "brand", "platform", "music", "hook_title", "export_edit",
            "translate")  # fmt: skip


class ClipSort(StrEnum):
    SCORE = "score"
    RANK = "rank"
    NEWEST = "newest"
    START = "start"


_ORDER = {
    ClipSort.SCORE: (col(Clip.score).desc(), col(Clip.id)),
    ClipSort.RANK: (col(Clip.video_id), col(Clip.rank), col(Clip.id)),
    ClipSort.NEWEST: (col(Clip.id).desc(),),
    ClipSort.START: (col(Clip.video_id), col(Clip.start), col(Clip.id)),
}


@router.get("", response_model=PageOut[ClipOut], summary="Clips, filtered by video, status and score")
async def list_clips(
    user: UserDep,
    app: AppDep,
    pg: PageDep,
    video: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[ClipStatus | None, Query()] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    sort: Annotated[ClipSort, Query()] = ClipSort.SCORE,
) -> dict:
    stmt = scoped(select(Clip), Clip, user).order_by(*_ORDER[sort])
    return await read_page(
        app,
        stmt,
        pg,
        Clip.video_id == video if video else None,
        Clip.status == status.value if status else None,
        Clip.score >= min_score if min_score is not None else None,
        rows=True,
    )


@router.get("/styles", response_model=StylesOut, summary="Caption styles, brand kits and picture options to pick from")
def styles(_user: UserDep, app: AppDep) -> StylesOut:
    r = app.settings.render
    return StylesOut(
        caption_styles=available_styles(r.styles_dir),
        brands=available_brands(r.brands_dir),
        reframes=[r.value for r in Reframe],
        layouts=["auto", "single", "split", "wide"],
        aspects=["9:16", "1:1", "16:9"],
        platforms=list(PRESETS),
        music=available_tracks(r.music_dir),
        caption_positions=["bottom", "middle", "top"],
        defaults={k: getattr(r, k) for k in DEFAULTS} | {"auto_emoji": None, "caption_position": None},
    )


@router.get("/{clip_id}", response_model=ClipOut, summary="One clip")
async def read_clip(clip_id: Id, user: UserDep, app: AppDep) -> Clip:
    return await read_owned(app, Clip, clip_id, user)


class ClipUpdated(ClipOut):
    render_job: JobOut | None = None


@router.patch(
    "/{clip_id}",
    response_model=ClipUpdated,
    summary="Edit words, trim or style; a change to the picture of a rendered clip queues a re-render",
)
def update_clip(clip_id: Id, body: ClipPatch, user: UserDep, app: AppDep) -> dict:
    changes = body.model_dump(exclude_unset=True, mode="json")
    check_names(app, changes)
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
        old_title = clip.title
        video = s.get(Video, clip.video_id)
        start, end = changes.get("start", clip.start), changes.get("end", clip.end)
        if end - start < MIN_CLIP_SECONDS:
            raise InputError(f"the clip would be {end - start:.2f} s long (start {start}, end {end})",
                             f"keep end at least {MIN_CLIP_SECONDS:g} s after start")  # fmt: skip
        if video is not None and video.duration and end > video.duration + 0.05:
            raise InputError(f"end {end} is past the end of the video ({video.duration:.2f} s)")
        for o in body.layouts or []:
            if o.start < start - 0.05 or o.end > end + 0.05:
                raise ValidationProblem(
                    f"layout override {o.start:g}-{o.end:g} s lies outside the clip ({start:g}-{end:g} s)",
                    "give times on the source video's timeline, between the clip's start and end",
                )
        picture_changed = any(k in changes and changes[k] != _current(clip, k) for k in PICTURE)
        if changes.get("title_variant") is not None:
            clip.title_variants, changes["title"] = _variant(clip, changes["title_variant"])
        for key in ("title", "caption", "hashtags", "platform_captions"):
            if key in changes:
                setattr(clip, key, changes[key])
        # The title is part of the picture while the hook title card shows it.
        hook = changes["hook_title"] if "hook_title" in changes else (clip.render_options or {}).get("hook_title")
        hook = app.settings.render.hook_title if hook is None else hook
        picture_changed = picture_changed or (hook and clip.title != old_title)
        style = {k: changes[k] for k in STYLE if k in changes}
        if style:
            clip.render_options = {**(clip.render_options or {}), **{k: v for k, v in style.items() if v is not None}}
            for k, v in style.items():
                if v is None:
                    clip.render_options.pop(k, None)
        clip.updated_at = utcnow()
        s.add(clip)
        rerender = picture_changed and bool(clip.video_key)
        video_id, render_options = clip.video_id, dict(clip.render_options)
    if "start" in changes or "end" in changes:  # moves the bounds and refreshes the clip's text from the transcript
        retrim_clip(app, clip_id, start=changes.get("start"), end=changes.get("end"))
    job = queue_render(app, user, video_id, clip_id, render_options) if rerender else None
    with app.session() as s:
        out = ClipOut.model_validate(s.get(Clip, clip_id)).model_dump()
    return {**out, "render_job": job}


def _variant(clip: Clip, index: int) -> tuple[list[str], str]:
    """The clip's title variants (derived when selection left none) and variant ``index`` (1-based)."""
    variants = list(clip.title_variants) or derive_variants(clip.title, clip.text)
    if not 1 <= index <= len(variants):
        raise InputError(
            f"title_variant: clip {clip.id} has {len(variants)} title variant(s); there is no variant {index}",
            "choose one of: " + "; ".join(f"{i}: {v}" for i, v in enumerate(variants, 1)),
        )
    return variants, variants[index - 1]


def _current(clip: Clip, key: str) -> object:
    if key in ("start", "end"):
        return getattr(clip, key)
    return (clip.render_options or {}).get(key)


def _set_status(clip_id: int, user: UserDep, app: AppDep, status: ClipStatus) -> Clip:
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
        if clip.status in (ClipStatus.SCHEDULED, ClipStatus.PUBLISHED):
            raise Conflict(f"clip {clip_id} is {clip.status}; cancel its posts first")
        if status == ClipStatus.APPROVED and clip.status == ClipStatus.RENDERED:
            return clip  # rendered clips are approved already
        clip.status = status
        clip.updated_at = utcnow()
        s.add(clip)
        return clip


@router.post(
    "/{clip_id}/approve",
    response_model=ClipUpdated,
    summary="Approve a clip for rendering and posting; with `render=true` also render it if it is not rendered",
)
def approve(
    clip_id: Id,
    user: UserDep,
    app: AppDep,
    render: Annotated[bool, Query(description="queue a render when the clip has none yet")] = False,
) -> dict:
    clip = _set_status(clip_id, user, app, ClipStatus.APPROVED)
    job = None
    if render and not clip.video_key:
        job = queue_render(app, user, clip.video_id, clip_id, dict(clip.render_options or {}))
    return {**ClipOut.model_validate(clip).model_dump(), "render_job": job}


@router.get("/{clip_id}/words", response_model=list[ClipWord], summary="Transcript words around a clip, for trimming")
def clip_words(
    clip_id: Id,
    user: UserDep,
    app: AppDep,
    pad: Annotated[float, Query(ge=0, le=120, description="seconds of context before and after the clip")] = 10,
) -> list[ClipWord]:
    """Words from ``start - pad`` to ``end + pad``; ``text`` has the clip's ``word_fixes`` applied (keyed by the
    word's start time, two decimals) and ``heard`` is what speech-to-text wrote."""
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
        video = s.get(Video, clip.video_id)
    if video is None:
        return []
    fixes = (clip.render_options or {}).get("word_fixes") or {}
    lo, hi = clip.start - pad, clip.end + pad
    return [
        ClipWord(start=w.start, end=w.end, text=fixes.get(f"{w.start:.2f}", w.text.strip()), heard=w.text.strip())
        for w in transcript_words(app, video)
        if w.end > lo and w.start < hi
    ]


@router.post("/{clip_id}/reject", response_model=ClipOut, summary="Reject a clip (never rendered or posted)")
def reject(clip_id: Id, user: UserDep, app: AppDep) -> Clip:
    return _set_status(clip_id, user, app, ClipStatus.REJECTED)


_FILE_RESPONSES = {
    200: {"description": "the file (Range requests supported for local storage)"},
    307: {"description": "redirect to a presigned URL"},
    409: {"description": "not rendered yet"},
}


@router.get(
    "/{clip_id}/download",
    summary="The rendered MP4",
    response_class=Response,
    responses={**_FILE_RESPONSES, 200: {"content": {"video/mp4": {}}, **_FILE_RESPONSES[200]}},
)
def download(clip_id: Id, user: UserDep, app: AppDep) -> Response:
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
    return serve_file(app, clip.video_key, "video/mp4", f"clip-{clip_id}.mp4", "rendered video")


@router.get(
    "/{clip_id}/preview-frame",
    summary="One still of the clip with a caption style, reframe, aspect and brand kit, before rendering it",
    response_class=Response,
    responses={**_FILE_RESPONSES, 200: {"content": {"image/jpeg": {}}, **_FILE_RESPONSES[200]}},
)
def preview_still(
    clip_id: Id,
    user: UserDep,
    app: AppDep,
    caption_style: Annotated[str | None, Query(max_length=100, pattern=PRESET_NAME)] = None,
    reframe: Annotated[Reframe | None, Query()] = None,
    aspect: Annotated[Literal["9:16", "1:1", "16:9"] | None, Query()] = None,
    brand: Annotated[str | None, Query(max_length=100, pattern=PRESET_NAME)] = None,
) -> Response:
    """Unset settings are the clip's own (then the configuration's). Made from the source at the clip's start
    (``core.pipeline.preview_frame``) and cached by settings: asking again costs nothing."""
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
    asked = {"caption_style": caption_style, "reframe": reframe, "aspect": aspect, "brand": brand}
    stored = {k: v for k, v in (clip.render_options or {}).items() if k in RenderOptions.model_fields}
    options = RenderOptions.model_validate({**stored, **{k: v for k, v in asked.items() if v is not None}})
    key, _cached = preview_frame(app, clip_id, options)
    return serve_file(app, key, "image/jpeg", f"clip-{clip_id}-preview.jpg", "preview frame")


@router.get(
    "/{clip_id}/thumbnail",
    summary="The clip's thumbnail (JPEG)",
    response_class=Response,
    responses={**_FILE_RESPONSES, 200: {"content": {"image/jpeg": {}}, **_FILE_RESPONSES[200]}},
)
def thumbnail(clip_id: Id, user: UserDep, app: AppDep) -> Response:
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
    return serve_file(app, clip.thumbnail_key, "image/jpeg", f"clip-{clip_id}.jpg", "thumbnail")


@router.get(
    "/{clip_id}/captions.{fmt}",
    summary="The clip's captions as SRT or WebVTT",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
def captions(clip_id: Id, fmt: str, user: UserDep, app: AppDep) -> Response:
    if fmt not in ("srt", "vtt"):
        raise NotFound(f"no captions format {fmt!r}; use captions.srt or captions.vtt")
    with app.session() as s:
        clip = owned(s, Clip, clip_id, user)
    key = clip.srt_key if fmt == "srt" else clip.vtt_key
    media = "application/x-subrip" if fmt == "srt" else "text/vtt"
    return serve_file(app, key, media, f"clip-{clip_id}.{fmt}", f"{fmt.upper()} captions")
