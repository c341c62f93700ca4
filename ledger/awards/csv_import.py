"""Batch recognition: the list of newly certified firms a provincial department publishes.

Each row (credit code, tier, level, document number, date; optionally the amount asked for
an "up to" tier) becomes one award application, decided by the policy as if applied for one
by one, in file order. All rows or none: every bad row is reported with its line, column and
reason. A row whose application (programme, firm, tier, document number) is already recorded
is skipped, so importing the same file twice adds nothing. Files are UTF-8 (with or without
a BOM) or GB18030, as in ledger/registry/csv_files.py.

The firms' certifications and awards are read once per chunk of firms, every row is decided
in memory, and only then are the certifications and applications inserted, a chunk of rows
per statement: a refused row leaves nothing written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ledger.awards.award import (
    COUNTING,
    LEVELS,
    TIERS,
    Award,
    award_programme,
    check_application,
    promised,
)
from ledger.core.accounts import balance
from ledger.core.acting import By, now, today
from ledger.core.errors import Conflict, DomainError, PolicyRefused
from ledger.core.money import yuan_to_fen
from ledger.programmes.decisions import refused
from ledger.programmes.programme import account, policies
from ledger.registry.csv_files import (
    MAX_ROWS,
    NO_ROWS,
    Progress,
    RowError,
    decode,
    read_header,
    reject,
)
from ledger.registry.firms import FIRMS, Firm, FirmCertification
from rules import AwardFacts, PolicySet, decide_award

COLUMNS = ("credit_code", "tier", "level", "document_no", "certified_on", "requested")
REQUIRED = ("credit_code", "tier", "level", "document_no", "certified_on")
ALIASES: dict[str, str] = {
    "统一社会信用代码": "credit_code", "信用代码": "credit_code",
    "类别": "tier", "认定类别": "tier", "奖励类别": "tier",
    "级别": "level", "认定级别": "level",
    "文号": "document_no", "认定文号": "document_no",
    "认定日期": "certified_on", "日期": "certified_on",
    "申请金额": "requested", "金额": "requested",
}
TIER_ALIASES = {"瞪羚": "gazelle", "瞪羚企业": "gazelle", "独角兽": "unicorn",
                "独角兽企业": "unicorn", "专精特新": "specialised",
                "专精特新中小企业": "specialised", "小巨人": "little_giant",
                "专精特新小巨人": "little_giant",
                # As the console labels it (a clerk copies the label back).
                "专精特新“小巨人”": "little_giant", '专精特新"小巨人"': "little_giant"}
LEVEL_ALIASES = {"国家级": "national", "省级": "provincial"}
_CHUNK = 500  # firm ids per IN (…)
_WRITE = 5_000  # rows per INSERT
# Which column a policy refusal points at.
_REFUSAL_COLUMN = {"certification_not_new": "certified_on", "already_awarded": "tier",
                   "unknown_tier": "tier", "cap_exceeded": "requested",
                   "invalid_amount": "requested"}


@dataclass(frozen=True)
class AwardImportResult:
    """What an import did: rows read, applications created (their ids), rows skipped."""

    rows: int
    created: list[int]
    skipped: int
    amount_fen: int


@dataclass(frozen=True)
class _Row:
    line: int
    credit_code: str
    tier: str
    level: str
    document_no: str
    certified_on: dt.date
    requested_fen: int | None


def _parse(text: str) -> tuple[list[_Row], list[RowError]]:
    """Every row of the file, checked cell by cell, and every problem found."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header, errors = read_header(reader, COLUMNS, REQUIRED, ALIASES)
    if errors:
        return [], errors
    rows: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(RowError(line, "", f"more than {MAX_ROWS} rows"))
            break
        if len(cells) != len(header):
            errors.append(RowError(line, "", f"{len(cells)} cells, the header has {len(header)}"))
            continue
        cell = {name: value.strip() for name, value in zip(header, cells, strict=True)}
        row_errors: list[RowError] = []
        code = cell["credit_code"].upper()
        if not code:
            row_errors.append(RowError(line, "credit_code", "required"))
        tier = TIER_ALIASES.get(cell["tier"], cell["tier"])
        if tier not in TIERS:
            row_errors.append(RowError(line, "tier", f"{cell['tier']!r} is not one of "
                                       f"{', '.join(TIERS)}"))
        level = LEVEL_ALIASES.get(cell["level"], cell["level"])
        if level not in LEVELS:
            row_errors.append(RowError(line, "level", f"{cell['level']!r} is not one of "
                                       f"{', '.join(LEVELS)}"))
        elif tier == "little_giant" and level != "national":
            row_errors.append(RowError(line, "level", "a 小巨人 certification is national"))
        doc = cell["document_no"]
        if not doc or len(doc) > 64 or not doc.isprintable():
            row_errors.append(RowError(line, "document_no", "1–64 printable characters"))
        certified_on = dt.date.min
        try:
            certified_on = dt.date.fromisoformat(cell["certified_on"])
        except ValueError:
            row_errors.append(RowError(line, "certified_on",
                                       f"{cell['certified_on']!r} is not a date YYYY-MM-DD"))
        requested: int | None = None
        if cell.get("requested"):
            try:
                requested = yuan_to_fen(cell["requested"], field="requested")
            except DomainError as exc:
                row_errors.append(RowError(line, "requested", exc.message))
        key = (code, tier)
        if code and key in seen:
            row_errors.append(RowError(line, "tier", f"{code} {tier} already given on line "
                                       f"{seen[key]}"))
        else:
            seen[key] = line
        errors.extend(row_errors)
        if not row_errors:
            rows.append(_Row(line, code, tier, level, doc, certified_on, requested))
    if not rows and not errors:
        errors.append(NO_ROWS)
    return rows, errors


