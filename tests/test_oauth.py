"""The shared OAuth flow: state and PKCE, state mismatch refused, loopback redirect and pasted URL, errors."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
from fakes.youtube_server import CLIENT_ID, CLIENT_SECRET, YouTubeFake

from core import oauth
from core.errors import InputError


@pytest.fixture
def google():
    with YouTubeFake() as fake:
        yield fake


def client(fake, **kw) -> oauth.OAuthClient:
    return oauth.OAuthClient(
        platform="youtube",
        auth_url=f"{fake.url}/auth",
        token_url=f"{fake.url}/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=["a", "b"],
        extra_params={"access_type": "offline"},
        **kw,
    )


def test_begin_builds_url_with_state_and_pkce(google):
    pending = oauth.begin(client(google), "http://127.0.0.1:1/callback")
    q = oauth.parse_callback(pending.url)
    assert q["state"] == pending.state and q["code_challenge_method"] == "S256" and q["scope"] == "a b"
    assert q["access_type"] == "offline" and q["client_id"] == CLIENT_ID
    assert oauth.PendingAuth.from_dict(pending.to_dict()) == pending


def test_code_exchange_checks_pkce_and_uses_basic_auth(google):
    c = client(google)
    pending = oauth.begin(c, "http://127.0.0.1:1/callback")
    token = oauth.complete(c, pending, google.authorize(pending.url))
    assert token["access_token"].startswith("at-") and token["refresh_token"].startswith("rt-")
    assert "client_secret" not in google.token_requests[-1]  # Basic auth, not body
    tampered = oauth.begin(c, "http://127.0.0.1:1/callback")
    redirect = google.authorize(tampered.url)
    tampered.code_verifier = "x" * 64
    with pytest.raises(oauth.OAuthError, match=r"PKCE|invalid_grant"):
        oauth.complete(c, tampered, redirect)


def test_state_mismatch_is_refused_before_any_exchange(google):
    c = client(google)
    first = oauth.begin(c, "http://127.0.0.1:1/callback")
    second = oauth.begin(c, "http://127.0.0.1:1/callback")
    redirect = google.authorize(second.url)
    with pytest.raises(oauth.OAuthStateError, match="state does not match"):
        oauth.complete(c, first, redirect)
    assert google.token_requests == []


def test_denied_expired_and_missing_code(google):
    c = client(google)
    pending = oauth.begin(c, "http://127.0.0.1:1/callback")
    with pytest.raises(oauth.OAuthError, match="access_denied"):
        oauth.complete(c, pending, google.authorize(pending.url, approve=False))
    pending.created_at = time.time() - 3600
    with pytest.raises(oauth.OAuthError, match="expired"):
        oauth.complete(c, pending, google.authorize(pending.url))
    fresh = oauth.begin(c, "http://127.0.0.1:1/callback")
    with pytest.raises(oauth.OAuthError, match="no authorization code"):
        oauth.complete(c, fresh, f"http://127.0.0.1:1/callback?state={fresh.state}")


def test_missing_client_credentials_is_clear(google):
    with pytest.raises(InputError, match="client id and client secret are not configured"):
        oauth.OAuthClient("tiktok", "https://a", "https://b", client_id="", client_secret="", scopes=[])


def test_loopback_flow_end_to_end(google):
    def browser(url: str) -> None:  # plays the user's browser: consent, then follow the redirect
        threading.Thread(target=lambda: urllib.request.urlopen(google.authorize(url), timeout=10).read()).start()

    seen: list[str] = []
    import webbrowser

    original = webbrowser.open
    webbrowser.open = browser  # type: ignore[assignment]
    try:
        token = oauth.interactive_connect(client(google), port=0, echo=seen.append, timeout=20)
    finally:
        webbrowser.open = original  # type: ignore[assignment]
    assert token["access_token"].startswith("at-") and "Opening the browser" in seen[0]


def test_headless_paste_flow(google):
    shown: list[str] = []

    def paste(_prompt: str) -> str:
        url = next(line for line in shown[0].splitlines() if line.startswith("http"))
        return google.authorize(url)

    token = oauth.interactive_connect(client(google), headless=True, echo=shown.append, read=paste)
    assert token["refresh_token"].startswith("rt-")


def test_refresh_with_revoked_refresh_token_is_oauth_error(google):
    with pytest.raises(oauth.OAuthError, match="invalid_grant"):
        oauth.refresh(client(google), "rt-unknown")
