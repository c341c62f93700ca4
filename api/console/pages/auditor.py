"""The auditor's pages: the journal (filtered, keyset-paginated), one entry with its transfers
and hash, any account's balance as of a date, the verify result with the head hash, the
operation log, and every report as PDF."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form
from api.console.i18n import N_
from api.console.labels import Shown, operation_name, reference_text, refusal_html, refusal_text
from api.console.lists import Column, Filter, Listing, show_list
from api.console.pages.operator import codes_in, parse_day
from api.console.session import signed_in
from api.console.web import add_nav, console_router, render, set_home
from api.problems import status_of
from api.schemas import Id
from ledger.core import oplog
from ledger.core.accounts import Balance, balance, balance_as_of
from ledger.core.acting import SHANGHAI
from ledger.core.db import transaction
from ledger.core.errors import DomainError
from ledger.core.journal import get_entry
from ledger.core.paging import Cursor, Slice
from ledger.core.verify import verify
from ledger.reading.account_names import account_owners
from ledger.reading.journal_pages import EntryLine, journal_slice
from ledger.reading.operation_pages import operations_page
from ledger.registry.names import actor_names, party_choices
from ledger.registry.users import UserView
from reports.catalogue import KINDS, PARTY_KINDS

router = console_router("/auditor")
AuditorUser = Annotated[UserView, Depends(signed_in("auditor"))]

add_nav(N_("Journal"), "/auditor", "auditor")
add_nav(N_("Account balance"), "/auditor/balance", "auditor")
add_nav(N_("Verify"), "/auditor/verify", "auditor")
add_nav(N_("Operation log"), "/auditor/operations", "auditor")
add_nav(N_("Reports"), "/auditor/reports", "auditor")
set_home("auditor", "/auditor")


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of `day` in Beijing, where the bureau's days begin."""
    return dt.datetime.combine(day, dt.time(), SHANGHAI)


def _journal(session: Session, limit: int, cursor: Cursor, f: dict[str, str]) -> Slice[EntryLine]:
    since = day_start(parse_day(f["from"], "from")) if "from" in f else None
    until = (day_start(parse_day(f["to"], "to") + dt.timedelta(days=1)) if "to" in f
             else None)
    return journal_slice(session, limit=limit, cursor=cursor, programme=f.get("program"),
                         account=f.get("account"), since=since, until=until)


def journal_listing() -> Listing:
    """Journal entries oldest first, by programme, account and Beijing dates."""
    return Listing(
        title=N_("Journal"),
        columns=(
            Column(N_("Entry"), lambda e: e.id, "int", link=lambda e: f"/auditor/entries/{e.id}"),
            Column(N_("Posted at"), lambda e: e.posted_at, "time"),
            Column(N_("Movement"), lambda e: e.flow, "label"),
            Column(N_("Reference"), lambda e: Shown(reference_text, e.ref)),
            Column(N_("By"), lambda e: e.actor_name),
            Column(N_("Transfers"), lambda e: e.transfers, "int"),
            Column(N_("Amount (yuan)"), lambda e: e.amount_fen, "yuan"),
            Column(N_("Hash"), lambda e: e.hash[:16]),
        ),
        seek=_journal,
        filters=(Filter("program", N_("Programme")), Filter("account", N_("Account")),
                 Filter("from", N_("From"), kind="date"), Filter("to", N_("To"), kind="date")),
        filename="journal",
    )


@router.get("")
def journal(request: Request, user: AuditorUser) -> Response:
    """The auditor's main page: the journal, filtered and paged by entry id."""
    return show_list(request, journal_listing())


@router.get("/entries/{entry_id}")
def entry_detail(request: Request, user: AuditorUser, entry_id: Id) -> Response:
    """One entry: its transfers, who posted it, its hash and the hash it chains to."""
    with transaction(request.app.state.reader) as session:
        entry = get_entry(session, entry_id)
        actor = actor_names(session, [entry.actor])[entry.actor]
        codes = {c for t in entry.transfers for c in (t.debit, t.credit)}
        owners = {code: owner.name for code, owner in account_owners(session, codes).items()}
    return render(request, "auditor/entry.html", entry=entry, actor=actor, owners=owners)


