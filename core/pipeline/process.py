"""The main job: analyze a video, render its clips, and write them to an output directory with a manifest.

Output directory layout (``output_dir``, default ``settings.output_dir/<video id>-<title>``)::

    clip-01.mp4  clip-01.jpg  clip-01.srt  clip-01.vtt  clip-01.ass  ...  clips.json

``clips.json`` lists every clip with its scores, reason, title, caption, hashtags, times, the files written and
their storage keys. The database holds the same (Clip rows), so the dashboard and workers see the result too.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import models
from core.contracts import SelectionRequest, Summary, Transcript
from core.errors import ClipcastError
from core.logging import get_logger
from core.pipeline.render import OUTPUTS, RenderOptions, render_clips
from core.progress import NullReporter, Reporter

log = get_logger("clipcast.process")

MANIFEST = "clips.json"
#: Clip field → extension of the exported file (``clip-01.mp4``, ``clip-01.jpg``...).
_FILES = tuple((field, Path(name).suffix[1:]) for field, (name, _) in OUTPUTS.items())


@dataclass
class ProcessResult:
    video: models.Video
    transcript: Transcript
    clips: list[models.Clip]
    output_dir: Path
    manifest: Path
    summary: Summary | None = None
    failed: dict[int, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "video"


class _Timed:
    """Wraps a reporter and records how long each stage took (seconds), for summaries and benchmarks."""

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        self._since = time.perf_counter()

    def _close(self) -> None:
        if self._stage is not None:
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + time.perf_counter() - self._since

    def stage(self, name: str) -> None:
        self._close()
        self._stage, self._since = name, time.perf_counter()
        self.inner.stage(name)

    def progress(self, percent: float, message: str = "") -> None:
        self.inner.progress(percent, message)

    def check_cancelled(self) -> None:
        self.inner.check_cancelled()

    def finish(self) -> dict[str, float]:
        self._close()
        self._stage = None
        return self.timings


def clip_entry(clip: models.Clip, files: dict[str, str] | None = None) -> dict[str, Any]:
    """One clip as the manifest and ``clipcast process --json`` show it."""
    return {
        "id": clip.id,
        "rank": clip.rank,
        "start": round(clip.start, 3),
        "end": round(clip.end, 3),
        "duration": round(clip.rendered_duration or (clip.end - clip.start), 3),
        "score": clip.score,
        "sub_scores": clip.sub_scores,
        "reason": clip.reason,
        "title": clip.title,
        "title_variants": clip.title_variants,
        "caption": clip.caption,
        "hashtags": clip.hashtags,
        "platform_captions": clip.platform_captions,
        "text": clip.text,
        "status": clip.status,
        "files": files or {},
        "storage_keys": {k.removesuffix("_key"): getattr(clip, k) for k, _ in _FILES},
        "render_options": clip.render_options,
    }


def export_clip(app: Any, clip: models.Clip, output_dir: Path, stem: str) -> dict[str, str]:
    """Copy a rendered clip's files from storage into ``output_dir`` as ``stem.<ext>``; name → file name."""
    files: dict[str, str] = {}
    for key_field, ext in _FILES:
        key = getattr(clip, key_field)
        if key:
            dest = output_dir / f"{stem}.{ext}"
            app.storage.download(key, dest)
            files[key_field.removesuffix("_key")] = dest.name
    for lang, track in (clip.caption_tracks or {}).items():  # translated captions: clip-01.de.srt ...
        for ext, key in track.items():
            dest = output_dir / f"{stem}.{lang}.{ext}"
            app.storage.download(key, dest)
            files[f"{ext}.{lang}"] = dest.name
    return files


