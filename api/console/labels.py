"""Words the services return as codes (statuses, categories, bounds, error codes), marked for
translation: a page shows `code|label`, and an unknown code shows as itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from api.console import i18n
from api.console.i18n import N_
from ledger.core.money import format_yuan
from reports.names import (
    FLOW_NAMES,
    KIND_NAMES,
    REFUSAL_NAMES,
    TIER_NAMES,
    account_kind_name,
    refusal_name,
    tier_name,
)
from reports.names import operation_name as report_operation_name


def batch_status(code: str) -> str:
    """The label code of a batch's or its line's status: a cancelled batch reads 已撤销."""
    return "batch_cancelled" if code == "cancelled" else code


# How a batch list's status filter names its choices.
BATCH_WORDS = (("cancelled", "batch_cancelled"),)

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
    "released": N_("released"),
    "held": N_("held"),
    "returned": N_("returned"),
    "in_payment": N_("in payment"),
    # a batch withdrawn before release (a booking's "cancelled" reads otherwise)
    "batch_cancelled": N_("Cancelled"),
    "award": N_("Award"),
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
    # documents of applications
    "business_licence": N_("business licence"),
    "plan": N_("plan"),
    "award_certificate": N_("certification document"),
    # award levels
    "national": N_("national"),
    "provincial": N_("provincial"),
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
    "award-publicity": N_("Award publicity lists"),
    # 公示 lists and objections
    # a 公示 list's period and its objections ("pending" and "open" mean other things above)
    "publicity_scheduled": N_("publicity not started"),
    "publicity_open": N_("in publicity"),
    "publicity_ended": N_("publicity ended"),
    "objection_pending": N_("objection to decide"),
    "objection_upheld": N_("upheld"),
    "objection_dismissed": N_("dismissed"),
    # history directions
    "in": N_("in"),
    "out": N_("out"),
    # channels of the operation log
    "api": N_("API"),
    "cli": N_("command line"),
    "console": N_("console"),
    # what an operation or a journal reference is about (firm, provider, award, claim above)
    "application": N_("application"),
    "authorisation": N_("authorisation"),
    "batch": N_("payment batch"),
    "line": N_("line"),
    "import": N_("import"),
    "programme": N_("programme"),
    "redemption": N_("booking"),
    "sign_in_lock": N_("sign-in lock"),
    "award_publication": N_("award publicity list"),
    "award_objection": N_("objection to an award"),
    "user": N_("user"),
    "voucher": N_("voucher"),
    # journal flows and transfer kinds: the reports' words (reports/locale), one set for both
    **FLOW_NAMES,
    **KIND_NAMES,
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
    "award_not_published": N_("The award has not been published (公示); it is payable once "
                              "its publication period has ended."),
    "award_in_publicity": N_("The award is under publication (公示) until its period ends."),
    "award_objection_pending": N_("The award has an objection waiting for a decision."),
    "outside_publicity_period": N_("The day lies outside the publication period."),
    "objection_already_decided": N_("The objection was already decided."),
    "already_published": N_("The award is already on a publication list."),
    "nothing_to_publish": N_("The programme has no approved award to publish."),
    "no_publicity_rule": N_("The programme's policy states no publication period."),
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
    "too_many_attempts": N_("Too many failed sign-ins. Wait a while and try again."),
    "claim_filed": N_("The claim is still filed."),
    "claim_approved": N_("The claim is already approved."),
    "claim_rejected": N_("The claim was rejected."),
    "claim_paid": N_("The claim is already paid."),
    "award_approved": N_("The award is already approved."),
    "award_rejected": N_("The award was rejected."),
    "award_paid": N_("The award is already paid."),
    "outside_window": N_("No application window is open today."),
    "amount_not_allowed": N_("The window does not offer this amount."),
    "already_applied": N_("There is already an application for this."),
    "documents_missing": N_("A document is missing: a business licence scan and a plan."),
    "application_applied": N_("The application is still waiting for review."),
    "application_approved": N_("The application is already approved."),
    "application_rejected": N_("The application was rejected."),
    "application_refused": N_("The application was refused by the policy."),
    "wrong_password": N_("The current password is wrong."),
    "passwords_differ": N_("The two new passwords differ."),
    "password_unchanged": N_("Choose a password different from the current one."),
    "password_change_required": N_("Choose a new password first."),
    "staff_reset_refused": N_("A staff password is reset only at the command line."),
    "certification_not_new": N_("The certification is not new enough."),
    "certification_mismatch": N_("The firm holds this certification with another date."),
    "already_paid": N_("Already paid."),
    "nothing_to_pay": N_("Nothing approved is waiting to be paid."),
    "already_in_batch": N_("This line is already in an open batch."),
    "already_released": N_("The batch is already released."),
    "batch_not_released": N_("The batch waits for an approver's release."),
    "batch_not_paid": N_("The batch is not paid yet."),
    "batch_cancelled": N_("The batch was cancelled."),
    "not_batch_maker": N_("Only the batch's maker or an approver may cancel it."),
    "bank_account_missing": N_("The payee has no bank account in the registry."),
    "bank_details_not_corrected": N_("The bank returned this payment: correct the payee's bank "
                                     "account first."),
    "confirmation_total_mismatch": N_("The file's total differs from the batch's."),
    "confirmation_amount_mismatch": N_("A line's amount differs from the batch's."),
    "confirmation_wrong_batch": N_("The file confirms another batch."),
    "line_confirmed_twice": N_("A line is confirmed twice."),
    "line_not_in_batch": N_("The batch has no such line."),
    "return_exceeds_line": N_("The return is larger than the line."),
    "return_not_whole": N_("A bank returns a payment whole: give the line's amount."),
    "already_returned": N_("This line was already returned."),
    "import_rejected": N_("The file was refused: see the lines below."),
    "provider_not_found": N_("No registered provider has this credit code."),
    "authorisation_used": N_("This authorisation has been used."),
    "authorisation_withdrawn": N_("The firm withdrew this authorisation."),
    "authorisation_expired": N_("This authorisation has expired."),
    "authorisation_other_provider": N_("This authorisation names another provider."),
    "csrf_failed": N_("The form expired or did not come from this site. Reload and try again."),
}


# The commonest `invalid_input` refusals, known by the service's English message, in words
# a clerk reads (the code alone says only that a value was refused).
_INVALID_INPUT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^reason: (say why|1–500 characters)"), N_("Say why, in 1 to 500 characters.")),
    (re.compile(r"lies in the future"), N_("The date may not lie after today.")),
    (re.compile(r"^amount: at most the booked subsidy \((?P<fen>\d+) fen\)$"),
     N_("The amount may not exceed the booked subsidy of %(fen)s.")),
    (re.compile(r"at least one"), N_("Choose at least one, each once.")),
    (re.compile(r"is not a yuan amount|must not be negative|at most two decimals|"
                r"misplaced thousands separator|must be positive|write yuan as"),
     N_("Write an amount in yuan such as 12,345.67: not negative, at most two decimals.")),
    (re.compile(r"^from (?P<start>\d{4}-\d{2}-\d{2}) is after to (?P<end>\d{4}-\d{2}-\d{2})$"),
     N_("The period starts after it ends (%(start)s to %(end)s).")),
    (re.compile(r"^give as_of, or from and to, not both$"),
     N_("Give either an as-of day or a period, not both.")),
    (re.compile(r"needs the (firm|provider)'s id"),
     N_("Choose the firm or provider the statement is for.")),
    (re.compile(r": a record number$"), N_("A record number is written in digits.")),
    (re.compile(r"^program: the programme's code$"), N_("Choose a programme.")),
    (re.compile(r"^(?P<field>\w+): a whole number between (?P<low>\d+) and (?P<high>\d+)$"),
     N_("%(field)s: a whole number between %(low)s and %(high)s")),
    (re.compile(r"^(?P<field>\w+): one of (?P<choices>.+)$"), N_("%(field)s: one of %(choices)s")),
    (re.compile(r"^(?P<field>\w+): a date as YYYY-MM-DD$"), N_("%(field)s: a date as YYYY-MM-DD")),
    # A party's fields, as the form names them ("bank_account: …") or an import's row gives
    # the reason alone (the column is shown beside it).
    (re.compile(r"(^|: )must be 8–32 digits$"), N_("A bank account is 8 to 32 digits.")),
    (re.compile(r"(^|: )give the bank's name and the account together$"),
     N_("Give the bank's name and the account together.")),
    (re.compile(r"(^|: )(contains|may not contain) control characters$"),
     N_("No control characters (tabs, line breaks) here.")),
    (re.compile(r"(^|: )must not be empty$|^required$"), N_("This may not be empty.")),
    (re.compile(r"(^|: )at most (?P<n>\d+) characters$"), N_("At most %(n)s characters.")),
    (re.compile(r"is not one of Liaoning's 14 cities$"),
     N_("Choose one of Liaoning's 14 cities.")),
    (re.compile(r"(^|: )a shareholder is listed twice$"), N_("A shareholder is listed twice.")),
    (re.compile(r"(^|: )must be one of (?P<choices>.+)$"), N_("One of: %(choices)s.")),
    # The unified social credit code (ledger.registry.credit_code).
    (re.compile(r"must be (?P<length>\d+) characters, not (?P<got>\d+)$"),
     N_("A unified social credit code has %(length)s characters, not %(got)s.")),
    (re.compile(r"has a character outside GB 32100-2015"),
     N_("The credit code has a character GB 32100-2015 does not use (I, O, Z, S, V).")),
    (re.compile(r"check character is '(?P<got>.)' but the code's digits give '(?P<want>.)'$"),
     N_("The check character is %(got)s, but the code's digits give %(want)s: "
        "check for a typing error.")),
    # A CSV import's file as a whole, and a voucher row naming no registered firm.
    (re.compile(r"^(file too large|(\w+: )?the file is too large)$"),
     N_("The file is too large.")),
    (re.compile(r"^(\w+: )?choose a CSV file$"), N_("Choose a file to upload.")),
    (re.compile(r"^neither UTF-8 nor GB18030$"),
     N_("The file is neither UTF-8 nor GB18030 text: save it as CSV (UTF-8).")),
    (re.compile(r"^bad header$"), N_("The first line is not the expected header.")),
    (re.compile(r"^too many rows$"), N_("The file has too many rows.")),
    (re.compile(r"^no rows$"), N_("The file has no rows.")),
    (re.compile(r"^no (registered )?firm (?P<code>\S+)$"),
     N_("No registered firm has the credit code %(code)s.")),
    (re.compile(r"^required column is missing$"), N_("The file has no such column.")),
    (re.compile(r"^more than (?P<n>\d+) rows$"), N_("More than %(n)s rows.")),
    (re.compile(r"^(?P<cells>\d+) cells, the header has (?P<header>\d+)$"),
     N_("%(cells)s cells, where the header has %(header)s.")),
    (re.compile(r"^'(?P<value>[^']*)' is not one of (?P<choices>.+)$"),
     N_("%(value)s is not one of: %(choices)s.")),
    (re.compile(r"^1–64 printable characters$"), N_("1 to 64 printable characters.")),
    (re.compile(r"(^|: )each at most (?P<n>\d+) characters$"),
     N_("Each at most %(n)s characters.")),
    # An import's header and rows (ledger.registry.csv_files, party_import, awards.csv_import).
    (re.compile(r"^unknown column; known: (?P<known>.+)$"),
     N_("Unknown column; the columns are: %(known)s.")),
    (re.compile(r"^a column appears twice$"), N_("A column appears twice.")),
    (re.compile(r"^(the file is empty|a header line is required)"),
     N_("The file is empty: the first line must be the header.")),
    (re.compile(r"^(?P<kind>\w+): write kind@YYYY-MM-DD$"),
     N_("%(kind)s: write it as kind@YYYY-MM-DD.")),
    (re.compile(r"'(?P<value>[^']*)' is not a date YYYY-MM-DD$"),
     N_("%(value)s is not a date such as 2026-06-30.")),
    (re.compile(r"year must be between (?P<low>\d+) and (?P<high>\d+)$"),
     N_("The year lies between %(low)s and %(high)s.")),
    (re.compile(r"^a kind is listed twice$"), N_("A kind is listed twice.")),
    (re.compile(r"a category is listed twice$"), N_("A category is listed twice.")),
    (re.compile(r"already given on line (?P<line>\d+)$"),
     N_("Already given on line %(line)s.")),
    (re.compile(r"^at most (?P<n>\d+)$"), N_("At most %(n)s.")),
    (re.compile(r"is registered with other .*; change it through the API$"),
     N_("This credit code is registered with other details: change them on its page, not "
        "by import.")),
    (re.compile(r"is above the bound of (?P<bound>\d+) yuan$"),
     N_("The amount is above the bound of %(bound)s yuan.")),
    (re.compile(r"^no firm ?$"), N_("No registered firm has this credit code.")),
    (re.compile(r"a 小巨人 certification is national$"),
     N_("The level must be national: 小巨人 is a national certification.")),
    # The bank's confirmation file (ledger.payments.confirmation) and its confirmed lines.
    (re.compile(r"^line: the line's number"), N_("Write the line's number in digits.")),
    (re.compile(r"the bank's reference, 1–64 letters, digits or _\./-$"),
     N_("The bank's reference: 1 to 64 letters, digits or _ . / -")),
    (re.compile(r": a date such as \d{4}-\d{2}-\d{2}$"), N_("A date such as 2026-11-30.")),
    (re.compile(r"^batch: the batch's number$"), N_("Write the batch's number in digits.")),
    (re.compile(r"^not an XLSX workbook$"),
     N_("The file is not a readable XLSX workbook: save it again, or as CSV.")),
    (re.compile(r"the confirmed lines are incomplete"),
     N_("The lines to confirm came back incomplete: read the file again.")),
    (re.compile(r"certified_on lies after the application date$"),
     N_("The certification date lies after the application date.")),
)


# Why a request is not signed in (401 `not_authenticated`), by the service's English message;
# the first that matches.
_SIGN_IN: tuple[tuple[str, str], ...] = (
    ("wrong username or password", N_("Wrong username or password.")),
    ("sign in first", N_("Sign in first: send the token from the sign-in.")),
    ("Signature has expired", N_("The sign-in has expired: sign in again.")),
    ("signed out", N_("This sign-in was signed out: sign in again.")),
    ("signed before the password was last changed or reset",
     N_("The password was changed or reset since this sign-in: sign in again.")),
    ("disabled or their role changed",
     N_("The account is disabled, or its role changed: sign in again.")),
)


def sign_in_sentence(message: str, gettext: Callable[[str], str]) -> str:
    """The words for a 401: why the request is not signed in (any other token fault: the
    token is not valid)."""
    for fragment, msgid in _SIGN_IN:
        if fragment in message:
            return gettext(msgid)
    return gettext(N_("The sign-in token is not valid: sign in again."))


def invalid_input_sentence(message: str, gettext: Callable[[str], str]) -> str | None:
    """The words for an `invalid_input` refusal whose message is a known one, else None."""
    for pattern, msgid in _INVALID_INPUT:
        found = pattern.search(message)
        if found is not None:
            values = {name: _value_words(name, value, gettext)
                      for name, value in found.groupdict().items()}
            return gettext(msgid) % values if values else gettext(msgid)
    return None


def _value_words(name: str, value: str, gettext: Callable[[str], str]) -> str:
    """A part of a known message as the page writes it: an amount (`fen`) grouped in yuan
    (both languages group thousands with "," and mark decimals with "."), a list of
    `choices` by their labels, anything else (days, numbers) as written."""
    if name == "fen":
        return gettext("%(amount)s yuan") % {"amount": format_yuan(int(value))}
    if name == "choices":
        # By label with the code a file or a request writes (only the code is accepted
        # everywhere; "micro" alone where the label is the code itself).
        return gettext(", ").join(_choice(c, gettext)
                                  for c in (part.strip() for part in value.split(",")))
    if name == "bound":
        return format_yuan(int(value) * 100)
    return value


def _choice(code: str, gettext: Callable[[str], str]) -> str:
    label = gettext(LABELS[code]) if code in LABELS else code
    return code if label == code else gettext("%(label)s (%(code)s)") % {
        "label": label, "code": code}


def _gettext(msgid: str) -> str:
    """Translate with the page's catalogue; outside a page (the XLSX export) in Chinese."""
    page = i18n.current.get(None) or i18n.catalogue(i18n.DEFAULT_LANGUAGE)
    return page.gettext(msgid)


