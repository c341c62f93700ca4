"""The operator pays providers in batches (create from approved claims, the bank's CSV file,
mark paid) and imports the province's lists of newly certified firms as award applications."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form
from api.console.i18n import N_
from api.console.lists import Column, Listing, show_list
from api.console.pages.operator import OperatorUser, programme_codes, read_upload
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render
from api.downloads import bank_xlsx, csv_response, xlsx_response
from api.mutations import Done
from api.routes.programs import by
from api.schemas import Id
from ledger.awards.csv_import import COLUMNS as AWARD_COLUMNS
from ledger.awards.csv_import import import_awards
from ledger.core.db import transaction
from ledger.payments import batches as payments

router = console_router("/operator")

add_nav(N_("Payment batches"), "/operator/batches", "operator")
add_nav(N_("Award import"), "/operator/awards/import", "operator")


def batch_listing() -> Listing:
    """Payment batches, newest first."""
    return Listing(
        title=N_("Payment batches"),
        columns=(
            Column(N_("Batch"), lambda b: b.id, link=lambda b: f"/operator/batches/{b.id}"),
            Column(N_("Programme"), lambda b: b.programme),
            Column(N_("Claims"), lambda b: len(b.lines), "int"),
            Column(N_("Total (yuan)"), lambda b: b.total_fen, "yuan"),
            Column(N_("Created"), lambda b: b.created_at, "time"),
            Column(N_("Paid"), lambda b: b.paid_at, "time"),
            Column(N_("Status"), lambda b: b.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: payments.list_batches(s, limit=limit, offset=offset),
        filename="payment-batches",
    )


def _batches(request: Request, form: Form, status: int = 200) -> Response:
    return show_list(request, batch_listing(), template="operator/batches.html", form=form,
                     codes=programme_codes(request), status=status)


@router.get("/batches")
def batch_list(request: Request, user: OperatorUser) -> Response:
    """Every payment batch, and the form that batches a programme's approved claims."""
    return _batches(request, Form({"programme": ""}))


@router.post("/batches")
def create_batch(request: Request, user: OperatorUser) -> Response:
    """Batch every approved, unbatched claim of a programme (held until marked paid)."""
    form = read_form(request)
    code = form.get("programme")

    def effect(session: Session) -> Done:
        return Done(201, None, payments.create_batch(session, code, by=by(user)).id)

    return submit(request, user, form,
                  Action("payments.batch", "batch",
                         by_code={"not_found": "programme", "nothing_to_pay": "programme"}),
                  effect, done=lambda done: redirect(f"/operator/batches/{done.object_id}"),
                  again=lambda refused, status: _batches(request, refused, status=status))


@router.get("/batches/{batch_id}")
def batch_detail(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """One batch: its lines, the bank file and, until paid, the button that marks it paid."""
    with transaction(request.app.state.reader) as session:
        batch = payments.get_batch(session, batch_id)
    return render(request, "operator/batch.html", batch=batch, form=Form())


@router.get("/batches/{batch_id}/bank.csv")
def bank_csv(request: Request, user: OperatorUser, batch_id: Id) -> Response:
    """The batch as the bank's CSV file (UTF-8 with a BOM, or `?encoding=gb18030`)."""
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
    """The bank has paid the batch: every hold is posted and its claims are paid."""
    def effect(session: Session) -> Done:
        return Done(200, None, payments.mark_paid(session, batch_id, by=by(user)).id)

    def again(refused: Form, status: int) -> Response:
        with transaction(request.app.state.reader) as session:
            batch = payments.get_batch(session, batch_id)
        return render(request, "operator/batch.html", status=status, batch=batch, form=refused)

    return submit(request, user, Form(), Action("payments.paid", "batch", batch_id), effect,
                  done=f"/operator/batches/{batch_id}", again=again)


# ------------------------------------------------------------------------------ awards


def _awards_page(request: Request, form: Form, *, status: int = 200, **context: object
                 ) -> Response:
    return render(request, "operator/award_import.html", status=status, form=form,
                  codes=programme_codes(request), columns=AWARD_COLUMNS, **context)


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
