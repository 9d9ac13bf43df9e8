"""OAuth 2.0 authorization-code flow with state and PKCE, shared by the CLI (loopback or paste) and the API.

A publisher describes its platform with an ``OAuthClient`` (URLs, credentials, scope separator, how the client
authenticates). ``begin`` makes a ``PendingAuth`` (state + PKCE verifier + the URL to open); whoever handles the
redirect keeps it (the CLI in memory, the API in its server-side session, ``to_dict``/``from_dict``) and passes
the redirected URL to ``complete``, which refuses a wrong or stale state before any code is exchanged.

Token exchange and refresh go through requests-oauthlib. The callback URL is parsed here rather than by
oauthlib, so a loopback ``http://127.0.0.1`` redirect works without ``OAUTHLIB_INSECURE_TRANSPORT``; that flag
is only set for token endpoints that are themselves on the loopback interface (local fake servers in tests).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import logging
import os
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from core.crypto import register_secrets
from core.errors import InputError, PermanentError, RetryableError

# requests-oauthlib logs whole token responses at DEBUG before Clipcast can register the new tokens with the
# redactor; those loggers never go below INFO.
for _name in ("requests_oauthlib", "oauthlib"):
    logging.getLogger(_name).setLevel(logging.INFO)

#: How long a started flow may wait for its redirect (seconds).
PENDING_MAX_AGE = 900
TIMEOUT = 30


class OAuthError(PermanentError):
    """The platform refused the authorization or the token request; the account must be (re)connected."""


class OAuthStateError(OAuthError):
    """The redirect's ``state`` does not belong to the flow that was started (CSRF or a stale tab)."""


@dataclass
class OAuthClient:
    """How one platform does OAuth. Built by a publisher from its ``Options``."""

    platform: str
    auth_url: str
    token_url: str
    client_id: str
    client_secret: str
    scopes: list[str]
    scope_separator: str = " "
    client_id_param: str = "client_id"  # TikTok calls it client_key
    client_auth: str = "basic"  # "basic": HTTP Basic on the token endpoint; "body": credentials as form fields
    extra_params: dict[str, str] = field(default_factory=dict)
    pkce: bool = True
    pkce_encoding: str = "base64url"  # or "hex" (some TikTok integrations report it wants hex)
    unwrap_data: bool = False  # Instagram wraps the token in {"data": [{...}]}
    revoke_url: str | None = None

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise InputError(
                f"{self.platform}: client id and client secret are not configured",
                f"set publishers.{self.platform}.client_id and client_secret in the YAML, "
                "as shown in the platform's developer console",
            )


@dataclass
class PendingAuth:
    """A started flow: what the redirect must carry back, and the URL the user opens."""

    platform: str
    state: str
    code_verifier: str | None
    redirect_uri: str
    url: str
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingAuth:
        return cls(**data)


def _challenge(verifier: str, encoding: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    if encoding == "hex":
        return digest.hex()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def begin(client: OAuthClient, redirect_uri: str) -> PendingAuth:
    """Start a flow: a fresh state (and PKCE verifier) and the authorization URL carrying them."""
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48) if client.pkce else None  # 64 chars, within RFC 7636's 43-128
    params: dict[str, str] = {
        client.client_id_param: client.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": client.scope_separator.join(client.scopes),
        "state": state,
        **client.extra_params,
    }
    if verifier:
        params["code_challenge"] = _challenge(verifier, client.pkce_encoding)
        params["code_challenge_method"] = "S256"
    if client.client_id_param == "client_id":
        # requests-oauthlib builds standard URLs (it always adds client_id, which TikTok does not want).
        _allow_loopback_http(client.auth_url)
        sess = OAuth2Session(client.client_id, redirect_uri=redirect_uri, scope=params.pop("scope"), state=state)
        params.pop("client_id"), params.pop("response_type"), params.pop("redirect_uri"), params.pop("state")
        url, _ = sess.authorization_url(client.auth_url, **params)
    else:
        sep = "&" if "?" in client.auth_url else "?"
        url = client.auth_url + sep + urlencode(params)
    return PendingAuth(client.platform, state, verifier, redirect_uri, url)


def parse_callback(callback_url: str) -> dict[str, str]:
    """The query of a redirect URL (or a bare query string) as a flat dict; Meta's ``#_`` suffix is dropped."""
    text = callback_url.strip()
    query = urlsplit(text).query if "://" in text or text.startswith("/") else text.lstrip("?")
    return {k: v[0] for k, v in parse_qs(query.split("#", 1)[0]).items()}


