"""Which container a file is, decided from its first bytes before ffprobe or ffmpeg read it.

ffmpeg picks a demuxer by content, and some demuxers open other files: an HLS playlist or a concat list named
``holiday.mp4`` makes ffprobe and ffmpeg read whatever paths or URLs it lists, image sequences expand patterns,
``lavfi`` makes media out of nothing. So Clipcast accepts only the media containers below (none of which
references other files), refuses everything else by name, forces the matching demuxer (``-f``) when it probes,
and checks that ffprobe agreed. Anything that reads an ingested file afterwards reads one of these containers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError

__all__ = ["CONTAINERS", "Container", "check_demuxer", "sniff"]


@dataclass(frozen=True)
class Container:
    label: str  # "an MP4/MOV", for messages
    demuxer: str  # ffmpeg's -f name, forced when probing
    format_name: str  # what ffprobe reports for it
    exts: tuple[str, ...]  # file extensions kept for it; the first is the default


MP4 = Container("an MP4/MOV", "mov", "mov,mp4,m4a,3gp,3g2,mj2", ("mp4", "mov", "m4v", "m4a", "3gp"))
MKV = Container("a Matroska/WebM", "matroska", "matroska,webm", ("mkv", "webm", "mka"))
AVI = Container("an AVI", "avi", "avi", ("avi",))
WAV = Container("a WAV", "wav", "wav", ("wav",))
OGG = Container("an Ogg", "ogg", "ogg", ("ogg", "ogv", "oga", "opus"))
FLV = Container("an FLV", "flv", "flv", ("flv",))
MPEG_PS = Container("an MPEG-PS", "mpeg", "mpeg", ("mpg", "mpeg", "vob"))
MPEG_TS = Container("an MPEG-TS", "mpegts", "mpegts", ("ts", "mts", "m2ts"))
MP3 = Container("an MP3", "mp3", "mp3", ("mp3",))
AAC = Container("an AAC", "aac", "aac", ("aac",))
FLAC = Container("a FLAC", "flac", "flac", ("flac",))
ASF = Container("an ASF/WMV", "asf", "asf", ("wmv", "asf", "wma"))

CONTAINERS = (MP4, MKV, AVI, WAV, OGG, FLV, MPEG_PS, MPEG_TS, MP3, AAC, FLAC, ASF)
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

#: First bytes of things that are not media containers, named so the refusal says what was given.
_REFUSED: list[tuple[bytes, str]] = [
    (b"#EXTM3U", "an HLS/M3U playlist"),
    (b"#EXTINF", "an M3U playlist"),
    (b"ffconcat", "an ffmpeg concat list"),
    (b"[playlist]", "a PLS playlist"),
    (b"<?xml", "an XML document (DASH manifests and playlists are XML)"),
    (b"<MPD", "a DASH manifest"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
]


def _media(head: bytes) -> Container | None:
    if head[4:8] in _MP4_BOXES:
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MKV
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return AVI
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"FLV\x01"):
        return FLV
    if head.startswith(b"\x00\x00\x01\xba"):
        return MPEG_PS
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return MPEG_TS
    if head.startswith(b"ID3"):
        return MP3
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return ASF
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return AAC if head[1] & 0x06 == 0 else MP3  # ADTS has layer bits 00; MPEG audio frames do not
    return None


def sniff(path: Path, name: str) -> Container:
    """The container of ``path`` (called ``name`` in messages); ``InputError`` for anything else."""
    with open(path, "rb") as f:
        head = f.read(4096)
    found = _media(head)
    if found is not None:
        return found
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, what in _REFUSED:
        if body.startswith(magic):
            raise InputError(
                f"{name} is {what}, not a video file; Clipcast reads only media containers that reference no "
                "other files",
                "upload the video itself (MP4, MOV, MKV, WebM...)",
            )
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            raise InputError(f"{name} is not a video or audio file: it contains plain text", _HINT)
        except UnicodeDecodeError:
            pass
    raise InputError(f"{name} is not a video or audio file ffmpeg can read (no accepted container starts so)", _HINT)


_HINT = "give a video file (MP4, MOV, MKV, WebM, AVI, MPEG-TS...) or audio (MP3, WAV, FLAC, Ogg...)"


def check_demuxer(container: Container, format_name: str, name: str) -> None:
    """ffprobe must have read the file with the demuxer its first bytes named."""
    if format_name != container.format_name:
        raise InputError(f"{name} starts like {container.label} file but ffmpeg reads it as {format_name!r}", _HINT)
