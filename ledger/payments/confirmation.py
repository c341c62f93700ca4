"""Marking a released batch paid: the bank's reference and value date, for the whole batch or
per line from the bank's confirmation file (CSV or XLSX).

Each line's hold is posted in an entry of its own (`P:paid` ← `P:provider:S` / `P:award:F`),
all in one transaction, so that a line the bank later returns is reversed alone. The file must
confirm every line of the batch once, each for its own amount, its total equal to the batch's;
otherwise nothing is written. Columns accepted: see `FILE_COLUMNS` and docs/vouchers.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.awards.award import Award
from ledger.core.acting import By, now, today
from ledger.core.errors import Conflict, ImportRejected, InvalidInput
from ledger.core.journal import EntryRequest, PostPending, post_entries
from ledger.core.money import fen_to_yuan, yuan_to_fen
from ledger.payments.batches import (
    FLOW_PAID,
    BatchView,
    PaymentConfirmation,
    PaymentLine,
    batch_row,
    get_batch,
    refuse_cancelled,
)
from ledger.registry.csv_files import MAX_BYTES, MAX_ROWS, decode, refused_if_unreadable
from ledger.vouchers.claims import Claim

# The columns read from a bank's confirmation file (others are ignored: banks add their own),
# and the Chinese headers banks use for them.
FILE_COLUMNS = ("batch", "line", "amount_yuan", "reference", "value_date")
REQUIRED = ("line", "amount_yuan", "reference", "value_date")
ALIASES = {
    "批次": "batch", "批次号": "batch", "序号": "line", "行号": "line", "金额": "amount_yuan",
    "交易金额": "amount_yuan", "金额(元)": "amount_yuan", "金额（元）": "amount_yuan",
    "银行流水号": "reference", "流水号": "reference", "交易流水号": "reference",
    "银行参考号": "reference", "入账日期": "value_date", "交易日期": "value_date",
    "起息日": "value_date",
}
_REFERENCE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_./-]{0,63}$")


@dataclass(frozen=True)
class Confirmed:
    """One line the bank confirms: its number in the bank file, amount, reference, value date."""

    line: int
    amount_fen: int
    reference: str
    value_date: dt.date


def check_reference(reference: object, field: str = "reference") -> str:
    """The bank's reference, trimmed: 1–64 letters, digits and `_./-`."""
    text = reference.strip() if isinstance(reference, str) else ""
    if not _REFERENCE.match(text):
        raise InvalidInput(f"{field}: the bank's reference, 1–64 letters, digits or _./-",
                           field=field)
    return text


def check_value_date(value: object, field: str = "value_date") -> dt.date:
    """A value date: a date, `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD`, not after today (the
    bank has booked the money: a later day is a typing error)."""
    day = _parse_day(value, field)
    if day > today():
        raise InvalidInput(f"{field}: {day.isoformat()} lies in the future (today is "
                           f"{today().isoformat()})", field=field)
    return day


