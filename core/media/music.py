"""Music beds: a track from the brand kit or the admin's music folder, looped or trimmed to the clip, ducked
under the speech (``sidechaincompress`` keyed by the voice) and mixed before the peak limiter.

A track is named, never given as a path: API and CLI input is a file name looked up in ``render.music_dir``
(no directories, no ``..``); only a brand kit (an admin's file) may point at a file of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import InputError

AUDIO_SUFFIXES = (".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus")
_NAME = re.compile(r"^[\w][\w .-]*$")


def available_tracks(music_dir: Path | None) -> list[str]:
    if music_dir is None or not music_dir.is_dir():
        return []
    return sorted(p.name for p in music_dir.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def resolve_track(name: str, music_dir: Path | None) -> Path:
    """The file of track ``name`` (with or without its extension) in ``music_dir``; ``InputError`` otherwise."""
    if music_dir is None:
        raise InputError(
            f"music {name!r} was asked for, but no music folder is configured",
            "an administrator sets render.music_dir to a folder of tracks",
        )
    tracks = available_tracks(music_dir)
    if not _NAME.match(name) or ".." in name:
        raise InputError(f"{name!r} is not a track name", "give a file name from the music folder, not a path")
    base = music_dir.resolve()
    for candidate in (name, *(name + s for s in AUDIO_SUFFIXES)):
        path = (base / candidate).resolve()
        if path.parent == base and path.name in tracks:
            return path
    raise InputError(f"there is no track {name!r} in the music folder", f"use one of: {', '.join(tracks) or 'none'}")


def music_filters(inp: str, speech: str, out: str, *, duration: float, level_db: float, fade: float = 1.0) -> list[str]:
    """Graph lines: the looped track ``inp`` cut to ``duration`` s at ``level_db``, faded out, ducked under
    ``speech`` (a copy of the voice used as the key), as ``[out]``.

    Ducking: ratio 20 above a -50 dBFS key, back within ~0.4 s of a pause; measured 14 dB less music under
    a steady voice-level key (a 300 Hz tone at -17 dBFS RMS, about a -14 LUFS voice; tests/test_render_creator).
    ffmpeg's compressor reduces far less than its nominal ratio suggests (4 dB at ratio 20 above -40 dBFS).
    ``level_db`` is the track's gain before ducking (-20 dB puts commercially mastered music,
    around -10 LUFS, about 16 LU under a -14 LUFS voice).
    """
    fade_at = max(0.0, duration - fade)
    return [
        f"[{inp}]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,atrim=duration={duration:.3f},"
        f"asetpts=N/SR/TB,volume={level_db:.1f}dB,afade=t=out:st={fade_at:.3f}:d={fade:.3f}[{out}_m]",
        f"[{out}_m][{speech}]sidechaincompress=threshold=0.003:ratio=20:attack=15:release=400:makeup=1[{out}]",
    ]
