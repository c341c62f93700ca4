"""The policy engine: pure functions from facts to a decision with a trace.

It imports nothing of the project and touches no database or network. The ledger gathers
facts, loads the policy set once (`load_policies`) and asks `decide_*`.
"""

from rules.decision import Decision, PolicyRef, TraceLine
from rules.engine import (
    NoPolicyInForce,
    application_window,
    authorisation_expiry,
    award_publicity,
    decide,
    decide_application,
    decide_award,
    decide_booking,
    decide_claim,
    decide_expiry,
    decide_issue,
    publicity_end,
    voucher_expiry,
)
from rules.facts import (
    ApplicationFacts,
    AwardFacts,
    BookingFacts,
    ClaimFacts,
    ExpiryFacts,
    FactsError,
    IssueFacts,
    facts_from_mapping,
)
from rules.loader import Policy, PolicyError, PolicyErrors, PolicySet, check_policies, load_policies

__all__ = [
    "ApplicationFacts",
    "AwardFacts",
    "BookingFacts",
    "ClaimFacts",
    "Decision",
    "ExpiryFacts",
    "FactsError",
    "IssueFacts",
    "NoPolicyInForce",
    "Policy",
    "PolicyError",
    "PolicyErrors",
    "PolicyRef",
    "PolicySet",
    "TraceLine",
    "application_window",
    "authorisation_expiry",
    "award_publicity",
    "check_policies",
    "decide",
    "decide_application",
    "decide_award",
    "decide_booking",
    "decide_claim",
    "decide_expiry",
    "decide_issue",
    "facts_from_mapping",
    "load_policies",
    "publicity_end",
    "voucher_expiry",
]
