"""The canonical encoding of a journal entry and the hash chain over it.

An entry's bytes are UTF-8 text: one line for the entry, then one line per transfer in id
order, lines joined by LF, fields within a line joined by the unit separator U+001F:

    E␟<id>␟<posted_at: µs since 1970-01-01T00:00Z>␟<flow>␟<ref>␟<actor>␟<memo>␟<reverses id|empty>
    T␟<id>␟<debit account code>␟<credit account code>␟<amount in fen>␟<kind>␟<pending id|empty>

Text fields may hold no control characters, so the encoding is unambiguous. An entry's hash is
SHA-256 over `<previous entry's hash in lowercase hex>` + LF + those bytes; the first entry's
previous hash is 64 zeros. See docs/ledger.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from ledger.core.errors import InvalidInput

US = "\x1f"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Free text outside the journal (a description, a reason) may keep line breaks and tabs but
# no other C0 or C1 control, nor the Unicode line and paragraph separators: PostgreSQL cannot
# store NUL, and the rest would reach statements and exports unseen.
TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

TransferFields = tuple[int, str, str, int, str, int | None]


def timestamp_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def stored_moment(raw: object) -> datetime:
    """A stored posting time as an aware UTC datetime (SQLite keeps text without a zone)."""
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_text(field: str, value: str, max_length: int) -> str:
    """Refuse text with control characters or past `max_length` (it would blur the encoding)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    if _CONTROL.search(value):
        raise InvalidInput(f"{field} may not contain control characters", field=field)
    return value


def encode_entry(
    entry_id: int,
    posted_at_us: int,
    flow: str,
    ref: str,
    actor: str,
    memo: str,
    reverses_entry_id: int | None,
    transfers: Iterable[TransferFields],
) -> bytes:
    """The canonical bytes of one entry and its transfers."""
    lines = [
        US.join(
            (
                "E",
                str(entry_id),
                str(posted_at_us),
                flow,
                ref,
                actor,
                memo,
                "" if reverses_entry_id is None else str(reverses_entry_id),
            )
        )
    ]
    for tid, debit, credit, amount, kind, pending_id in transfers:
        lines.append(
            f"T{US}{tid}{US}{debit}{US}{credit}{US}{amount}{US}{kind}{US}"
            f"{'' if pending_id is None else pending_id}"
        )
    return "\n".join(lines).encode()


def chain_hash(prev_hash: str, body: bytes) -> str:
    """SHA-256 hex of the previous hash, a line feed and the entry's canonical bytes."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()