def default_output_dir(app: Any, video: models.Video) -> Path:
    """Where ``process`` writes a video's clips unless told otherwise."""
    return Path(app.settings.output_dir) / f"{video.id}-{slug(video.title)}"


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``clips.json`` atomically (a reader never sees half a file)."""
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def refresh_export(app: Any, clip: models.Clip, output_dir: Path | None = None) -> tuple[Path, dict[str, str]] | None:
    """After a re-render: copy the clip's files over the ones ``process`` exported and update its entry in
    ``clips.json``, under the same names (``clip-01.mp4``...). ``output_dir`` None: the video's default folder.

    Returns (folder, name → file) or None when there is nothing to update (no ``output_dir`` given and the
    default folder's manifest does not list the clip). Into a folder without a manifest the files are written
    as ``clip-<rank>``.
    """
    with app.session() as s:
        video = s.get(models.Video, clip.video_id)
        assert video is not None
        s.expunge(video)
    out = Path(output_dir) if output_dir is not None else default_output_dir(app, video)
    path = out / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    entries = manifest["clips"] if manifest else []
    pos = next((i for i, e in enumerate(entries) if e.get("id") == clip.id), None)
    if pos is None and output_dir is None:
        return None
    if pos is not None:
        old = entries[pos].get("files", {}).get("video")
        stem = Path(old).stem if old else f"clip-{pos + 1:02d}"
    else:
        stem = f"clip-{clip.rank or 1:02d}"
    out.mkdir(parents=True, exist_ok=True)
    files = export_clip(app, clip, out, stem)
    if manifest is not None and pos is not None:
        entries[pos] = clip_entry(clip, files)
        write_manifest(path, manifest)
    return out, files


def _settled_clips(app: Any, video_id: int, request: SelectionRequest | None) -> list[models.Clip]:
    """The video's clips from an earlier run (analysis does not propose moments already acted on): processing
    the same video again re-exports them (their renders are reused) instead of returning nothing."""
    from sqlmodel import col, select

    limit = request.clips if request else app.settings.selection.clips
    with app.session() as s:
        rows = s.exec(
            select(models.Clip)
            .where(models.Clip.video_id == video_id, col(models.Clip.status) != models.ClipStatus.REJECTED)
            .order_by(col(models.Clip.score).desc())
            .limit(limit)
        ).all()
        for row in rows:
            s.expunge(row)
    return list(rows)


def process(
    app: Any,
    source: str | Path | int,
    *,
    request: SelectionRequest | None = None,
    render_options: RenderOptions | None = None,
    output_dir: Path | None = None,
    reporter: Reporter | None = None,
    user_id: int | None = None,
    stt: str | None = None,
    llm: str | None = None,
) -> ProcessResult:
    """ingest → transcribe → select → render every clip → files + ``clips.json`` in ``output_dir``.

    A clip that fails to render is listed in ``ProcessResult.failed`` (and in the manifest with its error);
    the others are still written. Raises when analysis fails or no clip could be rendered.
    """
    from core.pipeline.analyze import analyze

    timed = _Timed(reporter or NullReporter())
    analysis = analyze(app, source, request, stt=stt, llm=llm, user_id=user_id, reporter=timed)
    video = analysis.video
    clips = sorted(analysis.clips, key=lambda c: (c.rank, c.start)) or _settled_clips(app, video.id, request)
    timed.stage("render")
    results = render_clips(app, [c.id for c in clips], options=render_options, reporter=timed)
    timed.stage("export")
    out = Path(output_dir) if output_dir else default_output_dir(app, video)
    out.mkdir(parents=True, exist_ok=True)
    rendered: list[models.Clip] = []
    failed: dict[int, str] = {}
    entries = []
    for i, clip in enumerate(clips, 1):
        res = results[clip.id]
        if isinstance(res, Exception):
            failed[clip.id] = str(res)
            entries.append({**clip_entry(clip), "error": str(res)})
            continue
        files = export_clip(app, res, out, f"clip-{i:02d}")
        rendered.append(res)
        entries.append(clip_entry(res, files))
    manifest = {
        "video": {
            "id": video.id,
            "source": video.source,
            "title": video.title,
            "duration": video.duration,
            "sha256": video.sha256,
            "language": analysis.transcript.language,
        },
        "summary": analysis.summary.model_dump(mode="json") if analysis.summary else None,
        "clips": entries,
    }
    path = out / MANIFEST
    write_manifest(path, manifest)
    timings = timed.finish()
    if clips and not rendered:
        raise ClipcastError(
            f"no clip of video {video.id} could be rendered: {next(iter(failed.values()))}",
            f"see {path} for every clip's error",
        )
    log.info("processed video", video_id=video.id, clips=len(rendered), failed=len(failed), output=str(out))
    return ProcessResult(
        video=video,
        transcript=analysis.transcript,
        clips=rendered,
        output_dir=out,
        manifest=path,
        summary=analysis.summary,
        failed=failed,
        timings=timings,
    )
