"""Watch an RSS or Atom feed: each entry with a video (an enclosure, or a link) becomes an item.

The feed is fetched through the egress guard (``core.egress``: public addresses only, checked at connect time
for every redirect hop, unless ``ingest.allow_private_addresses``). Entries whose link is not an http(s) URL
are skipped. The item id is the entry's ``id``/``guid`` (else its link), so a feed that
reorders or republishes entries never triggers a second analysis. The location is the first video enclosure,
else the entry's link (a page yt-dlp understands, e.g. a YouTube watch URL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
from pydantic import BaseModel, ConfigDict, Field

from clipcast import InputError, RetryableError, Source, SourceItem, hookimpl


class RssSource(Source):
    name = "rss"
    description = "entries of an RSS or Atom feed"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        timeout: float = Field(30, gt=0, description="seconds for fetching the feed")
        max_bytes: int = Field(10_000_000, gt=0, description="largest feed accepted")

    settings: Any = None

    def bind(self, settings: Any) -> None:
        self.settings = settings

    @classmethod
    def check_target(cls, target: str) -> None:
        if not target.startswith(("http://", "https://")):
            raise InputError("a feed URL must start with http:// or https://")

    def poll(self, target: str) -> list[SourceItem]:
        self.check_target(target)
        from clipcast import guarded_client

        try:
            with guarded_client(self.settings, timeout=self.options.timeout) as client:
                resp = client.get(target, headers={"User-Agent": "clipcast"})
        except InputError:
            raise
        except httpx.HTTPError as exc:
            raise RetryableError(f"could not fetch feed {target}: {exc}")
        if resp.status_code >= 500 or resp.status_code == 429:
            raise RetryableError(f"feed {target} answered {resp.status_code}; trying again at the next poll")
        if resp.status_code >= 400:
            raise InputError(f"feed {target} answered {resp.status_code}", "check the feed URL")
        if len(resp.content) > self.options.max_bytes:
            raise InputError(f"feed {target} is larger than {self.options.max_bytes} bytes")
        feed = feedparser.parse(resp.content)
        if feed.bozo and not feed.entries:
            raise InputError(f"{target} is not an RSS or Atom feed ({feed.get('bozo_exception')})")
        items = []
        for entry in feed.entries:
            location = _video_link(entry)
            ident = entry.get("id") or entry.get("link") or location
            if not location or not ident or not _is_web_url(location):
                continue  # a link that is not http(s) (a server path, file://) is never fetched
            items.append(
                SourceItem(id=ident, location=location, title=entry.get("title", ""), published_at=_when(entry))
            )
        return items


def _video_link(entry: Any) -> str | None:
    for enc in entry.get("enclosures", []) or []:
        if str(enc.get("type", "")).startswith("video/") and enc.get("href"):
            return enc["href"]
    for link in entry.get("links", []) or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("video/"):
            return link.get("href")
    return entry.get("link")


def _is_web_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://")) and not any(c.isspace() for c in location)


def _when(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    register(RssSource)