def _language() -> str:
    page = i18n.current.get(None)
    return page.language if page is not None else i18n.DEFAULT_LANGUAGE


def label_text(code: str) -> str:
    """A code's label in the page's language; an unknown code shows as itself."""
    return _gettext(LABELS[code]) if code in LABELS else code


def operation_name(action: str) -> str:
    """What an operation of the log did (`users.create.firm`: create a user · firm)."""
    return report_operation_name(action, _language())


def tier_or_label(code: str) -> str:
    """A code by its label; a certification kind without one by the reports' name."""
    if code in TIER_NAMES and code not in LABELS:
        return tier_name(code, _language())
    return label_text(code)


def certification_text(kind: str, year: int) -> str:
    """A firm's certification as a clerk reads it: 瞪羚企业 2025."""
    return f"{tier_name(kind, _language())} {year}"


def reference_text(ref: str) -> str:
    """A journal reference in words: `batch:1:line:2` reads 支付批次 1 行 2."""
    return " ".join(label_text(part) for part in ref.split(":"))


def account_text(code: str, owner: str | None = None) -> str:
    """An account code in words: `LN-CXQ-2026:budget` reads LN-CXQ-2026 · 可用预算; with its
    `owner` (the firm's or provider's name) in place of a party's number."""
    programme, _, rest = code.partition(":")
    kind, _, number = rest.partition(":")
    words = [programme, account_kind_name(kind, _language())] if kind else [programme]
    if owner and kind == "voucher":
        return " · ".join([*words, number, owner])  # the serial is what a clerk quotes
    if owner:
        return " · ".join([*words, owner])
    return " · ".join([*words, number] if number else words)


