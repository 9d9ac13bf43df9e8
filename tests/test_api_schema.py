"""Property-based run over the OpenAPI schema (schemathesis, in-process ASGI) with every built-in check (the
Python equivalent of ``--checks all``), on SQLite and on PostgreSQL: no server error, no answer the document
does not describe (status, content type, headers, body schema), invalid input refused, valid input accepted.

Bounded: a few positive and negative examples per operation (the whole run, both databases, stays under about
40 s). Work is not sent to workers (``core.tasks.enqueue`` records instead): this run is about the HTTP layer,
and the pipeline has its own tests. The SSE stream (``/events``) is left out because a queued job's stream only
ends when a worker finishes it; it is tested in test_api_flow.py. Each call gets a fresh token, since the run
may revoke tokens or log out.

``positive_data_acceptance`` expects 2xx, and also the statuses the document gives for input the schema cannot
express: 400 (a well-formed value the server refuses, e.g. a cron string that does not parse, and the message
says why), 401/403 (credentials), 404 (generated ids of rows that do not exist), 409 (a row's state) and 429.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_support import make_user, seed
from conftest import postgres_database
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config._checks import PositiveDataAcceptanceConfig

from core.api import create_app
from core.app import Clipcast
from core.config import Settings
from core.users import create_token, get_user

EXAMPLES = 2
ACCEPTED = ["2xx", "400", "401", "403", "404", "409", "429"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api_schema(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Any]:
    data = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    databases = postgres_database() if request.param == "postgresql" else iter([None])
    url = next(databases)
    app = Clipcast(
        Settings(data_dir=data / "data", database_url=url, secret_key="fuzzing passphrase that is not a real one")
    )
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
    schema = schemathesis.openapi.from_asgi("/openapi.json", api).exclude(path_regex=r"/events$")
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(expected_statuses=ACCEPTED)
    yield schema
    next(databases, None)


@pytest.fixture(autouse=True)
def _no_workers(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("core.tasks.enqueue", lambda app, job, **kw: sent.append(job.id))
    return sent


@pytest.mark.slow
def test_every_check_passes_on_every_operation(api_schema):
    load_all_checks()
    checks = CHECKS.get_all()
    fresh_headers = api_schema.app.state.test_headers
    problems: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
            def run(case) -> None:
                where = f"{case.method} {case.formatted_path} ({case.meta.generation.mode.value})"
                try:
                    response = case.call_and_validate(headers=fresh_headers(), checks=checks)
                except (Exception, BaseExceptionGroup) as exc:  # one group naming every failed check
                    problems.append(f"{where}: {str(exc)[:600]}")
                    return
                statuses[response.status_code] += 1

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
                assert mode is GenerationMode.NEGATIVE
    assert operations >= 35
    assert sum(statuses.values()) >= operations * 3, statuses  # it really called the API, with varied input
    assert statuses[200] and statuses[404] and statuses[422], statuses
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(
        f"{operations} operations, {len(checks)} checks, {sum(statuses.values())} cases passed, "
        f"{len(problems)} failed, {server_errors} server errors, statuses {dict(sorted(statuses.items()))}"
    )
    assert not problems, "\n".join(problems[:15])
