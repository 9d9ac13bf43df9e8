"""Clip selection with Google Gemini through ``google-genai``: JSON output constrained by a JSON schema.

The answer is validated with ``Model.model_validate_json(response.text)`` rather than ``response.parsed``,
which silently stays None on bad output. Retries (429, 408, 5xx, transport errors) are the SDK's
``HttpRetryOptions``: ``max_retries`` more attempts with exponential back-off from ``retry_delay`` seconds.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from clipcast import ConfigError, PermanentError, RetryableError, hookimpl
from plugins.llm.common import Call, LLMOptions, TwoPassSelector, validate_json

if TYPE_CHECKING:  # the SDK is imported when first used: it costs ~0.7 s at start-up
    from google import genai
    from google.genai import errors


class GeminiOptions(LLMOptions):
    model: str = Field("gemini-2.5-flash", description="a Gemini model that supports JSON schema output")
    retry_delay: float = Field(1.0, ge=0, description="first back-off delay (s) before a retry; doubles each time")
    api_version: str = Field("v1beta", description="REST API version; JSON-schema output is documented in v1beta")


class GeminiSelector(TwoPassSelector):
    name = "gemini"
    provider = "gemini"
    description = "Google Gemini (google-genai), two passes (cheap window scoring, then detailed clip plans)"
    Options = GeminiOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._client: genai.Client | None = None

    @property
    def client(self) -> genai.Client:
        from google import genai
        from google.genai import types

        if self._client is None:
            key = self.options.api_key.get_secret_value() if self.options.api_key else None
            key = key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
            if not key:
                raise ConfigError(
                    "the gemini clip selector has no API key",
                    "set llm.gemini.api_key in the configuration (e.g. ${GEMINI_API_KEY}) or GEMINI_API_KEY",
                )
            delay = self.options.retry_delay
            self._client = genai.Client(
                api_key=key,
                http_options=types.HttpOptions(
                    base_url=self.options.base_url,
                    api_version=self.options.api_version,
                    timeout=int(self.options.timeout * 1000),
                    retry_options=types.HttpRetryOptions(
                        attempts=self.options.max_retries + 1,
                        initial_delay=delay,
                        max_delay=max(delay, 30.0),
                        jitter=delay,
                    ),
                ),
            )
        return self._client

    def _call(self, prompt: str, schema: type[BaseModel]) -> Call:
        from google.genai import errors, types

        config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_json_schema=schema.model_json_schema(),
            temperature=self.options.temperature,
        )
        try:
            response = self.client.models.generate_content(model=self.options.model, contents=prompt, config=config)
        except errors.APIError as exc:
            raise _translate(exc, self.options.max_retries)
        except (ConfigError, PermanentError, RetryableError):
            raise
        except Exception as exc:  # transport errors (timeouts, refused connections) after the SDK's retries
            raise RetryableError(
                f"could not reach the Gemini API at {self.options.base_url or 'the default endpoint'}: {exc!r}",
                "check the network or llm.gemini.base_url; raise llm.gemini.timeout for slow answers",
            )
        meta = response.usage_metadata
        tokens_in = int(getattr(meta, "prompt_token_count", 0) or 0)
        tokens_out = int(getattr(meta, "candidates_token_count", 0) or 0) + int(
            getattr(meta, "thoughts_token_count", 0) or 0
        )
        text = response.text or ""
        if not text:
            reason = ""
            if response.candidates:
                reason = str(response.candidates[0].finish_reason or "")
            return Call(None, tokens_in, tokens_out, error=f"empty answer {reason}".strip())
        parsed, error = validate_json(schema, text)
        return Call(parsed, tokens_in, tokens_out, text=text, error=error)


def _translate(exc: errors.APIError, retries: int) -> Exception:
    from google.genai import errors

    message = exc.message or str(exc)
    if exc.code == 429:
        return RetryableError(
            f"Gemini rate limit still hit after {retries} retries: {message}",
            "wait and retry, or raise your Gemini quota",
        )
    if exc.code in (401, 403):
        return PermanentError(f"Gemini refused the API key: {message}", "check llm.gemini.api_key")
    if isinstance(exc, errors.ServerError) or exc.code in (408,):
        return RetryableError(f"Gemini server error {exc.code} after {retries} retries: {message}", "retry later")
    return PermanentError(
        f"Gemini rejected the request ({exc.code}): {message}", "check llm.gemini.model and the other options"
    )


@hookimpl
def register_llm_backends(register: Any) -> None:
    register(GeminiSelector)
