"""Multipart uploads streamed straight into ingest: the request body is parsed as it arrives and the file part
is handed, chunk by chunk, to ``ingest_upload`` running in a worker thread (which writes it to its temporary file
and then to storage). Memory stays at a few chunks whatever the file size; nothing is spooled twice.

Back-pressure: a bounded queue between the two sides; if ingest stops reading (it refused the file), the
request side stops feeding it instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import io
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from core.api.errors import ValidationProblem
from core.errors import InputError

#: Chunks in flight between the request and ingest (each up to the server's read size, ~64 KB).
QUEUE_CHUNKS = 32
MAX_FIELD_BYTES = 1024
MAX_PARTS = 10
_EOF = object()


class Interrupted(Exception):
    """The request side stopped before the file ended (client gone, body too large)."""


class PipeReader(io.RawIOBase):
    """The thread side: a file-like ``read`` over chunks put in a queue by the request side."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: queue.Queue[Any] = queue.Queue(QUEUE_CHUNKS)
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._buf and not self._eof:
            item = self.chunks.get()
            if item is _EOF:
                self._eof = True
            elif isinstance(item, BaseException):
                self._eof = True
                raise InputError(f"the upload did not complete: {item}")
            else:
                self._buf = item
        if size is None or size < 0 or size >= len(self._buf):
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def _abort(pipe: PipeReader, exc: Exception) -> None:
    """Tell the reader the upload failed, making room in the queue if needed (the data is discarded anyway)."""
    while True:
        try:
            pipe.chunks.put_nowait(exc)
            return
        except queue.Full:
            try:
                pipe.chunks.get_nowait()
            except queue.Empty:
                pass


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


async def stream_upload(request: Request, ingest: Callable[[io.RawIOBase, str], Any]) -> tuple[Any, dict[str, str]]:
    """Parse ``request``'s multipart body; run ``ingest(stream, filename)`` in a thread on the field ``file``.

    Returns what ingest returned and the other (small) form fields. Raises ``InputError`` for a malformed body or
    a missing file, and whatever ingest raised.
    """
    _ctype, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InputError("the multipart body has no boundary", "let the HTTP client build the multipart request")
    parts: list[_Part] = []
    file_chunks: list[bytes] = []
    state: dict[str, Any] = {
        "header_field": b"",
        "header_value": b"",
        "file_part": None,
        "file_done": False,
        "eof_sent": False,
    }

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise InputError(f"the multipart body has more than {MAX_PARTS} parts")
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[state["header_field"].lower()] = state["header_value"]
        state["header_field"], state["header_value"] = b"", b""

    def on_headers_finished() -> None:
        part = parts[-1]
        _kind, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw = options.get(b"filename")
        part.filename = raw.decode("utf-8", "replace") if raw is not None else None
        if "\x00" in (part.filename or "") or "\x00" in part.name:
            raise ValidationProblem("the upload's file or field name contains a NUL character")
        if part.name == "file":
            if state["file_part"] is not None:
                raise InputError("the multipart body has more than one `file`", "upload one video per request")
            state["file_part"] = part

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        if part is state["file_part"]:
            file_chunks.append(data[start:end])
        else:
            part.value += data[start:end]
            if len(part.value) > MAX_FIELD_BYTES:
                raise InputError(f"form field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def on_part_end() -> None:
        if parts and parts[-1] is state["file_part"]:
            state["file_done"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    pipe = PipeReader()
    task: asyncio.Future[Any] | None = None

    def put(item: Any) -> bool:
        """Hand one item to the ingest thread; False when that thread has already stopped reading."""
        while True:
            try:
                pipe.chunks.put(item, timeout=0.2)
                return True
            except queue.Full:
                if task is not None and task.done():
                    return False

    async def feed() -> None:
        nonlocal task
        while file_chunks:
            if task is None:
                part = state["file_part"]
                task = asyncio.ensure_future(run_in_threadpool(ingest, pipe, part.filename or "upload"))
            chunk = file_chunks.pop(0)
            if task.done() or not await run_in_threadpool(put, chunk):
                file_chunks.clear()  # ingest stopped (it refused the file): drain the body, keep nothing
                return

    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise InputError(f"the multipart body is malformed: {exc}", "let the HTTP client build the request")
            await feed()
            if state["file_done"] and task is not None and not state["eof_sent"]:
                state["eof_sent"] = True
                await run_in_threadpool(put, _EOF)
        try:
            parser.finalize()
        except MultipartParseError as exc:
            raise InputError(f"the multipart body is malformed: {exc}", "let the HTTP client build the request")
    except BaseException as exc:
        if task is not None:  # let the ingest thread stop (it deletes its partial file); never wait on it here
            _abort(pipe, exc if isinstance(exc, Exception) else Interrupted("the request was cancelled"))
        raise
    if state["file_part"] is None:
        raise InputError("the multipart body has no file in the field `file`", "name the file field `file`")
    if not state["file_done"]:
        problem = InputError("the upload ended before the file did (truncated multipart body)", "upload it again")
        if task is not None:
            _abort(pipe, problem)
        raise problem
    if task is None:  # an empty file: ingest still decides (it refuses empty input with a clear message)
        task = asyncio.ensure_future(run_in_threadpool(ingest, pipe, state["file_part"].filename or "upload"))
    if not state["eof_sent"]:
        await run_in_threadpool(put, _EOF)
    result = await task
    fields = {p.name: p.value.decode("utf-8", "replace") for p in parts if p is not state["file_part"]}
    return result, fields
