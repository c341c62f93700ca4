"""The demo year's script: what happens to which voucher, booking and award, and on which day.

Pure planning (no database): given the registry, the policy's caps and the calendar it lays
out every event with its business date. Each booking gets a fate (held, cancelled, awaiting
the firm, …, paid, clawed back) and dates that make the fate come true by the last day; one
booking of every fate and one award of every tier and state are placed first, so that even a
small demo shows every state. The same inputs give the same script.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

SEED = 20260102
DAY = dt.timedelta(days=1)
MIN_SPAN_DAYS = 90

# The life of a booking; each ends in one state by the demo's last day.
HELD, CANCELLED, UNCONFIRMED, CONFIRMED = "held", "cancelled", "unconfirmed", "confirmed"
FILED, REJECTED, APPROVED, IN_BATCH, PAID = "filed", "rejected", "approved", "in_batch", "paid"
CLAWBACK_PAID, CLAWBACK_UNPAID = "clawback_paid", "clawback_unpaid"
FATE_WEIGHTS: dict[str, int] = {
    PAID: 40, IN_BATCH: 7, APPROVED: 6, REJECTED: 5, FILED: 7, CONFIRMED: 4, UNCONFIRMED: 5,
    HELD: 7, CANCELLED: 8, CLAWBACK_PAID: 1, CLAWBACK_UNPAID: 1,
}
# The steps each fate goes through after booking (cancel and clawback are added apart).
_STEPS: dict[str, tuple[str, ...]] = {
    HELD: (), CANCELLED: (), UNCONFIRMED: ("complete",),
    CONFIRMED: ("complete", "confirm"), FILED: ("complete", "confirm", "file"),
    REJECTED: ("complete", "confirm", "file", "decide"),
    APPROVED: ("complete", "confirm", "file", "decide"),
    IN_BATCH: ("complete", "confirm", "file", "decide"),
    PAID: ("complete", "confirm", "file", "decide"),
    CLAWBACK_PAID: ("complete", "confirm", "file", "decide"),
    CLAWBACK_UNPAID: ("complete", "confirm", "file"),
}
# Days between one step and the next: (fewest, most).
_GAPS: dict[str, tuple[int, int]] = {
    "complete": (4, 35), "confirm": (1, 10), "file": (2, 25), "decide": (3, 20),
}
CATEGORY_WEIGHTS: dict[str, int] = {
    "testing": 30, "patent_application": 25, "instrument_sharing": 15, "rd_design": 18,
    "technology_transfer": 12,
}
# What a service costs, in yuan (fewest, most), before the policy's ratio and caps.
COST_YUAN: dict[str, tuple[int, int]] = {
    "testing": (8_000, 70_000), "patent_application": (6_000, 60_000),
    "instrument_sharing": (20_000, 150_000), "rd_design": (60_000, 400_000),
    "technology_transfer": (80_000, 500_000),
}
AWARD_TIERS = ("gazelle", "unicorn", "specialised", "little_giant")
AWARD_FATES = ("applied", "approved", "rejected", "in_payment", "paid", "clawed_back")
# Paying an award needs the firm's bank account on file.
PAID_FATES = ("in_payment", "paid")
# Days from an award's decision to its batch at the least: a 公示 list starts after the
# decision (PUBLICITY_START days before the batch) and its 5 working days end before it.
PUBLICITY_LEAD, PUBLICITY_START = 12, 10
DOCUMENTS = {"gazelle": "辽科发〔{y}〕{n}号", "unicorn": "辽科发〔{y}〕{n}号",
             "specialised": "辽工信发〔{y}〕{n}号", "little_giant": "工信部企业函〔{y}〕{n}号"}
CLAIM_REJECTIONS = ("发票金额与合同金额不符", "服务报告缺少双方签章",
                    "合同签订日期早于创新券发放日期")
AWARD_REJECTIONS = ("认定文号与公示名单不符", "申报材料不全：缺少认定证书复印件")
CLAWBACK_REASONS = ("抽查发现服务未实际履行", "服务报告与检测记录不符，经核查为虚假服务")
AWARD_CLAWBACK = "认定资格经复核被撤销"


@dataclass(frozen=True)
class Timeline:
    """The demo year: its days run from `start` to `end`; batches are made on `batches`."""

    year: int
    start: dt.date
    end: dt.date
    batches: tuple[dt.date, ...]
    expiry_run: dt.date

    def at(self, fraction: float) -> dt.date:
        """The day `fraction` of the way from start to end."""
        return self.start + dt.timedelta(days=round((self.end - self.start).days * fraction))


def timeline(today: dt.date) -> Timeline:
    """The current year up to today (or last year when this one is too young to show)."""
    year = today.year
    end = min(today, dt.date(year, 12, 20))
    if (end - dt.date(year, 1, 5)).days < MIN_SPAN_DAYS:
        year, end = year - 1, dt.date(year - 1, 12, 20)
    batches = tuple(day for m in range(1, 13)
                    if (day := dt.date(year, m, 25)) <= end - dt.timedelta(days=7))
    return Timeline(year, dt.date(year, 1, 5), end, batches, dt.date(year, 1, 12))


@dataclass(frozen=True)
class FirmFacts:
    """What the planner knows of a registered firm."""

    id: int
    legal_rep: str
    holders: frozenset[str]
    credit_code: str
    status: str
    certifications: frozenset[tuple[str, int]]
    tier_certified: tuple[tuple[str, dt.date], ...] = ()
    banked: bool = False


@dataclass(frozen=True)
class ProviderFacts:
    """What the planner knows of a registered provider."""

    id: int
    legal_rep: str
    holders: frozenset[str]
    credit_code: str
    categories: frozenset[str]
    since: dt.date


@dataclass(frozen=True)
class Policy:
    """What the planner asks of the voucher policy: the per-voucher cap and expiry date."""

    cap_on: Callable[[dt.date], int]
    expiry_on: Callable[[dt.date], dt.date]


@dataclass
class VoucherPlan:
    """A voucher to issue."""

    key: int
    firm_id: int
    amount_fen: int
    issued_on: dt.date
    expires_on: dt.date


@dataclass
class BookingPlan:
    """A booking and the dated steps of its life."""

    key: int
    voucher: int
    provider_id: int
    category: str
    cost_fen: int
    fate: str
    days: dict[str, dt.date]
    partial: bool = False


@dataclass
class AwardPlan:
    """An award application and what becomes of it."""

    key: int
    firm_id: int
    tier: str
    certified_on: dt.date
    document_no: str
    fate: str
    days: dict[str, dt.date]
    requested_fen: int | None = None


@dataclass(frozen=True)
class Refusal:
    """An attempt the policy refuses: what is expected and what it is tried on."""

    expected: str
    firm_id: int = 0
    voucher: int = 0
    provider_id: int = 0
    category: str = ""
    day: dt.date | None = None


@dataclass(frozen=True)
class Event:
    """One thing to do on a day; `rank` orders a day's events (issue before book …)."""

    day: dt.date
    rank: int
    seq: int
    kind: str
    key: int


