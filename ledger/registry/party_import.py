"""CSV import of firms and providers: all rows or none, every bad row named, re-runnable.

Files come as UTF-8 (with or without a BOM) or GB18030, as Chinese office software exports
them. Rows are keyed on the credit code: a row identical to what is registered is skipped, so
importing the same file twice adds nothing; a row that differs from the registered party is
refused (change a registered party through the API, where each change is logged on its own).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ledger.core.errors import InvalidInput
from ledger.registry.csv_files import (
    MAX_ROWS,
    NO_ROWS,
    Progress,
    RowError,
    decode,
    read_header,
    reject,
)
from ledger.registry.firms import CERTIFICATIONS, FIRMS, Certification, check_certification
from ledger.registry.parties import STATUSES, PartyData, party_problems, split_shareholders
from ledger.registry.party_kind import PartyKind
from ledger.registry.providers import CATEGORIES, PROVIDERS, Registration

_LOOKUP_CHUNK = 500
_INSERT_BATCH = 500

# Canonical column names and the Chinese headers offices use for them.
ALIASES: dict[str, str] = {
    "统一社会信用代码": "credit_code", "信用代码": "credit_code",
    "名称": "name", "企业名称": "name", "机构名称": "name",
    "城市": "city", "市": "city", "区县": "district", "区": "district",
    "规模": "size_class", "企业规模": "size_class",
    "法定代表人": "legal_rep", "股东": "shareholders", "状态": "status",
    "开户银行": "bank_name", "银行账号": "bank_account",
    "资质": "certifications", "认定": "certifications", "备案类别": "categories",
}
SIZE_ALIASES = {"微型": "micro", "小型": "small", "中型": "medium", "大型": "large"}
STATUS_ALIASES = {"正常": "active", "有效": "active", "暂停": "suspended", "黑名单": "blacklisted"}
REQUIRED = ("credit_code", "name", "city", "district", "size_class", "legal_rep")
COMMON = (*REQUIRED, "shareholders", "status", "bank_name", "bank_account")
FIRM_COLUMNS = (*COMMON, "certifications")
PROVIDER_COLUMNS = (*COMMON, "categories")

T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows read, parties created (their ids) and rows skipped."""

    rows: int
    created: list[int]
    skipped: int


@dataclass(frozen=True)
class _Row:
    line: int
    party: PartyData
    status: str
    extras: tuple[tuple[str, date], ...]


def _dated_list(raw: str, known: tuple[str, ...] | dict[str, str]) -> tuple[tuple[str, date], ...]:
    """'kind@YYYY-MM-DD;kind@YYYY-MM-DD' as (kind, date) pairs; ValueError says what is wrong."""
    pairs: list[tuple[str, date]] = []
    for part in split_shareholders(raw):
        kind, sep, when = part.partition("@")
        kind = kind.strip()
        if kind not in known:
            raise ValueError(f"{kind!r} is not one of {', '.join(known)}")
        if not sep:
            raise ValueError(f"{kind}: write kind@YYYY-MM-DD")
        try:
            pairs.append((kind, date.fromisoformat(when.strip())))
        except ValueError as exc:
            raise ValueError(f"{kind}: {when.strip()!r} is not a date YYYY-MM-DD") from exc
    return tuple(pairs)


