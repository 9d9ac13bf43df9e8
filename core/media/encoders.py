"""The H.264 video encoder arguments of a clip render: libx264 on the CPU (the default) or NVENC on an NVIDIA GPU.

Both honour the same output contract, which publishing needs: H.264 High profile, yuv420p, a keyframe every
``gop`` frames with closed GOPs (no scene-cut keyframes), at a constant frame rate; ``+faststart`` and the audio
are added by the caller. NVENC gets no B-frames (``-bf 0``): no frame can then reference across a keyframe, so
every GOP is closed whatever the driver does with ``+cgop``. Its quality is steered by ``-cq`` on the same 0-51
scale as x264's CRF (constant-quality VBR); sizes at equal ``crf`` differ between the two encoders.
"""

from __future__ import annotations

from typing import Literal

Encoder = Literal["libx264", "h264_nvenc"]
ENCODERS: tuple[str, ...] = ("libx264", "h264_nvenc")
#: NVENC's preset for clip renders (p1 fastest .. p7 best): p4 is its "medium", still many times real time.
NVENC_PRESET = "p4"


def video_args(encoder: str, *, fps: int, crf: int, preset: str, x264_params: str = "") -> list[str]:
    """``-c:v ...`` arguments for ``encoder``; ``preset`` and ``x264_params`` apply to libx264 only."""
    gop = fps * 2
    common = ["-profile:v", "high", "-pix_fmt", "yuv420p", "-r", str(fps), "-g", str(gop), "-flags", "+cgop"]
    if encoder == "libx264":
        return [
            "-c:v", "libx264", *common, "-preset", preset, "-crf", str(crf),
            *(["-x264-params", x264_params] if x264_params else []),
            "-keyint_min", str(gop), "-sc_threshold", "0",
        ]  # fmt: skip
    if encoder == "h264_nvenc":
        return [
            "-c:v", "h264_nvenc", *common, "-preset", NVENC_PRESET, "-tune", "hq",
            "-rc", "vbr", "-cq", str(crf), "-b:v", "0", "-bf", "0",
            "-no-scenecut", "1", "-strict_gop", "1", "-forced-idr", "1",
        ]  # fmt: skip
    raise ValueError(f"unknown video encoder {encoder!r} (one of {', '.join(ENCODERS)})")
