"""Watch a YouTube channel or playlist with yt-dlp's flat extraction (lists entries without downloading).

Items are video ids with their watch URL; the analyze job downloads the one it takes. Needs network access to
YouTube from the scheduler (not available in this project's test environment: only the entry mapping is
tested here, against yt-dlp's documented flat-entry shape).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from clipcast import InputError, RetryableError, Source, SourceItem, hookimpl

YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "music.youtube.com"})


class YouTubeSource(Source):
    name = "youtube"
    description = "new videos of a YouTube channel or playlist (yt-dlp, no download)"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        limit: int = Field(30, ge=1, le=1000, description="newest entries looked at per poll")

    settings: Any = None

    def bind(self, settings: Any) -> None:
        self.settings = settings

    @classmethod
    def check_target(cls, target: str) -> None:
        host = (urlsplit(target).hostname or "").lower() if target.startswith("https://") else ""
        if host not in YOUTUBE_HOSTS:
            raise InputError(
                "the target is not a YouTube channel or playlist URL",
                "use e.g. https://www.youtube.com/@name/videos or https://www.youtube.com/playlist?list=...",
            )

    def poll(self, target: str) -> list[SourceItem]:
        self.check_target(target)
        import yt_dlp

        from clipcast import ydl_guard

        opts = {
            "extract_flat": "in_playlist",
            "playlistend": self.options.limit,
            "quiet": True,
            "no_warnings": True,
            "skip_download": True,
            "allowed_extractors": ["youtube.*"],
        }
        try:
            with ydl_guard(self.settings, opts) as guarded, yt_dlp.YoutubeDL(guarded) as ydl:
                info = ydl.extract_info(target, download=False)
        except yt_dlp.utils.DownloadError as exc:
            raise RetryableError(f"could not list {target}: {exc}")
        return entries_to_items(info or {})


def entries_to_items(info: dict[str, Any]) -> list[SourceItem]:
    """Flat playlist entries → items; nested tabs (a channel's Videos/Shorts) are flattened."""
    items: list[SourceItem] = []
    for entry in info.get("entries") or []:
        if not entry:
            continue
        if entry.get("_type") == "playlist" or entry.get("entries"):
            items += entries_to_items(entry)
            continue
        vid = entry.get("id")
        if not vid:
            continue
        url = entry.get("url") or f"https://www.youtube.com/watch?v={vid}"
        if not url.startswith("http"):
            url = f"https://www.youtube.com/watch?v={vid}"
        items.append(SourceItem(id=f"youtube:{vid}", location=url, title=entry.get("title") or ""))
    return items


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    register(YouTubeSource)
