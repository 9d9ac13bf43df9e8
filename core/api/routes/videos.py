"""Videos: upload (multipart, streamed to disk and storage, capped) or by URL; list, detail, delete.

Analysis and rendering of a video are in ``processing.py`` (they need the worker modules).
"""

from __future__ import annotations

import mimetypes
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import col, or_, select

from core.api import quotas
from core.api.deps import AppDep, Id, PageDep, UserDep, owned, paged, scoped
from core.api.errors import Conflict, NotFound, PayloadTooLarge, UnsupportedMediaType, invalid_request
from core.api.files import serve_file
from core.api.routes.processing import start_analysis
from core.api.schemas import PageOut, VideoCreated, VideoDetail, VideoListItem, VideoOut, VideoUrlIn
from core.api.upload import stream_upload
from core.errors import InputError
from core.media import ffmpeg as ff
from core.models import AiUsage, Clip, Job, Post, SourceItemSeen, Transcript, Video
from core.pipeline.ingest import check_url, ingest, ingest_upload, local_source
from core.pipeline.render import OUTPUTS

router = APIRouter(prefix="/api/videos", tags=["videos"])

_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "the video"},
                        "analyze": {"type": "boolean", "default": True, "description": "queue analysis now"},
                    },
                }
            },
            "application/json": {"schema": VideoUrlIn.model_json_schema()},
        },
    }
}


#: A JSON body on the upload path is a URL request: it never needs more than this.
JSON_LIMIT = 64 * 1024


async def _small_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it passes ``JSON_LIMIT`` (the upload path allows gigabytes)."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > JSON_LIMIT:
            raise PayloadTooLarge(f"a JSON body here is at most {JSON_LIMIT // 1024} KB", 'send only {"url": ...}')
    return bytes(data)


@router.post(
    "",
    response_model=VideoCreated,
    status_code=201,
    summary='Add a video: multipart upload (field `file`) or JSON `{"url": ...}`',
    description=(
        "An upload is stored and probed now (201). A URL with `analyze` (the default) is checked now and downloaded "
        "by the worker as the job's first stage (202, `video` null until then); with `analyze: false` it is "
        "downloaded during the request."
    ),
    openapi_extra=_UPLOAD_DOC,
    responses={
        202: {"description": "URL accepted: the job downloads and analyzes it", "model": VideoCreated},
        400: {"description": "not a usable video, or a URL Clipcast may not fetch (the message says why)"},
        413: {"description": "larger than api.max_upload_mb"},
        415: {"description": "neither multipart/form-data nor application/json"},
        429: {"description": "daily videos quota used up"},
    },
)
async def add_video(request: Request, user: UserDep, app: AppDep) -> VideoCreated | JSONResponse:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("multipart/form-data", "application/json"):
        raise UnsupportedMediaType(
            f"content type {ctype or '(none)'} is not accepted here",
            "send multipart/form-data with a `file` field, or application/json with a `url`",
        )

    def check_quota() -> None:
        with app.session() as s:
            quotas.check_ingest(s, app.settings, user.id)

    await run_in_threadpool(check_quota)
    if ctype == "application/json":
        try:
            body = VideoUrlIn.model_validate_json(await _small_body(request))
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise InputError("the request body is not valid JSON")
            raise invalid_request(exc.errors())
        url = check_url(body.url, app.settings)
        if body.analyze:  # the download happens in the worker, with progress on the job
            job = await run_in_threadpool(start_analysis, app, user, None, {}, source=url)
            return JSONResponse(VideoCreated(video=None, job=job).model_dump(mode="json"), status_code=202)
        video = await run_in_threadpool(ingest, app, url, user_id=user.id)
        analyze = False
    else:
        max_bytes = int(app.settings.api.max_upload_mb * 1024 * 1024)

        def store(stream: Any, filename: str) -> Video:
            return ingest_upload(app, stream, filename, user_id=user.id, max_bytes=max_bytes)

        video, fields = await stream_upload(request, store)
        analyze = fields.get("analyze", "true").strip().lower() not in ("false", "0", "no", "off")
    job = await run_in_threadpool(start_analysis, app, user, video, {}) if analyze else None
    return VideoCreated(video=VideoOut.model_validate(video), job=job)


@router.get("", response_model=PageOut[VideoListItem], summary="Your videos, newest first, with clip counts")
def list_videos(
    user: UserDep,
    app: AppDep,
    pg: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="words in the title or source")] = None,
) -> dict:
    stmt = scoped(select(Video), Video, user).order_by(col(Video.id).desc())
    like = f"%{q.strip()}%" if q and q.strip() else None
    with app.session() as s:
        page = paged(s, stmt, pg, or_(col(Video.title).ilike(like), col(Video.source).ilike(like)) if like else None)
        ids = [v.id for v in page["items"]]
        counted = select(Clip.video_id, func.count()).where(col(Clip.video_id).in_(ids)).group_by(Clip.video_id)
        counts: dict[int, int] = {vid: n for vid, n in s.exec(counted).all()}
        latest: dict[int, Job] = {}
        for job in s.exec(select(Job).where(col(Job.video_id).in_(ids)).order_by(col(Job.id))):
            latest[job.video_id] = job  # type: ignore[index]
        page["items"] = [
            VideoListItem(
                **VideoOut.model_validate(v).model_dump(),
                clips=counts.get(v.id, 0),
                status=latest[v.id].status if v.id in latest else "added",
                job_id=latest[v.id].id if v.id in latest else None,
            )
            for v in page["items"]
        ]
        return page