def _parse_day(value: object, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise InvalidInput(f"{field}: a date such as 2026-11-30", field=field)


def _post_lines(session: Session, batch_id: int, confirmed: dict[int, tuple[str, dt.date]],
                *, source: str, by: By) -> BatchView:
    """Post every line's hold in an entry of its own and record the bank's word for it."""
    row, _ = batch_row(session, batch_id, lock=True)
    refuse_cancelled(row)
    if row.status == "paid":
        raise Conflict(f"batch {batch_id} is already paid", code="already_paid",
                       batch_id=batch_id)
    if row.status != "released":
        raise Conflict(f"batch {batch_id} waits for an approver's release",
                       code="batch_not_released", batch_id=batch_id)
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == row.id)
                                 .order_by(PaymentLine.id)))
    entries = post_entries(session, [
        EntryRequest((PostPending(line.transfer_id),), flow=FLOW_PAID,
                     ref=f"batch:{row.id}:line:{number}", actor=by.label,
                     memo=confirmed[number][0])
        for number, line in enumerate(lines, 1)])
    stamp = now()
    # The batch's claims and awards, locked in id order: one query each, not one per line.
    claims = {c.id: c for c in session.scalars(
        select(Claim).where(Claim.id.in_([x.claim_id for x in lines if x.claim_id is not None]))
        .order_by(Claim.id).with_for_update())}
    awards = {a.id: a for a in session.scalars(
        select(Award).where(Award.id.in_([x.award_id for x in lines if x.award_id is not None]))
        .order_by(Award.id).with_for_update())}
    for number, (line, entry) in enumerate(zip(lines, entries, strict=True), 1):
        reference, value_date = confirmed[number]
        session.add(PaymentConfirmation(line_id=line.id, batch_id=row.id, reference=reference,
                                        value_date=value_date, amount_fen=line.amount_fen,
                                        entry_id=entry.id, source=source,
                                        confirmed_by=by.label, confirmed_at=stamp))
        if line.claim_id is not None:
            claims[line.claim_id].status = "paid"
        else:
            award = awards[line.award_id]
            award.status, award.pay_entry_id, award.updated_at = "paid", entry.id, stamp
    row.status, row.paid_entry_id, row.paid_by, row.paid_at = \
        "paid", entries[-1].id, by.label, stamp
    session.flush()
    return get_batch(session, batch_id)


def mark_paid(session: Session, batch_id: int, *, by: By, reference: str,
              value_date: dt.date | str) -> BatchView:
    """The bank paid the whole released batch under one reference on `value_date`."""
    ref = check_reference(reference)
    day = check_value_date(value_date)
    count = len(session.scalars(select(PaymentLine.id).where(PaymentLine.batch_id == batch_id))
                .all())
    return _post_lines(session, batch_id, dict.fromkeys(range(1, count + 1), (ref, day)),
                       source="batch", by=by)


def check_lines(session: Session, batch_id: int, rows: Sequence[Confirmed], *,
                batch_in_file: Iterable[int] = (), lock: bool = False
                ) -> dict[int, tuple[str, dt.date]]:
    """The bank's word per line number, or the refusal: every line once, each for its
    amount, the total the batch's, no other batch named."""
    row, _ = batch_row(session, batch_id, lock=lock)
    others = sorted({b for b in batch_in_file if b != batch_id})
    if others:
        raise Conflict(f"the file confirms batch {others[0]}, not batch {batch_id}",
                       code="confirmation_wrong_batch", batch_id=batch_id)
    amounts = list(session.scalars(select(PaymentLine.amount_fen)
                                   .where(PaymentLine.batch_id == batch_id)
                                   .order_by(PaymentLine.id)))
    total = sum(r.amount_fen for r in rows)
    if total != row.total_fen:
        raise Conflict(f"the file's total {fen_to_yuan(total)} differs from the batch's "
                       f"{fen_to_yuan(row.total_fen)}", code="confirmation_total_mismatch",
                       batch_id=batch_id, file_total=fen_to_yuan(total),
                       batch_total=fen_to_yuan(row.total_fen))
    seen: dict[int, tuple[str, dt.date]] = {}
    for item in rows:
        if not 1 <= item.line <= len(amounts):
            raise Conflict(f"the batch has no line {item.line}", code="line_not_in_batch",
                           line=item.line)
        if item.line in seen:
            raise Conflict(f"line {item.line} is confirmed twice", code="line_confirmed_twice",
                           line=item.line)
        if item.amount_fen != amounts[item.line - 1]:
            raise Conflict(f"line {item.line}: the file says {fen_to_yuan(item.amount_fen)}, "
                           f"the batch {fen_to_yuan(amounts[item.line - 1])}",
                           code="confirmation_amount_mismatch", line=item.line)
        seen[item.line] = (item.reference, item.value_date)
    # Each line at most once, each for its own (positive) amount, summing to the batch's
    # total: so every line of the batch is confirmed.
    return seen


