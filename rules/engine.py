"""The decisions: pure functions from a policy set and facts to a Decision with its trace.

Every check that applies is traced, pass or fail, so a refusal shows all that was wrong;
the decision's `code` is that of the first failing rule in the order written here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import unicodedata

from rules.amounts import apply_ratio, fen_to_yuan
from rules.decision import Decision, Outcome, TraceLine
from rules.facts import (
    ApplicationFacts,
    AwardFacts,
    BookingFacts,
    ClaimFacts,
    ExpiryFacts,
    IssueFacts,
)
from rules.loader import Policy, PolicySet
from rules.schema import AwardPolicy, Publicity, Validity, VoucherPolicy, Window


class NoPolicyInForce(LookupError):
    """No version of the programme is in force on the date asked about."""


class _Trace:
    """Collects trace lines for one decision and remembers the first refusal code."""

    __slots__ = ("code", "file", "lines", "ref", "version")

    def __init__(self, policy: Policy) -> None:
        self.ref = policy.ref
        self.file = policy.ref.file
        self.version = policy.ref.version
        self.lines: list[TraceLine] = []
        self.code: str | None = None

    def add(
        self,
        rule: str,
        outcome: Outcome,
        message: str,
        figures: dict[str, str | int],
        code: str | None = None,
    ) -> None:
        """Record a rule; a failing rule's code becomes the decision's if it is the first."""
        self.lines.append(TraceLine(rule, outcome, figures, message, self.file, self.version))
        if outcome == "fail" and self.code is None:
            self.code = code

    def decision(self, kind: str, amount_fen: int, **extra: object) -> Decision:
        """The decision: allowed with `amount_fen` unless a rule failed (then amount 0)."""
        allowed = self.code is None
        return Decision(
            kind=kind,
            allowed=allowed,
            code=self.code,
            amount_fen=amount_fen if allowed else 0,
            policy=self.ref,
            trace=self.lines,
            **extra,  # type: ignore[arg-type]
        )


def _no_policy(kind: str, programme: str, on: dt.date, code: str, message: str) -> Decision:
    """A refusal made before any policy applies (none in force, or the wrong kind)."""
    line = TraceLine(
        "policy.in_force", "fail", {"programme": programme, "on": on.isoformat()}, message, "", ""
    )
    return Decision(kind=kind, allowed=False, code=code, amount_fen=0, policy=None, trace=[line])


def _select(
    policies: PolicySet, programme: str, on: dt.date, want: str, kind: str
) -> tuple[Policy | None, Decision | None]:
    """The policy in force for the decision, or the refusal explaining why there is none."""
    policy = policies.in_force(programme, on)
    if policy is None:
        message = f"no version of {programme} is in force on {on.isoformat()}"
        return None, _no_policy(kind, programme, on, "no_policy_in_force", message)
    if policy.model.kind != want:
        message = f"{programme} is a {policy.model.kind} programme, not a {want} programme"
        return None, _no_policy(kind, programme, on, "wrong_programme_kind", message)
    return policy, None


def _in_force_line(trace: _Trace, policy: Policy, on: dt.date) -> None:
    """Trace which version was chosen and why (its dates cover the event's date)."""
    model = policy.model
    end = model.effective_to.isoformat() if model.effective_to else "open"
    trace.add(
        "policy.in_force",
        "info",
        f"{policy.programme} version {policy.version} is in force on {on.isoformat()}",
        {
            "on": on.isoformat(),
            "effective_from": model.effective_from.isoformat(),
            "effective_to": end,
        },
    )


# --- issuance -------------------------------------------------------------------------------


def decide_issue(policies: PolicySet, facts: IssueFacts) -> Decision:
    """May a voucher of `facts.amount_fen` be issued to this firm on `facts.on`?"""
    policy, refusal = _select(policies, facts.programme, facts.on, "voucher", "issue")
    if refusal is not None or policy is None:
        return refusal  # type: ignore[return-value]
    model: VoucherPolicy = policy.model  # type: ignore[assignment]
    trace = _Trace(policy)
    _in_force_line(trace, policy, facts.on)

    year = facts.on.year
    _eligibility_lines(trace, model, facts.firm_status, facts.firm_certifications, year, "issue")
    amount = facts.amount_fen
    trace.add(
        "issue.amount_positive",
        "pass" if amount > 0 else "fail",
        "a voucher carries a positive amount",
        {"amount_fen": amount},
        "invalid_amount",
    )
    cap = model.issuance.per_voucher_cap
    trace.add(
        "issue.per_voucher_cap",
        "pass" if amount <= cap else "fail",
        f"amount {fen_to_yuan(amount)} {'within' if amount <= cap else 'over'} "
        f"the per-voucher cap {fen_to_yuan(cap)}",
        {"amount_fen": amount, "cap_fen": cap},
        "cap_exceeded",
    )
    year_cap = model.issuance.per_firm_year_cap
    total = facts.firm_issued_this_year_fen + amount
    trace.add(
        "issue.per_firm_year_cap",
        "pass" if total <= year_cap else "fail",
        f"issued to the firm in {year} would be {fen_to_yuan(total)} of {fen_to_yuan(year_cap)}",
        {
            "issued_fen": facts.firm_issued_this_year_fen,
            "amount_fen": amount,
            "total_fen": total,
            "cap_fen": year_cap,
        },
        "cap_exceeded",
    )
    budget = facts.budget_free_fen
    trace.add(
        "issue.budget",
        "pass" if amount <= budget else "fail",
        f"budget free {fen_to_yuan(budget)} {'covers' if amount <= budget else 'cannot cover'} "
        f"{fen_to_yuan(amount)}",
        {"amount_fen": amount, "budget_free_fen": budget},
        "budget_exhausted",
    )
    return trace.decision("issue", amount)


# --- applications (申领) ---------------------------------------------------------------------


def application_window(policies: PolicySet, programme: str, on: dt.date) -> Window | None:
    """The application window of the voucher version in force on `on` that is open that day."""
    policy = policies.in_force(programme, on)
    if policy is None or not isinstance(policy.model, VoucherPolicy):
        return None
    windows = policy.model.applications.windows if policy.model.applications else []
    return next((w for w in windows if w.covers(on)), None)


def _eligibility_lines(
    trace: _Trace, model: VoucherPolicy, status: str, certs: tuple[tuple[str, int], ...],
    year: int, prefix: str,
) -> None:
    """The firm's status and certification checks, shared by issuance and applications."""
    allowed_statuses = model.eligibility.allowed_statuses
    ok = status in allowed_statuses
    trace.add(
        f"{prefix}.firm_status",
        "pass" if ok else "fail",
        f"firm status {status} is {'' if ok else 'not '}allowed",
        {"status": status, "allowed": ",".join(allowed_statuses)},
        "not_eligible",
    )
    needed = model.eligibility.required_certification
    ok = (needed, year) in certs
    trace.add(
        f"{prefix}.certification",
        "pass" if ok else "fail",
        f"firm is {'' if ok else 'not '}registered as {needed} for {year}",
        {"required": needed, "year": year, "held": ",".join(f"{k}:{y}" for k, y in certs)},
        "not_eligible",
    )


def decide_application(policies: PolicySet, facts: ApplicationFacts) -> Decision:
    """May the firm apply on `facts.on` for a voucher of `facts.amount_fen`? (申领)

    The window is the one open on the day; the amount must be one the window offers; the
    firm must be eligible as for issuance, have no other pending or approved application in
    the window, stay within its yearly cap, and attach every document the window asks for.
    """
    policy, refusal = _select(policies, facts.programme, facts.on, "voucher", "application")
    if refusal is not None or policy is None:
        return refusal  # type: ignore[return-value]
    model: VoucherPolicy = policy.model  # type: ignore[assignment]
    trace = _Trace(policy)
    _in_force_line(trace, policy, facts.on)

    windows = model.applications.windows if model.applications else []
    window = next((w for w in windows if w.covers(facts.on)), None)
    if window is None:
        trace.add(
            "application.window",
            "fail",
            f"no application window is open on {facts.on.isoformat()}",
            {
                "on": facts.on.isoformat(),
                "windows": ",".join(f"{w.id}:{w.opens}..{w.closes}" for w in windows),
            },
            "outside_window",
        )
        return trace.decision("application", 0)
    trace.add(
        "application.window",
        "pass",
        f"window {window.id} ({window.name_zh}) is open",
        {"window": window.id, "opens": window.opens.isoformat(),
         "closes": window.closes.isoformat()},
    )
    _eligibility_lines(trace, model, facts.firm_status, facts.firm_certifications,
                       facts.on.year, "application")
    again = window.id in facts.firm_windows_applied
    trace.add(
        "application.once_per_window",
        "fail" if again else "pass",
        f"the firm {'already has' if again else 'has no'} pending or approved application "
        f"in window {window.id}",
        {"window": window.id},
        "already_applied",
    )
    amount = facts.amount_fen
    offered = amount in window.amounts
    trace.add(
        "application.amount",
        "pass" if offered else "fail",
        f"{fen_to_yuan(amount)} is {'' if offered else 'not '}an amount the window offers",
        {"amount_fen": amount,
         "offered": ",".join(fen_to_yuan(a) for a in sorted(window.amounts))},
        "amount_not_allowed",
    )
    year_cap = model.issuance.per_firm_year_cap
    total = facts.firm_issued_this_year_fen + amount
    trace.add(
        "application.per_firm_year_cap",
        "pass" if total <= year_cap else "fail",
        f"issued to the firm in {facts.on.year} would be {fen_to_yuan(total)} "
        f"of {fen_to_yuan(year_cap)}",
        {"issued_fen": facts.firm_issued_this_year_fen, "amount_fen": amount,
         "total_fen": total, "cap_fen": year_cap},
        "cap_exceeded",
    )
    missing = [d for d in window.documents if d not in facts.documents]
    trace.add(
        "application.documents",
        "fail" if missing else "pass",
        f"missing: {', '.join(missing)}" if missing else "every required document is attached",
        {"required": ",".join(window.documents), "provided": ",".join(facts.documents),
         "missing": ",".join(missing)},
        "documents_missing",
    )
    return trace.decision("application", amount, window=window.id)


# --- booking --------------------------------------------------------------------------------


def _name(raw: str) -> str:
    """A person's or firm's name as compared: NFKC (full-width to half-width), spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def _related_party(facts: BookingFacts, tests: list[str]) -> tuple[list[str], dict[str, str]]:
    """Which related-party tests the firm and provider meet, and the shared names."""
    hits: list[str] = []
    shared: dict[str, str] = {}
    firm_code, provider_code = _name(facts.firm_credit_code), _name(facts.provider_credit_code)
    firm_rep, provider_rep = _name(facts.firm_legal_rep), _name(facts.provider_legal_rep)
    firm_holders = {_name(h) for h in facts.firm_shareholders} - {""}
    provider_holders = {_name(h) for h in facts.provider_shareholders} - {""}
    if "credit_code" in tests and firm_code == provider_code:
        hits.append("credit_code")
        shared["credit_code"] = firm_code
    if "legal_rep" in tests and firm_rep and firm_rep == provider_rep:
        hits.append("legal_rep")
        shared["legal_rep"] = firm_rep
    if "shareholder" in tests:
        # A common holder, or one party holding shares in the other.
        common = (
            (firm_holders & provider_holders)
            | ({firm_code} & provider_holders)
            | ({provider_code} & firm_holders)
        )
        common.discard("")
        if common:
            hits.append("shareholder")
            shared["shareholder"] = ",".join(sorted(common))
        # Across roles: one side's legal representative holds shares of the other.
        crossed = ({firm_rep} & provider_holders) | ({provider_rep} & firm_holders)
        crossed.discard("")
        if crossed:
            hits.append("legal_rep_shareholder")
            shared["legal_rep_shareholder"] = ",".join(sorted(crossed))
    return hits, shared


def decide_booking(policies: PolicySet, facts: BookingFacts) -> Decision:
    """May this service be booked against the voucher, and with how much subsidy?"""
    policy, refusal = _select(policies, facts.programme, facts.on, "voucher", "booking")
    if refusal is not None or policy is None:
        return refusal  # type: ignore[return-value]
    model: VoucherPolicy = policy.model  # type: ignore[assignment]
    trace = _Trace(policy)
    _in_force_line(trace, policy, facts.on)

    service = model.services.get(facts.category)  # type: ignore[call-overload]
    if service is None:
        trace.add(
            "booking.category",
            "fail",
            f"{facts.category} is not a service category of this version",
            {"category": facts.category, "listed": ",".join(model.services)},
            "unknown_category",
        )
        return trace.decision("booking", 0)
    trace.add(
        "booking.category",
        "pass",
        f"{facts.category} ({service.name_zh}) is listed",
        {"category": facts.category},
    )

    on = facts.on
    figures: dict[str, str | int] = {
        "on": on.isoformat(),
        "issued_on": facts.voucher_issued_on.isoformat(),
        "expires_on": facts.voucher_expires_on.isoformat(),
    }
    if on < facts.voucher_issued_on:
        trace.add(
            "booking.voucher_validity",
            "fail",
            "the voucher is not yet issued on that day",
            figures,
            "voucher_not_yet_valid",
        )
    elif on > facts.voucher_expires_on:
        trace.add(
            "booking.voucher_validity",
            "fail",
            "the voucher has expired",
            figures,
            "voucher_expired",
        )
    else:
        trace.add("booking.voucher_validity", "pass", "the voucher is valid", figures)

    registered = facts.category in facts.provider_categories
    trace.add(
        "booking.provider_registered",
        "pass" if registered else "fail",
        f"provider is {'' if registered else 'not '}registered (备案) for {facts.category}",
        {
            "provider": facts.provider_credit_code,
            "category": facts.category,
            "registered_for": ",".join(facts.provider_categories),
        },
        "provider_not_registered",
    )

    hits, shared = _related_party(facts, model.booking.related_party_tests)
    trace.add(
        "booking.related_party",
        "fail" if hits else "pass",
        f"firm and provider share {', '.join(hits)}" if hits else "firm and provider are unrelated",
        {"tests": ",".join(model.booking.related_party_tests), **shared},
        "related_party",
    )

    cost = facts.cost_fen
    subsidy = apply_ratio(cost, service.ratio)
    trace.add(
        "booking.ratio",
        "info",
        f"{fen_to_yuan(cost)} × {service.ratio} = {fen_to_yuan(subsidy)} (rounded down to the fen)",
        {"cost_fen": cost, "ratio": str(service.ratio), "subsidy_fen": subsidy},
    )
    category_left = max(0, service.per_firm_year_cap - facts.firm_used_in_category_this_year_fen)
    overall_left = max(0, model.booking.per_firm_year_cap - facts.firm_used_this_year_fen)
    bounds: tuple[tuple[str, int, dict[str, str | int]], ...] = (
        ("per_order_cap", service.per_order_cap, {"cap_fen": service.per_order_cap}),
        (
            "category_year_cap",
            category_left,
            {
                "cap_fen": service.per_firm_year_cap,
                "used_fen": facts.firm_used_in_category_this_year_fen,
            },
        ),
        (
            "firm_year_cap",
            overall_left,
            {"cap_fen": model.booking.per_firm_year_cap, "used_fen": facts.firm_used_this_year_fen},
        ),
        ("voucher_balance", facts.voucher_balance_fen, {}),
    )
    bound: str | None = None
    for name, limit, extra in bounds:
        cut = limit < subsidy
        trace.add(
            f"booking.{name}",
            "cut" if cut else "pass",
            f"{name.replace('_', ' ')} leaves {fen_to_yuan(limit)}"
            + (f": subsidy cut from {fen_to_yuan(subsidy)}" if cut else ""),
            {"subsidy_fen": subsidy, "limit_fen": limit, **extra},
        )
        if cut:
            subsidy = limit
            bound = name
    if subsidy == 0:
        if bound is None:
            code, message = "zero_subsidy", "the subsidy rounds to zero"
        elif bound == "voucher_balance":
            code, message = "insufficient_balance", "the voucher has no balance left"
        else:
            code, message = "cap_exceeded", f"the {bound.replace('_', ' ')} is used up"
        trace.add(
            "booking.subsidy", "fail", message, {"subsidy_fen": 0, "bound": bound or ""}, code
        )
    else:
        trace.add(
            "booking.subsidy",
            "pass",
            f"subsidy {fen_to_yuan(subsidy)}" + (f", bound by {bound}" if bound else ""),
            {"subsidy_fen": subsidy, "bound": bound or ""},
        )
    return trace.decision("booking", subsidy, bound=bound)


# --- claims ---------------------------------------------------------------------------------


def decide_claim(policies: PolicySet, facts: ClaimFacts) -> Decision:
    """May the provider claim payment? Rules of the version in force on the completion date."""
    policy, refusal = _select(policies, facts.programme, facts.completed_on, "voucher", "claim")
    if refusal is not None or policy is None:
        return refusal  # type: ignore[return-value]
    model: VoucherPolicy = policy.model  # type: ignore[assignment]
    trace = _Trace(policy)
    _in_force_line(trace, policy, facts.completed_on)

    days = (facts.on - facts.completed_on).days
    trace.add(
        "claim.after_completion",
        "pass" if days >= 0 else "fail",
        "claimed on or after completion" if days >= 0 else "claimed before the service completed",
        {"on": facts.on.isoformat(), "completed_on": facts.completed_on.isoformat()},
        "not_completed",
    )
    deadline = model.claims.deadline_days
    trace.add(
        "claim.deadline",
        "pass" if days <= deadline else "fail",
        f"claimed {days} days after completion; the deadline is {deadline} days",
        {
            "days": days,
            "deadline_days": deadline,
            "last_day": (facts.completed_on + dt.timedelta(days=deadline)).isoformat(),
        },
        "claim_late",
    )
    missing = [e for e in model.claims.required_evidence if e not in facts.evidence]
    trace.add(
        "claim.evidence",
        "fail" if missing else "pass",
        f"missing: {', '.join(missing)}" if missing else "all required evidence is attached",
        {
            "required": ",".join(model.claims.required_evidence),
            "provided": ",".join(facts.evidence),
            "missing": ",".join(missing),
        },
        "evidence_missing",
    )
    claimed, booked = facts.claimed_fen, facts.booked_fen
    if claimed == 0:
        trace.add(
            "claim.amount",
            "fail",
            "a claim carries a positive amount",
            {"claimed_fen": 0, "booked_fen": booked},
            "invalid_amount",
        )
    else:
        ok = claimed <= booked
        trace.add(
            "claim.amount",
            "pass" if ok else "fail",
            f"claimed {fen_to_yuan(claimed)} {'within' if ok else 'over'} "
            f"the booked subsidy {fen_to_yuan(booked)}",
            {"claimed_fen": claimed, "booked_fen": booked},
            "cap_exceeded",
        )
    return trace.decision("claim", claimed)


# --- awards ---------------------------------------------------------------------------------


def decide_award(policies: PolicySet, facts: AwardFacts) -> Decision:
    """May the firm receive the award of `facts.tier`, and how much?"""
    policy, refusal = _select(policies, facts.programme, facts.on, "award", "award")
    if refusal is not None or policy is None:
        return refusal  # type: ignore[return-value]
    model: AwardPolicy = policy.model  # type: ignore[assignment]
    trace = _Trace(policy)
    _in_force_line(trace, policy, facts.on)

    tier = model.tiers.get(facts.tier)  # type: ignore[call-overload]
    if tier is None:
        trace.add(
            "award.tier",
            "fail",
            f"{facts.tier} is not a tier of this version",
            {"tier": facts.tier, "listed": ",".join(model.tiers)},
            "unknown_tier",
        )
        return trace.decision("award", 0)
    trace.add(
        "award.tier",
        "pass",
        f"{facts.tier} ({tier.name_zh}) pays {'up to ' if tier.up_to else ''}"
        f"{fen_to_yuan(tier.amount)}",
        {"tier": facts.tier, "amount_fen": tier.amount, "ladder": tier.ladder, "rank": tier.rank},
    )

    age = (facts.on - facts.certified_on).days
    new = 0 <= age <= tier.window_days
    trace.add(
        "award.new_certification",
        "pass" if new else "fail",
        f"certified {age} days before the request; new means within {tier.window_days} days"
        if age >= 0
        else "certified after the request date",
        {
            "certified_on": facts.certified_on.isoformat(),
            "on": facts.on.isoformat(),
            "age_days": age,
            "window_days": tier.window_days,
        },
        "certification_not_new",
    )

    # Earlier awards on the same ladder decide "once per tier" and upgrades.
    same_tier = [a for t, a in facts.firm_awards if t == facts.tier]
    lower: list[tuple[str, int]] = []
    higher: list[str] = []
    for name, paid in facts.firm_awards:
        other = model.tiers.get(name)  # type: ignore[call-overload]
        if other is None or other.ladder != tier.ladder or name == facts.tier:
            continue
        if other.rank < tier.rank:
            lower.append((name, paid))
        else:
            higher.append(name)
    if same_tier:
        trace.add(
            "award.once_per_tier",
            "fail",
            f"the firm already received {facts.tier}",
            {"tier": facts.tier, "received_fen": sum(same_tier)},
            "already_awarded",
        )
    elif higher:
        trace.add(
            "award.once_per_tier",
            "fail",
            f"the firm already received a higher tier: {', '.join(higher)}",
            {"tier": facts.tier, "higher": ",".join(higher)},
            "already_awarded",
        )
    else:
        trace.add(
            "award.once_per_tier",
            "pass",
            f"first {facts.tier} award for the firm",
            {"tier": facts.tier},
        )

    amount = tier.amount
    if tier.up_to and facts.requested_fen is not None:
        ok = facts.requested_fen <= tier.amount
        trace.add(
            "award.up_to",
            "pass" if ok else "fail",
            f"requested {fen_to_yuan(facts.requested_fen)} of at most {fen_to_yuan(tier.amount)}",
            {"requested_fen": facts.requested_fen, "cap_fen": tier.amount},
            "cap_exceeded",
        )
        amount = min(facts.requested_fen, tier.amount)
    elif facts.requested_fen is not None and facts.requested_fen != tier.amount:
        trace.add(
            "award.up_to",
            "fail",
            f"{facts.tier} pays a fixed {fen_to_yuan(tier.amount)}",
            {"requested_fen": facts.requested_fen, "amount_fen": tier.amount},
            "invalid_amount",
        )

    if lower:
        already = sum(paid for _, paid in lower)
        before = amount
        if model.upgrade == "difference":
            amount = max(0, amount - already)
        trace.add(
            "award.upgrade",
            "info" if amount > 0 else "fail",
            f"upgrade from {', '.join(n for n, _ in lower)}: "
            + (
                f"pays the difference {fen_to_yuan(amount)}"
                if model.upgrade == "difference"
                else f"pays the full {fen_to_yuan(amount)}"
            ),
            {
                "mode": model.upgrade,
                "tier_amount_fen": before,
                "already_paid_fen": already,
                "amount_fen": amount,
            },
            "already_awarded",
        )

    budget = facts.budget_free_fen
    trace.add(
        "award.budget",
        "pass" if amount <= budget else "fail",
        f"award budget free {fen_to_yuan(budget)} "
        f"{'covers' if amount <= budget else 'cannot cover'} {fen_to_yuan(amount)}",
        {"amount_fen": amount, "budget_free_fen": budget},
        "budget_exhausted",
    )
    if amount == 0 and trace.code is None:
        trace.add("award.amount", "fail", "nothing to pay", {"amount_fen": 0}, "invalid_amount")
    return trace.decision("award", amount)


# --- expiry ---------------------------------------------------------------------------------


def _months_later_last_day(day: dt.date, months: int) -> dt.date:
    """The day before the same date `months` later; if that date does not exist
    (31st, 29 February), the last day of that month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if day.day > last:
        return dt.date(year, month, last)
    return dt.date(year, month, day.day) - dt.timedelta(days=1)


def expiry_date(validity: Validity, issued_on: dt.date) -> dt.date:
    """The last day a voucher issued on `issued_on` may be used under `validity`."""
    if validity.rule == "end_of_year":
        return dt.date(issued_on.year, 12, 31)
    return _months_later_last_day(issued_on, validity.months or 0)


def voucher_expiry(policies: PolicySet, programme: str, issued_on: dt.date) -> dt.date:
    """The last valid day of a voucher issued on `issued_on` (rules in force on that day)."""
    policy = policies.in_force(programme, issued_on)
    if policy is None or not isinstance(policy.model, VoucherPolicy):
        raise NoPolicyInForce(f"no voucher version of {programme} is in force on {issued_on}")
    return expiry_date(policy.model.validity, issued_on)


def authorisation_expiry(policies: PolicySet, programme: str, granted_on: dt.date) -> dt.date:
    """The last day a firm's authorisation granted on `granted_on` may be booked against."""
    policy = policies.in_force(programme, granted_on)
    if policy is None or not isinstance(policy.model, VoucherPolicy):
        raise NoPolicyInForce(f"no voucher version of {programme} is in force on {granted_on}")
    return granted_on + dt.timedelta(days=policy.model.booking.authorisation_days)


def publicity_end(publicity: Publicity, starts_on: dt.date) -> dt.date:
    """The last day of a 公示 period that starts on `starts_on` (the first counted day).

    Calendar days count every day; working days count Monday to Friday that are not listed
    holidays (a start on a day that does not count begins the count on the next that does).
    """
    if not publicity.working_days:
        return starts_on + dt.timedelta(days=publicity.days - 1)
    skipped = set(publicity.holidays)
    day, counted = starts_on, 0
    while True:
        if day.weekday() < 5 and day not in skipped:
            counted += 1
            if counted == publicity.days:
                return day
        day += dt.timedelta(days=1)


def award_publicity(policies: PolicySet, programme: str, on: dt.date) -> tuple[Policy, Publicity]:
    """The award version of `programme` in force on `on` and its 公示 rule, or NoPolicyInForce
    when no award version is in force or it states no publicity period."""
    policy = policies.in_force(programme, on)
    if policy is None or not isinstance(policy.model, AwardPolicy):
        raise NoPolicyInForce(f"no award version of {programme} is in force on {on}")
    if policy.model.publicity is None:
        raise NoPolicyInForce(f"{programme} {policy.version} states no publicity period")
    return policy, policy.model.publicity


def decide_expiry(policies: PolicySet, facts: ExpiryFacts) -> Decision:
    """When does the voucher expire; refused (voucher_expired) if `facts.on` is past that."""
    policy, refusal = _select(policies, facts.programme, facts.issued_on, "voucher", "expiry")
    if refusal is not None or policy is None:
        return refusal  # type: ignore[return-value]
    model: VoucherPolicy = policy.model  # type: ignore[assignment]
    trace = _Trace(policy)
    _in_force_line(trace, policy, facts.issued_on)
    expires = expiry_date(model.validity, facts.issued_on)
    rule = model.validity.rule
    trace.add(
        "expiry.rule",
        "info",
        f"issued {facts.issued_on.isoformat()}, valid through {expires.isoformat()} "
        + (
            "(end of the year of issue)"
            if rule == "end_of_year"
            else f"({model.validity.months} months)"
        ),
        {
            "rule": rule,
            "months": model.validity.months or 0,
            "issued_on": facts.issued_on.isoformat(),
            "expires_on": expires.isoformat(),
        },
    )
    if facts.on is not None:
        valid = facts.on <= expires
        trace.add(
            "expiry.on",
            "pass" if valid else "fail",
            f"on {facts.on.isoformat()} the voucher is {'valid' if valid else 'expired'}",
            {"on": facts.on.isoformat(), "expires_on": expires.isoformat()},
            "voucher_expired",
        )
    return trace.decision("expiry", 0, expires_on=expires)


DECIDERS = {
    "issue": decide_issue,
    "application": decide_application,
    "booking": decide_booking,
    "claim": decide_claim,
    "award": decide_award,
    "expiry": decide_expiry,
}


def decide(policies: PolicySet, kind: str, facts: object) -> Decision:
    """Dispatch to the decision of `kind` (issue, application, booking, claim, award, expiry)."""
    return DECIDERS[kind](policies, facts)  # type: ignore[operator,arg-type]
