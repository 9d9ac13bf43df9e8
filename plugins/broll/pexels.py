"""Stock B-roll from Pexels' video search API (https://www.pexels.com/api/documentation/#videos-search).

The contract followed (and faked by tests/fakes/pexels_server.py):

- ``GET {base_url}/videos/search?query=Q&per_page=N&page=1&orientation=portrait|landscape|square`` with the
  key in an ``Authorization: <key>`` header (no "Bearer").
- 200: ``{"page", "per_page", "total_results", "videos": [{"id", "width", "height", "duration", "url",
  "user": {"name", "url"}, "video_files": [{"id", "quality", "file_type", "width", "height", "fps",
  "link"}]}]}``; no match is ``videos: []``. HLS entries have no width/height and are never chosen.
- 401/403: the key is missing or wrong. 429: the monthly/hourly quota is spent; ``X-Ratelimit-Reset`` (UNIX
  seconds) says when it comes back.

Per video the file chosen is an ``mp4`` of the query's orientation whose short side is closest to
``target_short_side`` from above (the smallest that still fills the frame), else the largest below. Every
request and download goes through the egress guard (``clipcast.guarded_client``); a download is refused
beyond ``max_mb`` or with another content type. The core caches answers and files in storage
(``cacheable``), so a keyword is asked for once (Pexels asks clients to cache for 24 h). The key comes from
``broll.pexels.api_key`` (or the ``PEXELS_API_KEY`` environment variable), is registered with the log
redactor and is masked by ``clipcast config check``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from clipcast import BrollAsset, BrollProvider, BrollQuery, InputError, RetryableError, hookimpl

FILE_TYPES = ["video/mp4"]


class Pexels(BrollProvider):
    name = "pexels"
    description = "Pexels stock video; needs an API key (free), attribution appreciated"
    cacheable = True

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        api_key: SecretStr | None = Field(None, description="Pexels API key (default: $PEXELS_API_KEY)")
        base_url: str = Field("https://api.pexels.com", description="API root (a local fake in tests)")
        per_page: int = Field(8, ge=1, le=80, description="results asked per keyword")
        target_short_side: int = Field(1080, ge=240, description="preferred short side of the file, px")
        max_mb: float = Field(60, gt=0, description="largest download accepted, MB")
        file_types: list[str] = Field(default_factory=lambda: list(FILE_TYPES), description="accepted file types")
        timeout: float = Field(30, gt=0, description="seconds per request")

    settings: Any = None

    def bind(self, settings: Any) -> None:
        self.settings = settings

    def cache_key(self) -> str:
        o = self.options
        return f"{self.name}:{o.base_url.rstrip('/')}:{o.per_page}:{o.target_short_side}:{','.join(o.file_types)}"

    def _key(self) -> str:
        from clipcast import add_secret

        key = self.options.api_key.get_secret_value() if self.options.api_key else os.environ.get("PEXELS_API_KEY")
        if not key:
            raise InputError(
                "B-roll from Pexels needs an API key",
                "set broll.pexels.api_key (or PEXELS_API_KEY); keys are free at pexels.com/api",
            )
        add_secret(key)
        return key

    def _client(self) -> Any:
        from clipcast import guarded_client

        if self.settings is None:
            from clipcast import PluginError

            raise PluginError("the Pexels provider was not bound to the installation's settings")
        return guarded_client(self.settings, timeout=self.options.timeout)

    def search(self, query: BrollQuery) -> list[BrollAsset]:
        import httpx

        params = {"query": query.keyword, "per_page": self.options.per_page, "page": 1}
        params["orientation"] = query.orientation
        url = self.options.base_url.rstrip("/") + "/videos/search"
        try:
            with self._client() as client:
                res = client.get(url, params=params, headers={"Authorization": self._key()})
        except httpx.HTTPError as exc:
            raise RetryableError(f"Pexels did not answer ({type(exc).__name__})", "B-roll is tried again next render")
        _raise_for(res)
        try:
            videos = res.json().get("videos") or []
        except ValueError:
            raise RetryableError("Pexels answered with something that is not JSON")
        assets = []
        for rank, video in enumerate(videos):
            chosen = self._pick_file(video.get("video_files") or [], query.orientation)
            if chosen is None:
                continue
            user = video.get("user") or {}
            assets.append(
                BrollAsset(
                    provider=self.name,
                    id=f"{video.get('id')}-{chosen.get('id')}",
                    kind="video",
                    score=float(len(videos) - rank),  # Pexels' own relevance order
                    matched=query.keyword,
                    url=str(chosen["link"]),
                    width=chosen.get("width"),
                    height=chosen.get("height"),
                    duration=video.get("duration"),
                    credit=f"{user.get('name', 'unknown')} on Pexels".strip(),
                )
            )
        return assets[: query.limit]

    def _pick_file(self, files: list[dict[str, Any]], orientation: str) -> dict[str, Any] | None:
        ok = [
            f
            for f in files
            if f.get("link") and f.get("width") and f.get("height") and f.get("file_type") in self.options.file_types
        ]

        def shape(f: dict[str, Any]) -> bool:
            w, h = f["width"], f["height"]
            return {"portrait": h > w, "landscape": w > h, "square": w == h}[orientation]

        ok = [f for f in ok if shape(f)] or ok
        if not ok:
            return None
        target = self.options.target_short_side
        above = sorted(
            (f for f in ok if min(f["width"], f["height"]) >= target), key=lambda f: min(f["width"], f["height"])
        )
        below = sorted(
            (f for f in ok if min(f["width"], f["height"]) < target), key=lambda f: -min(f["width"], f["height"])
        )
        return (above or below)[0]

    def fetch(self, asset: BrollAsset, dest_dir: Path) -> Path:
        import httpx

        if not asset.url or not asset.url.startswith(("https://", "http://")):
            raise InputError(f"Pexels video {asset.id} has no http(s) file link")
        limit = int(self.options.max_mb * 1024 * 1024)
        dest = dest_dir / f"pexels-{asset.id}.mp4"
        part = dest.with_name(dest.name + ".part")
        try:
            with self._client() as client, client.stream("GET", asset.url) as res:
                _raise_for(res)
                ctype = (res.headers.get("content-type") or "").split(";")[0].strip().lower()
                if ctype not in self.options.file_types:
                    raise InputError(f"Pexels video {asset.id} came as {ctype or 'no type'}, not a video file")
                declared = int(res.headers.get("content-length") or 0)
                if declared > limit:
                    raise InputError(f"Pexels video {asset.id} is {declared / 1e6:.0f} MB, over broll.pexels.max_mb")
                got = 0
                with open(part, "wb") as f:
                    for chunk in res.iter_bytes(1 << 16):
                        got += len(chunk)
                        if got > limit:
                            raise InputError(f"Pexels video {asset.id} is over broll.pexels.max_mb")
                        f.write(chunk)
        except httpx.HTTPError as exc:
            part.unlink(missing_ok=True)
            raise RetryableError(f"downloading Pexels video {asset.id} failed ({type(exc).__name__})")
        except Exception:
            part.unlink(missing_ok=True)
            raise
        part.rename(dest)
        return dest


def _raise_for(res: Any) -> None:
    """Pexels' errors as messages a user can act on (the key never appears in them)."""
    if res.status_code < 400:
        return
    if res.status_code in (401, 403):
        raise InputError(
            f"Pexels refused the API key ({res.status_code})", "check broll.pexels.api_key (or PEXELS_API_KEY)"
        )
    if res.status_code == 429:
        reset = res.headers.get("x-ratelimit-reset")
        wait = None
        try:
            wait = max(0.0, float(reset) - time.time()) if reset else None
        except ValueError:
            pass
        when = f"; it resets in {wait / 60:.0f} min" if wait is not None else ""
        raise RetryableError(
            f"Pexels rate limit reached (429): this API key has used its requests{when}",
            "B-roll comes back when the quota does; cached keywords still work",
            retry_after=wait,
        )
    if res.status_code >= 500:
        raise RetryableError(f"Pexels failed ({res.status_code})")
    raise InputError(f"Pexels refused the request ({res.status_code})")


@hookimpl
def register_broll_providers(register):  # type: ignore[no-untyped-def]
    register(Pexels)
