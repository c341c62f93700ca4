"""A policy decision's trace as sentences a person reads, in the page's language.

Each rule line (rules/engine.py) becomes one sentence from the catalogues, chosen by its rule
and outcome, with its figures filled in: amounts as `30,000.00 元` / `30,000.00 yuan`, numbers
formatted by Babel for the page's locale, codes (categories, statuses, bounds) by their labels.
The rule id stays available to the page (a tooltip), never as the sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from babel import Locale
from babel.lists import format_list
from babel.numbers import (
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
)

from api.console import i18n
from api.console.i18n import N_
from api.console.labels import LABELS

YUAN_PATTERN = "#,##0.00"

# What each rule checks, as the trace's first column shows it.
RULE_NAMES: dict[str, str] = {
    "policy.in_force": N_("Policy version"),
    "issue.firm_status": N_("Firm status"),
    "issue.certification": N_("Registration"),
    "issue.amount_positive": N_("Amount"),
    "issue.per_voucher_cap": N_("Cap per voucher"),
    "issue.per_firm_year_cap": N_("Yearly cap per firm"),
    "issue.budget": N_("Available budget"),
    "booking.category": N_("Service category"),
    "booking.voucher_validity": N_("Voucher validity"),
    "booking.provider_registered": N_("Provider registration"),
    "booking.related_party": N_("Related parties"),
    "booking.ratio": N_("Subsidy ratio"),
    "booking.per_order_cap": N_("Cap per order"),
    "booking.category_year_cap": N_("Yearly cap in the category"),
    "booking.firm_year_cap": N_("Yearly cap per firm"),
    "booking.voucher_balance": N_("Voucher balance"),
    "booking.subsidy": N_("Subsidy"),
    "claim.after_completion": N_("Completion"),
    "claim.deadline": N_("Claim deadline"),
    "claim.evidence": N_("Evidence"),
    "claim.amount": N_("Amount claimed"),
    "award.tier": N_("Award tier"),
    "award.new_certification": N_("New certification"),
    "award.once_per_tier": N_("Once per tier"),
    "award.up_to": N_("Amount requested"),
    "award.upgrade": N_("Upgrade"),
    "award.budget": N_("Available budget"),
    "award.amount": N_("Amount"),
    "application.window": N_("Application window"),
    "application.firm_status": N_("Firm status"),
    "application.certification": N_("Registration"),
    "application.once_per_window": N_("Once per window"),
    "application.amount": N_("Amount applied for"),
    "application.per_firm_year_cap": N_("Yearly cap per firm"),
    "application.documents": N_("Documents"),
    "expiry.rule": N_("Validity"),
    "expiry.on": N_("Expiry"),
}

# One sentence per rule and outcome ("*": any outcome); %(name)s are the line's figures, named
# without their `_fen` suffix once formatted as amounts.
SENTENCES: dict[tuple[str, str], str] = {
    ("policy.in_force", "info"): N_("Policy version %(version)s is in force on %(on)s."),
    ("policy.in_force", "fail"): N_("No policy version of %(programme)s is in force on %(on)s."),
    ("issue.firm_status", "pass"): N_("The firm's status (%(status)s) allows a voucher."),
    ("issue.firm_status", "fail"): N_("The firm's status (%(status)s) does not allow a voucher."),
    ("issue.certification", "pass"): N_("The firm is registered as %(required)s for %(year)s."),
    ("issue.certification", "fail"):
        N_("The firm is not registered as %(required)s for %(year)s."),
    ("issue.amount_positive", "pass"): N_("The amount %(amount)s is positive."),
    ("issue.amount_positive", "fail"): N_("A voucher must carry a positive amount."),
    ("issue.per_voucher_cap", "pass"): N_("The amount %(amount)s is within the cap per voucher "
                                          "of %(cap)s."),
    ("issue.per_voucher_cap", "fail"): N_("The amount %(amount)s is over the cap per voucher "
                                          "of %(cap)s."),
    ("issue.per_firm_year_cap", "pass"): N_("Issued to the firm this year would be %(total)s, "
                                            "within its yearly cap of %(cap)s."),
    ("issue.per_firm_year_cap", "fail"): N_("Issued to the firm this year would be %(total)s, "
                                            "over its yearly cap of %(cap)s."),
    ("issue.budget", "pass"): N_("The available budget of %(budget_free)s covers %(amount)s."),
    ("issue.budget", "fail"):
        N_("The available budget of %(budget_free)s cannot cover %(amount)s."),
    ("booking.category", "pass"): N_("%(category)s is a service category of this policy."),
    ("booking.category", "fail"): N_("%(category)s is not a service category of this policy."),
    ("booking.voucher_validity", "pass"): N_("The voucher is valid on %(on)s (until "
                                             "%(expires_on)s)."),
    ("booking.voucher_validity", "fail"): N_("The voucher is not valid on %(on)s (issued "
                                             "%(issued_on)s, valid until %(expires_on)s)."),
    ("booking.provider_registered", "pass"):
        N_("The provider is registered for %(category)s."),
    ("booking.provider_registered", "fail"):
        N_("The provider is not registered for %(category)s."),
    ("booking.related_party", "pass"): N_("The firm and the provider are not related."),
    ("booking.related_party", "fail"):
        N_("The firm and the provider are related: they share %(shared)s."),
    ("booking.ratio", "*"): N_("Cost %(cost)s × %(ratio)s = %(subsidy)s (rounded down to the "
                               "fen)."),
    ("booking.per_order_cap", "pass"): N_("The cap per order leaves %(limit)s: the subsidy of "
                                          "%(subsidy)s fits."),
    ("booking.per_order_cap", "cut"): N_("The cap per order leaves %(limit)s: the subsidy is cut "
                                         "from %(subsidy)s."),
    ("booking.category_year_cap", "pass"): N_("The firm's yearly cap in this category leaves "
                                              "%(limit)s: the subsidy of %(subsidy)s fits."),
    ("booking.category_year_cap", "cut"): N_("The firm's yearly cap in this category leaves "
                                             "%(limit)s: the subsidy is cut from %(subsidy)s."),
    ("booking.firm_year_cap", "pass"): N_("The firm's yearly cap leaves %(limit)s: the subsidy "
                                          "of %(subsidy)s fits."),
    ("booking.firm_year_cap", "cut"): N_("The firm's yearly cap leaves %(limit)s: the subsidy "
                                         "is cut from %(subsidy)s."),
    ("booking.voucher_balance", "pass"): N_("The voucher's balance of %(limit)s covers the "
                                            "subsidy of %(subsidy)s."),
    ("booking.voucher_balance", "cut"): N_("The voucher's balance of %(limit)s cuts the subsidy "
                                           "from %(subsidy)s."),
    ("booking.subsidy", "pass"): N_("The subsidy is %(subsidy)s."),
    ("booking.subsidy", "fail"): N_("No subsidy is left to book."),
    ("claim.after_completion", "pass"):
        N_("Claimed on %(on)s, after completion on %(completed_on)s."),
    ("claim.after_completion", "fail"):
        N_("Claimed on %(on)s, before completion on %(completed_on)s."),
    ("claim.deadline", "pass"): N_("Claimed %(days)s days after completion, within the "
                                   "deadline of %(deadline_days)s days."),
    ("claim.deadline", "fail"): N_("Claimed %(days)s days after completion, past the deadline "
                                   "of %(deadline_days)s days (last day %(last_day)s)."),
    ("claim.evidence", "pass"): N_("Every required document is attached."),
    ("claim.evidence", "fail"): N_("Missing documents: %(missing)s."),
    ("claim.amount", "pass"): N_("The claim of %(claimed)s is within the booked subsidy of "
                                 "%(booked)s."),
    ("claim.amount", "fail"): N_("The claim of %(claimed)s is not a positive amount within the "
                                 "booked subsidy of %(booked)s."),
    ("award.tier", "pass"): N_("The %(tier)s award pays %(amount)s."),
    ("award.tier", "fail"): N_("%(tier)s is not an award tier of this policy."),
    ("award.new_certification", "pass"): N_("Certified on %(certified_on)s: new, within "
                                            "%(window_days)s days of the request."),
    ("award.new_certification", "fail"): N_("Certified on %(certified_on)s: not new, the "
                                            "request must come within %(window_days)s days."),
    ("award.once_per_tier", "pass"): N_("The firm's first %(tier)s award."),
    ("award.once_per_tier", "fail"): N_("The firm already received this tier or a higher one."),
    ("award.up_to", "pass"): N_("Requested %(requested)s, within the most the tier pays."),
    ("award.up_to", "fail"): N_("Requested %(requested)s, which the tier does not pay."),
    ("award.upgrade", "info"): N_("An upgrade: %(amount)s is paid after %(already_paid)s "
                                  "already paid."),
    ("award.upgrade", "fail"): N_("An upgrade: the %(already_paid)s already paid leaves "
                                  "nothing to pay."),
    ("award.budget", "pass"): N_("The available budget of %(budget_free)s covers %(amount)s."),
    ("award.budget", "fail"):
        N_("The available budget of %(budget_free)s cannot cover %(amount)s."),
    ("award.amount", "*"): N_("There is nothing to pay."),
    ("application.window", "pass"): N_("Application window %(window)s is open from %(opens)s "
                                       "to %(closes)s."),
    ("application.window", "fail"): N_("No application window is open on %(on)s."),
    ("application.firm_status", "pass"): N_("The firm's status (%(status)s) allows an "
                                            "application."),
    ("application.firm_status", "fail"): N_("The firm's status (%(status)s) does not allow an "
                                            "application."),
    ("application.certification", "pass"):
        N_("The firm is registered as %(required)s for %(year)s."),
    ("application.certification", "fail"):
        N_("The firm is not registered as %(required)s for %(year)s."),
    ("application.once_per_window", "pass"):
        N_("The firm has no other open or approved application in window %(window)s."),
    ("application.once_per_window", "fail"):
        N_("The firm already applied in window %(window)s."),
    ("application.amount", "pass"): N_("%(amount)s is an amount the window offers "
                                       "(%(offered)s yuan)."),
    ("application.amount", "fail"): N_("%(amount)s is not an amount the window offers "
                                       "(%(offered)s yuan)."),
    ("application.per_firm_year_cap", "pass"): N_("Issued to the firm this year would be "
                                                  "%(total)s, within its yearly cap of %(cap)s."),
    ("application.per_firm_year_cap", "fail"): N_("Issued to the firm this year would be "
                                                  "%(total)s, over its yearly cap of %(cap)s."),
    ("application.documents", "pass"): N_("Every required document is attached."),
    ("application.documents", "fail"): N_("Documents missing: %(missing)s."),
    ("expiry.rule", "*"): N_("Issued on %(issued_on)s, valid through %(expires_on)s."),
    ("expiry.on", "pass"): N_("The voucher is valid on %(on)s."),
    ("expiry.on", "fail"): N_("The voucher expired on %(expires_on)s."),
}
# Figures that name a code: shown by their label (a category, status, tier, bound).
CODED = ("status", "required", "category", "tier", "bound")
# Figures that are a year (2026, never 2,026) and lists of yuan figures ("500.00,1000.00").
YEARS = ("year",)
YUAN_LISTS = ("offered",)
SHARED = {"credit_code": N_("credit code"), "legal_rep": N_("legal representative"),
          "shareholder": N_("shareholder")}


@cache
def babel_locale(language: str) -> Locale:
    """The Babel locale of a catalogue language (zh_CN, en)."""
    return Locale.parse(language)


@cache
def _yuan_symbols(language: str) -> tuple[str, str, str]:
    """The locale's grouping, decimal and minus signs (Babel's number symbols)."""
    locale = babel_locale(language)
    return (get_group_symbol(locale), get_decimal_symbol(locale),
            get_minus_sign_symbol(locale))


def yuan_figure(fen: int, language: str) -> str:
    """Fen as a yuan figure for `language`: 3000000 → 30,000.00 (exact: integer arithmetic
    with the locale's signs; Babel's formatting was most of a long list's rendering)."""
    group, decimal, minus = _yuan_symbols(language)
    whole, cents = divmod(abs(int(fen)), 100)
    figure = f"{whole:,}".replace(",", group) + decimal + f"{cents:02d}"
    return minus + figure if fen < 0 else figure


def format_amount(fen: int, language: str, gettext: Callable[[str], str]) -> str:
    """Fen as the page writes an amount: 30,000.00 元 (zh_CN) or 30,000.00 yuan (en)."""
    return gettext("%(amount)s yuan") % {"amount": yuan_figure(fen, language)}


def _field(line: Any, name: str) -> Any:
    return line.get(name) if isinstance(line, Mapping) else getattr(line, name)


def _values(line: Any, language: str, gettext: Callable[[str], str]) -> dict[str, str]:
    figures: Mapping[str, Any] = _field(line, "figures") or {}
    values: dict[str, str] = {"version": str(_field(line, "version") or "")}
    locale = babel_locale(language)
    for name, value in figures.items():
        if name.endswith("_fen") and isinstance(value, int):
            values[name[:-4]] = format_amount(value, language, gettext)
        elif name.endswith("_yuan"):
            continue
        elif name in CODED:
            values[name] = gettext(LABELS[str(value)]) if str(value) in LABELS else str(value)
        elif name in YEARS:
            values[name] = str(value)
        elif name in YUAN_LISTS:
            values[name] = format_list([yuan_figure(int(Decimal(v).scaleb(2)), language)
                                        for v in str(value).split(",") if v], locale=locale)
        elif isinstance(value, int):
            values[name] = format_decimal(value, locale=babel_locale(language))
        elif name == "ratio":
            values[name] = format_decimal(Decimal(str(value)), locale=babel_locale(language))
        else:
            values[name] = str(value)
    shared = [f"{gettext(SHARED[k])} {figures[k]}" for k in SHARED if k in figures]
    values["shared"] = format_list(shared, locale=locale) if shared else ""
    missing = [gettext(LABELS[k]) if k in LABELS else k
               for k in str(figures.get("missing", "")).split(",") if k]
    values["missing"] = format_list(missing, locale=locale) if missing else ""
    return values


def trace_sentence(line: Any, language: str, gettext: Callable[[str], str]) -> str:
    """The line as a sentence in `language`; a rule without one keeps its own message."""
    rule, outcome = str(_field(line, "rule")), str(_field(line, "outcome"))
    msgid = SENTENCES.get((rule, outcome)) or SENTENCES.get((rule, "*"))
    if msgid is None:
        return str(_field(line, "message"))
    values = _values(line, language, gettext)
    try:
        return gettext(msgid) % values
    except KeyError:  # a figure the engine did not give on this path: its own words
        return str(_field(line, "message"))


def rule_name(rule: str, gettext: Callable[[str], str]) -> str:
    """What the rule checks, in the page language (an unknown rule shows its id)."""
    return gettext(RULE_NAMES[rule]) if rule in RULE_NAMES else rule


def sentence(line: Any) -> str:
    """Jinja filter: the trace line as a sentence in the current page's language."""
    page = i18n.current.get()
    return trace_sentence(line, page.language, page.gettext)


def rule_label(rule: str) -> str:
    """Jinja filter: what a rule checks, in the current page's language."""
    return rule_name(rule, i18n.current.get().gettext)
