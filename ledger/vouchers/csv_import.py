"""Issue a batch of vouchers from CSV (credit_code, amount in yuan): all rows or none.

Every row is checked first (known firm, valid amount) and then issued through the same
service as a single voucher, so each row gets its own policy decision; any bad row refuses
the whole batch, listing every bad row with its line number and reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy.orm import Session

from ledger.core.acting import By
from ledger.core.errors import DomainError, ImportRejected
from ledger.core.money import yuan_to_fen
from ledger.registry.credit_code import normalise_credit_code
from ledger.registry.csv_files import decode
from ledger.registry.firms import FIRMS
from ledger.vouchers.voucher import issue_voucher

COLUMNS = ("credit_code", "amount")
MAX_ROWS = 50_000


def issue_from_csv(
    session: Session,
    programme: str,
    data: bytes,
    *,
    by: By,
    progress: Callable[[int], object] | None = None,
) -> list[int]:
    """Issue a voucher per row; return their ids, or ImportRejected listing every bad row."""
    reader = csv.DictReader(io.StringIO(decode(data)))
    header = tuple((name or "").strip() for name in (reader.fieldnames or ()))
    if header != COLUMNS:
        raise ImportRejected(f"the header must be {','.join(COLUMNS)}",
                             errors=[{"line": 1, "column": "", "reason": "bad header"}])
    rows: list[tuple[int, str, int]] = []
    errors: list[dict[str, object]] = []
    for line, record in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise ImportRejected(f"at most {MAX_ROWS} rows",
                                 errors=[{"line": line, "column": "", "reason": "too many rows"}])
        code = normalise_credit_code(record.get("credit_code") or "")
        try:
            amount = yuan_to_fen((record.get("amount") or "").strip())
        except DomainError as exc:
            errors.append({"line": line, "column": "amount", "reason": exc.message})
            continue
        rows.append((line, code, amount))
    known = FIRMS.find_ids(session, sorted({code for _, code, _ in rows}))
    for line, code, _ in rows:
        if code not in known:
            errors.append({"line": line, "column": "credit_code", "reason": f"no firm {code}"})
    if not rows and not errors:
        raise ImportRejected("the file has no rows",
                             errors=[{"line": 2, "column": "", "reason": "no rows"}])
    ids: list[int] = []
    if not errors:
        for line, code, amount in rows:
            try:
                with session.begin_nested():
                    ids.append(issue_voucher(session, programme, known[code], amount, by=by).id)
            except DomainError as exc:
                errors.append({"line": line, "column": "", "reason": exc.message,
                               "code": exc.code})
            if progress is not None:
                progress(1)
    if errors:
        errors.sort(key=lambda e: int(e["line"]))  # type: ignore[call-overload]
        raise ImportRejected(f"{len(errors)} bad row(s); nothing was issued", errors=errors)
    return ids