RANKS = {k: i for i, k in enumerate((
    "appropriate", "issue", "refuse_issue", "book", "refuse_book", "cancel", "complete",
    "confirm", "file", "decide", "clawback", "batch", "paid", "expire", "apply",
    "refuse_award", "award_decide", "award_clawback", "award_batch", "award_paid",
))}


@dataclass
class Script:
    """Everything the demo year does, in order once `events` is sorted."""

    timeline: Timeline
    vouchers: dict[int, VoucherPlan] = field(default_factory=dict)
    bookings: dict[int, BookingPlan] = field(default_factory=dict)
    awards: dict[int, AwardPlan] = field(default_factory=dict)
    refusals: dict[int, Refusal] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def add(self, day: dt.date, kind: str, key: int) -> None:
        """Schedule `kind` for object `key` on `day`."""
        self.events.append(Event(day, RANKS[kind], len(self.events), kind, key))

    def ordered(self) -> list[Event]:
        """The events by day, then step, then the order they were planned in."""
        return sorted(self.events, key=lambda e: (e.day, e.rank, e.seq))


def related(firm: FirmFacts, provider: ProviderFacts) -> bool:
    """The policy's related-party tests: same code, same legal rep or a shared owner."""
    firm_side = firm.holders | {firm.credit_code}
    provider_side = provider.holders | {provider.credit_code}
    return (firm.credit_code == provider.credit_code or firm.legal_rep == provider.legal_rep
            or bool(firm.holders & provider.holders) or bool(firm_side & provider.holders)
            or bool(provider_side & firm.holders))


