"""Sign-in locks: the operator sees which accounts and addresses are throttled and clears one."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.auth import require
from api.mutations import Done, mutate
from api.schemas import Id, IdempotencyKeyDoc
from ledger.core.db import transaction
from ledger.registry import sign_in_throttle
from ledger.registry.sign_in_throttle import LockView
from ledger.registry.users import UserView

router = APIRouter(tags=["auth"])
Reader = Annotated[UserView, Depends(require("operator", "auditor"))]
Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


class LockOut(BaseModel):
    """Failed sign-ins of one account (`scope` account, a username) or one client address."""

    id: int
    scope: str
    subject: str
    failures: int
    last_failure_at: dt.datetime
    locked_until: dt.datetime | None


def lock_out(view: LockView) -> dict[str, object]:
    """As JSON."""
    return LockOut(**vars(view)).model_dump(mode="json")


@router.get("/sign-in-locks", response_model=list[LockOut], summary="List sign-in locks")
def list_locks(request: Request, user: Reader, all: bool = False) -> list[dict[str, object]]:
    """Accounts and addresses locked now (`all=true`: every one with recent failures)."""
    with transaction(request.app.state.reader) as session:
        views = sign_in_throttle.list_locks(session, datetime.now(UTC), locked_only=not all)
    return [lock_out(v) for v in views]


@router.delete("/sign-in-locks/{lock_id}", response_model=LockOut, summary="Clear a sign-in lock")
def clear_lock(request: Request, user: Operator, lock_id: Id, key: IdemKey = None
               ) -> JSONResponse:
    """The account or address may sign in again at once; the operation log keeps who cleared it."""

    def effect(session: Session) -> Done:
        view = sign_in_throttle.clear_lock(session, lock_id)
        return Done(200, lock_out(view), view.id)

    return mutate(request, user, action="sign_in_locks.clear", object_type="sign_in_lock",
                  object_id=lock_id, content={"lock_id": lock_id}, key=key, effect=effect)
