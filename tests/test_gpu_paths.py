"""The GPU paths: faster-whisper's device/compute-type/model resolution and the NVENC encoder arguments are
checked everywhere; real CUDA transcription and NVENC renders run only where an NVIDIA GPU answers
(``nvidia-smi``), and skip elsewhere (CI has no GPU)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from core.media.encoders import video_args
from plugins.stt import faster_whisper as fw
from plugins.stt.faster_whisper import FasterWhisper


def _gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0 and fw.cuda_devices() > 0


needs_gpu = pytest.mark.skipif(not _gpu(), reason="no NVIDIA GPU (nvidia-smi / CUDA) on this machine")


def test_auto_device_without_gpu_is_cpu_int8_and_keeps_the_cache_key(monkeypatch):
    monkeypatch.setattr(fw, "cuda_devices", lambda: 0)
    backend = FasterWhisper()
    assert backend.resolved() == ("cpu", "int8", None)
    # Transcripts cached before device: auto existed (device: cpu, compute_type: int8) are still found.
    explicit = FasterWhisper(FasterWhisper.Options(device="cpu", compute_type="int8"))
    assert backend.cache_key() == explicit.cache_key()
    assert ":bundled:tiny.en:cpu:int8:" in backend.cache_key()


def test_auto_device_with_gpu_is_float16_and_the_largest_cached_model(monkeypatch, tmp_path):
    monkeypatch.setattr(fw, "cuda_devices", lambda: 1)
    monkeypatch.setattr(fw, "cached_model", lambda name, root: str(tmp_path / name) if name == "medium" else None)
    backend = FasterWhisper()
    assert backend.resolved() == ("cuda", "float16", "medium")
    assert backend.model_label == "medium" and ":medium:cuda:float16:" in backend.cache_key()
    # Nothing cached: the bundled model on the GPU (never a download behind the user's back).
    monkeypatch.setattr(fw, "cached_model", lambda name, root: None)
    assert FasterWhisper().resolved() == ("cuda", "float16", None)
    # A configured model and compute type win.
    chosen = FasterWhisper(FasterWhisper.Options(model="small", compute_type="int8_float16"))
    assert chosen.resolved() == ("cuda", "int8_float16", "small")


def test_cached_model_never_downloads(tmp_path):
    assert fw.cached_model("large-v3", tmp_path) is None  # an empty cache, no network: None, quickly


def test_encoder_arguments_keep_the_output_contract():
    x264 = video_args("libx264", fps=30, crf=21, preset="veryfast", x264_params="me=dia")
    nvenc = video_args("h264_nvenc", fps=30, crf=21, preset="veryfast", x264_params="me=dia")
    for args, codec in ((x264, "libx264"), (nvenc, "h264_nvenc")):
        pairs = dict(zip(args[::2], args[1::2], strict=True))
        assert pairs["-c:v"] == codec
        assert (pairs["-profile:v"], pairs["-pix_fmt"], pairs["-g"], pairs["-r"]) == ("high", "yuv420p", "60", "30")
        assert pairs["-flags"] == "+cgop"
    nv = dict(zip(nvenc[::2], nvenc[1::2], strict=True))
    assert nv["-bf"] == "0" and nv["-cq"] == "21" and nv["-no-scenecut"] == "1"  # closed GOPs, fixed keyframes
    assert "-x264-params" not in nv and "-x264-params" in x264
    with pytest.raises(ValueError, match="unknown video encoder"):
        video_args("h265", fps=30, crf=21, preset="fast")


def test_render_options_take_the_encoder_from_settings():
    from core.config import Settings
    from core.pipeline.render import RenderOptions

    settings = Settings()
    assert RenderOptions().resolved(settings).encoder == "libx264"
    settings.render.encoder = "h264_nvenc"
    assert RenderOptions().resolved(settings).encoder == "h264_nvenc"
    assert RenderOptions(encoder="libx264").resolved(settings).encoder == "libx264"


@needs_gpu
def test_nvenc_encodes_h264_high_yuv420p_closed_gop_faststart(tmp_path: Path):
    out = tmp_path / "nvenc.mp4"
    src = ["-f", "lavfi", "-i", "testsrc2=size=1080x1920:rate=30:duration=5"]
    cmd = ["ffmpeg", "-v", "error", "-y", *src, *video_args("h264_nvenc", fps=30, crf=21, preset="veryfast")]
    subprocess.run([*cmd, "-movflags", "+faststart", str(out)], check=True, capture_output=True, timeout=120)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_frames", "-of", "json", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(probe.stdout)
    v = data["streams"][0]
    assert (v["codec_name"], v["profile"], v["pix_fmt"]) == ("h264", "High", "yuv420p")
    keyframes = [i for i, f in enumerate(data["frames"]) if f.get("key_frame") == 1]
    assert keyframes[:3] == [0, 60, 120]  # a keyframe every 2 s, none at scene cuts
    assert all(f.get("pict_type") != "B" for f in data["frames"])  # no B-frames: every GOP is closed
    head = out.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat")


@needs_gpu
def test_faster_whisper_on_cuda_transcribes_the_sample_talk(tmp_path: Path):
    from tests.conftest import TALK_VIDEO

    if not TALK_VIDEO.is_file():
        pytest.skip(f"{TALK_VIDEO} is absent")
    from core.media import ffmpeg

    wav = ffmpeg.extract_audio(TALK_VIDEO, tmp_path / "talk.wav")
    backend = FasterWhisper(FasterWhisper.Options(device="cuda"))
    transcript = backend.transcribe(wav)
    assert backend.resolved()[:2] == ("cuda", "float16")
    assert len(transcript.words) > 100 and "banana" in " ".join(w.text.lower() for w in transcript.words)