@router.get("/balance")
def account_balance(request: Request, user: AuditorUser, account: str = "",
                    as_of: str = "") -> Response:
    """An account's totals now, or at the end of a Beijing day (its history, as the API's
    `as_of`)."""
    form = Form({"account": account.strip(), "as_of": as_of.strip()})
    found: Balance | None = None
    moment: dt.datetime | None = None
    status = 200
    if form.get("account"):
        try:
            with transaction(request.app.state.reader) as session:
                if form.get("as_of"):
                    moment = day_start(parse_day(form.get("as_of"), "as_of")
                                       + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
                    found = balance_as_of(session, form.get("account"), moment)
                else:
                    found = balance(session, form.get("account"))
        except DomainError as exc:
            form.refuse(exc, by_code={"not_found": "account"})
            status = status_of(exc)
    return render(request, "auditor/balance.html", status=status, form=form, balance=found,
                  moment=moment)


@router.get("/verify")
def verify_page(request: Request, user: AuditorUser) -> Response:
    """Recompute the hash chain and every account's totals (as GET /api/v1/ledger/verify)."""
    with transaction(request.app.state.reader) as session:
        report = verify(session)
    return render(request, "auditor/verify.html", report=report)


def operation_listing() -> Listing:
    """The operation log, newest first: who did what, when, and whether it was done."""
    return Listing(
        title=N_("Operation log"),
        columns=(
            Column(N_("When"), lambda o: o.operation.at, "time"),
            Column(N_("Who"), lambda o: o.actor_name),
            Column(N_("Role"), lambda o: o.operation.role, "label"),
            Column(N_("Channel"), lambda o: o.operation.channel, "label"),
            Column(N_("Action"), lambda o: Shown(operation_name, o.operation.action)),
            Column(N_("Object"), lambda o: o.operation.object_type, "label"),
            Column(N_("Number"), lambda o: o.operation.object_id),
            Column(N_("Outcome"), lambda o: o.operation.outcome, "label"),
            # The refusal's sentence in the page's language with its code beside it.
            Column(N_("Message"), lambda o: Shown(refusal_text, o.operation.code,
                                                  o.operation.message, html=refusal_html)),
        ),
        fetch=lambda s, limit, offset, f: operations_page(
            s, limit=limit, offset=offset, outcome=f.get("outcome"), actor=f.get("actor"),
            action=f.get("action"), object_type=f.get("object_type"),
            object_id=f.get("object_id")),
        filters=(Filter("outcome", N_("Outcome"), oplog.OUTCOMES), Filter("actor", N_("Who")),
                 Filter("action", N_("Action")), Filter("object_type", N_("Object")),
                 Filter("object_id", N_("Number"))),
        filename="operations",
    )


@router.get("/operations")
def operations(request: Request, user: AuditorUser) -> Response:
    """Who did what, when, with what outcome and code."""
    return show_list(request, operation_listing())


@router.get("/reports")
def reports(request: Request, user: AuditorUser) -> Response:
    """Every report kind, each with a form for its programme and period."""
    with transaction(request.app.state.reader) as session:
        programmes = codes_in(session)  # voucher programmes first
        awards = codes_in(session, "award")
        # Statements name their party: chosen by name, not typed as a number.
        parties = {kind: party_choices(session, kind) for kind in ("firm", "provider")}
    # The award publicity concerns award programmes only.
    choices = {kind: awards if kind == "award-publicity" else programmes for kind in KINDS}
    return render(request, "auditor/reports.html", kinds=KINDS, party_kinds=PARTY_KINDS,
                  choices=choices, parties=parties)
