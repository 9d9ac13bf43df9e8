"""The single ffmpeg command that renders one clip: seek, cut, reframe, captions, brand, audio, encode.

Everything happens in one filter graph and one encode (no stacked re-encodes):

    [source -ss/-t] → trim/concat of the kept pieces → fps → reframe → B-roll → ASS captions → logo → progress bar
    → plugin filters/overlays → yuv420p → (intro/outro concat) → H.264 High, closed GOP, +faststart
    audio: trim/concat → denoise (afftdn) → fixed loudness gain (measured beforehand) → peak limiter → 48 kHz
           stereo AAC (the "fast" coder: a third cheaper than the default, transparent for speech at 160k)

Output settings are the ones TikTok, YouTube Shorts and Instagram Reels all accept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.contracts import MediaInfo
from core.errors import InputError
from core.media.brand import BrandKit
from core.media.broll import BrollInsert, broll_filters, broll_inputs
from core.media.cuts import Timeline
from core.media.encoders import video_args
from core.media.faces import Keyframe
from core.media.music import music_filters
from core.media.reframe import reframe_filter

#: Highest sample level after loudness normalisation, dBFS (the platforms ask for -1 to -2 dBTP).
CEILING_DB = -1.5


def escape_path(path: Path) -> str:
    """A path as a filter option value inside ``-filter_complex``: escaped for the option parser (``\\ ' :``),
    then again for the graph parser (``\\ ' [ ] , ;``)."""
    s = str(path).replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    s = s.replace("\\", "\\\\").replace("'", "\\'")
    for ch in "[],;":
        s = s.replace(ch, "\\" + ch)
    return s


@dataclass
class ClipGraph:
    """What one clip's render needs; ``build`` turns it into ffmpeg arguments."""

    source: Path
    info: MediaInfo
    timeline: Timeline
    width: int = 1080
    height: int = 1920
    fps: int = 30
    reframe: str = "blur"
    keyframes: list[Keyframe] | None = None
    framing: str | None = None  # a fragment [vcut]...[vfit] that replaces the reframe (core.media.layout)
    ass_path: Path | None = None
    fonts_dir: Path | None = None
    brand: BrandKit | None = None
    gain_db: float | None = None  # loudness normalisation measured beforehand (audio_scan.normalising_gain)
    limit: bool = False  # a sample-peak limiter at CEILING_DB after the gain
    denoise: bool = False
    music: Path | None = None  # a track to loop under the speech, ducked (core.media.music)
    music_db: float = -20.0
    video_filters: list[str] = field(default_factory=list)
    overlays: list[dict[str, Any]] = field(default_factory=list)
    broll: list[BrollInsert] = field(default_factory=list)  # cutaways/insets over the reframed picture
    pip_scale: float = 0.42
    intro: tuple[Path, MediaInfo] | None = None
    outro: tuple[Path, MediaInfo] | None = None
    preset: str = "veryfast"
    x264_params: str = ""
    crf: int = 21
    maxrate_kbps: int | None = None  # a platform preset's cap on the CRF output (VBV)
    encoder: str = "libx264"  # or h264_nvenc (core/media/encoders.py: the same output contract)
    audio_bitrate: str = "160k"

    @property
    def main_duration(self) -> float:
        return self.timeline.duration

    @property
    def duration(self) -> float:
        extra = sum(m.duration for _, m in filter(None, (self.intro, self.outro)))
        return self.main_duration + extra

    def _vbv(self) -> list[str]:
        if not self.maxrate_kbps:
            return []
        return ["-maxrate", f"{self.maxrate_kbps}k", "-bufsize", f"{2 * self.maxrate_kbps}k"]

    def build(self, output: Path) -> list[str]:
        if not self.info.width or not self.info.height:
            raise InputError(f"{self.source.name} has no video stream; a clip needs pictures")
        src_w, src_h = self.info.display_size  # phone videos: ffmpeg rotates while decoding
        t0 = self.timeline.start
        window = self.timeline.end - t0
        args = ["-ss", f"{t0:.3f}", "-t", f"{window:.3f}", "-i", str(self.source)]
        n_inputs = 1
        graph: list[str] = []
        audio_in = "0:a"
        if not self.info.has_audio:
            args += ["-f", "lavfi", "-t", f"{window:.3f}", "-i", "anullsrc=r=48000:cl=stereo"]
            audio_in = f"{n_inputs}:a"
            n_inputs += 1

        # Cut: keep pieces, glue them back to back (precise per-sample audio, per-frame video).
        segs = [(a - t0, b - t0) for a, b in self.timeline.segments]
        if len(segs) == 1 and segs[0][0] <= 0.001 and abs(segs[0][1] - window) <= 0.001:
            graph.append(f"[0:v]fps={self.fps},setpts=PTS-STARTPTS[vcut]")
            graph.append(f"[{audio_in}]asetpts=PTS-STARTPTS[acut]")
        else:
            n = len(segs)
            graph.append(f"[0:v]fps={self.fps},split={n}" + "".join(f"[vs{i}]" for i in range(n)))
            graph.append(f"[{audio_in}]asplit={n}" + "".join(f"[as{i}]" for i in range(n)))
            pairs = []
            for i, (a, b) in enumerate(segs):
                graph.append(f"[vs{i}]trim=start={a:.3f}:end={b:.3f},setpts=PTS-STARTPTS[vt{i}]")
                graph.append(f"[as{i}]atrim=start={a:.3f}:end={b:.3f},asetpts=PTS-STARTPTS[at{i}]")
                pairs.append(f"[vt{i}][at{i}]")
            graph.append("".join(pairs) + f"concat=n={n}:v=1:a=1[vcut][acut]")

        graph.append(
            self.framing
            or reframe_filter(
                self.reframe,
                src_w,
                src_h,
                self.width,
                self.height,
                inp="vcut",
                out="vfit",
                keyframes=self.keyframes,
            )
        )
        v = "vfit"
        if self.broll:  # before the captions, so they stay on top (core.media.broll)
            for ins in self.broll:
                args += broll_inputs(ins, self.fps)
            lines, v = broll_filters(self.broll, v, n_inputs, self.width, self.height, self.fps, self.pip_scale)
            graph += lines
            n_inputs += len(self.broll)
        if self.ass_path is not None:
            opt = f"ass=filename={escape_path(self.ass_path)}"
            if self.fonts_dir is not None:
                opt += f":fontsdir={escape_path(self.fonts_dir)}"
            graph.append(f"[{v}]{opt}[vcap]")
            v = "vcap"

        brand = self.brand
        if brand is not None and brand.logo is not None:
            args += ["-i", str(brand.logo)]
            logo_w = max(2, round(self.width * brand.logo_size / 2) * 2)
            m = brand.logo_margin
            x = f"{m}" if brand.logo_position.endswith("left") else f"W-w-{m}"
            y = f"{m}" if brand.logo_position.startswith("top") else f"H-h-{m}"
            graph.append(
                f"[{n_inputs}:v]format=rgba,scale={logo_w}:-2,colorchannelmixer=aa={brand.logo_opacity:.3f}[logo]"
            )
            graph.append(f"[{v}][logo]overlay=x={x}:y={y}:format=auto[vlogo]")
            v = "vlogo"
            n_inputs += 1
        if brand is not None and brand.progress_bar:
            h = brand.progress_height
            colour = "0x" + brand.accent_colour.lstrip("#")[:6]
            d = max(self.main_duration, 0.04)
            graph.append(f"color=c={colour}:s={self.width}x{h}:r={self.fps}:d={d:.3f}[bar]")
            y = "0" if brand.progress_position == "top" else f"H-{h}"
            graph.append(f"[{v}][bar]overlay=x=-w+w*t/{d:.3f}:y={y}:eval=frame:eof_action=pass[vbar]")
            v = "vbar"
        for i, ov in enumerate(self.overlays):
            path = Path(ov["path"])
            if not path.is_file():
                raise InputError(f"overlay image {path} (added by a plugin) does not exist")
            args += ["-i", str(path)]
            when = f":enable='between(t,{ov['start']:.3f},{ov['end']:.3f})'" if "start" in ov and "end" in ov else ""
            graph.append(f"[{v}][{n_inputs}:v]overlay=x={ov.get('x', 0)}:y={ov.get('y', 0)}{when}[vov{i}]")
            v = f"vov{i}"
            n_inputs += 1
        tail = [*self.video_filters, "format=yuv420p"]
        graph.append(f"[{v}]{','.join(tail)}[vmain]")

        audio: list[str] = []
        if self.denoise:
            audio.append("afftdn=nf=-25")
        if self.gain_db:
            audio.append(f"volume={self.gain_db:.2f}dB")
        a_in = "acut"
        if self.music is not None:
            # The voice (at its corrected level) keys the ducking, then the ducked track joins it before the
            # limiter, so the sum keeps the ceiling.
            args += ["-stream_loop", "-1", "-i", str(self.music)]
            voice = ",".join(audio) or "anull"
            graph.append(f"[acut]{voice},asplit=2[avoice][akey]")
            graph += music_filters(f"{n_inputs}:a", "akey", "abed", duration=self.main_duration, level_db=self.music_db)
            graph.append("[avoice][abed]amix=inputs=2:duration=first:normalize=0[amixed]")
            n_inputs += 1
            a_in, audio = "amixed", []
            limit = True
        else:
            limit = self.limit
        if limit:
            audio.append(f"alimiter=limit={10 ** (CEILING_DB / 20):.4f}:level=0:latency=1")
        # asetpts: audio filters after a concat can emit timestamps that make the muxer stop the audio early
        # (seen with loudnorm on ffmpeg 5.1): re-stamp by sample count, exact because the audio is continuous.
        audio += [
            "aresample=48000",
            "asetpts=N/SR/TB",
            "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo",
        ]
        graph.append(f"[{a_in}]{','.join(audio)}[amain]")

        v_out, a_out = "vmain", "amain"
        if self.intro or self.outro:
            for tag, item in (("intro", self.intro), ("outro", self.outro)):
                if item is None:
                    continue
                path, info = item
                args += ["-i", str(path)]
                graph.append(
                    f"[{n_inputs}:v]fps={self.fps},scale={self.width}:{self.height}:force_original_aspect_ratio=decrease,"
                    f"pad={self.width}:{self.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[{tag}v]"
                )
                if info.has_audio:
                    graph.append(
                        f"[{n_inputs}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[{tag}a]"
                    )
                else:
                    graph.append(
                        f"anullsrc=r=48000:cl=stereo,atrim=duration={info.duration:.3f},aformat=sample_fmts=fltp[{tag}a]"
                    )
                n_inputs += 1
            order = (["intro"] if self.intro else []) + ["main"] + (["outro"] if self.outro else [])
            labels = "".join("[vmain][amain]" if p == "main" else f"[{p}v][{p}a]" for p in order)
            graph.append(f"{labels}concat=n={len(order)}:v=1:a=1[vall][aall]")
            v_out, a_out = "vall", "aall"

        args += [
            "-filter_complex", ";".join(graph),
            "-map", f"[{v_out}]", "-map", f"[{a_out}]",
            *video_args(self.encoder, fps=self.fps, crf=self.crf, preset=self.preset, x264_params=self.x264_params),
            *self._vbv(),
            "-c:a", "aac", "-aac_coder", "fast", "-b:a", self.audio_bitrate, "-ar", "48000", "-ac", "2",
            "-movflags", "+faststart",
            "-t", f"{self.duration:.3f}",
            str(output),
        ]  # fmt: skip
        return args


def caption_colours(brand: BrandKit | None) -> dict[str, str]:
    """Style colour overrides from a brand kit (``primary_colour``/``highlight_colour``)."""
    if brand is None:
        return {}
    out = {}
    if brand.primary_colour:
        out["primary_colour"] = brand.primary_colour
    if brand.highlight_colour:
        out["highlight_colour"] = brand.highlight_colour
    return out
