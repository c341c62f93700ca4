"""The operator pays in batches (choose approved claims and awards, the bank's CSV file once
an approver released it, marked paid with the bank's reference or confirmation file, bank
returns) and imports the province's lists of newly certified firms as award applications."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form
from api.console.i18n import N_
from api.console.labels import BATCH_WORDS, batch_status
from api.console.lists import Column, Filter, Listing, show_list
from api.console.pages.batch_cancel import cancel_submit
from api.console.pages.operator import OperatorUser, programme_codes, read_upload, refuse_each
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render
from api.downloads import bank_xlsx, csv_response, xlsx_response
from api.mutations import Done
from api.problems import status_of
from api.routes.programs import by
from api.schemas import Id
from ledger.awards.csv_import import COLUMNS as AWARD_COLUMNS
from ledger.awards.csv_import import import_awards
from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.core.errors import DomainError, InvalidInput
from ledger.core.money import yuan_to_fen
from ledger.core.search import read_query
from ledger.payments import batches as payments
from ledger.payments import confirmation, reconciliation, returns
from ledger.payments.confirmation import check_reference, check_value_date, read_confirmation
from ledger.registry.firms import FIRMS
from ledger.registry.names import actor_names
from ledger.registry.providers import PROVIDERS
from rules.schema import CATEGORIES, TIERS

router = console_router("/operator")

add_nav(N_("Payment batches"), "/operator/batches", "operator")
add_nav(N_("Award import"), "/operator/awards/import", "operator")


def batch_listing() -> Listing:
    """Payment batches, newest first, optionally of one status."""
    return Listing(
        title=N_("Payment batches"),
        columns=(
            Column(N_("Batch"), lambda b: b.id, link=lambda b: f"/operator/batches/{b.id}"),
            Column(N_("Programme"), lambda b: b.programme),
            Column(N_("Lines"), lambda b: len(b.lines), "int"),
            Column(N_("Total (yuan)"), lambda b: b.total_fen, "yuan"),
            Column(N_("Created"), lambda b: b.created_at, "time"),
            Column(N_("Released"), lambda b: b.released_at, "time"),
            Column(N_("Paid"), lambda b: b.paid_at, "time"),
            Column(N_("Status"), lambda b: batch_status(b.status), "label"),
        ),
        fetch=lambda s, limit, offset, f: payments.list_batches(
            s, limit=limit, offset=offset, status=f.get("status")),
        filters=(Filter("status", N_("Status"), payments.STATUSES, words=BATCH_WORDS),),
        filename="payment-batches",
    )


@router.get("/batches")
def batch_list(request: Request, user: OperatorUser) -> Response:
    """Every payment batch, and the way to build a new one from chosen lines."""
    return show_list(request, batch_listing(), template="operator/batches.html")


SELECT_FIELDS = ("programme", "kind", "payee", "category", "min_amount", "max_amount",
                 "approved_from", "approved_to")


def _wanted(form: Form) -> payments.PayableFilter:
    """The selection page's filters as the service takes them (a bad value is refused)."""
    def day(name: str) -> dt.date | None:
        raw = form.get(name)
        try:
            return dt.date.fromisoformat(raw) if raw else None
        except ValueError as exc:
            raise InvalidInput(f"{name}: a date such as 2026-06-30", field=name) from exc

    return payments.PayableFilter(
        kind=form.get("kind") or None, payee_q=read_query(form.get("payee"), "payee"),
        category=form.get("category") or None,
        min_fen=yuan_to_fen(form.get("min_amount"), field="min_amount")
        if form.get("min_amount") else None,
        max_fen=yuan_to_fen(form.get("max_amount"), field="max_amount")
        if form.get("max_amount") else None,
        approved_from=day("approved_from"), approved_to=day("approved_to"))


def _selection(request: Request, form: Form, *, status: int = 200,
               chosen: tuple[str, ...] = ()) -> Response:
    """The lines that can be chosen under the filters in `form`, with those `chosen` ticked."""
    codes = programme_codes(request)
    code = form.get("programme") or (codes[0] if codes else "")
    form.values["programme"] = code
    offset = request.query_params.get("offset", "0")
    page, waiting = None, {}
    if code:
        try:
            with transaction(request.app.state.reader) as session:
                page = payments.list_payable(session, code, _wanted(form), limit=100,
                                             offset=int(offset) if offset.isdecimal() else 0)
                # Awards not yet through their 公示 are not offered; say how many and why.
                waiting = payments.awards_waiting(session, code) \
                    if form.get("kind") != "claim" else {}
        except DomainError as exc:
            form.refuse(exc)
    return render(request, "operator/batch_new.html", status=status, form=form, codes=codes,
                  page=page, waiting=waiting, chosen=set(chosen), kinds=("claim", "award"),
                  categories=(*CATEGORIES, *TIERS))