def _parse(text: str, columns: tuple[str, ...], extra: str) -> tuple[list[_Row], list[RowError]]:
    """Every row of the file, validated, and every problem found."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header, errors = read_header(reader, columns, REQUIRED, ALIASES)
    if errors:
        return [], errors
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    known = CERTIFICATIONS if extra == "certifications" else CATEGORIES
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
        size = cell["size_class"]
        party, problems = party_problems(PartyData(
            credit_code=cell["credit_code"], name=cell["name"], city=cell["city"],
            district=cell["district"], size_class=SIZE_ALIASES.get(size, size),
            legal_rep=cell["legal_rep"],
            shareholders=split_shareholders(cell.get("shareholders", "")),
            bank_name=cell.get("bank_name") or None, bank_account=cell.get("bank_account") or None,
        ))
        row_errors = [RowError(line, p.field, p.reason) for p in problems]
        status = cell.get("status") or "active"
        status = STATUS_ALIASES.get(status, status)
        if status not in STATUSES:
            row_errors.append(RowError(line, "status", f"must be one of {', '.join(STATUSES)}"))
        extras: tuple[tuple[str, date], ...] = ()
        try:
            extras = _dated_list(cell.get(extra, ""), known)
        except ValueError as exc:
            row_errors.append(RowError(line, extra, str(exc)))
        for kind, day in extras if extra == "certifications" else ():
            try:
                check_certification(Certification(kind, day.year, day))
            except InvalidInput as exc:
                row_errors.append(RowError(line, extra, f"{kind}: {exc.message}"))
        if len({k for k, _ in extras}) != len(extras):
            row_errors.append(RowError(line, extra, "a kind is listed twice"))
        if party.credit_code in seen:
            row_errors.append(RowError(
                line, "credit_code", f"already given on line {seen[party.credit_code]}"
            ))
        else:
            seen[party.credit_code] = line
        errors.extend(row_errors)
        if not row_errors:
            rows.append(_Row(line, party, status, extras))
    if not rows and not errors:
        errors.append(NO_ROWS)
    return rows, errors


def _differences(
    row: _Row, party: PartyData, status: str, extras: set[tuple[str, date]]
) -> list[str]:
    """The columns where `row` differs from the registered party."""
    fields = [
        f for f in PartyData.__dataclass_fields__ if getattr(row.party, f) != getattr(party, f)
    ]
    if row.status != status:
        fields.append("status")
    if set(row.extras) != extras:
        fields.append("certifications or categories")
    return fields


def _chunks(codes: list[str]) -> list[list[str]]:
    return [codes[i:i + _LOOKUP_CHUNK] for i in range(0, len(codes), _LOOKUP_CHUNK)]


def _in_batches(
    new: list[T],
    insert_many: Callable[[Session, list[T]], list[int]],
    session: Session,
    kind: str,
    progress: Progress | None,
) -> list[int]:
    """Insert `new` a batch at a time, reporting progress; the ids in file order."""
    created: list[int] = []
    for start in range(0, len(new), _INSERT_BATCH):
        created.extend(insert_many(session, new[start:start + _INSERT_BATCH]))
        if progress:
            progress(kind, len(created), len(new))
    return created


def _import(session: Session, data: bytes, kind: PartyKind[Any, Any], columns: tuple[str, ...],
            extra: str, registered: Callable[[Any], set[tuple[str, date]]],
            make_extra: Callable[[str, date], Any], progress: Progress | None) -> ImportResult:
    """Import parties of `kind`: every row checked first, then all new rows or none."""
    rows, errors = _parse(decode(data), columns, extra)
    existing: dict[str, int] = {}
    for chunk in _chunks([r.party.credit_code for r in rows]):
        existing.update(kind.find_ids(session, chunk))
    views = {}
    known_ids = sorted(existing.values())
    for start in range(0, len(known_ids), _LOOKUP_CHUNK):  # bounded IN (…) lists
        views.update({v.party.credit_code: v for v in
                      kind.get_many(session, known_ids[start:start + _LOOKUP_CHUNK])})
    for row in rows:
        view = views.get(row.party.credit_code)
        if view is not None:
            diff = _differences(row, view.party, view.status, registered(view))
            if diff:
                errors.append(RowError(row.line, diff[0], (
                    f"{kind.noun} {view.id} is registered with other {', '.join(diff)}; "
                    "change it through the API"
                )))
    if errors:
        raise reject(sorted(errors, key=lambda e: e.line))
    new = [(r.party, r.status, tuple(make_extra(k, d) for k, d in r.extras))
           for r in rows if r.party.credit_code not in views]
    created = _in_batches(new, kind.insert_many, session, f"{kind.noun}s", progress)
    return ImportResult(len(rows), created, len(rows) - len(created))


def import_firms(session: Session, data: bytes, progress: Progress | None = None) -> ImportResult:
    """Import firms from CSV bytes: all or nothing; identical registered rows are skipped."""
    return _import(session, data, FIRMS, FIRM_COLUMNS, "certifications",
                   lambda v: {(c.kind, c.certified_on) for c in v.certifications},
                   lambda kind, day: Certification(kind, day.year, day), progress)


def import_providers(
    session: Session, data: bytes, progress: Progress | None = None
) -> ImportResult:
    """Import providers from CSV bytes: all or nothing; identical registered rows are skipped."""
    return _import(session, data, PROVIDERS, PROVIDER_COLUMNS, "categories",
                   lambda v: {(r.category, r.registered_on) for r in v.categories
                              if r.removed_on is None},
                   Registration, progress)
