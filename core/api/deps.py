"""FastAPI dependencies: the application context, the caller, paging, and ownership-scoped lookups.

Ownership rule: every row belongs to a user; a non-admin asking for another user's row gets the same 404 as
for a row that does not exist (ids reveal nothing). Admins see everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection
from sqlmodel import Session, SQLModel, func, select

from core.api.errors import Forbidden, Unauthorized, ValidationProblem
from core.api.security import SESSION_COOKIE
from core.app import Clipcast
from core.users import Principal, lookup_token, touch_token

T = TypeVar("T", bound=SQLModel)
R = TypeVar("R")

#: A row id in a path: bounded so a huge number is a 422, not a database overflow.
MAX_ID = 2**62
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]

_bearer = HTTPBearer(auto_error=False, description="a personal API token: `Authorization: Bearer cc_...`")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="dashboard session (set by /api/auth/login)")


async def get_clipcast(request: Request) -> Clipcast:
    """``async`` (no I/O): a plain ``def`` dependency costs a thread-pool hop on every request."""
    return request.app.state.clipcast


AppDep = Annotated[Clipcast, Depends(get_clipcast)]


async def read_db(app: Clipcast, fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)``, a short read-only query, run where it costs least.

    SQLite (the default): inline, on the event loop. In WAL mode a reader never waits for a writer, a page of
    rows takes well under a millisecond, and one process gains nothing from threads for it (the GIL runs one
    at a time); the thread hops did cost: under 50 concurrent requests they doubled the CPU of a get job (1.7-2.0
    against 0.85-0.96 ms, measured in-process).
    A server database may be a network round trip away, so for PostgreSQL it runs in the thread pool like any
    sync route. Caveat: only for reads. A SQLite writer can wait up to its busy timeout for the lock, and
    inline that wait would stall every request.
    """
    if app.db_url.startswith("sqlite"):
        return fn(*args)
    return await run_in_threadpool(fn, *args)


def _lookup(app: Clipcast, token: str) -> tuple[Principal, bool]:
    with app.read_connection() as conn:
        return lookup_token(conn, token)


def _touch(app: Clipcast, token_id: int) -> None:
    with app.session() as s:
        touch_token(s, token_id)


