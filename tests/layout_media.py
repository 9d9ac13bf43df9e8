"""A generated two-speaker video whose active speaker is known at every moment (layout tests and bench).

Two copies of scikit-image's bundled astronaut photo (NASA, public domain; ``skimage.data.astronaut`` reads it
from the wheel, no download) sit left and right, the right one mirrored. Each wears a badge under the chin,
blue for the left speaker (A), orange for the right one (B), so a rendered frame tells who is in it. Turns are
spoken with espeak-ng (a different voice each); while a speaker's audio sounds, their mouth opens with its
loudness. Both heads sway a little and the picture has grain, so a listener's face is not perfectly still.
"""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.media.synth import speak

#: Badge colours (RGB) of speakers A (left) and B (right).
BADGES = ((40, 90, 230), (240, 140, 30))
VOICES = ("en-us", "en-gb")
# The astronaut photo's face box and mouth centre (px in the 512x512 picture; found by MTCNN once).
_FACE = (179, 60, 89, 113)
_MOUTH = (222, 140)


@dataclass(frozen=True)
class Turn:
    speaker: int  # 0 = A (left), 1 = B (right)
    start: float
    end: float


@dataclass(frozen=True)
class TwoSpeakers:
    path: Path
    duration: float
    turns: list[Turn]

    def speaker_at(self, t: float) -> int | None:
        return next((u.speaker for u in self.turns if u.start <= t < u.end), None)

    def per_second(self) -> list[int | None]:
        """The speaker who talks most in each whole second (None: under 0.3 s of speech in it)."""
        out: list[int | None] = []
        for s in range(int(self.duration)):
            talk = [0.0, 0.0]
            for u in self.turns:
                talk[u.speaker] += max(0.0, min(u.end, s + 1) - max(u.start, s))
            best = int(np.argmax(talk))
            out.append(best if talk[best] >= 0.3 else None)
        return out


def _head() -> np.ndarray:
    from skimage import data

    img = data.astronaut()  # RGB uint8 512x512
    return img[10:330, 95:350].copy()  # head and shoulders: 255x320, face at (84, 50, 89, 113)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32)
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1)
    return data, rate


