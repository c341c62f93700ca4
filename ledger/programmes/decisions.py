"""What a refused policy decision tells a person, shared by every flow that asks the rules."""

from __future__ import annotations

from ledger.core.errors import PolicyRefused
from rules import Decision


def refusal_message(decision: Decision) -> str:
    """The first failing trace line's message: what a person reads in the problem."""
    for line in decision.trace:
        if line.outcome == "fail":
            return f"refused by {line.rule}: {line.message}"
    return f"refused: {decision.code}"


def refused(decision: Decision) -> PolicyRefused:
    """The domain error for a refused decision, carrying its code and whole trace."""
    return PolicyRefused(refusal_message(decision), code=decision.code,
                         decision=decision.to_dict())
