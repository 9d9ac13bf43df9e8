"""Plugins add API routes through ``register_routes``; a broken one is reported, not fatal."""

from __future__ import annotations

from api_support import client, make_user

from core.hookspecs import hookimpl


class HelloRoutes:
    @hookimpl
    def register_routes(self, app):  # type: ignore[no-untyped-def]
        @app.get("/api/hello-plugin")
        def hello() -> dict[str, str]:
            return {"hello": "from a plugin"}


class BrokenRoutes:
    @hookimpl
    def register_routes(self, app):  # type: ignore[no-untyped-def]
        raise RuntimeError("routes on fire")


def test_plugin_routes_are_served_and_a_broken_plugin_is_listed(app):
    app.plugins.pm.register(BrokenRoutes(), name="broken-routes")
    app.plugins.pm.register(HelloRoutes(), name="hello-routes")
    api = client(app)
    assert api.get("/api/hello-plugin").json() == {"hello": "from a plugin"}
    assert "/api/hello-plugin" in api.get("/openapi.json").json()["paths"]
    user = make_user(app, "p@example.com")
    listed = api.get("/api/plugins", headers=user.headers).json()
    assert "routes on fire" in listed["errors"]["broken-routes"]
    assert "hello-routes" in {p["name"] for p in listed["plugins"]}
