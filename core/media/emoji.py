"""Colour emoji for captions, drawn as image overlays: libass renders colour emoji as empty boxes or outlines.

Emoji come from a caption style's ``emoji`` map (word → emoji) or, with ``auto_emoji``, from ``KEYWORDS``.
Each is rasterised once per render with Pillow from the Noto Color Emoji font (Debian's
``fonts-noto-color-emoji``; a bitmap font drawn at its one size, 109 px, then scaled) into a transparent PNG
that the render graph overlays above the caption line while the word's cue is on screen.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from core.errors import ConfigError

#: A small keyword → emoji table for ``auto_emoji`` (keys are normalised words: lower case, no punctuation).
KEYWORDS: dict[str, str] = {
    "money": "💰", "cash": "💰", "rich": "💰", "fire": "🔥", "hot": "🔥", "love": "❤️", "heart": "❤️",
    "idea": "💡", "ideas": "💡", "time": "⏰", "secret": "🤫", "email": "📧", "mail": "📧", "coffee": "☕",
    "done": "✅", "yes": "✅", "right": "✅", "wrong": "❌", "no": "❌", "win": "🏆", "winner": "🏆",
    "growth": "📈", "grow": "📈", "video": "🎬", "videos": "🎬", "phone": "📱", "think": "🤔", "why": "🤔",
    "warning": "⚠️", "careful": "⚠️", "launch": "🚀", "fast": "⚡", "faster": "⚡", "happy": "😀", "sad": "😢",
    "music": "🎵", "world": "🌍", "book": "📚", "books": "📚", "star": "⭐", "best": "⭐", "easy": "👌",
    "simple": "👌", "hard": "😤", "stop": "🛑", "look": "👀", "see": "👀", "eat": "🍽️", "food": "🍽️",
}  # fmt: skip

FONT_FAMILY = "Noto Color Emoji"
#: The only size a CBDT bitmap font such as Noto Color Emoji can be drawn at.
BITMAP_SIZE = 109


@lru_cache(maxsize=1)
def emoji_font() -> Path:
    """The colour emoji font file; ``ConfigError`` when it is not installed."""
    exe = shutil.which("fc-match")
    if exe:
        res = subprocess.run([exe, "-f", "%{file}", FONT_FAMILY], capture_output=True, text=True, timeout=30)
        path = Path(res.stdout.strip())
        if "emoji" in path.name.lower() and path.is_file():
            return path
    raise ConfigError(
        "the colour emoji font (Noto Color Emoji) is not installed; captions with emoji need it",
        "Debian: apt-get install fonts-noto-color-emoji (scripts/install-system-deps.sh), or remove emoji "
        "and auto_emoji from the caption style",
    )


def rasterise(emoji: str, px: int, dest: Path) -> Path:
    """``emoji`` as a ``px``-high transparent PNG at ``dest``."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(emoji_font()), BITMAP_SIZE)
    canvas = Image.new("RGBA", (BITMAP_SIZE * 3, BITMAP_SIZE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((BITMAP_SIZE // 2, BITMAP_SIZE // 4), emoji, font=font, embedded_color=True)
    box = canvas.getbbox()
    if box is None:
        raise ConfigError(f"the emoji font has no glyph for {emoji!r}", "use another emoji in the caption style")
    glyph = canvas.crop(box)
    scale = px / glyph.height
    glyph = glyph.resize((max(1, round(glyph.width * scale)), px), Image.LANCZOS)
    glyph.save(dest)
    return dest
