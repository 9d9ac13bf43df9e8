"""Answering with a file from storage (clip renders, thumbnails, a video's original)."""

from __future__ import annotations

from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from core.api.errors import Conflict, NotFound
from core.app import Clipcast


def serve_file(app: Clipcast, key: str | None, media_type: str, filename: str, what: str) -> Response:
    """A stored file as the answer: the local file (Range, ETag), a 307 to a presigned URL, or a stream."""
    if not key:
        raise Conflict(f"the clip has no {what} yet", "render it first: POST /api/videos/{id}/render")
    storage = app.storage
    local = storage.local_path(key)
    if local is not None:  # Range requests, ETag and Last-Modified come with FileResponse
        return FileResponse(local, media_type=media_type, filename=filename)
    url = storage.url(key, expires=600)
    if url:
        return RedirectResponse(url, status_code=307)
    if not storage.exists(key):
        raise NotFound(f"the clip's {what} is missing from storage", "render the clip again")
    handle = storage.open(key)

    def chunks():  # type: ignore[no-untyped-def]
        with handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk

    return StreamingResponse(
        chunks(), media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
