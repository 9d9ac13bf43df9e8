"""A local fake of the Gemini API's ``POST /v1beta/models/{model}:generateContent`` (HTTP on 127.0.0.1).

Answers with the documented GenerateContentResponse: ``candidates[0].content.parts[0].text`` (the JSON text),
``finishReason`` and ``usageMetadata`` (prompt/candidates/total token counts). Errors use Google's error body
``{"error": {"code", "message", "status"}}``. Scripted like ``fakes.openai_responses.FakeOpenAI``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ROUTE = re.compile(r"^/v1(?:beta)?/models/([^/:]+):generateContent$")
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED"}


class FakeGemini:
    def __init__(self, responder: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.responder = responder
        self.queue: deque[tuple[int, str]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    def reply_text(self, text: str, *, prompt_tokens: int = 100, output_tokens: int = 50) -> None:
        self.queue.append((200, json.dumps(response_object(text, prompt_tokens, output_tokens))))

    def reply_error(self, code: int, message: str = "error") -> None:
        status = _STATUS.get(code, "INTERNAL" if code >= 500 else "FAILED_PRECONDITION")
        self.queue.append((code, json.dumps({"error": {"code": code, "message": message, "status": status}})))

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGemini:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.paths.append(self.path)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not _ROUTE.match(self.path.split("?")[0]):
                    return self._send(404, json.dumps({"error": {"code": 404, "message": "not found"}}))
                if fake.queue:
                    status, payload = fake.queue.popleft()
                elif fake.responder is not None:
                    status, payload = 200, json.dumps(response_object(fake.responder(body), 130, 70))
                else:
                    status, payload = 500, json.dumps({"error": {"code": 500, "message": "nothing scripted"}})
                self._send(status, payload)

            def _send(self, status: int, payload: str) -> None:
                data = payload.encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=UTF-8")
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

    @staticmethod
    def prompt_of(body: dict[str, Any]) -> str:
        return "\n".join(p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", []))

    @staticmethod
    def schema_name(body: dict[str, Any]) -> str:
        return ((body.get("generationConfig") or {}).get("responseJsonSchema") or {}).get("title", "")


def response_object(text: str, prompt_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "fake-response",
    }
