"""Choose where B-roll goes in a clip and fetch it: keywords → provider searches → checked local files.

Keywords are the clip's nouns as the transcript says them (``plugins.llm.postwords.topic_word``: no
stopwords, verbs or adverbs by form), each at the time it is first said on the clip's own timeline. Words the
clip is about (its hashtags and title) go first, then the rest in the order spoken; at most
``broll.max_queries`` are looked up. An insert starts on its word, lasts ``seconds`` (cut short at the clip's
end) and keeps ``broll.gap`` from the previous one. Providers are asked in ``broll.providers`` order; the first
with a match wins. A provider that fails (bad key, rate limit) is skipped for the rest of the clip, and every
reason a keyword got no picture is kept in ``BrollPlan.notes``, so "no B-roll" always says why.

Providers marked ``cacheable`` have their answers and files kept in storage under
``broll-cache/<provider>/`` (answers for ``broll.cache_hours``), keyed by a hash of the provider's cache key
and the query: the same keyword is not asked again, the same file not downloaded again.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.contracts import BrollAsset, BrollProvider, BrollQuery, Word
from core.errors import ClipcastError
from core.logging import get_logger
from core.media.broll import BrollInsert, checked_media

log = get_logger("clipcast.broll")

#: Clip options that only matter with B-roll on (left out of the render hash when it is off).
BROLL_OPTIONS = ("broll", "broll_max", "broll_seconds", "broll_collection")
#: What a cacheable provider's answer may depend on (the cache key): not the topic or the insert's length.
CACHED_QUERY_FIELDS = {"keyword", "orientation", "limit", "collection"}
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@dataclass(frozen=True)
class Moment:
    word: str
    t: float
    topical: bool


@dataclass
class BrollPlan:
    inserts: list[BrollInsert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"word": i.word, "start": round(i.start, 3), "end": round(i.end, 3), "provider": i.provider}
            for i in self.inserts
        ]


def topic_of(hashtags: list[str], title: str) -> list[str]:
    """The clip's topic words: its hashtags split at capitals (#BikeLane → bike, lane) and its title's nouns."""
    from plugins.llm.postwords import tokens, topic_word

    out: list[str] = []
    for tag in hashtags:
        out += [w.lower() for w in _CAMEL.findall(tag.lstrip("#"))]
    out += [w for w in tokens(title) if topic_word(w)]
    return list(dict.fromkeys(w for w in out if len(w) >= 3))


def keyword_moments(words: list[Word], topic: list[str]) -> list[Moment]:
    """Each distinct noun of ``words`` (clip timeline) at its first saying: topic words first, then in order."""
    from plugins.llm.postwords import stem, tokens, topic_word

    topical = {stem(t) for t in topic}
    seen: set[str] = set()
    found: list[Moment] = []
    for w in words:
        for tok in tokens(w.text):
            key = stem(tok)
            if key in seen or not topic_word(tok):
                continue
            seen.add(key)
            found.append(Moment(word=tok, t=w.start, topical=key in topical))
    return sorted(found, key=lambda m: (not m.topical, m.t))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def cached_search(app: Any, provider: BrollProvider, query: BrollQuery) -> list[BrollAsset]:
    """``provider.search``; through the storage cache when the provider is ``cacheable``."""
    if not provider.cacheable:
        return provider.search(query)
    asked = query.model_dump_json(include=CACHED_QUERY_FIELDS)
    key = f"broll-cache/{provider.name}/search/{_digest(provider.cache_key(), asked)}.json"
    storage = app.storage
    if storage.exists(key):
        try:
            data = json.loads(storage.open(key).read())
            if time.time() - float(data["at"]) < app.settings.broll.cache_hours * 3600:
                return [BrollAsset.model_validate(a) for a in data["assets"]]
        except (ValueError, KeyError, TypeError):
            pass  # an unreadable entry is a miss
    assets = provider.search(query)
    body = json.dumps({"at": time.time(), "assets": [a.model_dump(mode="json") for a in assets]}).encode()
    import io

    storage.put_stream(key, io.BytesIO(body), "application/json")
    return assets


def cached_fetch(app: Any, provider: BrollProvider, asset: BrollAsset, tmp: Path) -> Path:
    """A local file of ``asset`` (under ``tmp`` unless the provider already has it locally)."""
    if not provider.cacheable:
        return provider.fetch(asset, tmp)
    key = f"broll-cache/{provider.name}/files/{_digest(provider.cache_key(), asset.id)}"
    storage = app.storage
    if storage.exists(key):
        local = storage.local_path(key)
        return local if local is not None else storage.download(key, tmp / f"cached-{_digest(asset.id)}")
    path = provider.fetch(asset, tmp)
    storage.put_file(key, path, "application/octet-stream")
    return path


def plan_broll(
    app: Any,
    words: list[Word],
    duration: float,
    *,
    mode: str,
    max_inserts: int,
    seconds: float,
    topic: list[str],
    orientation: str,
    collection: str | None,
    tmp: Path,
) -> BrollPlan:
    """Where the clip's B-roll goes and which checked files it shows (see the module docstring)."""
    plan = BrollPlan()
    if mode == "off":
        return plan
    cfg = app.settings.broll
    providers: list[BrollProvider] = []
    for name in cfg.providers:
        try:
            providers.append(app.broll_provider(name))
        except ClipcastError as exc:
            plan.notes.append(f"B-roll provider {name} is unusable: {exc}")
    moments = keyword_moments(words, topic)
    if not moments:
        plan.notes.append("no B-roll: the clip's words have no nouns to match")
        return plan
    if not providers:
        plan.notes.append("no B-roll: no provider could be used (broll.providers)")
        return plan
    failed: set[str] = set()
    tried: list[str] = []
    for m in moments[: cfg.max_queries]:
        if len(plan.inserts) >= max_inserts:
            break
        start, end = m.t, min(m.t + seconds, duration - 0.05)
        if end - start < 0.5:
            plan.notes.append(f"{m.word!r} is said too close to the end for an insert")
            continue
        if any(start < i.end + cfg.gap and i.start < end + cfg.gap for i in plan.inserts):
            continue  # too close to an insert already placed
        tried.append(m.word)
        query = BrollQuery(
            keyword=m.word, topic=topic, orientation=orientation, min_seconds=seconds, collection=collection
        )
        placed = False
        for provider in providers:
            if placed or provider.name in failed:
                continue
            try:
                assets = cached_search(app, provider, query)
            except ClipcastError as exc:
                failed.add(provider.name)
                plan.notes.append(f"{provider.name}: {exc}")
                continue
            ranked = sorted(assets, key=lambda a: (-a.score, a.id))
            for asset in ranked[:2]:  # a bad file is replaced by the next match, not retried for ever
                try:
                    path = cached_fetch(app, provider, asset, tmp)
                    kind, demuxer = checked_media(path, f"{provider.name}:{asset.id}")
                except ClipcastError as exc:
                    plan.notes.append(f"{provider.name} {asset.id}: {exc}")
                    continue
                mode_ = "pip" if mode == "pip" else "cutaway"
                plan.inserts.append(
                    BrollInsert(path, kind, demuxer, start, end, mode_, word=m.word, provider=provider.name)
                )
                placed = True
                break
    if not plan.inserts:
        asked = ", ".join(repr(w) for w in tried) or "none"
        names = ", ".join(p.name for p in providers if p.name not in failed) or "none left"
        plan.notes.append(f"no B-roll: no match for the keywords {asked} (providers asked: {names})")
    plan.inserts.sort(key=lambda i: i.start)
    return plan