def import_awards(
    session: Session,
    programme: str,
    data: bytes,
    *,
    by: By,
    on: dt.date | None = None,
    progress: Progress | None = None,
    policy_set: PolicySet | None = None,
) -> AwardImportResult:
    """One application per new row, all or nothing; already-recorded rows are skipped."""
    day = on or today()
    prog = award_programme(session, programme)
    rows, errors = _parse(decode(data))
    firms: dict[str, int] = {}
    codes = sorted({r.credit_code for r in rows})
    for start in range(0, len(codes), 500):
        firms.update(FIRMS.find_ids(session, codes[start:start + 500]))
    recorded = {
        (firm_id, tier, doc) for firm_id, tier, doc in session.execute(
            select(Award.firm_id, Award.tier, Award.document_no)
            .where(Award.programme_id == prog.id))
    }
    todo: list[tuple[_Row, int]] = []
    skipped = 0
    for row in rows:
        firm_id = firms.get(row.credit_code)
        if firm_id is None:
            errors.append(RowError(row.line, "credit_code",
                                   f"no registered firm {row.credit_code}"))
        elif (firm_id, row.tier, row.document_no) in recorded:
            skipped += 1
        else:
            todo.append((row, firm_id))
    if errors:
        raise reject(sorted(errors, key=lambda e: e.line))
    if not todo:
        return AwardImportResult(len(rows), [], skipped, 0)
    created, amount = _record(session, programme, todo, day, by, progress,
                              policy_set or policies())
    return AwardImportResult(len(rows), created, skipped, amount)


