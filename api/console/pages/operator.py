"""The operator's pages: the programme dashboard (budget, chart, by city and by category) with
appropriation, vouchers issued singly or by CSV, and expiry previewed before it is run.

Registering firms and providers is in operator_parties.py; payment batches and award imports
in operator_payments.py. Helpers every operator page uses (programme choices, uploads, the
rows an import refused) live here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import FieldError, Form, read_form, uploads
from api.console.i18n import N_
from api.console.labels import ERRORS, LABELS
from api.console.lists import SEARCH, Column, Filter, Listing, search_text, show_list
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render, set_home
from api.mutations import Done, perform
from api.problems import status_of
from api.routes.programs import by
from api.schemas import Id
from api.voucher_schemas import fen
from ledger.budget import budget as budget_position
from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.core.errors import DomainError, InvalidInput, NotFound
from ledger.programmes import programme as programs
from ledger.reading import dashboard
from ledger.registry.credit_code import normalise_credit_code
from ledger.registry.csv_files import MAX_BYTES
from ledger.registry.firms import FIRMS
from ledger.registry.parties import LIAONING_CITIES
from ledger.registry.users import UserView
from ledger.vouchers import expiry
from ledger.vouchers import voucher as vouchers
from ledger.vouchers.csv_import import import_vouchers

router = console_router("/operator")
OperatorUser = Annotated[UserView, Depends(signed_in("operator"))]

add_nav(N_("Dashboard"), "/operator", "operator")
add_nav(N_("Vouchers"), "/operator/vouchers", "operator")
add_nav(N_("Issue vouchers"), "/operator/vouchers/issue", "operator")
add_nav(N_("Expiry"), "/operator/expiry", "operator")
set_home("operator", "/operator")

# Codes the operator's pages show, beside the common ones in labels.py.
LABELS.update({
    "micro": N_("micro"), "small": N_("small"), "medium": N_("medium"), "large": N_("large"),
    "suspended": N_("suspended"), "blacklisted": N_("blacklisted"),
    "tech_sme": N_("technology-based SME"), "chuying": N_("chuying (young eagle)"),
    "national": N_("national"), "provincial": N_("provincial"),
})
ERRORS.update({
    "import_rejected": N_("The file was refused; nothing was written. See the rows below."),
    "budget_exhausted": N_("The programme's free budget cannot cover this."),
    "invalid_amount": N_("The amount is not accepted."),
    "nothing_to_pay": N_("There is no approved claim to pay."),
    "already_paid": N_("Already paid."),
    "claim_not_approved": N_("The claim is not approved."),
    "wrong_programme_kind": N_("This programme is of another kind."),
    "certification_not_new": N_("The certification is not new."),
    "already_awarded": N_("This award was already granted."),
    "unknown_tier": N_("Unknown award tier."),
})

# Where an issue refusal shows: by the field it concerns, else at the top of the form.
ISSUE_CODES = {"cap_exceeded": "amount", "invalid_amount": "amount", "budget_exhausted": "amount",
               "not_eligible": "firm", "firm_not_active": "firm",
               "no_policy_in_force": "programme"}
CHART = (  # the budget figures the chart shows, in this order
    ("appropriated", N_("Appropriated")), ("issued", N_("Issued")), ("held", N_("Held")),
    ("redeemed", N_("Redeemed, unpaid")), ("awarded", N_("Approved awards, unpaid")),
    ("expired", N_("Expired")), ("in_payment", N_("In payment")),
    ("paid", N_("Paid")), ("free", N_("Free")),
)
PREVIEW_ROWS = 200


# ------------------------------------------------------------------------------ helpers


def programme_codes(request: Request, kind: str | None = None) -> tuple[str, ...]:
    """Every programme's code (a bureau has a handful), or those of one `kind` (voucher,
    award) for a form that takes only those, for the pickers."""
    with transaction(request.app.state.reader) as session:
        return codes_in(session, kind)


def codes_in(session: Session, kind: str | None = None) -> tuple[str, ...]:
    """As `programme_codes`, read in a page's own session."""
    # Voucher programmes first: the dashboard and the issue form open on the first one.
    ordered = sorted(programs.programme_codes(session),
                     key=lambda cp: (programs.programme_kind(cp[1]) != "voucher", cp[0]))
    return tuple(code for code, policy in ordered
                 if kind is None or programs.programme_kind(policy) == kind)


