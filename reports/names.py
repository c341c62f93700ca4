"""Names the reports print for the ledger's codes: categories, tiers, flows, refusals.

Each code maps to an English message id; the words are in the reports' catalogues
(reports/locale, reports/words.py), Chinese unless a language is asked for.
"""

from __future__ import annotations

from reports.words import DEFAULT_LANGUAGE, word


def N_(msgid: str) -> str:
    """Mark `msgid` as a message of the reports' catalogues."""
    return msgid


REFUSAL_NAMES = {
    "cap_exceeded": N_("Cap exceeded"),
    "related_party": N_("Related-party transaction"),
    "claim_late": N_("Claim filed late"),
    "voucher_expired": N_("Voucher expired"),
    "voucher_not_yet_valid": N_("Voucher not yet valid"),
    "budget_exhausted": N_("Budget exhausted"),
    "not_eligible": N_("Not eligible"),
    "evidence_missing": N_("Evidence missing"),
    "provider_not_registered": N_("Provider not registered for the category"),
    "unknown_category": N_("Unknown service category"),
    "unknown_tier": N_("Unknown award tier"),
    "already_awarded": N_("Already awarded in this tier"),
    "certification_not_new": N_("Certification not newly obtained"),
    "invalid_amount": N_("Invalid amount"),
    "insufficient_balance": N_("Insufficient balance"),
    "self_approval": N_("Approving one's own work"),
    "permission_denied": N_("Not permitted"),
    "not_found": N_("No such record"),
    "invalid_input": N_("Invalid input"),
    "conflict": N_("State conflict"),
}
OTHER_REFUSAL = N_("Other")

FLOW_NAMES = {
    "programme.appropriate": N_("Budget appropriated"),
    "voucher.issue": N_("Voucher issued"),
    "voucher.expire": N_("Expired, back to the budget"),
    "redemption.book": N_("Service booked (held)"),
    "redemption.complete": N_("Service completed, redeemed"),
    "redemption.cancel": N_("Booking cancelled (released)"),
    "redemption.clawback": N_("Redemption clawed back"),
    "clawback.receivable": N_("Paid money clawed back (receivable)"),
    "payment.batch": N_("Payment batch (held)"),
    "payment.paid": N_("Paid by the bank"),
    "payment.return": N_("Returned by the bank"),
    "award.approve": N_("Award approved"),
    "award.pay": N_("Award paid"),
    "award.clawback": N_("Award clawed back"),
    "award.receivable": N_("Paid award clawed back (receivable)"),
}

# How a transfer moves a party's account: posted at once, a hold, or a hold resolved.
KIND_NAMES = {
    "normal": N_("Posted"),
    "pending": N_("Held"),
    "post_pending": N_("Hold posted"),
    "void_pending": N_("Hold released"),
}

# The chart of accounts in the glossary's words (docs/glossary.md): what each kind holds.
ACCOUNT_KIND_NAMES = {
    "funding": N_("Funding source"),
    "budget": N_("Available budget"),
    "voucher": N_("Unspent voucher balance"),
    "provider": N_("Owed to providers"),
    "award": N_("Awards owed"),
    "receivable": N_("Clawbacks receivable"),
    "paid": N_("Paid"),
}

# Service categories (ledger/registry/providers.py) and firm certifications (firms.py).
CATEGORY_NAMES = {
    "patent_application": N_("Patent application"),
    "instrument_sharing": N_("Instrument sharing"),
    "testing": N_("Testing and inspection"),
    "rd_design": N_("R&D design"),
    "technology_transfer": N_("Technology transfer"),
}
TIER_NAMES = {
    "tech_sme": N_("Registered tech-based SME"),
    "chuying": N_("Fledgling (chuying) firm"),
    "gazelle": N_("Gazelle firm"),
    "unicorn": N_("Unicorn firm"),
    "specialised": N_("Provincial specialised SME"),
    "little_giant": N_("National specialised \"little giant\""),
}

# Every message id the reports use (the catalogue test checks each is translated).
MESSAGE_IDS: tuple[str, ...] = (
    *REFUSAL_NAMES.values(), OTHER_REFUSAL, *FLOW_NAMES.values(), *KIND_NAMES.values(),
    *ACCOUNT_KIND_NAMES.values(), *CATEGORY_NAMES.values(), *TIER_NAMES.values())


def _named(names: dict[str, str], code: str, language: str) -> str:
    msgid = names.get(code)
    return word(msgid, language) if msgid is not None else code


def account_kind_name(kind: str, language: str = DEFAULT_LANGUAGE) -> str:
    """可用预算 for budget, 追回应收 for receivable; an unknown kind prints as itself."""
    return _named(ACCOUNT_KIND_NAMES, kind, language)


def category_name(code: str, language: str = DEFAULT_LANGUAGE) -> str:
    """专利申请 for patent_application; an unknown code prints as itself."""
    return _named(CATEGORY_NAMES, code, language)


def tier_name(code: str, language: str = DEFAULT_LANGUAGE) -> str:
    """瞪羚企业 for gazelle; an unknown code prints as itself."""
    return _named(TIER_NAMES, code, language)


def refusal_name(code: str, language: str = DEFAULT_LANGUAGE) -> str:
    """What a refusal code means; an unknown code reads 其他 (Other)."""
    return word(REFUSAL_NAMES.get(code, OTHER_REFUSAL), language)


def flow_name(flow: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The business a journal entry records; an unknown flow prints as itself."""
    return _named(FLOW_NAMES, flow, language)


def kind_name(kind: str, language: str = DEFAULT_LANGUAGE) -> str:
    """How a transfer moves an account (过账, 冻结 …); an unknown kind prints as itself."""
    return _named(KIND_NAMES, kind, language)