def _check_original(app: AppDep, video: Video) -> None:
    if not video.storage_key or not app.storage.exists(video.storage_key):
        raise NotFound(f"video {video.id} has no stored original", "add the video again")


@router.get(
    "/{video_id}/thumbnail",
    summary="A frame of the video (JPEG, made once and kept in storage)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def video_thumbnail(video_id: Id, user: UserDep, app: AppDep) -> Response:
    with app.session() as s:
        video = owned(s, Video, video_id, user)
    key = f"thumbs/{video.sha256}.jpg"
    if not app.storage.exists(key):
        _check_original(app, video)
        with tempfile.TemporaryDirectory(dir=app.settings.data_dir) as tmp:
            out = Path(tmp) / "thumb.jpg"
            at = min(max(video.duration * 0.1, 0.0), 30.0)
            ff.run(
                ["-ss", f"{at:.2f}", "-i", str(local_source(app, video)), "-frames:v", "1", "-vf", "scale=320:-2",
                 "-q:v", "4", str(out)],
                timeout=60,
                what="video thumbnail",
            )  # fmt: skip
            app.storage.put_file(key, out, "image/jpeg")
    return serve_file(app, key, "image/jpeg", f"video-{video_id}.jpg", "thumbnail")


@router.get(
    "/{video_id}/source",
    summary="The original file, for previews (Range requests with local storage; media fragments like #t=10,25)",
    response_class=Response,
)
def video_source(video_id: Id, user: UserDep, app: AppDep) -> Response:
    with app.session() as s:
        video = owned(s, Video, video_id, user)
    _check_original(app, video)
    kind = mimetypes.guess_type(video.storage_key)[0] or "video/mp4"
    return serve_file(app, video.storage_key, kind, f"video-{video_id}{Path(video.storage_key).suffix}", "source")


@router.get("/{video_id}", response_model=VideoDetail, summary="One video with its transcript and summary")
def read_video(video_id: Id, user: UserDep, app: AppDep) -> VideoDetail:
    with app.session() as s:
        video = owned(s, Video, video_id, user)
        transcript = s.get(Transcript, video.transcript_id) if video.transcript_id else None
        clips = s.exec(select(func.count()).select_from(Clip).where(Clip.video_id == video_id)).one()
        return VideoDetail(
            **VideoOut.model_validate(video).model_dump(),
            transcript=transcript.data if transcript else None,
            summary_md=video.summary_md,
            clips=clips,
        )


_IN_FLIGHT = ("uploading", "processing")


@router.delete(
    "/{video_id}",
    status_code=204,
    summary="Delete a video, its clips, their files and unpublished posts",
    responses={409: {"description": "a post of one of its clips is being published right now"}},
)
def delete_video(video_id: Id, user: UserDep, app: AppDep) -> None:
    keys: list[str] = []
    with app.session() as s:
        video = owned(s, Video, video_id, user)
        clips = list(s.exec(select(Clip).where(Clip.video_id == video_id)).all())
        clip_ids = [c.id for c in clips]
        posts = list(s.exec(select(Post).where(col(Post.clip_id).in_(clip_ids))).all()) if clip_ids else []
        busy = [p.id for p in posts if p.status in _IN_FLIGHT]
        if busy:
            raise Conflict(f"posts {busy} of this video are being published now", "wait for them to finish")
        running = s.exec(
            select(Job).where(Job.video_id == video_id, col(Job.status).in_(("queued", "running")))
        ).first()
        if running is not None:
            raise Conflict(
                f"job {running.id} is working on this video", f"cancel it first: POST /api/jobs/{running.id}/cancel"
            )
        for post in posts:
            s.delete(post)
        for job in s.exec(select(Job).where(col(Job.clip_id).in_(clip_ids))).all() if clip_ids else []:
            job.clip_id = None
            s.add(job)
        for clip in clips:
            keys += [k for k in (getattr(clip, field) for field in OUTPUTS) if k]
            keys += [k for track in (clip.caption_tracks or {}).values() for k in track.values()]
            s.delete(clip)
        for job in s.exec(select(Job).where(Job.video_id == video_id)).all():
            job.video_id = None
            s.add(job)
        for usage in s.exec(select(AiUsage).where(AiUsage.video_id == video_id)).all():
            usage.video_id = None
            s.add(usage)
        for seen in s.exec(select(SourceItemSeen).where(SourceItemSeen.video_id == video_id)).all():
            seen.video_id = None
            s.add(seen)
        shared = s.exec(
            select(func.count()).select_from(Video).where(Video.sha256 == video.sha256, Video.id != video_id)
        ).one()
        if not shared:  # the original and its audio are shared by sha256 between users' rows
            keys += [k for k in (video.storage_key, video.audio_key) if k]
        s.delete(video)
    for key in keys:
        try:
            app.storage.delete(key)
        except Exception:  # the rows are gone; a leftover file is harmless and logged by the backend
            pass