def _allow_loopback_http(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if url.startswith("http://") and host in ("127.0.0.1", "localhost", "::1"):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _raise_for_server_error(response: requests.Response) -> requests.Response:
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryableError(f"token endpoint answered HTTP {response.status_code}; try again shortly")
    return response


def _unwrap(response: requests.Response) -> requests.Response:
    try:
        body = response.json()
    except ValueError:
        return response
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        body = body["data"][0]
    if isinstance(body, dict) and "access_token" in body:
        body.setdefault("token_type", "Bearer")
    response._content = json.dumps(body).encode()
    return response


def _session(client: OAuthClient, **kw: Any) -> OAuth2Session:
    _allow_loopback_http(client.token_url)
    sess = OAuth2Session(client.client_id, **kw)
    if client.client_id_param != "client_id":
        param = client.client_id_param

        def rename(url: str, headers: dict[str, str], request_kwargs: dict[str, Any]) -> Any:
            data = request_kwargs.get("data") or {}
            if "client_id" in data:
                data[param] = data.pop("client_id")
            return url, headers, request_kwargs

        sess.register_compliance_hook("access_token_request", rename)
    sess.register_compliance_hook("access_token_response", _raise_for_server_error)
    sess.register_compliance_hook("refresh_token_response", _raise_for_server_error)
    if client.unwrap_data:
        sess.register_compliance_hook("access_token_response", _unwrap)
    return sess


def complete(
    client: OAuthClient, pending: PendingAuth, callback_url: str, *, max_age: float = PENDING_MAX_AGE
) -> dict[str, Any]:
    """Check the redirect against the pending flow and exchange its code for tokens."""
    params = parse_callback(callback_url)
    if params.get("state") != pending.state:
        raise OAuthStateError(
            f"{client.platform}: the redirect's state does not match the connection that was started",
            "start `clipcast accounts connect` again and use the newest link only",
        )
    if time.time() - pending.created_at > max_age:
        raise OAuthError(f"{client.platform}: the connection attempt expired", "start it again")
    if "error" in params:
        raise OAuthError(
            f"{client.platform} refused the authorization: {params['error']} {params.get('error_description', '')}",
            "approve the requested permissions, or check the app's settings in the developer console",
        )
    code = params.get("code")
    if not code:
        raise OAuthError(f"{client.platform}: the redirect carries no authorization code", "paste the full URL")
    sess = _session(client, redirect_uri=pending.redirect_uri, state=pending.state)
    extra: dict[str, Any] = {}
    if pending.code_verifier:
        extra["code_verifier"] = pending.code_verifier
    if client.client_auth == "body":
        extra.update(include_client_id=True, client_secret=client.client_secret)
    else:
        extra["auth"] = HTTPBasicAuth(client.client_id, client.client_secret)
    try:
        token = sess.fetch_token(client.token_url, code=code, timeout=TIMEOUT, **extra)
    except OAuth2Error as exc:
        raise OAuthError(f"{client.platform}: exchanging the authorization code failed: {exc.error}", exc.description)
    except requests.RequestException as exc:
        raise RetryableError(f"{client.platform}: token endpoint unreachable: {type(exc).__name__}")
    token = dict(token)
    register_secrets(token)
    return token


def refresh(client: OAuthClient, refresh_token: str) -> dict[str, Any]:
    """Refresh-token grant (client credentials in the body). The old refresh token is kept if none comes back."""
    sess = _session(client, token={"access_token": "", "token_type": "Bearer"})
    creds = {client.client_id_param: client.client_id, "client_secret": client.client_secret}
    try:
        token = sess.refresh_token(client.token_url, refresh_token=refresh_token, timeout=TIMEOUT, **creds)
    except OAuth2Error as exc:
        raise OAuthError(
            f"{client.platform}: the platform refused to refresh the token ({exc.error})",
            "reconnect the account with `clipcast accounts connect`",
        )
    except requests.RequestException as exc:
        raise RetryableError(f"{client.platform}: token endpoint unreachable: {type(exc).__name__}")
    token = dict(token)
    register_secrets(token)
    return token


def revoke(client: OAuthClient, token: str) -> bool:
    """Best-effort revocation; True when the platform confirmed it."""
    if not client.revoke_url:
        return False
    data = {"token": token, client.client_id_param: client.client_id, "client_secret": client.client_secret}
    try:
        res = requests.post(client.revoke_url, data=data, timeout=TIMEOUT)
    except requests.RequestException:
        return False
    return res.status_code < 300


# ------------------------------------------------------------------------------------- loopback redirect


class LoopbackServer:
    """A one-shot HTTP server on ``127.0.0.1:port`` receiving ``/callback``. Port 0 picks a free port."""

    def __init__(self, port: int = 0) -> None:
        self._url: str | None = None
        self._done = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/callback"):
                    self.send_error(404)
                    return
                outer._url = f"http://127.0.0.1:{outer.port}{self.path}"
                body = b"<html><body><h3>Clipcast: you can close this tab.</h3></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer._done.set()

            def log_message(self, *args: Any) -> None:  # the query holds the code: never print it
                pass

        self._server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> str:
        if not self._done.wait(timeout):
            raise OAuthError(
                f"no redirect arrived at {self.redirect_uri} within {timeout:.0f} s",
                "finish the consent in the browser, or use --headless and paste the redirected URL",
            )
        return self._url or ""


def interactive_connect(
    client: OAuthClient,
    *,
    port: int = 8765,
    headless: bool = False,
    open_browser: bool = True,
    timeout: float = 300,
    echo: Callable[[str], None] = print,
    read: Callable[[str], str] = input,
) -> dict[str, Any]:
    """The CLI flow: loopback redirect (default) or paste-the-redirected-URL (``headless``, for servers)."""
    if headless:
        pending = begin(client, f"http://127.0.0.1:{port}/callback")
        echo(f"Open this URL in a browser on any machine:\n\n{pending.url}\n")
        echo("After approving, the browser is sent to a page that will not load; copy that page's full URL.")
        return complete(client, pending, read("Paste the URL here: "))
    with LoopbackServer(port) as server:
        pending = begin(client, server.redirect_uri)
        echo(f"Opening the browser for {client.platform}. If it does not open, visit:\n\n{pending.url}\n")
        if open_browser:
            webbrowser.open(pending.url)
        return complete(client, pending, server.wait(timeout))
