"""Platform presets (``render.platform`` / ``--preset``): the frame, length, safe zones and bitrate one
platform wants.

Safe zones are pixels of a 1080x1920 frame that the app's own interface covers (caption and account name at
the bottom, like/comment/share buttons down the right edge); captions are kept out of them. Lengths are what
every account may post (TikTok 3 min for all creators, the API up to 10; Shorts 3 min since 2024-10-15;
Reels via the API 3 s - 15 min, shown in the Reels tab up to 3 min). The bitrate caps the encoder's CRF
output (VBV ``maxrate``/``bufsize``) so a busy picture does not exceed what the platform re-encodes
anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["tiktok", "shorts", "reels"]


@dataclass(frozen=True)
class PlatformPreset:
    aspect: str
    max_seconds: float
    safe_top: int  # px of a 1920-high frame
    safe_bottom: int
    safe_right: int  # px of a 1080-wide frame
    maxrate_kbps: int
    caption_position: Literal["bottom", "middle", "top"] = "bottom"


PRESETS: dict[str, PlatformPreset] = {
    "tiktok": PlatformPreset("9:16", 180, safe_top=150, safe_bottom=420, safe_right=140, maxrate_kbps=8000),
    "shorts": PlatformPreset("9:16", 180, safe_top=120, safe_bottom=340, safe_right=130, maxrate_kbps=10000),
    "reels": PlatformPreset("9:16", 180, safe_top=220, safe_bottom=440, safe_right=130, maxrate_kbps=8000),
}

#: Space kept between a safe zone's edge and the caption text, px of a 1920-high frame.
CAPTION_GAP = 40


def caption_update(preset: PlatformPreset, margin_v: int, margin_h: int) -> dict[str, object]:
    """Caption style fields that keep the text out of the preset's safe zones (never closer to the edge
    than the style already is)."""
    return {
        "position": preset.caption_position,
        "margin_v": max(margin_v, preset.safe_bottom + CAPTION_GAP),
        "margin_right": max(margin_h, preset.safe_right + CAPTION_GAP // 2),
    }
