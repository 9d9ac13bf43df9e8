"""A local fake of Ollama's OpenAI-compatible ``POST /v1/chat/completions`` (HTTP on 127.0.0.1, in a thread).

It answers the way Ollama does (0.5+): a ``chat.completion`` object with ``choices[0].message.content`` holding
the text, ``finish_reason: "stop"``, ``system_fingerprint: "fp_ollama"`` and ``usage`` in prompt/completion
tokens; errors as ``{"error": {"message", "type", "param", "code"}}`` (404 "model ... not found, try pulling it
first"). ``schema=False`` plays a server without JSON-schema output (400 on ``response_format.type:
json_schema``, as older llama.cpp builds answer). Replies come from ``responder(schema_name, prompt)`` unless a
queued ``reply_text`` / ``reply_error`` is waiting.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCHEMA_HINTS = {'"scores"': "WindowScores", '"clips"': "DetailedClips", '"chapters"': "SummaryOut"}


class FakeOllama:
    def __init__(
        self, responder: Callable[[str, str], str], *, model: str = "llama3.1:8b", schema: bool = True
    ) -> None:
        self.responder = responder
        self.model = model
        self.schema = schema
        self.queue: deque[tuple[int, str]] = deque()
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    def reply_text(self, text: str) -> None:
        self.queue.append((200, json.dumps(completion(text, self.model, 900, 120))))

    def reply_error(self, status: int, message: str) -> None:
        self.queue.append(
            (status, json.dumps({"error": {"message": message, "type": "api_error", "param": None, "code": None}}))
        )

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @staticmethod
    def schema_name(body: dict[str, Any]) -> str:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return fmt["json_schema"]["name"]
        prompt = body["messages"][-1]["content"]
        tail = prompt[prompt.rfind("Return JSON only") :]
        return next((name for hint, name in SCHEMA_HINTS.items() if hint in tail), "")

    def __enter__(self) -> FakeOllama:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                fake.requests.append(body)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "404 page not found"}})
                if body.get("model") != fake.model:
                    msg = f'model "{body.get("model")}" not found, try pulling it first'
                    return self._send(
                        404, {"error": {"message": msg, "type": "api_error", "param": None, "code": None}}
                    )
                fmt = (body.get("response_format") or {}).get("type")
                if fmt == "json_schema" and not fake.schema:
                    return self._send(
                        400,
                        {
                            "error": {
                                "message": "response_format type json_schema is not supported",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                if fake.queue:
                    status, payload = fake.queue.popleft()
                    return self._send(status, json.loads(payload))
                text = fake.responder(fake.schema_name(body), body["messages"][-1]["content"])
                self._send(200, completion(text, fake.model, len(json.dumps(body)) // 4, len(text) // 4))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def completion(text: str, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The chat.completion object as Ollama's /v1/chat/completions returns it (non-streaming)."""
    return {
        "id": f"chatcmpl-{int(time.time() * 1000) % 1000}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
