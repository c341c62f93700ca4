"""What the engine returns: a decision, the policy it came from, and its trace."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from rules.amounts import fen_to_yuan

Outcome = Literal["pass", "fail", "cut", "info"]


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """Which policy version decided: programme, version, file name and the file's sha256."""

    programme: str
    version: str
    file: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        """Plain mapping for JSON."""
        return {
            "programme": self.programme,
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One rule that applied: its id, outcome, the figures it compared and where it came from.

    Figures whose name ends in `_fen` are integer fen; `to_dict` adds their yuan text.
    """

    rule: str
    outcome: Outcome
    figures: dict[str, str | int]
    message: str
    file: str
    version: str

    def to_dict(self) -> dict[str, object]:
        """Plain mapping for JSON, with each fen figure also written in yuan."""
        figures: dict[str, str | int] = {}
        for name, value in self.figures.items():
            figures[name] = value
            if name.endswith("_fen") and isinstance(value, int):
                figures[name[:-4] + "_yuan"] = fen_to_yuan(value)
        return {
            "rule": self.rule,
            "outcome": self.outcome,
            "figures": figures,
            "message": self.message,
            "file": self.file,
            "version": self.version,
        }


@dataclass(slots=True)
class Decision:
    """Allowed or refused (with a stable `code`), the amount in fen, and why.

    `bound` names what cut a booking's subsidy (None when nothing did);
    `expires_on` is set by expiry decisions; `window` by application decisions (the window
    open on the day, refused or not).
    """

    kind: str
    allowed: bool
    code: str | None
    amount_fen: int
    policy: PolicyRef | None
    trace: list[TraceLine] = field(default_factory=list)
    bound: str | None = None
    expires_on: dt.date | None = None
    window: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain mapping for JSON (the HTTP problem details and the CLI use it)."""
        return {
            "kind": self.kind,
            "allowed": self.allowed,
            "code": self.code,
            "amount_fen": self.amount_fen,
            "amount_yuan": fen_to_yuan(self.amount_fen),
            "bound": self.bound,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "window": self.window,
            "policy": self.policy.to_dict() if self.policy else None,
            "trace": [line.to_dict() for line in self.trace],
        }
