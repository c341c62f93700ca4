"""Booking as a provider must: the voucher's firm first authorises the provider.

Tests that book to set up a scene use `authorised_book` with the voucher's internal id, as
they did before the firm's consent existed; tests of the consent itself call the services.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.acting import By
from ledger.programmes.programme import Programme
from ledger.registry.providers import Provider
from ledger.vouchers.authorisations import AuthorisationView, authorise
from ledger.vouchers.redemptions import RedemptionView, book
from ledger.vouchers.voucher import Voucher

FIRM_BY = By(0, "test:firm")


def grant(session: Session, voucher_id: int, provider_id: int,
          on: dt.date | None = None) -> AuthorisationView:
    """The voucher's firm authorises the provider for one booking."""
    voucher = session.get(Voucher, voucher_id)
    assert voucher is not None, f"no voucher {voucher_id}"
    programme = session.scalar(select(Programme.code).where(Programme.id == voucher.programme_id))
    provider_code = session.scalar(select(Provider.credit_code).where(Provider.id == provider_id))
    assert provider_code is not None, f"no provider {provider_id}"
    return authorise(session, firm_id=voucher.firm_id, voucher=voucher.serial,
                     provider_credit_code=provider_code, programme=programme, by=FIRM_BY, on=on)


def authorised_book(session: Session, *, voucher_id: int, provider_id: int,
                    on: dt.date | None = None, **booking: object) -> RedemptionView:
    """Grant, then book with the authorisation's code, in the caller's transaction."""
    granted = grant(session, voucher_id, provider_id, on)
    return book(session, voucher=granted.voucher_serial, authorisation=granted.code,
                provider_id=provider_id, on=on, **booking)  # type: ignore[arg-type]
