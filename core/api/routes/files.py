"""Signed, expiring downloads of local-storage files, for platforms that pull media (Instagram, webhooks).

``LocalStorage.url()`` makes these URLs when ``server.public_base_url`` and ``secret_key`` are set; nothing
else is reachable here without a valid signature.
"""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from core.api.deps import AppDep
from core.api.errors import Forbidden, NotFound
from core.errors import StorageError
from core.keys import validate_key, verify

router = APIRouter(tags=["files"])


@router.get(
    "/files/{key:path}",
    summary="A local-storage file, by signed URL",
    response_class=FileResponse,
    responses={403: {"description": "bad or expired signature"}, 404: {"description": "no such file"}},
)
def signed_file(
    key: str, app: AppDep, expires: int = Query(..., ge=0, le=2**40), sig: str = Query(..., max_length=100)
) -> FileResponse:
    secret = app.settings.secret_key
    try:
        validate_key(key)
    except StorageError as exc:
        raise NotFound(str(exc))
    if secret is None or not verify(key, expires, sig, secret.get_secret_value()):
        raise Forbidden("the link is invalid or has expired", "ask for a fresh URL")
    path = app.storage.local_path(key)
    if path is None:
        raise NotFound("no such file in local storage")
    return FileResponse(path, media_type=mimetypes.guess_type(key)[0] or "application/octet-stream")
