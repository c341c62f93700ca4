"""Words the services return as codes (statuses, categories, bounds, error codes), marked for
translation: a page shows `code|label`, and an unknown code shows as itself."""

from __future__ import annotations

from api.console.i18n import N_

LABELS: dict[str, str] = {
    # roles
    "firm": N_("firm"),
    "provider": N_("provider"),
    "operator": N_("operator"),
    "approver": N_("approver"),
    "auditor": N_("auditor"),
    # voucher, redemption, claim, award, batch statuses
    "active": N_("active"),
    "expired": N_("expired"),
    "booked": N_("booked"),
    "completed": N_("completed"),
    "cancelled": N_("cancelled"),
    "clawed_back": N_("clawed back"),
    "filed": N_("filed"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "paid": N_("paid"),
    "withdrawn": N_("withdrawn"),
    "applied": N_("applied"),
    "created": N_("created"),
    # service categories
    "patent_application": N_("patent application"),
    "instrument_sharing": N_("instrument sharing"),
    "testing": N_("testing"),
    "rd_design": N_("R&D design"),
    "technology_transfer": N_("technology transfer"),
    # evidence kinds
    "contract": N_("contract"),
    "invoice": N_("invoice"),
    "service_report": N_("service report"),
    # what cut a subsidy
    "per_order_cap": N_("per-order cap"),
    "category_year_cap": N_("the firm's yearly cap in this category"),
    "firm_year_cap": N_("the firm's yearly cap"),
    "voucher_balance": N_("the voucher's balance"),
    # award tiers
    "gazelle": N_("gazelle"),
    "unicorn": N_("unicorn"),
    "little_giant": N_("little giant"),
    # trace outcomes
    "pass": N_("pass"),
    "fail": N_("fail"),
    "cut": N_("cut"),
    "info": N_("info"),
    "specialised": N_("specialised"),
    # yes / no, next steps
    "yes": N_("yes"),
    "no": N_("no"),
    "claim": N_("Claim"),
    "book": N_("Book"),
    "authorise": N_("Authorise"),
    # authorisation statuses (withdrawn and expired are above)
    "open": N_("open"),
    "used": N_("used"),
    # links
    "statement": N_("Statement (PDF)"),
    # operation outcomes
    "done": N_("done"),
    "refused": N_("refused"),
    # report kinds
    "certificate": N_("Integrity certificate"),
    "trial-balance": N_("Trial balance"),
    "audit": N_("Programme audit"),
    "firm-statement": N_("Firm statement"),
    "provider-statement": N_("Provider statement"),
    "exceptions": N_("Exceptions"),
    # history directions
    "in": N_("in"),
    "out": N_("out"),
}

# A sentence per stable error code, shown next to the field with the code itself.
ERRORS: dict[str, str] = {
    "invalid_input": N_("This value is not accepted."),
    "not_found": N_("No such record."),
    "already_exists": N_("This already exists."),
    "conflict": N_("This conflicts with the record's current state."),
    "insufficient_balance": N_("The voucher's balance is not enough."),
    "permission_denied": N_("You may not do this."),
    "self_approval": N_("You may not decide on your own work."),
    "policy_refused": N_("The policy refuses this."),
    "cap_exceeded": N_("A cap is used up."),
    "zero_subsidy": N_("The subsidy rounds to zero."),
    "related_party": N_("The firm and the provider are related parties."),
    "voucher_expired": N_("The voucher has expired."),
    "voucher_not_yet_valid": N_("The voucher is not valid yet."),
    "provider_not_registered": N_("The provider is not registered for this category."),
    "unknown_category": N_("Unknown service category."),
    "not_eligible": N_("The firm is not eligible."),
    "no_policy_in_force": N_("No policy is in force on this day."),
    "provider_not_active": N_("The provider is not active."),
    "firm_not_active": N_("The firm is not active."),
    "redemption_booked": N_("The service is still booked."),
    "redemption_completed": N_("The service is already completed."),
    "redemption_cancelled": N_("The service was cancelled."),
    "redemption_clawed_back": N_("The service was clawed back."),
    "already_confirmed": N_("Already confirmed."),
    "already_disputed": N_("Already disputed."),
    "not_completed": N_("The service is not completed."),
    "not_confirmed": N_("The firm has not confirmed the service yet."),
    "already_claimed": N_("This service is already claimed."),
    "evidence_missing": N_("Evidence is missing: a contract, an invoice and a service report."),
    "evidence_type": N_("Upload a PDF, JPEG or PNG file."),
    "evidence_too_large": N_("The file is too large."),
    "evidence_empty": N_("The file is empty."),
    "claim_late": N_("The claim deadline has passed."),
    "not_authenticated": N_("Wrong username or password."),
    "claim_filed": N_("The claim is still filed."),
    "claim_approved": N_("The claim is already approved."),
    "claim_rejected": N_("The claim was rejected."),
    "claim_paid": N_("The claim is already paid."),
    "award_approved": N_("The award is already approved."),
    "award_rejected": N_("The award was rejected."),
    "award_paid": N_("The award is already paid."),
    "provider_not_found": N_("No registered provider has this credit code."),
    "authorisation_used": N_("This authorisation has been used."),
    "authorisation_withdrawn": N_("The firm withdrew this authorisation."),
    "authorisation_expired": N_("This authorisation has expired."),
    "authorisation_other_provider": N_("This authorisation names another provider."),
    "csrf_failed": N_("The form expired or did not come from this site. Reload and try again."),
}
