"""Users: yourself (/api/users/me, today's quota use) and, for admins, everyone."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import select

from core.api import quotas
from core.api.deps import AdminDep, AppDep, Id, PageDep, UserDep, paged
from core.api.errors import Forbidden, NotFound
from core.api.schemas import DailyUsageOut, PageOut, UsageOut, UserCreate, UserOut, UserUpdate
from core.api.security import verify_password
from core.models import AiUsage, User
from core.users import create_user, get_user, set_admin, set_password

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("/me", response_model=UserOut, summary="The calling user")
def me(user: UserDep, app: AppDep) -> User:
    with app.session() as s:
        return get_user(s, user.id)


@router.get("/me/usage", response_model=UsageOut, summary="Today's quota use and limits")
def my_usage(user: UserDep, app: AppDep) -> UsageOut:
    with app.session() as s:
        row = get_user(s, user.id)
        return UsageOut(
            used=quotas.usage(s, user.id),
            limits=quotas.limits(row, app.settings),
            resets_at=quotas.day_window()[1],
        )


@router.get("/me/usage/daily", response_model=list[DailyUsageOut], summary="AI spend and calls per UTC day")
def my_daily_usage(
    user: UserDep,
    app: AppDep,
    days: Annotated[int, Query(ge=1, le=366, description="how many days back, today included")] = 14,
) -> list[DailyUsageOut]:
    """Every day of the window, zero-filled, oldest first."""
    today = quotas.day_window()[0]
    start = today - timedelta(days=days - 1)
    totals: dict[str, list[float]] = {}
    with app.session() as s:
        rows = s.exec(
            select(AiUsage.created_at, AiUsage.cost_usd, AiUsage.kind).where(
                AiUsage.user_id == user.id, AiUsage.created_at >= start
            )
        ).all()
    for created, cost, kind in rows:
        day = totals.setdefault(created.date().isoformat(), [0.0, 0, 0])
        day[0] += cost
        day[1 if kind == "llm" else 2] += 1
    out = []
    for i in range(days):
        key = (start + timedelta(days=i)).date().isoformat()
        cost, llm, stt = totals.get(key, [0.0, 0, 0])
        out.append(DailyUsageOut(day=key, cost_usd=round(cost, 6), llm_calls=int(llm), stt_calls=int(stt)))
    return out


@router.get("", response_model=PageOut[UserOut], summary="All users (admins)")
def list_users(_admin: AdminDep, app: AppDep, pg: PageDep) -> dict:
    with app.session() as s:
        return paged(s, select(User).order_by(User.id), pg)


@router.post("", response_model=UserOut, status_code=201, summary="Create a user (admins)")
def add_user(body: UserCreate, _admin: AdminDep, app: AppDep) -> User:
    with app.session() as s:
        return create_user(s, **body.model_dump())


def _visible(user_id: Id, caller: UserDep) -> None:
    if not caller.is_admin and caller.id != user_id:
        raise NotFound(f"user {user_id} not found")


@router.get("/{user_id}", response_model=UserOut, summary="One user (yourself, or anyone for admins)")
def read_user(user_id: Id, caller: UserDep, app: AppDep) -> User:
    _visible(user_id, caller)
    with app.session() as s:
        return get_user(s, user_id)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change password (self, with the current one; admins for anyone) or quotas/admin flag (admins)",
    responses={
        403: {"description": "a non-admin changing quotas or the admin flag, or a wrong current password"},
        409: {"description": "demoting the last administrator"},
    },
)
def update_user(user_id: Id, body: UserUpdate, caller: UserDep, app: AppDep) -> User:
    _visible(user_id, caller)
    changes = body.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    current = changes.pop("current_password", None)
    if changes and not caller.is_admin:
        raise Forbidden(f"only administrators may change {', '.join(sorted(changes))}")
    with app.session() as s:
        row = get_user(s, user_id)
        if password is not None:
            if caller.id == user_id and not verify_password(row.password_hash, current or ""):
                raise Forbidden(
                    "changing your password needs your current one: "
                    + ("it is wrong" if current else "send current_password"),
                )
            set_password(s, row, password, keep_token_id=caller.token_id if caller.id == user_id else None)
        if "is_admin" in changes:
            set_admin(s, row, changes.pop("is_admin"))
        for key, value in changes.items():
            setattr(row, key, value)
        s.add(row)
        return row