def _refusal_sentence(code: str | None, message: str | None) -> str:
    if code == "invalid_input" and message:
        known = invalid_input_sentence(message, _gettext)
        if known is not None:
            return known
    if code in ERRORS:
        return _gettext(ERRORS[code])
    if code in REFUSAL_NAMES:
        return refusal_name(code, _language())
    return message or ""


def refusal_text(code: str | None, message: str | None) -> str:
    """A refusal's sentence in the page's language, its code after it; the logged message
    only for a code without words in the catalogues."""
    sentence = _refusal_sentence(code, message)
    return f"{sentence} ({code})" if code else sentence


def refusal_html(code: str | None, message: str | None) -> Markup:
    """As `refusal_text`, the code set as <code> beside its sentence."""
    sentence = _refusal_sentence(code, message)
    return Markup("{} <code>{}</code>").format(sentence, code) if code else escape(sentence)


class Shown:
    """A value put into words when it is shown, in the page's language (a list's cell);
    `html` gives its markup on a page when plain words are not enough."""

    def __init__(self, words: Callable[..., str], *args: Any,
                 html: Callable[..., Markup] | None = None) -> None:
        self.words, self.args, self.html = words, args, html

    def __str__(self) -> str:
        return self.words(*self.args)

    def __html__(self) -> str:
        return str(self.html(*self.args) if self.html else escape(str(self)))