def two_speakers(
    script: list[tuple[int, str]],
    dest: Path,
    *,
    size: tuple[int, int] = (640, 360),
    fps: int = 15,
    gap: float = 0.35,
    face_height: float = 0.3,
    lead: float = 0.4,
) -> TwoSpeakers:
    """Speak ``script`` (speaker, text) turn by turn and film it (module docstring). ``face_height``: the face's
    height as a share of the frame height."""
    import cv2

    w, h = size
    tmp = dest.parent
    rate = 22050
    pieces: list[np.ndarray] = [np.zeros(int(lead * rate), np.float32)]
    turns: list[Turn] = []
    t = lead
    for n, (who, text) in enumerate(script):
        wav = speak(text, tmp / f"turn-{n}.wav", voice=VOICES[who], words_per_minute=170)
        samples, r = _read_wav(wav)
        if r != rate:
            idx = np.linspace(0, len(samples) - 1, int(len(samples) * rate / r))
            samples = np.interp(idx, np.arange(len(samples)), samples).astype(np.float32)
        # Trim espeak's leading/trailing silence so the turn times are the voice's.
        loud = np.flatnonzero(np.abs(samples) > 300)
        if len(loud):
            samples = samples[loud[0] : loud[-1] + 1]
        turns.append(Turn(who, t, t + len(samples) / rate))
        pieces += [samples, np.zeros(int(gap * rate), np.float32)]
        t += len(samples) / rate + gap
    audio = np.concatenate(pieces)
    duration = len(audio) / rate
    audio_path = tmp / f"{dest.stem}.wav"
    with wave.open(str(audio_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.clip(audio, -32000, 32000).astype(np.int16).tobytes())

    # Mouth opening per frame and speaker: the speaker's own loudness in that frame, 0..1.
    n_frames = int(duration * fps)
    env = np.zeros((2, n_frames), np.float32)
    for u in turns:
        for f in range(int(u.start * fps), min(n_frames, int(u.end * fps) + 1)):
            seg = audio[int(f / fps * rate) : int((f + 1) / fps * rate)]
            if len(seg):
                env[u.speaker, f] = float(np.sqrt((seg**2).mean()))
    peak = max(1.0, float(np.percentile(env[env > 0], 90))) if (env > 0).any() else 1.0
    env = np.clip(env / peak, 0, 1)

    head = _head()
    scale = face_height * h / _FACE[3]
    hw, hh = int(head.shape[1] * scale), int(head.shape[0] * scale)
    heads = [cv2.resize(head, (hw, hh), interpolation=cv2.INTER_AREA)]
    heads.append(heads[0][:, ::-1].copy())
    _fx, fy, fw, fh = (v * scale for v in (_FACE[0] - 95, _FACE[1] - 10, _FACE[2], _FACE[3]))
    mouth = ((_MOUTH[0] - 95) * scale, (_MOUTH[1] - 10) * scale)
    rng = np.random.default_rng(7)
    grains = [rng.integers(-4, 5, size=(h, w, 1), dtype=np.int16) for _ in range(7)]  # cycled: cheaper than new
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps),
        "-i", "pipe:0", "-i", str(audio_path), "-t", f"{duration:.3f}",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ar", "48000", str(dest),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for f in range(n_frames):
        img = np.empty((h, w, 3), np.uint8)
        img[:] = (70, 80, 95)
        img[int(h * 0.72) :] = (55, 60, 70)  # a desk
        for who in (0, 1):
            sway = 2.0 * np.sin(2 * np.pi * (0.25 + 0.07 * who) * f / fps + who)
            cx = (0.25 if who == 0 else 0.75) * w
            x0 = int(cx - hw / 2 + sway)
            y0 = int(0.5 * h - (fy + fh / 2) - 0.02 * h + sway / 2)
            part = heads[who].copy()
            mx = mouth[0] if who == 0 else hw - mouth[0]
            open_ = env[who, f]
            if open_ > 0.05:
                cv2.ellipse(
                    part, (int(mx), int(mouth[1])), (int(fw * 0.17), max(1, int(fh * 0.1 * open_))), 0, 0, 360,
                    (60, 20, 30), -1,
                )  # fmt: skip
            bx = int(mx - fw * 0.35)
            by = int(fy + fh * 1.3)
            cv2.rectangle(part, (bx, by), (int(bx + fw * 0.7), int(by + fh * 0.35)), BADGES[who], -1)
            ys, xs = max(0, y0), max(0, x0)
            ye, xe = min(h, y0 + hh), min(w, x0 + hw)
            img[ys:ye, xs:xe] = part[ys - y0 : ye - y0, xs - x0 : xe - x0]
        img = np.clip(img.astype(np.int16) + grains[f % len(grains)], 0, 255).astype(np.uint8)
        proc.stdin.write(img.tobytes())
    proc.stdin.close()
    assert proc.wait(timeout=300) == 0
    return TwoSpeakers(dest, duration, turns)


def who_is_shown(rgb: np.ndarray) -> list[tuple[int, tuple[float, float, float, float]]]:
    """Speakers whose face is in a rendered frame: (0 = A / 1 = B, face box as fractions), by badge colour."""
    import cv2

    from core.media.detector import Detector

    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w * 480 // h, 480), interpolation=cv2.INTER_AREA) if h > 480 else rgb
    sh, sw = small.shape[:2]
    out = []
    for face in Detector("mtcnn").detect(small):
        x, y, fw, fh = face.box
        y0, y1 = int((y + fh * 1.3) * sh), int((y + fh * 1.6) * sh)
        x0, x1 = int((x + fw * 0.35) * sw), int((x + fw * 0.65) * sw)
        patch = small[max(0, y0) : max(1, min(sh, y1)), max(0, x0) : max(1, min(sw, x1))].reshape(-1, 3)
        if not len(patch):
            continue
        r, _, b = patch.mean(axis=0)
        if abs(b - r) < 60:
            continue  # no badge under it: not one of ours
        out.append((0 if b > r else 1, face.box))
    return out