@router.get("/batches/new")
def batch_new(request: Request, user: OperatorUser) -> Response:
    """Choose the lines of a new batch: approved claims and awards in no open batch (awards
    once their 公示 has ended; those still waiting are counted with their reason)."""
    return _selection(request, Form({k: request.query_params.get(k, "")
                                     for k in SELECT_FIELDS}))


@router.post("/batches/new")
def create_batch(request: Request, user: OperatorUser) -> Response:
    """Batch the chosen lines (all or none); the batch then waits for an approver."""
    form = read_form(request)
    chosen = tuple(str(v) for v in request.state.form.getlist("line"))
    code = form.get("programme")

    def effect(session: Session) -> Done:
        claim_ids = [int(v.split(":")[1]) for v in chosen
                     if v.startswith("claim:") and v[6:].isdecimal()]
        award_ids = [int(v.split(":")[1]) for v in chosen
                     if v.startswith("award:") and v[6:].isdecimal()]
        if not claim_ids and not award_ids:
            raise InvalidInput("line: choose at least one line", field="line")
        view = payments.create_batch(session, code, by=by(user), claim_ids=claim_ids or None,
                                     award_ids=award_ids or None)
        return Done(201, None, view.id)

    return submit(request, user, form,
                  Action("payments.create", "batch", by_code={"not_found": "programme"}),
                  effect, done=lambda done: redirect(f"/operator/batches/{done.object_id}"),
                  again=lambda refused, status: _selection(request, refused, status=status,
                                                           chosen=chosen))


def _people(session: Session, batch: payments.BatchView) -> dict[str, str]:
    """Who created, released and paid the batch, by name."""
    return actor_names(session, [batch.created_by, batch.released_by, batch.paid_by,
                                 batch.cancelled_by])


def _batch_page(request: Request, batch_id: int, form: Form, *, status: int = 200,
                **context: object) -> Response:
    with transaction(request.app.state.reader) as session:
        batch = payments.get_batch(session, batch_id)
        report = reconciliation.reconcile_batch(session, batch_id)
        people = _people(session, batch)
    return render(request, "operator/batch.html", status=status, batch=batch, report=report,
                  people=people,
                  form=form, **context)


