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
    # The other refusals the operation log holds, in the console's words.
    "already_applied": N_("There is already an application for this"),
    "already_claimed": N_("This service is already claimed"),
    "already_confirmed": N_("Already confirmed"),
    "already_disputed": N_("Already disputed"),
    "already_exists": N_("This already exists"),
    "already_in_batch": N_("This line is already in an open batch"),
    "already_paid": N_("Already paid"),
    "already_published": N_("The award is already on a publication list"),
    "already_released": N_("The batch is already released"),
    "already_returned": N_("This line was already returned"),
    "amount_not_allowed": N_("The window does not offer this amount"),
    "application_applied": N_("The application is still waiting for review"),
    "application_approved": N_("The application is already approved"),
    "application_refused": N_("The application was refused by the policy"),
    "application_rejected": N_("The application was rejected"),
    "authorisation_expired": N_("This authorisation has expired"),
    "authorisation_other_provider": N_("This authorisation names another provider"),
    "authorisation_used": N_("This authorisation has been used"),
    "authorisation_withdrawn": N_("The firm withdrew this authorisation"),
    "award_approved": N_("The award is already approved"),
    "award_paid": N_("The award is already paid"),
    "award_rejected": N_("The award was rejected"),
    "bank_account_missing": N_("The payee has no bank account in the registry"),
    "bank_details_not_corrected": N_(
        "The bank returned this payment: correct the payee's bank account first"),
    "batch_cancelled": N_("The batch was cancelled"),
    "batch_not_paid": N_("The batch is not paid yet"),
    "batch_not_released": N_("The batch waits for an approver's release"),
    "certification_mismatch": N_("The firm holds this certification with another date"),
    "claim_approved": N_("The claim is already approved"),
    "claim_filed": N_("The claim is still filed"),
    "claim_not_approved": N_("The claim is not approved"),
    "claim_paid": N_("The claim is already paid"),
    "claim_rejected": N_("The claim was rejected"),
    "confirmation_amount_mismatch": N_("A line's amount differs from the batch's"),
    "confirmation_total_mismatch": N_("The file's total differs from the batch's"),
    "confirmation_wrong_batch": N_("The file confirms another batch"),
    "csrf_failed": N_("The form expired or did not come from this site. Reload and try again"),
    "documents_missing": N_("A document is missing: a business licence scan and a plan"),
    "evidence_empty": N_("The file is empty"),
    "evidence_too_large": N_("The file is too large"),
    "evidence_type": N_("Upload a PDF, JPEG or PNG file"),
    "firm_not_active": N_("The firm is not active"),
    "import_rejected": N_("The file was refused; nothing was written. See the rows below"),
    "line_confirmed_twice": N_("A line is confirmed twice"),
    "line_not_in_batch": N_("The batch has no such line"),
    "no_policy_in_force": N_("No policy is in force on this day"),
    "no_publicity_rule": N_("The programme's policy states no publication period"),
    "not_authenticated": N_("Wrong username or password"),
    "not_batch_maker": N_("Only the batch's maker or an approver may cancel it"),
    "not_completed": N_("The service is not completed"),
    "not_confirmed": N_("The firm has not confirmed the service yet"),
    "nothing_to_pay": N_("There is no approved claim to pay"),
    "nothing_to_publish": N_("The programme has no approved award to publish"),
    "outside_window": N_("No application window is open today"),
    "password_change_required": N_("Choose a new password first"),
    "password_unchanged": N_("Choose a password different from the current one"),
    "passwords_differ": N_("The two new passwords differ"),
    "policy_refused": N_("The policy refuses this"),
    "provider_not_active": N_("The provider is not active"),
    "provider_not_found": N_("No registered provider has this credit code"),
    "redemption_booked": N_("The service is still booked"),
    "redemption_cancelled": N_("The service was cancelled"),
    "redemption_clawed_back": N_("The service was clawed back"),
    "redemption_completed": N_("The service is already completed"),
    "return_exceeds_line": N_("The return is larger than the line"),
    "return_not_whole": N_("A bank returns a payment whole: give the line's amount"),
    "staff_reset_refused": N_("A staff password is reset only at the command line"),
    "too_many_attempts": N_("Too many failed sign-ins. Wait a while and try again"),
    "wrong_password": N_("The current password is wrong"),
    "wrong_programme_kind": N_("This programme is of another kind"),
    "zero_subsidy": N_("The subsidy rounds to zero"),
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
