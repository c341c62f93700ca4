"""Issue a batch of vouchers from CSV (credit_code, amount in yuan): all rows or none.

Every row is checked first (known firm, valid amount) and decided by the policy as if issued
one by one in file order (the firm's yearly total and the free budget count the rows before
it); any bad row refuses the whole batch, listing every bad row with its line, column and
reason, and nothing is written. Then the batch is written set-based: accounts, issue entries
(the journal's batch path) and voucher rows in chunks of a few thousand rows per statement.

The file's SHA-256 is the batch key: a file already imported into the programme adds nothing
the second time (`already_imported`), whatever the rows were decided then.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.accounts import balance, open_accounts
from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.db import insert_rows
from ledger.core.errors import DomainError, ImportRejected
from ledger.core.idempotency import serialise
from ledger.core.journal import EntryRequest, Move, post_entries
from ledger.core.money import yuan_to_fen
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, account, policies, programme_row
from ledger.registry.credit_code import credit_code_problem, normalise_credit_code
from ledger.registry.csv_files import decode, refused_if_unreadable
from ledger.registry.firms import FIRMS, Firm, FirmCertification
from ledger.vouchers.voucher import FLOW_ISSUE, Voucher
from ledger.vouchers.voucher_totals import record_issues
from rules import IssueFacts, decide_issue, voucher_expiry

COLUMNS = ("credit_code", "amount")
# The Chinese headers offices write for them (as the party imports accept theirs).
HEADER_ALIASES = {"统一社会信用代码": "credit_code", "信用代码": "credit_code", "金额": "amount",
                  "金额（元）": "amount", "金额(元)": "amount", "券额": "amount"}
MAX_ROWS = 200_000
KIND = "vouchers"
_LOOKUP = 500  # ids per IN (…) when reading firms
_WRITE = 5_000  # rows per statement (and per journal batch) when writing
# Which column a policy refusal points at (firm status or certification: the firm's code).
_REFUSAL_COLUMN = {"not_eligible": "credit_code", "invalid_amount": "amount",
                   "cap_exceeded": "amount", "budget_exhausted": "amount"}
_VOUCHER_COLUMNS = ("programme_id", "serial", "account_code", "firm_id", "amount_fen",
                    "issued_on", "issued_year", "expires_on", "status", "expired_fen",
                    "issue_entry_id", "issued_by", "created_at")


class ImportBatch(Base):
    """A file imported into a programme, keyed by the SHA-256 of its rows (`content_digest`;
    of its bytes before): the same file adds nothing twice."""

    __tablename__ = "import_batches"
    __table_args__ = (
        UniqueConstraint("kind", "programme_id", "file_sha256",
                         name="uq_import_batches_kind_programme_file"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    file_sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    first_voucher_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_voucher_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    imported_by: Mapped[str] = mapped_column(String(160))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class VoucherImport:
    """What an import did: rows in the file, vouchers issued (ids and serials, file order),
    and whether the file had been imported before (then nothing was added)."""

    rows: int
    ids: list[int]
    serials: list[str]
    already_imported: bool = False


def _parse(data: bytes) -> tuple[list[tuple[int, str, int]], list[dict[str, object]]]:
    reader = csv.DictReader(io.StringIO(decode(data), newline=""))
    with refused_if_unreadable(reader):
        return _read_rows(reader)


def _read_rows(
    reader: csv.DictReader[str],
) -> tuple[list[tuple[int, str, int]], list[dict[str, object]]]:
    header = tuple(HEADER_ALIASES.get(name, name)
                   for name in ((raw or "").strip() for raw in (reader.fieldnames or ())))
    reader.fieldnames = list(header)
    if header != COLUMNS:
        raise ImportRejected(f"the header must be {','.join(COLUMNS)}",
                             errors=[{"line": 1, "column": "", "reason": "bad header"}])
    rows: list[tuple[int, str, int]] = []
    errors: list[dict[str, object]] = []
    # Large files repeat firms and amounts: each distinct cell is read once.
    codes: dict[str, str] = {}
    problems: dict[str, str | None] = {}
    amounts: dict[str, int | DomainError] = {}
    for line, record in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise ImportRejected(f"at most {MAX_ROWS} rows",
                                 errors=[{"line": line, "column": "", "reason": "too many rows"}])
        raw_code = record.get("credit_code") or ""
        if (code := codes.get(raw_code)) is None:
            code = codes[raw_code] = normalise_credit_code(raw_code)
            # A mistyped code is named as such, not as a firm that is not registered.
            problems[code] = "required" if not code else credit_code_problem(code)
        problem = problems[code]
        if problem is not None:
            errors.append({"line": line, "column": "credit_code", "reason": problem})
        raw_amount = (record.get("amount") or "").strip()
        if (amount := amounts.get(raw_amount)) is None:
            try:
                amount = yuan_to_fen(raw_amount)
            except DomainError as exc:
                amount = exc
            amounts[raw_amount] = amount
        if isinstance(amount, DomainError):
            errors.append({"line": line, "column": "amount", "reason": amount.message})
            continue
        if problem is None:
            rows.append((line, code, amount))
    return rows, errors


def _firm_facts(
    session: Session, firm_ids: list[int], programme_id: int, year: int
) -> tuple[dict[int, str], dict[int, list[tuple[str, int]]], dict[int, int]]:
    """Status, certifications and this year's issued total of every firm: one query each per
    chunk (firm rows locked, as a single issue locks its firm)."""
    status: dict[int, str] = {}
    certs: dict[int, list[tuple[str, int]]] = {f: [] for f in firm_ids}
    issued: dict[int, int] = {}
    for start in range(0, len(firm_ids), _LOOKUP):
        chunk = firm_ids[start:start + _LOOKUP]
        status.update(session.execute(
            select(Firm.id, Firm.status).where(Firm.id.in_(chunk)).order_by(Firm.id)
            .with_for_update()).all())
        for firm_id, kind, year_ in session.execute(
                select(FirmCertification.firm_id, FirmCertification.kind, FirmCertification.year)
                .where(FirmCertification.firm_id.in_(chunk))
                .order_by(FirmCertification.year, FirmCertification.kind)):
            certs[firm_id].append((kind, year_))
        issued.update(session.execute(
            select(Voucher.firm_id, func.sum(Voucher.amount_fen))
            .where(Voucher.firm_id.in_(chunk), Voucher.programme_id == programme_id,
                   Voucher.issued_year == year)
            .group_by(Voucher.firm_id)).all())
    return status, certs, {k: int(v or 0) for k, v in issued.items()}


def content_digest(rows: list[tuple[int, str, int]]) -> str:
    """The SHA-256 of a file's rows as read (credit code and amount in fen, in file order):
    the same rows saved again with other headers, encoding, BOM or line ends are the same file."""
    text = "".join(f"{code},{amount}\n" for _, code, amount in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def import_vouchers(
    session: Session,
    programme: str,
    data: bytes,
    *,
    by: By,
    progress: Callable[[int], object] | None = None,
) -> VoucherImport:
    """Issue a voucher per row, all or none; a file imported before adds nothing."""
    rows, errors = _parse(data)
    if not rows and not errors:
        raise ImportRejected("the file has no rows",
                             errors=[{"line": 2, "column": "", "reason": "no rows"}])
    digest = content_digest(rows)
    prog = programme_row(session, programme, lock=True)
    # Two imports of one file on PostgreSQL: the second waits, then finds the first's batch.
    serialise(session, f"{KIND}.import", f"{programme}:{digest}")
    # Batches recorded before content digests carry the file's bytes' digest: either names it.
    done = session.execute(select(ImportBatch.rows, ImportBatch.first_voucher_id,
                                  ImportBatch.last_voucher_id).where(
        ImportBatch.kind == KIND, ImportBatch.programme_id == prog.id,
        ImportBatch.file_sha256.in_((digest, hashlib.sha256(data).hexdigest())))).first()
    if done is not None and not errors:
        return VoucherImport(done.rows, [], [], already_imported=True)
    known: dict[str, int] = {}
    codes = sorted({code for _, code, _ in rows})
    for start in range(0, len(codes), _LOOKUP):
        known.update(FIRMS.find_ids(session, codes[start:start + _LOOKUP]))
    for line, code, _ in rows:
        if code not in known:
            errors.append({"line": line, "column": "credit_code", "reason": f"no firm {code}"})
    # The policy decides every row it can, bad rows or not, so that one refusal lists them all.
    day = today()
    budget_code = account(programme, "budget")
    status, certs, issued = _firm_facts(session, sorted(set(known.values())), prog.id, day.year)
    free = balance(session, budget_code).available
    policy_set = policies()
    for line, code, amount in rows:
        firm_id = known.get(code)
        if firm_id is None:
            continue
        decision = decide_issue(policy_set, IssueFacts(
            programme=prog.policy, on=day, amount_fen=amount, firm_status=status[firm_id],
            firm_certifications=tuple(certs[firm_id]),
            firm_issued_this_year_fen=issued.get(firm_id, 0), budget_free_fen=max(0, free)))
        if not decision.allowed:
            exc = refused(decision)
            errors.append({"line": line, "column": _REFUSAL_COLUMN.get(exc.code, ""),
                           "reason": exc.message, "code": exc.code})
            continue
        issued[firm_id] = issued.get(firm_id, 0) + amount
        free -= amount
    if errors:
        _refuse(errors)
    ids, serials = _write(session, prog, programme, [(known[c], a) for _, c, a in rows], day,
                          by=by, progress=progress)
    session.add(ImportBatch(kind=KIND, programme_id=prog.id, file_sha256=digest, rows=len(rows),
                            first_voucher_id=ids[0], last_voucher_id=ids[-1],
                            imported_by=by.label, imported_at=now()))
    session.flush()
    return VoucherImport(len(rows), ids, serials)


def _refuse(errors: list[dict[str, object]]) -> None:
    errors.sort(key=lambda e: int(e["line"]))  # type: ignore[call-overload]
    raise ImportRejected(f"{len(errors)} bad row(s); nothing was issued", errors=errors)


def _write(
    session: Session, prog: Programme, programme: str, rows: list[tuple[int, int]], day: dt.date,
    *, by: By, progress: Callable[[int], object] | None,
) -> tuple[list[int], list[str]]:
    """Open the accounts, post the issue entries and insert the vouchers, a chunk at a time."""
    first = prog.vouchers_issued + 1
    prog.vouchers_issued += len(rows)
    budget_code = account(programme, "budget")
    expires = voucher_expiry(policies(), prog.policy, day)
    created = now()
    ids: list[int] = []
    serials: list[str] = []
    for start in range(0, len(rows), _WRITE):
        chunk = rows[start:start + _WRITE]
        numbered = [(f"V{n:06d}", firm_id, amount)
                    for n, (firm_id, amount) in enumerate(chunk, start=first + start)]
        codes = [account(programme, "voucher", serial) for serial, _, _ in numbered]
        open_accounts(session, codes, programme, credits_must_not_exceed_debits=True)
        entries = post_entries(session, [
            EntryRequest((Move(code, budget_code, amount),), flow=FLOW_ISSUE,
                         ref=f"voucher:{programme}:{serial}", actor=by.label,
                         memo=f"firm {firm_id}")
            for code, (serial, firm_id, amount) in zip(codes, numbered, strict=True)])
        # The driver's executemany, then the ids read back by serial: one statement each.
        insert_rows(session.connection(), Voucher.__table__, _VOUCHER_COLUMNS, (
            (prog.id, serial, code, firm_id, amount, day, day.year, expires, "active", 0,
             entry.id, by.label, created)
            for code, (serial, firm_id, amount), entry in zip(codes, numbered, entries,
                                                               strict=True)))
        record_issues(session, prog.id, day, [
            (amount, entry.posted_at) for (_, _, amount), entry in zip(numbered, entries,
                                                                       strict=True)])
        chunk_serials = [serial for serial, _, _ in numbered]
        found = dict(session.execute(select(Voucher.serial, Voucher.id).where(
            Voucher.programme_id == prog.id, Voucher.serial.in_(chunk_serials))).all())
        ids += [found[serial] for serial in chunk_serials]
        serials += chunk_serials
        if progress is not None:
            progress(len(chunk))
    return ids, serials
