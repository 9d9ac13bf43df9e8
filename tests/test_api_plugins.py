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


def test_dashboard_page_is_served_with_a_strict_policy_and_calls_only_real_routes(app):
    import re

    api = client(app)
    r = api.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "/web/app.js" in r.text
    from core.api.routes.web import WEB

    page = "\n".join(api.get(f"/web/{f.name}").text for f in sorted(WEB.glob("*.js")))
    assert "EventSource" in page and "/api/auth/login" in page
    spec = api.get("/openapi.json").json()
    assert "/" not in spec["paths"]
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in spec["paths"]]
    used = {re.split(r"[?#]", re.sub(r"\$\{[^}]+\}", "1", u))[0] for u in re.findall(r"[`\"](/api/[^`\"]+)[`\"]", page)}
    assert len(used) >= 8, used
    unknown = [u for u in used if not any(p.match(u) for p in patterns)]
    assert not unknown, f"the studio calls routes that do not exist: {unknown}"
