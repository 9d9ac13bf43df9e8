"""Property-based run over the OpenAPI schema (schemathesis, in-process ASGI): no input gives a 500.

Bounded: a few examples per operation, so the whole run stays well under a minute. Work is not sent to workers
(``core.tasks.enqueue`` records instead): this run is about the HTTP layer, and the pipeline has its own tests.
The SSE stream (``/events``) is left out because a queued job's stream only ends when a worker finishes it; it is
tested in test_api_flow.py. Each call gets a fresh token, since the run may revoke tokens or log out.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from api_support import make_user, seed
from hypothesis import HealthCheck, given, settings

from core.api import create_app
from core.app import Clipcast
from core.config import Settings
from core.users import create_token, get_user

EXAMPLES = 12


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    data = tmp_path_factory.mktemp("schemathesis")
    app = Clipcast(Settings(data_dir=data / "data", secret_key="fuzzing passphrase, not a real secret"))
    app.settings.ingest.allow_urls = False  # no DNS look-ups for generated host names
    app.settings.api.max_upload_mb = 1
    caller = make_user(app, "fuzz@example.com")
    seed(app, caller.id)
    api = create_app(app)

    def fresh_headers() -> dict[str, str]:  # a new token per call: the run may revoke or log out the last one
        with app.session() as s:
            _row, token = create_token(s, get_user(s, caller.id), name="fuzz")
        return {"Authorization": f"Bearer {token}"}

    api.state.test_headers = fresh_headers
    return schemathesis.openapi.from_asgi("/openapi.json", api).exclude(path_regex=r"/events$")


@pytest.fixture(autouse=True)
def _no_workers(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("core.tasks.enqueue", lambda app, job, **kw: sent.append(job.id))
    return sent


@pytest.mark.slow
def test_no_input_gives_a_server_error(api_schema):
    fresh_headers = api_schema.app.state.test_headers
    problems: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def run(case) -> None:
            response = case.call(headers=fresh_headers())
            statuses[response.status_code] += 1
            where = f"{case.method} {case.formatted_path}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code} {response.text[:300]}")
            elif response.status_code >= 400 and "json" in str(response.headers.get("content-type")):
                body = response.json()
                if set(body) != {"error"} or not {"code", "message", "detail"} <= set(body["error"]):
                    problems.append(f"{where}: error body of another shape: {body}")

        run()
    assert operations >= 35
    assert sum(statuses.values()) >= operations * 3, statuses  # it really called the API, with varied input
    assert statuses[200] and statuses[404] and statuses[422], statuses
    print(f"{operations} operations, {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert not problems, "\n".join(problems[:20])
