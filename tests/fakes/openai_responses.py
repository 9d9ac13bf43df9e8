"""A local fake of OpenAI's ``POST /v1/responses`` (HTTP on 127.0.0.1, in a thread).

It answers with the documented Response object: ``output[]`` holding a ``message`` whose ``content[]`` has an
``output_text`` item (the JSON text), plus ``usage`` (input/output/total tokens and their details). Errors use
OpenAI's error body ``{"error": {"message", "type", "code"}}``; 429 carries ``retry-after``.

Tests script it with a queue of replies (``reply_json``, ``reply_text``, ``reply_error``) consumed one per
request; when the queue is empty, ``responder(request_body) -> str`` makes the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self, responder: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.responder = responder
        self.queue: deque[tuple[int, str, dict[str, str]]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    # -------------------------------------------------------------------------------------- scripting

    def reply_text(self, text: str, *, input_tokens: int = 100, output_tokens: int = 50) -> None:
        """A 200 response whose output_text is ``text`` (valid JSON or not)."""
        self.queue.append((200, json.dumps(response_object(text, input_tokens, output_tokens)), {}))

    def reply_json(self, data: Any, **kw: int) -> None:
        self.reply_text(json.dumps(data), **kw)

    def reply_error(self, status: int, message: str = "error", *, retry_after: float | None = None) -> None:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": kind}})
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        self.queue.append((status, body, headers))

    # ------------------------------------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path.rstrip("/") != "/v1/responses":
                    return self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}), {})
                if fake.queue:
                    status, payload, headers = fake.queue.popleft()
                elif fake.responder is not None:
                    status, payload, headers = 200, json.dumps(response_object(fake.responder(body), 120, 60)), {}
                else:
                    status, payload, headers = 500, json.dumps({"error": {"message": "nothing scripted"}}), {}
                self._send(status, payload, headers)

            def _send(self, status: int, payload: str, headers: dict[str, str]) -> None:
                data = payload.encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------------------------------ helpers

    @staticmethod
    def prompt_of(body: dict[str, Any]) -> str:
        """The text the client sent (``input`` as a string or as message items)."""
        inp = body.get("input")
        if isinstance(inp, str):
            return inp
        parts = []
        for item in inp or []:
            content = item.get("content")
            if isinstance(content, str):
                parts.append(content)
            else:
                parts += [c.get("text", "") for c in content or []]
        return "\n".join(parts)

    @staticmethod
    def schema_name(body: dict[str, Any]) -> str:
        return ((body.get("text") or {}).get("format") or {}).get("name", "")


def response_object(text: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """The Response object as the Responses API documents it (non-streaming, completed)."""
    now = int(time.time())
    return {
        "id": f"resp_{now}",
        "object": "response",
        "created_at": now,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-5-mini-2025-08-07",
        "output": [
            {
                "type": "message",
                "id": f"msg_{now}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "user": None,
        "metadata": {},
    }


# ------------------------------------------------------------------------------------ a plausible "model"


def editor_answer(schema: str, prompt: str, *, favourite: str = "language") -> str:
    """What a sensible model would answer to Clipcast's prompts: windows whose transcript lines mention
    ``favourite`` score 90, others 20; detailed plans echo the shortlisted windows; summaries give chapters."""
    import re

    if schema == "WindowScores":
        hot = [
            (float(a), float(b))
            for a, b, text in re.findall(r"^\[([\d.]+)-([\d.]+)\] (.*)$", prompt, re.M)
            if favourite in text.lower()
        ]
        scores = []
        for wid, a, b in re.findall(r"^(\d+): ([\d.]+)-([\d.]+) s", prompt, re.M):
            a, b = float(a), float(b)
            good = any(a <= s < b for s, _ in hot) and any(abs(a - s) < 0.05 for s, _ in hot)
            scores.append({"id": int(wid), "score": 90 if good else 20})
        return json.dumps({"scores": scores})
    if schema == "DetailedClips":
        clips = []
        for rank, (wid, a, b) in enumerate(re.findall(r"^id (\d+): ([\d.]+)-([\d.]+) s", prompt, re.M)):
            clips.append(
                {
                    "id": int(wid),
                    "start": float(a),
                    "end": float(b),
                    "score": 95 - rank * 10,
                    "sub_scores": {"hook": 90, "value": 80, "emotion": 60, "shareability": 85},
                    "reason": "asks a question the audience has and answers it",
                    "title": f"Clip {rank + 1}",
                    "caption": "A short caption.",
                    "hashtags": ["#learning", "language"],
                    "platform_captions": {"tiktok": "tt", "youtube": "yt #shorts", "instagram": "ig"},
                }
            )
        return json.dumps({"clips": clips})
    if schema == "SummaryOut":
        times = [float(t) for t in re.findall(r"^\[([\d.]+)-", prompt, re.M)] or [0.0]
        return json.dumps(
            {
                "summary": "A talk in several parts.",
                "chapters": [
                    {"start": times[0], "title": "Opening"},
                    {"start": times[len(times) // 2], "title": "Middle"},
                ],
            }
        )
    return "{}"