class Planner:
    """Lays out the demo year for a registry; `plan()` returns the script."""

    def __init__(self, line: Timeline, firms: list[FirmFacts], providers: list[ProviderFacts],
                 policy: Policy, expired_days: list[dt.date]) -> None:
        self.rng = random.Random(SEED)
        self.line, self.firms, self.providers, self.policy = line, firms, providers, policy
        self.expired_days = expired_days
        self.script = Script(line)
        self.showcase_firm, self.showcase_provider = firms[0], providers[0]

    # ------------------------------------------------------------------ vouchers
    def _voucher(self, firm: FirmFacts, day: dt.date, share: float) -> VoucherPlan:
        cap = self.policy.cap_on(day)
        amount = max(1_000_00, int(cap * share) // 1_000_00 * 1_000_00)
        key = len(self.script.vouchers) + 1
        plan = VoucherPlan(key, firm.id, amount, day, self.policy.expiry_on(day))
        self.script.vouchers[key] = plan
        self.script.add(day, "issue", key)
        return plan

    def _issue_day(self) -> dt.date:
        """Most vouchers go out in the spring round, then summer, autumn, and a trickle."""
        roll = self.rng.random()
        if roll < 0.55:
            fraction = self.rng.uniform(0.05, 0.25)
        elif roll < 0.80:
            fraction = self.rng.uniform(0.40, 0.55)
        elif roll < 0.92:
            fraction = self.rng.uniform(0.65, 0.75)
        else:
            fraction = self.rng.uniform(0.0, 0.95)
        return self.line.at(fraction)

    def _related_pairs(self) -> list[tuple[FirmFacts, ProviderFacts]]:
        return [(f, p) for f in self.firms[1:] for p in self.providers if related(f, p)]

    def plan_vouchers(self) -> list[VoucherPlan]:
        """Vouchers of the year for most eligible firms (a second one for some)."""
        year = self.line.year
        forced = {f.id for f, _ in self._related_pairs()}
        plans: list[VoucherPlan] = []
        for firm in self.firms:
            if firm.status != "active" or ("tech_sme", year) not in firm.certifications:
                continue
            if firm is self.showcase_firm:
                plans.append(self._voucher(firm, self.line.at(0.04), 1.0))
                plans.append(self._voucher(firm, self.line.end - dt.timedelta(days=20), 0.4))
                continue
            if firm.id not in forced and self.rng.random() >= 0.85:
                continue
            first = self._voucher(firm, self._issue_day(),
                                  self.rng.choice((0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)))
            plans.append(first)
            if self.rng.random() < 0.22 and first.issued_on < self.line.at(0.6):
                later = first.issued_on + dt.timedelta(days=self.rng.randrange(60, 150))
                plans.append(self._voucher(firm, min(later, self.line.at(0.9)),
                                           self.rng.choice((0.3, 0.5, 0.6))))
        return plans

    def plan_expired(self) -> list[VoucherPlan]:
        """Last year's round: issued then, unused balances returned by this year's expiry."""
        last = self.line.year - 1
        candidates = [f for f in self.firms if f.status == "active"
                      and ("tech_sme", last) in f.certifications]
        if not candidates or not self.expired_days:
            return []
        count = min(len(candidates), max(2, len(self.firms) // 15))
        plans = []
        for firm in self.rng.sample(candidates, count):
            day = self.rng.choice(self.expired_days)
            plans.append(self._voucher(firm, day, self.rng.choice((0.3, 0.5, 0.8))))
        return plans

    # ------------------------------------------------------------------ bookings
    def _window(self, fate: str, issued: dt.date) -> tuple[dt.date, dt.date]:
        """The days the fate's last step may fall on."""
        end, b = self.line.end, self.line.batches
        last_batch = b[-1] if b else self.line.start
        before_last = b[-2] if len(b) > 1 else self.line.start
        windows = {
            HELD: (end - dt.timedelta(days=25), end),
            CANCELLED: (issued + dt.timedelta(days=3), end),
            UNCONFIRMED: (end - dt.timedelta(days=12), end),
            CONFIRMED: (end - dt.timedelta(days=10), end),
            FILED: (end - dt.timedelta(days=14), end),
            REJECTED: (issued + dt.timedelta(days=15), end),
            APPROVED: (last_batch + DAY, end),
            IN_BATCH: (before_last + DAY, last_batch),
            PAID: (issued, before_last),
            CLAWBACK_PAID: (issued, before_last - dt.timedelta(days=10)),
            CLAWBACK_UNPAID: (issued + dt.timedelta(days=12), end - dt.timedelta(days=5)),
        }
        return windows[fate]

    def _dates(self, fate: str, issued: dt.date, expires: dt.date) -> dict[str, dt.date] | None:
        """Dates for each step of `fate`, after `issued`, or None when the fate cannot fit."""
        lo, hi = self._window(fate, issued)
        steps = _STEPS[fate]
        for shrink in (False, True):
            gaps = [_GAPS[s][0] if shrink else self.rng.randint(*_GAPS[s]) for s in steps]
            if fate == CANCELLED:
                gaps = [2 if shrink else self.rng.randint(2, 15)]
            total = dt.timedelta(days=sum(gaps))
            first = max(issued + DAY, lo - total)
            last = min(hi - total, expires, self.line.end)
            if first <= last:
                book = first + dt.timedelta(days=self.rng.randrange((last - first).days + 1))
                days = {"book": book}
                day = book
                names = ("cancel",) if fate == CANCELLED else steps
                for name, gap in zip(names, gaps, strict=True):
                    day += dt.timedelta(days=gap)
                    days[name] = day
                return days
        return None

    def _provider(self, firm: FirmFacts, category: str, day: dt.date) -> ProviderFacts | None:
        pool = [p for p in self.providers if category in p.categories and p.since <= day
                and not related(firm, p)]
        if not pool:
            return None
        if self.showcase_provider in pool and self.rng.random() < 0.3:
            return self.showcase_provider
        return self.rng.choice(pool)

    def _cost(self, category: str, voucher: VoucherPlan) -> int:
        low, high = COST_YUAN[category]
        target = voucher.amount_fen * self.rng.uniform(0.15, 0.45) / 50  # yuan at a ~50% ratio
        yuan = min(high, max(low, int(target)))
        fen = yuan // 10 * 1000
        return fen + (self.rng.randrange(1, 100_00) if self.rng.random() < 0.2 else 0)

    def _book(self, voucher: VoucherPlan, fate: str, category: str | None = None,
              provider: ProviderFacts | None = None) -> BookingPlan | None:
        days = self._dates(fate, voucher.issued_on, voucher.expires_on)
        if days is None:
            return None
        firm = next(f for f in self.firms if f.id == voucher.firm_id)
        category = category or self.rng.choices(list(CATEGORY_WEIGHTS),
                                                weights=list(CATEGORY_WEIGHTS.values()))[0]
        provider = provider or self._provider(firm, category, days["book"])
        if provider is None:
            return None
        key = len(self.script.bookings) + 1
        plan = BookingPlan(key, voucher.key, provider.id, category, self._cost(category, voucher),
                           fate, days, partial=self.rng.random() < 0.1)
        if fate in (CLAWBACK_PAID, CLAWBACK_UNPAID):
            plan.days["clawback"] = self._clawback_day(plan)
        self.script.bookings[key] = plan
        for step, day in plan.days.items():
            self.script.add(day, step, key)
        return plan

    def _clawback_day(self, plan: BookingPlan) -> dt.date:
        if plan.fate == CLAWBACK_UNPAID:
            return min(self.line.end, plan.days["file"] + dt.timedelta(days=3))
        paid = self._paid_day(plan.days["decide"])
        return min(self.line.end, paid + dt.timedelta(days=self.rng.randint(5, 30)))

    def _paid_day(self, approved: dt.date) -> dt.date:
        batch = next(b for b in self.line.batches if b >= approved)
        return batch + dt.timedelta(days=5)

    def plan_bookings(self, vouchers: list[VoucherPlan], expired: list[VoucherPlan]) -> None:
        """The showcase firm's script, one booking of every fate, then the rest at random."""
        showcase = [v for v in vouchers if v.firm_id == self.showcase_firm.id]
        used: set[int] = set()
        if showcase:
            first = showcase[0]
            for fate, category in ((PAID, "testing"), (UNCONFIRMED, "instrument_sharing"),
                                   (HELD, "testing")):
                self._book(first, fate, category, self.showcase_provider)
            used.update(v.key for v in showcase)
        others = sorted((v for v in vouchers if v.key not in used), key=lambda v: v.issued_on)
        counts: dict[int, int] = {}
        for fate in FATE_WEIGHTS:
            for voucher in others:
                if voucher.key not in counts and self._book(voucher, fate) is not None:
                    counts[voucher.key] = 1
                    break
        for voucher in others:
            wanted = self.rng.choices((0, 1, 2, 3), weights=(18, 40, 29, 13))[0]
            for _ in range(wanted - counts.get(voucher.key, 0)):
                fates = list(FATE_WEIGHTS)
                fate = self.rng.choices(fates, weights=[FATE_WEIGHTS[f] for f in fates])[0]
                self._book(voucher, fate)
        for voucher in expired[: (len(expired) + 1) // 2]:
            self._book_before_expiry(voucher)

    def _book_before_expiry(self, voucher: VoucherPlan) -> None:
        """Part of last year's voucher used before it expired; claimed and paid in January."""
        if (voucher.expires_on - voucher.issued_on).days < 12 or not self.line.batches:
            return
        firm = next(f for f in self.firms if f.id == voucher.firm_id)
        category = self.rng.choice(("testing", "patent_application"))
        book = voucher.issued_on + dt.timedelta(days=self.rng.randint(1, 4))
        provider = self._provider(firm, category, book)
        if provider is None:
            return
        complete = book + dt.timedelta(days=self.rng.randint(3, 6))
        confirm = complete + DAY
        file = max(confirm + DAY, self.line.start + DAY)
        days = {"book": book, "complete": complete, "confirm": confirm, "file": file,
                "decide": file + dt.timedelta(days=3)}
        key = len(self.script.bookings) + 1
        plan = BookingPlan(key, voucher.key, provider.id, category,
                           self._cost(category, voucher), PAID, days)
        self.script.bookings[key] = plan
        for step, day in days.items():
            self.script.add(day, step, key)

    # ------------------------------------------------------------------ the rest
    def plan_batches(self) -> None:
        """A payment batch on each batch day; the bank pays it five days on, except the last."""
        for i, day in enumerate(self.line.batches):
            self.script.add(day, "batch", i)
            if i < len(self.line.batches) - 1:
                self.script.add(day + dt.timedelta(days=5), "paid", i)

    def plan_refusals(self, vouchers: list[VoucherPlan], expired: list[VoucherPlan]) -> None:
        """Attempts the policy refuses, so that the log and the exceptions have something."""
        add = self.script.refusals
        if vouchers:
            target = vouchers[min(2, len(vouchers) - 1)]
            add[1] = Refusal("cap_exceeded", firm_id=target.firm_id)
            self.script.add(target.issued_on, "refuse_issue", 1)
        ineligible = [f for f in self.firms
                      if ("tech_sme", self.line.year) not in f.certifications]
        if ineligible:
            add[2] = Refusal("not_eligible", firm_id=ineligible[0].id)
            self.script.add(self.line.at(0.1), "refuse_issue", 2)
        by_id = {v.firm_id: v for v in reversed(vouchers)}
        for number, (firm, provider) in enumerate(self._related_pairs()[:3], start=3):
            voucher = by_id.get(firm.id)
            if voucher is not None:
                add[number] = Refusal("related_party", voucher=voucher.key,
                                      provider_id=provider.id,
                                      category=sorted(provider.categories)[0])
                self.script.add(voucher.issued_on + dt.timedelta(days=5), "refuse_book", number)
        if expired:
            voucher = expired[-1]
            provider = next(p for p in self.providers if "testing" in p.categories)
            add[6] = Refusal("voucher_expired", voucher=voucher.key, provider_id=provider.id,
                             category="testing")
            self.script.add(self.line.expiry_run + dt.timedelta(days=7), "refuse_book", 6)

    def plan_awards(self) -> None:
        """One application of every tier in every state, then more at random."""
        recent = dt.date(self.line.year - 1, 1, 1)
        # A firm already holding a recent tier certification would cite it, not a new one.
        pool = [f for f in self.firms[1:] if f.status == "active" and not any(
            kind in AWARD_TIERS and day >= recent for kind, day in f.tier_certified)]
        self.rng.shuffle(pool)
        wanted = [(t, s) for t in AWARD_TIERS for s in AWARD_FATES]
        extra = len(self.firms) // 12
        wanted += [(self.rng.choices(AWARD_TIERS, weights=(40, 10, 35, 15))[0],
                    self.rng.choices(AWARD_FATES, weights=(15, 20, 20, 10, 25, 10))[0])
                   for _ in range(extra)]
        showcase = dict(self.showcase_firm.tier_certified).get("gazelle")
        applied = self.line.at(0.08)
        if showcase is not None and 0 <= (applied - showcase).days <= 365:
            self._award(self.showcase_firm, "gazelle", "approved", applied, showcase)
        applicants = pool[:-1] if len(pool) > len(wanted) else pool
        banked = [f for f in applicants if f.banked]
        plain = [f for f in applicants if not f.banked]
        for tier, fate in wanted:
            source = banked if fate in PAID_FATES or not plain else plain
            if source:
                self._award(source.pop(0), tier, fate)
        if len(pool) > len(wanted):  # a firm with no other application
            late, firm = self.line.at(0.3), pool[-1]
            # Citing a certificate over a year old: the firm's own old one, if it has one.
            old = dict(firm.tier_certified).get("gazelle") or late - dt.timedelta(days=400)
            self.script.refusals[7] = Refusal("certification_not_new", firm_id=firm.id,
                                              category="gazelle", day=old)
            self.script.add(late, "refuse_award", 7)

    def _award(self, firm: FirmFacts, tier: str, fate: str, applied: dt.date | None = None,
               certified: dt.date | None = None) -> None:
        end = self.line.end
        if applied is None:
            if fate == "applied":
                applied = end - dt.timedelta(days=self.rng.randint(0, 25))
            elif fate == "clawed_back":
                applied = self.line.at(self.rng.uniform(0.0, 0.55))
            else:
                applied = self.line.at(self.rng.uniform(0.0, 0.85))
        certified = certified or applied - dt.timedelta(days=self.rng.randint(10, 240))
        days = {"apply": applied}
        if fate != "applied":
            # An award to be paid is decided early enough for its 公示 list (5 working days)
            # to end before its batch, at least PUBLICITY_LEAD days later.
            last = end - dt.timedelta(days=PUBLICITY_LEAD) if fate in PAID_FATES else end
            days["award_decide"] = min(last, applied + dt.timedelta(days=self.rng.randint(7, 30)))
        if fate == "clawed_back":
            days["award_clawback"] = min(
                end, days["award_decide"] + dt.timedelta(days=self.rng.randint(20, 60)))
        if fate in PAID_FATES:
            days["award_batch"] = min(end, days["award_decide"] + dt.timedelta(
                days=self.rng.randint(PUBLICITY_LEAD, PUBLICITY_LEAD + 18)))
        if fate == "paid":
            days["award_paid"] = min(end, days["award_batch"] + dt.timedelta(days=5))
        key = len(self.script.awards) + 1
        document = DOCUMENTS[tier].format(y=certified.year, n=self.rng.randint(3, 180))
        requested = (self.rng.choice((None, 500_000_00, 800_000_00))
                     if tier == "specialised" else None)
        self.script.awards[key] = AwardPlan(key, firm.id, tier, certified, document, fate, days,
                                            requested)
        for step, day in days.items():
            self.script.add(day, step, key)

    def plan(self) -> Script:
        """The whole year."""
        vouchers = self.plan_vouchers()
        expired = self.plan_expired()
        self.plan_bookings(vouchers, expired)
        self.plan_batches()
        if expired:
            self.script.add(self.line.expiry_run, "expire", 0)
        self.plan_refusals(vouchers, expired)
        self.plan_awards()
        return self.script
