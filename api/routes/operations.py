"""The operation log, read by auditors."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from api.auth import require
from api.schemas import PageOut, page_out
from ledger.core import oplog
from ledger.core.db import transaction
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.registry.users import UserView

router = APIRouter(tags=["operations"])
Auditor = Annotated[UserView, Depends(require("auditor"))]


class OperationOut(BaseModel):
    """One logged mutating request and its outcome."""

    id: int
    at: dt.datetime
    channel: str
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    idempotency_key: str | None
    outcome: str
    code: str | None
    message: str
    request_id: str | None = None


@router.get("/operations", response_model=PageOut[OperationOut], summary="Read the operation log")
def list_operations(
    request: Request,
    user: Auditor,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    outcome: Literal["done", "refused"] | None = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, object]:
    """The log, newest first (auditors)."""
    with transaction(request.app.state.reader) as session:
        page = oplog.list_operations(session, limit=limit, offset=offset, outcome=outcome,
                                     object_type=object_type, object_id=object_id)
    items = [OperationOut(**vars(op)) for op in page.items]
    return page_out(page, items)