def read_upload(request: Request, name: str = "file") -> bytes:
    """The bytes of the uploaded file `name`; InvalidInput by that field when none or too big."""
    chosen = uploads(request).get(name)
    if chosen is None:
        raise InvalidInput(f"{name}: choose a CSV file", field=name)
    data = chosen.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{name}: the file is too large", field=name)
    return data


def refuse_each(form: Form, exc: DomainError, fields: dict[str, str] | None = None,
                by_code: dict[str, str] | None = None) -> Form:
    """As Form.refuse, and every other field problem the service listed by its field too."""
    form.refuse(exc, fields=fields, by_code=by_code)
    for problem in exc.detail.get("errors") or ():
        name = problem.get("field") if isinstance(problem, dict) else None
        if isinstance(name, str) and name in form.values and name not in form.errors:
            form.errors[name] = FieldError(exc.code, str(problem.get("reason", "")))
    return form


def parse_day(raw: str, name: str) -> dt.date:
    """A YYYY-MM-DD date from a form, InvalidInput by the field otherwise."""
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: a date as YYYY-MM-DD", field=name) from None


def _chosen(request: Request, codes: tuple[str, ...]) -> str | None:
    wanted = request.query_params.get("programme", "")
    if wanted and wanted not in codes:
        raise NotFound(f"no programme {wanted}", programme=wanted)
    return wanted or (codes[0] if codes else None)


# ------------------------------------------------------------------------------ dashboard


@dataclass(frozen=True)
class Bar:
    """A bar of the budget chart: its label (message id), amount in fen and length in %."""

    key: str
    label: str
    fen: int
    percent: float


def chart(budget: programs.Budget) -> list[Bar]:
    """The budget figures as bars scaled to the largest."""
    values = [(key, text, int(getattr(budget, key))) for key, text in CHART]
    top = max([v for _, _, v in values] + [1])
    return [Bar(key, text, v, round(max(v, 0) * 100 / top, 2)) for key, text, v in values]


def _dashboard(request: Request, form: Form, status: int = 200) -> Response:
    codes = programme_codes(request)
    code = form.get("programme") or _chosen(request, codes)
    context: dict[str, Any] = {"codes": codes, "code": code, "form": form}
    if code:
        with transaction(request.app.state.reader) as session:
            budget = budget_position(session, code)
            context.update(programme=programs.get_programme(session, code), budget=budget,
                           bars=chart(budget), cities=dashboard.by_city(session, code),
                           categories=dashboard.by_category(session, code))
    return render(request, "operator/dashboard.html", status=status, **context)


@router.get("")
def dashboard_page(request: Request, user: OperatorUser) -> Response:
    """The programme dashboard: where the budget is, by city and by category (`?programme=`)."""
    return _dashboard(request, Form({"programme": "", "amount": "", "memo": ""}))


@router.post("/appropriate")
def appropriate(request: Request, user: OperatorUser) -> Response:
    """Add budget to a programme: `P:budget` ← `P:funding`."""
    form = read_form(request)
    code = form.get("programme")

    def effect(session: Session) -> Done:
        amount = fen(form.get("amount"), "amount")
        programs.appropriate(session, code, amount, by=by(user), memo=form.get("memo"))
        return Done(201, None, code)

    return submit(request, user, form,
                  Action("programs.appropriate", "programme", code,
                         by_code={"not_found": "programme"}),
                  effect, done=f"/operator?programme={code}",
                  again=lambda refused, status: _dashboard(request, refused, status=status))


# ------------------------------------------------------------------------------ vouchers


