"""A local fake of OpenAI's ``POST /v1/audio/transcriptions`` (HTTP on 127.0.0.1, in a thread).

It reads the multipart form the SDK sends (``file``, ``model``, ``response_format``,
``timestamp_granularities[]``, ``language``...) and answers ``verbose_json`` as documented: ``task``,
``language`` (a language *name*, e.g. "english"), ``duration``, ``text``, ``segments[]`` (id, seek, start, end,
text, tokens, temperature, avg_logprob, compression_ratio, no_speech_prob) and ``words[]`` (word, start, end),
plus ``usage`` ``{"type": "duration", "seconds"}``.

The transcript it makes up depends only on the uploaded WAV's duration and the request number ``n``: one word
``r{n}w{k}`` every 0.5 s (0.4 s long, first at 0.2 s), six words per segment. Tests script failures with a
queue of replies: ``"ok"``, ``"no_words"`` (segments only), or ``(status, message)`` for an error.
"""

from __future__ import annotations

import json
import struct
import threading
from collections import deque
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | tuple[int, str]


def wav_duration(data: bytes) -> float:
    """Seconds of audio in a PCM WAV (walks the RIFF chunks for ``fmt `` and ``data``)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    pos, byte_rate, size = 12, 0, 0
    while pos + 8 <= len(data):
        chunk, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            byte_rate = struct.unpack("<I", data[pos + 16 : pos + 20])[0]
        elif chunk == b"data":
            size = min(length, len(data) - pos - 8)
            break
        pos += 8 + length + (length & 1)
    if not byte_rate:
        raise ValueError("WAV without a fmt chunk")
    return size / byte_rate


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """Form fields (name → values, in order) and files (name → bytes)."""
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[str(name)] = payload
        else:
            fields.setdefault(str(name), []).append(payload.decode())
    return fields, files


def verbose_json(duration: float, n: int, *, words: bool = True) -> dict[str, Any]:
    times = []
    t = 0.2
    while t + 0.4 <= duration:
        times.append((round(t, 3), round(t + 0.4, 3)))
        t += 0.5
    all_words = [{"word": f"r{n}w{k}", "start": s, "end": e} for k, (s, e) in enumerate(times)]
    segments = []
    for i in range(0, len(all_words), 6):
        group = all_words[i : i + 6]
        segments.append(
            {
                "id": len(segments),
                "seek": 0,
                "start": group[0]["start"],
                "end": group[-1]["end"],
                "text": " " + " ".join(w["word"] for w in group),
                "tokens": [50364 + k for k in range(len(group))],
                "temperature": 0.0,
                "avg_logprob": -0.2,
                "compression_ratio": 1.1,
                "no_speech_prob": 0.01,
            }
        )
    out: dict[str, Any] = {
        "task": "transcribe",
        "language": "english",
        "duration": round(duration, 3),
        "text": " ".join(w["word"] for w in all_words),
        "segments": segments,
        "usage": {"type": "duration", "seconds": round(duration, 3)},
    }
    if words:
        out["words"] = all_words
    return out


class FakeOpenAIAudio:
    """Start with ``with FakeOpenAIAudio() as fake:``; point the SDK at ``fake.base_url``."""

    def __init__(self) -> None:
        self.queue: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def script(self, *replies: Reply) -> None:
        self.queue.extend(replies)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIAudio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/audio/transcriptions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
                    return
                fields, files = parse_multipart(self.headers.get("Content-Type", ""), body)
                with fake._lock:
                    n = len(fake.requests)
                    record = {
                        "fields": fields,
                        "file_bytes": len(files.get("file", b"")),
                        "authorization": self.headers.get("Authorization", ""),
                    }
                    fake.requests.append(record)
                    reply: Reply = fake.queue.popleft() if fake.queue else "ok"
                auth = record["authorization"]
                if auth == "Bearer bad-key-000000":
                    self._send(
                        401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
                    )
                    return
                if isinstance(reply, tuple):
                    status, message = reply
                    kind = "rate_limit_exceeded" if status == 429 else "server_error"
                    self._send(status, {"error": {"message": message, "type": kind}}, {"retry-after-ms": "10"})
                    return
                if "file" not in files:
                    self._send(400, {"error": {"message": "file is required", "type": "invalid_request_error"}})
                    return
                try:
                    duration = wav_duration(files["file"])
                except ValueError as exc:
                    self._send(400, {"error": {"message": f"Invalid file format: {exc}", "type": "invalid_request"}})
                    return
                record["duration"] = duration
                self._send(200, verbose_json(duration, n, words=reply != "no_words"))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