@router.get("/batches/{batch_id}")
def batch_detail(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """One batch: its lines; once released the bank file and the ways to mark it paid; once
    paid the bank returns and the reconciliation."""
    return _batch_page(request, batch_id, Form({"value_date": today().isoformat()}))


@router.get("/batches/{batch_id}/bank.csv")
def bank_csv(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """The released batch as the bank's CSV file (UTF-8 with a BOM, or `?encoding=gb18030`)."""
    with transaction(request.app.state.reader) as session:
        text = payments.bank_file(session, batch_id)
    return csv_response(text, f"batch-{batch_id}.csv", request.query_params.get("encoding"))


@router.get("/batches/{batch_id}/bank.xlsx")
def bank_xlsx_download(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """The bank file's rows as a workbook."""
    with transaction(request.app.state.reader) as session:
        text = payments.bank_file(session, batch_id)
    return xlsx_response(bank_xlsx(text, batch_id), f"batch-{batch_id}.xlsx")


@router.post("/batches/{batch_id}/paid")
def mark_paid(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """The bank paid the whole batch under one reference: asked once more, then recorded."""
    form = read_form(request)
    if form.get("confirm") != "yes":
        try:
            check_reference(form.get("reference"))
            check_value_date(form.get("value_date"))
        except DomainError as exc:
            form.refuse(exc)
            return _batch_page(request, batch_id, form, status=status_of(exc))
        return _batch_page(request, batch_id, form, confirming="batch")

    def effect(session: Session) -> Done:
        view = confirmation.mark_paid(session, batch_id, by=by(user),
                                      reference=form.get("reference"),
                                      value_date=form.get("value_date"))
        return Done(200, None, view.id)

    return submit(request, user, form, Action("payments.paid", "batch", batch_id), effect,
                  done=f"/operator/batches/{batch_id}",
                  again=lambda refused, status: _batch_page(request, batch_id, refused,
                                                            status=status))


# The confirmation page's hidden fields: one value per line of the file as it was read.
_ROW_FIELDS = ("row_line", "row_amount", "row_reference", "row_value_date")


def _confirmed_rows(columns: list[list[str]]) -> list[confirmation.Confirmed]:
    """The lines the confirmation page sent back, checked again (they travel through the
    browser): InvalidInput when a line's number is not one or the columns differ in length."""
    if len({len(column) for column in columns}) != 1:
        raise InvalidInput("file: the confirmed lines are incomplete; read the file again",
                           field="file")
    rows = []
    for line, amount, reference, day in zip(*columns, strict=True):
        if not line.isdecimal() or len(line) > 9:
            raise InvalidInput("line: the line's number", field="file")
        rows.append(confirmation.Confirmed(int(line), yuan_to_fen(amount),
                                           check_reference(reference), check_value_date(day)))
    return rows


@router.post("/batches/{batch_id}/confirmation")
def confirm_file(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """The bank's confirmation file: read and shown line by line, then confirmed once more."""
    form = read_form(request)
    if form.get("confirm") != "yes":
        try:
            rows, batches = read_confirmation(read_upload(request))
            with transaction(request.app.state.reader) as session:
                confirmation.check_lines(session, batch_id, rows, batch_in_file=batches)
        except DomainError as exc:
            refuse_each(form, exc)
            # Each refused line with its reason, as the imports show them.
            return _batch_page(request, batch_id, form, status=status_of(exc),
                               refused_rows=form.rows)
        return _batch_page(request, batch_id, form, confirming="file", rows=rows)
    posted = request.state.form

    def effect(session: Session) -> Done:
        rows = _confirmed_rows([posted.getlist(name) for name in _ROW_FIELDS])
        return Done(200, None, confirmation.confirm_lines(session, batch_id, rows,
                                                          by=by(user)).id)

    return submit(request, user, form, Action("payments.confirmation", "batch", batch_id),
                  effect, done=f"/operator/batches/{batch_id}",
                  again=lambda refused, status: _batch_page(request, batch_id, refused,
                                                            status=status))


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """Withdraw a batch not yet released, with a reason: asked once more, then cancelled."""
    return cancel_submit(request, user, batch_id, "/operator/batches",
                         lambda form, status, **context: _batch_page(
                             request, batch_id, form, status=status, **context))


@router.post("/batches/{batch_id}/returns")
def record_return(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """A line the bank sent back (退票), with its reason: owed again by a linked reversal."""
    form = read_form(request)

    def effect(session: Session) -> Done:
        line = form.get("line")
        if not line.isdecimal():
            raise InvalidInput("line: the line's number", field="line")
        returns.record_return(session, batch_id, int(line),
                              amount_fen=yuan_to_fen(form.get("amount")),
                              reason=form.get("reason"), by=by(user))
        return Done(200, None, batch_id)

    return submit(request, user, form, Action("payments.return", "batch", batch_id), effect,
                  done=f"/operator/batches/{batch_id}",
                  again=lambda refused, status: _batch_page(request, batch_id, refused,
                                                            status=status))


@router.post("/batches/{batch_id}/payee-bank")
def correct_bank(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """Correct a returned line's payee's bank account, so that it can be paid again."""
    form = read_form(request)
    kind = PROVIDERS if form.get("payee_kind") == "provider" else FIRMS

    def effect(session: Session) -> Done:
        payee = form.get("payee_id")
        if not payee.isdecimal():
            raise InvalidInput("payee_id: a number", field="payee_id")
        kind.set_bank_account(session, int(payee), form.get("bank_name"),
                              form.get("bank_account"))
        return Done(200, None, int(payee))

    return submit(request, user, form,
                  Action(f"{kind.noun}s.bank_account", kind.noun, form.get("payee_id")),
                  effect, done=f"/operator/batches/{batch_id}",
                  again=lambda refused, status: _batch_page(request, batch_id, refused,
                                                            status=status))


# ------------------------------------------------------------------------------ awards


def _awards_page(request: Request, form: Form, *, status: int = 200, **context: object
                 ) -> Response:
    return render(request, "operator/award_import.html", status=status, form=form,
                  codes=programme_codes(request, "award"), columns=AWARD_COLUMNS, **context)


@router.get("/awards/import")
def award_import_page(request: Request, user: OperatorUser) -> Response:
    """Upload the province's list of newly certified firms for an award programme."""
    return _awards_page(request, Form({"programme": ""}))


@router.post("/awards/import")
def award_import(request: Request, user: OperatorUser) -> Response:
    """One application per new row, decided by the policy; all rows or none."""
    form = read_form(request)
    code = form.get("programme")

    def effect(session: Session) -> Done:
        return Done(200, import_awards(session, code, read_upload(request), by=by(user)), code)

    return submit(
        request, user, form,
        Action("awards.import", "import", code, by_code={"not_found": "programme"}), effect,
        done=lambda done: _awards_page(request, Form({"programme": code}), imported=done.body),
        again=lambda refused, status: _awards_page(request, refused, status=status,
                                                   rows=refused.rows))
