"""Clip selection with OpenAI models through the Responses API and structured output (a Pydantic schema).

``base_url`` also reaches OpenAI-compatible servers (a proxy, vLLM, llama.cpp, Ollama). The SDK retries rate
limits (honouring ``Retry-After``), timeouts and 5xx ``max_retries`` times; ``timeout`` is seconds per request.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from clipcast import ConfigError, PermanentError, RetryableError, hookimpl
from plugins.llm.common import Call, LLMOptions, TwoPassSelector, _short_error

if TYPE_CHECKING:  # the SDK is imported when first used: it costs ~1 s at start-up
    import openai


class OpenAIOptions(LLMOptions):
    model: str = Field("gpt-5-mini", description="any Responses API model with structured outputs")
    temperature: float | None = Field(
        None, ge=0, le=2, description="sent only when set: GPT-5 reasoning models refuse anything but the default"
    )
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = Field(
        None, description="for reasoning models (None: the model's default)"
    )


class OpenAISelector(TwoPassSelector):
    name = "openai"
    provider = "openai"
    description = "OpenAI Responses API, two passes (cheap window scoring, then detailed clip plans)"
    Options = OpenAIOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._client: openai.OpenAI | None = None

    @property
    def client(self) -> openai.OpenAI:
        import openai

        if self._client is None:
            key = self.options.api_key.get_secret_value() if self.options.api_key else os.environ.get("OPENAI_API_KEY")
            if not key:
                raise ConfigError(
                    "the openai clip selector has no API key",
                    "set llm.openai.api_key in the configuration (e.g. ${OPENAI_API_KEY}) or OPENAI_API_KEY",
                )
            self._client = openai.OpenAI(
                api_key=key,
                base_url=self.options.base_url,
                timeout=self.options.timeout,
                max_retries=self.options.max_retries,
            )
        return self._client

    def _call(self, prompt: str, schema: type[BaseModel]) -> Call:
        import openai

        kwargs: dict[str, Any] = {"model": self.options.model, "input": prompt, "text_format": schema}
        if self.options.temperature is not None:
            kwargs["temperature"] = self.options.temperature
        if self.options.reasoning_effort:
            kwargs["reasoning"] = {"effort": self.options.reasoning_effort}
        try:
            raw = self.client.responses.with_raw_response.parse(**kwargs)
        except openai.RateLimitError as exc:
            raise RetryableError(
                f"OpenAI rate limit still hit after {self.options.max_retries} retries: {_detail(exc)}",
                "wait and retry, or lower the request rate / raise your OpenAI limits",
            )
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise RetryableError(
                f"could not reach the OpenAI API at {self.client.base_url} after "
                f"{self.options.max_retries} retries: {exc}",
                "check the network or llm.openai.base_url; raise llm.openai.timeout for slow servers",
            )
        except openai.InternalServerError as exc:
            raise RetryableError(
                f"OpenAI server error {exc.status_code} after {self.options.max_retries} retries: {_detail(exc)}",
                "retry later",
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise PermanentError(f"OpenAI refused the API key: {_detail(exc)}", "check llm.openai.api_key")
        except openai.APIStatusError as exc:
            raise PermanentError(
                f"OpenAI rejected the request ({exc.status_code}): {_detail(exc)}",
                "check llm.openai.model and the other llm.openai options",
            )
        usage = _usage(raw.text)
        try:
            parsed = raw.parse()
        except (ValidationError, ValueError) as exc:
            error = _short_error(exc) if isinstance(exc, ValidationError) else str(exc)
            return Call(None, *usage, text=raw.text, error=error)
        if parsed.output_parsed is None:
            refusal = _refusal(parsed)
            return Call(None, *usage, error=f"refused: {refusal}" if refusal else "no structured output")
        return Call(parsed.output_parsed, *usage)


def _usage(body: str) -> tuple[int, int]:
    try:
        usage = json.loads(body).get("usage") or {}
        return int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    except (ValueError, AttributeError, TypeError):
        return 0, 0


def _refusal(parsed: Any) -> str:
    for item in parsed.output or []:
        for content in getattr(item, "content", None) or []:
            if getattr(content, "type", "") == "refusal":
                return str(getattr(content, "refusal", ""))
    return ""


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(exc.message)


@hookimpl
def register_llm_backends(register: Any) -> None:
    register(OpenAISelector)