def voucher_listing(codes: tuple[str, ...]) -> Listing:
    """Every voucher, newest first, filtered by programme, status and the firm's city."""
    return Listing(
        title=N_("Vouchers"),
        columns=(
            Column(N_("Voucher"), lambda v: v.serial, link=lambda v: f"/operator/vouchers/{v.id}"),
            Column(N_("Programme"), lambda v: v.programme),
            Column(N_("Firm"), lambda v: v.firm_name),
            Column(N_("Amount issued (yuan)"), lambda v: v.amount_fen, "yuan"),
            Column(N_("Available (yuan)"), lambda v: v.available_fen, "yuan"),
            Column(N_("Held (yuan)"), lambda v: v.held_fen, "yuan"),
            Column(N_("Spent (yuan)"), lambda v: v.spent_fen, "yuan"),
            Column(N_("Expired (yuan)"), lambda v: v.expired_fen, "yuan"),
            Column(N_("Issued on"), lambda v: v.issued_on, "date"),
            Column(N_("Expires on"), lambda v: v.expires_on, "date"),
            Column(N_("Status"), lambda v: v.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: vouchers.list_vouchers(
            s, limit=limit, offset=offset, programme=f.get("programme"),
            status=f.get("status"), city=f.get("city"), q=search_text(f)),
        filters=(SEARCH, Filter("programme", N_("Programme"), codes),
                 Filter("status", N_("Status"), ("active", "expired")),
                 Filter("city", N_("City"), LIAONING_CITIES)),
        filename="vouchers",
    )


ACTIONS_VOUCHERS = (("/operator/vouchers/issue", N_("Issue vouchers")),)


@router.get("/vouchers")
def voucher_list(request: Request, user: OperatorUser) -> Response:
    """Every voucher with its balance (XLSX with ?format=xlsx)."""
    return show_list(request, lambda session: voucher_listing(codes_in(session)),
                     template="operator/list.html", actions=ACTIONS_VOUCHERS)


def _issue_page(request: Request, form: Form, upload: Form, *, status: int = 200,
                decision: dict[str, object] | None = None,
                rows: list[dict[str, Any]] | None = None) -> Response:
    return render(request, "operator/issue.html", status=status, form=form, upload=upload,
                  codes=programme_codes(request, "voucher"), decision=decision,
                  rows=rows or [])


def _blank_issue(programme: str = "") -> Form:
    return Form({"programme": programme, "firm": "", "amount": ""})


@router.get("/vouchers/issue")
def issue_page(request: Request, user: OperatorUser, programme: str = "") -> Response:
    """Issue a voucher to a firm, or a file of them."""
    return _issue_page(request, _blank_issue(programme), Form({"programme": programme}))


def _firm_id(session: Session, raw: str) -> int:
    """The firm named by its number or its 18-character credit code."""
    if raw.isdecimal() and len(raw) < 18:
        return int(raw)
    code = normalise_credit_code(raw)
    found = FIRMS.find_ids(session, [code]).get(code) if code else None
    if found is None:
        raise NotFound(f"no firm {raw!r}", field="firm")
    return found


def _chosen_programme(code: str) -> None:
    """A form's programme must be chosen (an empty choice is not a missing record)."""
    if not code:
        raise InvalidInput("program: the programme's code", field="programme")


@router.post("/vouchers/issue")
def issue(request: Request, user: OperatorUser) -> Response:
    """Issue one voucher; a refusal shows the policy's decision and its trace."""
    form = read_form(request)
    code = form.get("programme")

    def effect(session: Session) -> Done:
        _chosen_programme(code)
        if not form.get("firm"):
            raise InvalidInput("firm: the firm's number or credit code", field="firm")
        amount = fen(form.get("amount"), "amount")
        view = vouchers.issue_voucher(session, code, _firm_id(session, form.get("firm")),
                                      amount, by=by(user))
        return Done(201, None, view.id)

    def refuse(refused: Form, exc: DomainError) -> None:
        missing = "programme" if "programme" in exc.detail else "firm"
        refused.refuse(exc, by_code={**ISSUE_CODES, "not_found": missing})

    def again(refused: Form, status: int) -> Response:
        return _issue_page(request, refused, Form({"programme": code}), status=status,
                           decision=refused.refusal.get("decision"))  # type: ignore[arg-type]

    return submit(request, user, form, Action("vouchers.issue", "voucher"), effect,
                  done=lambda done: redirect(f"/operator/vouchers/{done.object_id}"),
                  again=again, refuse=refuse)


@router.post("/vouchers/import")
def issue_csv(request: Request, user: OperatorUser) -> Response:
    """Issue a voucher per row of a CSV file (credit_code,amount): every row or none."""
    upload = read_form(request)
    code = upload.get("programme")

    def effect(session: Session) -> Done:
        _chosen_programme(code)
        return Done(201, import_vouchers(session, code, read_upload(request), by=by(user)), code)

    return submit(
        request, user, upload,
        Action("vouchers.import", "import", code, by_code={"not_found": "programme"}), effect,
        done=lambda done: render(request, "operator/issued.html", programme=code,
                                 ids=done.body.ids, imported=done.body),
        again=lambda refused, status: _issue_page(
            request, _blank_issue(code), refused, status=status,
            rows=refused.rows))


@router.get("/vouchers/{voucher_id}")
def voucher_detail(request: Request, user: OperatorUser, voucher_id: Id) -> Response:
    """One voucher with every movement on it."""
    with transaction(request.app.state.reader) as session:
        voucher = vouchers.get_voucher(session, voucher_id)
        history = vouchers.voucher_history(session, voucher_id)
    return render(request, "operator/voucher.html", voucher=voucher, history=history)


# ------------------------------------------------------------------------------ expiry


class _DryRun(Exception):
    """Carries a preview's result out of the transaction it rolls back."""

    def __init__(self, result: object) -> None:
        super().__init__("dry run")
        self.result = result


def _expire(session: Session, code: str, day: dt.date, user: UserView
            ) -> tuple[expiry.ExpiryResult, list[dashboard.ExpiredLine]]:
    """Run expiry and read back which vouchers it returned (the entries it just posted)."""
    before = dashboard.last_entry_id(session)
    result = expiry.expire(session, code, as_of=day, by=by(user))
    return result, dashboard.expired_since(session, code, before, limit=PREVIEW_ROWS)


def _expiry_page(request: Request, form: Form, *, status: int = 200, **context: Any) -> Response:
    return render(request, "operator/expiry.html", status=status, form=form,
                  codes=programme_codes(request, "voucher"), **context)


@router.get("/expiry")
def expiry_page(request: Request, user: OperatorUser, programme: str = "") -> Response:
    """Expiry: choose the programme and the day, preview, then confirm."""
    return _expiry_page(request, Form({"programme": programme, "as_of": today().isoformat()}))


@router.post("/expiry")
def run_expiry(request: Request, user: OperatorUser) -> Response:
    """`action=preview`: what would expire, by running expiry in a transaction that is rolled
    back (nothing moves, nothing is logged); `action=confirm`: run it for real."""
    form = read_form(request)
    code = form.get("programme")
    try:
        if not code:
            raise InvalidInput("programme: choose a programme", field="programme")
        day = parse_day(form.get("as_of"), "as_of")
        if form.get("action") == "confirm":
            done = perform(request, user, action="programs.expire", object_type="programme",
                           object_id=code,
                           effect=lambda s: Done(200, _expire(s, code, day, user), code))
            result, lines = done.body
            return _expiry_page(request, form, result=result, lines=lines, confirmed=True)
        try:
            with transaction(request.app.state.sessions) as session:
                raise _DryRun(_expire(session, code, day, user))
        except _DryRun as dry:
            result, lines = dry.result  # type: ignore[misc]
        return _expiry_page(request, form, result=result, lines=lines, confirmed=False)
    except DomainError as exc:
        form.refuse(exc, by_code={"not_found": "programme"})
        return _expiry_page(request, form, status=status_of(exc))