def confirm_lines(session: Session, batch_id: int, rows: Sequence[Confirmed], *, by: By,
                  batch_in_file: Iterable[int] = ()) -> BatchView:
    """The bank's confirmation of a released batch, line by line: every line once, each for
    its amount, the total the batch's; refused as a whole otherwise."""
    seen = check_lines(session, batch_id, rows, batch_in_file=batch_in_file, lock=True)
    return _post_lines(session, batch_id, seen, source="file", by=by)


# ------------------------------------------------------------------------ reading files


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRejected("the file is not a readable XLSX workbook", errors=[
            {"line": 0, "column": "", "reason": "not an XLSX workbook"}]) from exc
    sheet = book.worksheets[0]
    rows = [["" if c is None else c for c in r]
            for r in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 1)]
    book.close()
    return [r for r in rows if any(str(c).strip() for c in r)]


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(text: str) -> list[list[object]]:
    """The file's non-blank rows (LF, CRLF or CR line ends); one the csv module cannot read is
    refused with the line it reached."""
    reader = csv.reader(io.StringIO(text, newline=""))
    with refused_if_unreadable(reader):
        return [list(r) for r in reader if any(c.strip() for c in r)]


def read_confirmation(data: bytes) -> tuple[list[Confirmed], set[int]]:
    """A bank's confirmation file (CSV in UTF-8 or GB18030, or XLSX): its lines and the batch
    ids it names; a bad cell refuses the file with its line, column and reason."""
    if len(data) > MAX_BYTES:
        raise ImportRejected("the file is too large", errors=[
            {"line": 0, "column": "", "reason": "file too large"}])
    table = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(decode(data))
    if not table:
        raise ImportRejected("the file is empty", errors=[
            {"line": 1, "column": "", "reason": "a header line is required"}])
    header = [ALIASES.get(_cell_text(h), _cell_text(h)) for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRejected(f"the file has no column {missing[0]}", errors=[
            {"line": 1, "column": c, "reason": "required column is missing"} for c in missing])
    where = {name: header.index(name) for name in FILE_COLUMNS if name in header}
    rows: list[Confirmed] = []
    batches: set[int] = set()
    errors: list[dict[str, object]] = []
    for number, cells in enumerate(table[1:], 2):
        def cell(name: str, cells: list[object] = cells) -> object:
            at = where[name]
            return cells[at] if at < len(cells) else ""

        try:
            line_text = _cell_text(cell("line"))
            if not line_text.isdecimal():
                raise InvalidInput("line: the line's number in the bank file", field="line")
            amount = cell("amount_yuan")
            amount_text = amount if isinstance(amount, int) and not isinstance(amount, bool) \
                else _cell_text(amount)
            rows.append(Confirmed(int(line_text), yuan_to_fen(amount_text, field="amount_yuan"),
                                  check_reference(_cell_text(cell("reference"))),
                                  check_value_date(cell("value_date") if isinstance(
                                      cell("value_date"), dt.date)
                                      else _cell_text(cell("value_date")))))
            if "batch" in where and _cell_text(cell("batch")):
                batch_text = _cell_text(cell("batch"))
                if not batch_text.isdecimal():
                    raise InvalidInput("batch: the batch's number", field="batch")
                batches.add(int(batch_text))
        except InvalidInput as exc:
            errors.append({"line": number, "column": exc.detail.get("field", ""),
                           "reason": exc.message})
    if errors:
        raise ImportRejected(f"nothing confirmed: line {errors[0]['line']} "
                             f"({errors[0]['column']}: {errors[0]['reason']})", errors=errors)
    return rows, batches


def confirm_file(session: Session, batch_id: int, data: bytes, *, by: By) -> BatchView:
    """Read the bank's confirmation file and confirm the batch's lines from it."""
    rows, batches = read_confirmation(data)
    return confirm_lines(session, batch_id, rows, by=by, batch_in_file=batches)