def _record(
    session: Session,
    programme: str,
    todo: list[tuple[_Row, int]],
    day: dt.date,
    by: By,
    progress: Progress | None,
    policy_set: PolicySet,
) -> tuple[list[int], int]:
    """Decide every row in memory as `apply_award` would, one by one in file order (each
    firm's awards and the free budget counting the rows before it); then, only if all pass,
    write the certifications and the applications a chunk per statement."""
    prog = award_programme(session, programme, lock=True)
    firm_ids = sorted({firm_id for _, firm_id in todo})
    held: dict[tuple[int, str, int], dt.date] = {}
    firm_awards: dict[int, list[tuple[str, int]]] = {f: [] for f in firm_ids}
    for start in range(0, len(firm_ids), _CHUNK):
        chunk = firm_ids[start:start + _CHUNK]
        session.execute(select(Firm.id).where(Firm.id.in_(chunk)).order_by(Firm.id)
                        .with_for_update()).all()
        for firm_id, kind, year, certified_on in session.execute(
                select(FirmCertification.firm_id, FirmCertification.kind,
                       FirmCertification.year, FirmCertification.certified_on)
                .where(FirmCertification.firm_id.in_(chunk))):
            held[(firm_id, kind, year)] = certified_on
        for firm_id, tier, amount_fen in session.execute(
                select(Award.firm_id, Award.tier, Award.amount_fen).where(
                    Award.programme_id == prog.id, Award.firm_id.in_(chunk),
                    Award.status.in_(COUNTING)).order_by(Award.id)):
            firm_awards[firm_id].append((tier, int(amount_fen)))
    free = balance(session, account(programme, "budget")).available - promised(session, prog.id)
    errors: list[RowError] = []
    stamp = now()
    certifications: list[dict[str, object]] = []
    awards: list[dict[str, object]] = []
    for done, (row, firm_id) in enumerate(todo, start=1):
        try:
            doc = check_application(row.tier, row.level, row.document_no, row.certified_on,
                                     day, row.requested_fen)
            certified = held.get((firm_id, row.tier, row.certified_on.year))
            if certified is not None and certified != row.certified_on:
                raise Conflict(f"firm {firm_id} holds {row.tier} for {row.certified_on.year} "
                               f"certified on {certified.isoformat()}, not "
                               f"{row.certified_on.isoformat()}", code="certification_mismatch")
            decision = decide_award(policy_set, AwardFacts(
                programme=prog.policy, on=day, tier=row.tier, certified_on=row.certified_on,
                firm_awards=tuple(firm_awards[firm_id]), budget_free_fen=max(0, free),
                requested_fen=row.requested_fen))
            if not decision.allowed:
                raise refused(decision)
        except PolicyRefused as exc:
            column = _REFUSAL_COLUMN.get(exc.code, "")
            errors.append(RowError(row.line, column, f"{exc.code}: {exc.message}"))
        except DomainError as exc:
            errors.append(RowError(row.line, str(exc.detail.get("field", "")),
                                   f"{exc.code}: {exc.message}"))
        else:
            if certified is None:
                held[(firm_id, row.tier, row.certified_on.year)] = row.certified_on
                certifications.append({"firm_id": firm_id, "kind": row.tier,
                                       "year": row.certified_on.year,
                                       "certified_on": row.certified_on, "valid_until": None})
            firm_awards[firm_id].append((row.tier, decision.amount_fen))
            free -= decision.amount_fen
            awards.append({
                "programme_id": prog.id, "firm_id": firm_id, "tier": row.tier,
                "level": row.level, "document_no": doc, "certified_on": row.certified_on,
                "certified_year": row.certified_on.year, "applied_on": day,
                "requested_fen": row.requested_fen, "amount_fen": decision.amount_fen,
                "status": "applied", "decision": decision.to_dict(),
                "recorded_by_user": by.user_id, "recorded_by": by.label, "reason": "",
                "clawback_reason": "", "created_at": stamp, "updated_at": stamp})
        if progress:
            progress("awards", done, len(todo))
    if errors:
        raise reject(errors)
    return _write(session, prog.id, certifications, awards), sum(
        int(a["amount_fen"]) for a in awards)  # type: ignore[call-overload]


def _write(session: Session, programme_id: int, certifications: list[dict[str, object]],
           awards: list[dict[str, object]]) -> list[int]:
    """Insert the new certifications and the applications; the applications' ids, file order."""
    connection = session.connection()
    before = session.scalar(select(func.coalesce(func.max(Award.id), 0)).where(
        Award.programme_id == programme_id)) or 0
    for start in range(0, len(certifications), _WRITE):
        connection.execute(insert(FirmCertification.__table__),
                           certifications[start:start + _WRITE])
    touched = sorted({int(c["firm_id"]) for c in certifications})  # type: ignore[call-overload]
    for start in range(0, len(touched), _CHUNK):
        connection.execute(update(Firm.__table__).where(
            Firm.__table__.c.id.in_(touched[start:start + _CHUNK])).values(updated_at=now()))
    for start in range(0, len(awards), _WRITE):
        connection.execute(insert(Award.__table__), awards[start:start + _WRITE])
    # The programme is locked: its applications numbered above `before` are these.
    ids = {(f, t, d): i for i, f, t, d in session.execute(
        select(Award.id, Award.firm_id, Award.tier, Award.document_no).where(
            Award.programme_id == programme_id, Award.id > before))}
    return [ids[(a["firm_id"], a["tier"], a["document_no"])] for a in awards]