async def current_user(
    request: Request,
    app: AppDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The caller: its token read through ``read_db``; the last-used write, at most once a minute per token, in
    a thread."""
    token = bearer.credentials if bearer else cookie
    if not token:
        raise Unauthorized(
            "authentication required", "send `Authorization: Bearer <token>` or log in via POST /api/auth/login"
        )
    principal, due = await read_db(app, _lookup, app, token)
    if due and principal.token_id is not None:
        await run_in_threadpool(_touch, app, principal.token_id)
    request.state.principal = principal
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


def admin_user(user: UserDep) -> Principal:
    if not user.is_admin:
        raise Forbidden("this needs an administrator")
    return user


AdminDep = Annotated[Principal, Depends(admin_user)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page(
    app: AppDep,
    limit: Annotated[int, Query(ge=1, le=10_000, description="items per page (at most api.page_size_max)")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")] = 0,
) -> Page:
    most = app.settings.api.page_size_max
    if limit > most:
        raise ValidationProblem(f"limit={limit} is larger than the maximum page size {most}", f"use limit<={most}")
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(page)]


def scoped(stmt: Any, model: type[SQLModel], user: Principal) -> Any:
    """Limit a select to the caller's rows unless the caller is an admin."""
    if user.is_admin:
        return stmt
    return stmt.where(model.user_id == user.id)  # type: ignore[attr-defined]


def owned(session: Session, model: type[T], row_id: int, user: Principal, what: str | None = None) -> T:
    """The row if it exists and the caller may see it; otherwise the same 404 either way."""
    return visible(session.get(model, row_id), model, row_id, user, what)


def visible(row: Any, model: type[SQLModel], row_id: int, user: Principal, what: str | None = None) -> Any:
    """``row`` (an ORM object or a Core row) when the caller may see it; else the 404 for a missing row."""
    from core.api.errors import NotFound

    if row is None or (not user.is_admin and getattr(row, "user_id", None) != user.id):
        raise NotFound(f"{what or model.__name__.lower()} {row_id} not found")
    return row


def paged(session: Session | Connection, stmt: Any, pg: Page, *conds: Any, rows: bool = False) -> dict[str, Any]:
    """One page of ``stmt`` and its total as a ``PageOut`` body; each non-None condition filters it. The total
    counts the rows of ``stmt`` itself, so a filter can never apply to one and not the other.

    ``rows=True`` returns the table's columns as plain dicts instead of ORM objects (``select(Model)`` only),
    for routes whose output model reads nothing but columns: no ORM objects to build, and pydantic validates a
    dict five times faster than a SQLAlchemy ``RowMapping`` (0.07 against 0.36 ms for 50 jobs). It needs only a
    Core ``Connection``; ORM objects need a ``Session``."""
    for cond in conds:
        if cond is not None:
            stmt = stmt.where(cond)
    # Core execution: the ORM's result machinery is for entities, the counts and rows are not
    conn = session.connection() if isinstance(session, Session) else session
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    page = stmt.offset(pg.offset).limit(pg.limit)
    if rows:
        # The total rides along on every row as an uncorrelated scalar subquery, which the database computes
        # once: one statement (one round trip) per page instead of two.
        table = page.column_descriptions[0]["entity"].__table__
        result = conn.execute(page.with_only_columns(*table.columns, count.scalar_subquery()))
        keys = tuple(result.keys())[:-1]
        found = result.all()
        items: Any = [dict(zip(keys, row[:-1], strict=True)) for row in found]
        total = found[0][-1] if found else None
    else:  # sqlmodel's exec would drop an added column here (it returns the entities alone)
        assert isinstance(session, Session), "ORM objects need a session"
        items = list(session.exec(page).all())
        total = pg.offset + len(items) if 0 < len(items) < pg.limit else None  # a short page ends the list
    if total is None:  # counted on its own: an empty page, or a full one of entities
        total = conn.execute(count).scalar_one() if items or pg.offset else 0
    return {"items": items, "total": total, "limit": pg.limit, "offset": pg.offset}


def _page_of(app: Clipcast, stmt: Any, pg: Page, conds: tuple[Any, ...], rows: bool) -> dict[str, Any]:
    if rows:
        with app.read_connection() as conn:
            return paged(conn, stmt, pg, *conds, rows=True)
    with app.read_session() as s:
        return paged(s, stmt, pg, *conds)


async def read_page(app: Clipcast, stmt: Any, pg: Page, *conds: Any, rows: bool = False) -> dict[str, Any]:
    """``paged`` in its own session, through ``read_db``: for list routes that only read."""
    return await read_db(app, _page_of, app, stmt, pg, conds, rows)


def _owned_in(app: Clipcast, model: type[T], row_id: int, user: Principal, row: bool) -> Any:
    if not row:
        with app.read_session() as s:
            return owned(s, model, row_id, user)
    table = model.__table__  # type: ignore[attr-defined]
    with app.read_connection() as conn:
        found = conn.execute(table.select().where(table.c.id == row_id)).first()
    return dict(visible(found, model, row_id, user)._mapping)


async def read_owned(app: Clipcast, model: type[T], row_id: int, user: Principal, *, row: bool = False) -> Any:
    """``owned`` in its own session, through ``read_db``: for routes that return one row as it is.

    ``row=True`` returns the table's columns as a dict, as ``paged(rows=True)`` does and for the same routes:
    a get job's read and validation went from 0.38 to 0.17 ms."""
    return await read_db(app, _owned_in, app, model, row_id, user, row)


__all__ = [
    "MAX_ID",
    "AdminDep",
    "AppDep",
    "Id",
    "Page",
    "PageDep",
    "UserDep",
    "owned",
    "paged",
    "read_db",
    "read_owned",
    "read_page",
    "scoped",
    "select",
    "visible",
]
