"""OAuth 2.0 for publishers (authorization code with state and PKCE); part of the public plugin API.

A publisher returns an ``OAuthClient`` from ``oauth_client()`` and the core runs the flow
(``clipcast accounts connect``); ``refresh`` and ``revoke`` are for ``refresh_token`` and ``revoke``.
"""

from __future__ import annotations

from core.oauth import OAuthClient, OAuthError, OAuthStateError, refresh, revoke

__all__ = ["OAuthClient", "OAuthError", "OAuthStateError", "refresh", "revoke"]
