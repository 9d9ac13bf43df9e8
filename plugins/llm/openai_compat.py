"""Clip selection with any OpenAI-compatible chat-completions server: Ollama, llama.cpp's server, vLLM, LM Studio
(or a hosted one). ``base_url`` + ``model``; no SDK, plain ``POST {base_url}/chat/completions`` over httpx.

Structured output: ``json_mode: schema`` sends ``response_format: {"type": "json_schema", ...}`` (Ollama 0.5+,
llama.cpp server, vLLM, LM Studio all accept it); a server that answers 400 to that is asked again with
``{"type": "json_object"}`` from then on; ``json`` starts there; ``none`` relies on the prompt alone. Every answer
is validated against the schema and re-asked with a stricter prompt (``json_retries``), as for the other model
backends. Connection failures, timeouts and 5xx are retried ``max_retries`` times (1 s, 2 s... apart), then
become a ``RetryableError``; 401/403/404 are ``PermanentError`` (404 usually means the model is not pulled).
Recipes per server: docs/plugins.md ("Local models").

The URL is configuration an administrator writes (it is usually loopback: a model on the same machine), so it
is not put through the user-URL egress check.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from clipcast import PermanentError, RetryableError, UsageRecord, hookimpl
from plugins.llm.common import Call, LLMOptions, TwoPassSelector, validate_json


class CompatOptions(LLMOptions):
    base_url: str | None = Field(
        "http://127.0.0.1:11434/v1", description="server's OpenAI-compatible root (Ollama's default shown)"
    )
    model: str = Field("llama3.1:8b", description="model name as the server knows it (ollama list, /v1/models)")
    json_mode: Literal["schema", "json", "none"] = Field(
        "schema", description="schema: JSON-schema output (falls back to json on a 400); json: JSON mode"
    )
    timeout: float = Field(300.0, gt=0, description="seconds per request (local models on a CPU are slow)")
    max_tokens: int | None = Field(None, ge=16, description="cap on the answer's tokens (None: the server's)")
    usd_per_million_tokens: float = Field(0.0, ge=0, description="for the usage estimate (0 for a local model)")


class OpenAICompatSelector(TwoPassSelector):
    name = "openai-compatible"
    provider = "openai-compatible"
    description = "any OpenAI-compatible chat-completions server (Ollama, llama.cpp, vLLM, LM Studio), two passes"
    Options = CompatOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._mode = self.options.json_mode
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            headers = {"content-type": "application/json"}
            if self.options.api_key:
                headers["authorization"] = f"Bearer {self.options.api_key.get_secret_value()}"
            self._client = httpx.Client(timeout=self.options.timeout, headers=headers)
        return self._client

    def check_ready(self) -> None:
        """Nothing to check before the first request: a local server needs no key."""

    def _url(self) -> str:
        return f"{(self.options.base_url or '').rstrip('/')}/chat/completions"

    def _payload(self, prompt: str, schema: type[BaseModel]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.options.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": False,
        }
        if self.options.temperature is not None:
            body["temperature"] = self.options.temperature
        if self.options.max_tokens:
            body["max_tokens"] = self.options.max_tokens
        if self._mode == "schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": True},
            }
        elif self._mode == "json":
            body["response_format"] = {"type": "json_object"}
        return body

    def _call(self, prompt: str, schema: type[BaseModel]) -> Call:
        response = self._post(prompt, schema)
        if response.status_code == 400 and self._mode == "schema":  # no JSON-schema support: JSON mode from now on
            self._mode = "json"
            response = self._post(prompt, schema)
        if response.status_code in (401, 403):
            raise PermanentError(
                f"{self._url()} refused the request ({response.status_code}): {_message(response)}",
                "check llm.openai-compatible.api_key",
            )
        if response.status_code == 404:
            raise PermanentError(
                f"{self._url()} answered 404: {_message(response)}",
                f"check base_url and that the model {self.options.model!r} is installed (ollama pull ...)",
            )
        if response.status_code >= 400:
            raise PermanentError(
                f"{self._url()} rejected the request ({response.status_code}): {_message(response)}",
                "check llm.openai-compatible.model and json_mode",
            )
        try:
            data = response.json()
            text = data["choices"][0]["message"].get("content") or ""
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return Call(None, 0, 0, text=response.text[:500], error="not a chat completion object")
        tokens = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        parsed, error = validate_json(schema, text)
        return Call(parsed, *tokens, text=text, error=error)

    def _post(self, prompt: str, schema: type[BaseModel]) -> httpx.Response:
        last = ""
        for attempt in range(1 + self.options.max_retries):
            if attempt:
                time.sleep(min(8.0, 2.0 ** (attempt - 1)))
            try:
                response = self.client.post(self._url(), json=self._payload(prompt, schema))
            except httpx.HTTPError as exc:  # connection refused, timeout...
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code < 500 and response.status_code != 429:
                return response
            last = f"{response.status_code} {_message(response)}"
        raise RetryableError(
            f"could not get an answer from {self._url()} after {1 + self.options.max_retries} tries ({last})",
            "is the server running (ollama serve / llama-server / vllm serve)? raise timeout for slow models",
        )

    def _report(self, call: Call) -> None:

        price = self.options.usd_per_million_tokens / 1e6
        self.report_usage(
            UsageRecord(
                provider=self.provider,
                model=self.options.model,
                kind="llm",
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                cost_usd=(call.input_tokens + call.output_tokens) * price,
            )
        )


def _message(response: httpx.Response) -> str:
    try:
        err = response.json().get("error")
    except ValueError:
        return response.text[:200]
    if isinstance(err, dict):
        return str(err.get("message", err))[:300]
    return str(err)[:300]


@hookimpl
def register_llm_backends(register: Any) -> None:
    register(OpenAICompatSelector)
