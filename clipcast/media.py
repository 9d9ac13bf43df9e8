"""ffmpeg helpers for plugins (argv lists, never a shell); part of the public plugin API.

``run`` raises ``FFmpegError`` with the tail of ffmpeg's stderr and polls the reporter for cancellation;
``probe`` returns a ``MediaInfo``. Paths must come from the core (storage keys, work files), never from a user.
"""

from __future__ import annotations

from core.media.audio_scan import detect_silences
from core.media.ffmpeg import FFmpegError, FFmpegTimeout, extract_audio, probe, run

__all__ = ["FFmpegError", "FFmpegTimeout", "detect_silences", "extract_audio", "probe", "run"]
