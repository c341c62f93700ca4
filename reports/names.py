"""Names the reports print for the ledger's codes: categories, tiers, flows, refusals.

Each code maps to an English message id; the words are in the reports' catalogues
(reports/locale, reports/words.py), Chinese unless a language is asked for.
"""

from __future__ import annotations

from reports.words import N_, word

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
    "award_not_published": N_("Award not published"),
    "award_in_publicity": N_("Award in its publicity period"),
    "award_objection_pending": N_("Award has an objection pending"),
    "outside_publicity_period": N_("Outside the publicity period"),
    "objection_already_decided": N_("Objection already decided"),
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
    "payment.cancel": N_("Payment batch cancelled (holds voided)"),
    "award.approve": N_("Award approved"),
    "award.pay": N_("Award paid"),
    "award.clawback": N_("Award clawed back"),
    "award.receivable": N_("Paid award clawed back (receivable)"),
    "award.objection": N_("Objection upheld (approval reversed)"),
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

# What the operation log calls each operation; `users.create.<role>`,
# `firms.certify.<kind>` and `providers.category.<add|remove>.<category>` end in a code.
OPERATION_NAMES: dict[str, str] = {
    "applications.apply": N_("apply for a voucher"),
    "applications.approve": N_("approve a voucher application"),
    "applications.reject": N_("reject a voucher application"),
    "authorisations.create": N_("authorise a provider"),
    "authorisations.withdraw": N_("withdraw an authorisation"),
    "awards.apply": N_("apply for an award"),
    "awards.approve": N_("approve an award"),
    "awards.clawback": N_("claw back an award"),
    "awards.import": N_("import awards"),
    "awards.reject": N_("reject an award"),
    "awards.publish": N_("publish an award list"),
    "awards.object": N_("record an objection"),
    "awards.decide_objection": N_("decide an objection"),
    "claims.approve": N_("approve a claim"),
    "claims.file": N_("file a claim"),
    "claims.reject": N_("reject a claim"),
    "firms.create": N_("register a firm"),
    "firms.certify": N_("record a certification"),
    "payments.confirmation": N_("read the bank's confirmation"),
    "payments.create": N_("create a payment batch"),
    "payments.paid": N_("mark a batch paid"),
    "payments.release": N_("release a payment batch"),
    "payments.return": N_("record a bank return"),
    "payments.cancel": N_("cancel a payment batch"),
    "firms.bank_account": N_("correct a firm's bank account"),
    "providers.bank_account": N_("correct a provider's bank account"),
    "programs.appropriate": N_("appropriate budget"),
    "programs.create": N_("create a programme"),
    "programs.expire": N_("expire vouchers"),
    "providers.create": N_("register a provider"),
    "providers.category.add": N_("register a provider for a category"),
    "providers.category.remove": N_("end a provider's category"),
    "redemptions.book": N_("book a service"),
    "redemptions.cancel": N_("cancel a booking"),
    "redemptions.clawback": N_("claw back a service"),
    "redemptions.complete": N_("complete a service"),
    "redemptions.confirm": N_("confirm a service"),
    "redemptions.dispute": N_("dispute a service"),
    "sign_in_locks.clear": N_("clear a sign-in lock"),
    "users.change_password": N_("change a password"),
    "users.create": N_("create a user"),
    "users.disable": N_("disable a user"),
    "users.enable": N_("enable a user"),
    "users.reset_password": N_("reset a password"),
    "vouchers.import": N_("import vouchers"),
    "vouchers.issue": N_("issue a voucher"),
}
# The roles a user is created with (`users.create.<role>`).
ROLE_NAMES = {
    "firm": N_("Firm"),
    "provider": N_("Provider"),
    "operator": N_("Operator"),
    "approver": N_("Approver"),
    "auditor": N_("Auditor"),
}
# What an operation of the log is about (its object type), and a refused operation's prefix.
OBJECT_NAMES = {
    "application": N_("Voucher application"),
    "authorisation": N_("Authorisation"),
    "award": N_("Award"),
    "award_publication": N_("Award publicity list"),
    "award_objection": N_("Objection to an award"),
    "batch": N_("Payment batch"),
    "claim": N_("Claim"),
    "firm": N_("Firm"),
    "import": N_("Import"),
    "programme": N_("Programme"),
    "provider": N_("Provider"),
    "redemption": N_("Booking"),
    "sign_in_lock": N_("Sign-in lock"),
    "user": N_("User"),
    "voucher": N_("Voucher"),
}

# Every message id the reports use (the catalogue test checks each is translated).
MESSAGE_IDS: tuple[str, ...] = (
    *REFUSAL_NAMES.values(), OTHER_REFUSAL, *FLOW_NAMES.values(), *KIND_NAMES.values(),
    *ACCOUNT_KIND_NAMES.values(), *CATEGORY_NAMES.values(), *TIER_NAMES.values(),
    *OPERATION_NAMES.values(), *ROLE_NAMES.values(), *OBJECT_NAMES.values())


def _named(names: dict[str, str], code: str, language: str | None) -> str:
    msgid = names.get(code)
    return word(msgid, language) if msgid is not None else code


def account_kind_name(kind: str, language: str | None = None) -> str:
    """可用预算 for budget, 追回应收 for receivable; an unknown kind prints as itself."""
    return _named(ACCOUNT_KIND_NAMES, kind, language)


def category_name(code: str, language: str | None = None) -> str:
    """专利申请 for patent_application; an unknown code prints as itself."""
    return _named(CATEGORY_NAMES, code, language)


def tier_name(code: str, language: str | None = None) -> str:
    """瞪羚企业 for gazelle; an unknown code prints as itself."""
    return _named(TIER_NAMES, code, language)


def refusal_name(code: str, language: str | None = None) -> str:
    """What a refusal code means; an unknown code reads 其他 (Other)."""
    return word(REFUSAL_NAMES.get(code, OTHER_REFUSAL), language)


def flow_name(flow: str, language: str | None = None) -> str:
    """The business a journal entry records; an unknown flow prints as itself."""
    return _named(FLOW_NAMES, flow, language)


def kind_name(kind: str, language: str | None = None) -> str:
    """How a transfer moves an account (过账, 冻结 …); an unknown kind prints as itself."""
    return _named(KIND_NAMES, kind, language)


def object_name(kind: str, language: str | None = None) -> str:
    """What an operation is about (创新券申领 for application); unknown: the code itself."""
    return _named(OBJECT_NAMES, kind, language)


def operation_name(action: str, language: str | None = None) -> str:
    """What an operation of the log did; `users.create.firm` reads 创建用户 · 企业, an unknown
    action prints as itself."""
    if action in OPERATION_NAMES:
        return word(OPERATION_NAMES[action], language)
    head, _, code = action.rpartition(".")
    if head in OPERATION_NAMES:
        detail = next((_named(names, code, language) for names in
                       (ROLE_NAMES, TIER_NAMES, CATEGORY_NAMES) if code in names), code)
        return f"{word(OPERATION_NAMES[head], language)} · {detail}"
    return action
