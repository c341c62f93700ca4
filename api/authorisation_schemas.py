"""Bodies of the firm's authorisations and of the provider directory: vouchers by serial,
providers by credit code; ids only in URLs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from api.schemas import Strict
from ledger.registry.directory import DirectoryEntry
from ledger.vouchers.authorisations import AuthorisationView

Serial = Annotated[str, Field(pattern=r"^[Vv][0-9]{6,15}$", examples=["V000262"],
                              description="The voucher's serial, as printed on it")]
AuthorisationCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{10}$", examples=["K7QXM2PD9H"],
                                         description="The firm's one-time authorisation code")]
CreditCode = Annotated[str, Field(min_length=1, max_length=40,
                                  description="The provider's unified social credit code")]


class AuthorisationIn(Strict):
    """The firm authorises a provider for one booking on one of its vouchers."""

    voucher: Serial
    provider_credit_code: CreditCode
    program: Annotated[str | None, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                         description="Needed only when the serial names "
                                                     "vouchers of several programmes")] = None


class AuthorisationOut(BaseModel):
    """An authorisation: for whom, on which voucher, until when, and what became of it."""

    id: int
    code: str
    program: str
    voucher: str
    firm_name: str
    provider_name: str
    provider_credit_code: str
    status: str
    granted_on: dt.date
    expires_on: dt.date
    redemption_id: int | None


def authorisation_out(v: AuthorisationView) -> dict[str, Any]:
    """As JSON."""
    return AuthorisationOut(id=v.id, code=v.code, program=v.programme, voucher=v.voucher_serial,
                            firm_name=v.firm_name, provider_name=v.provider_name,
                            provider_credit_code=v.provider_credit_code, status=v.status,
                            granted_on=v.granted_on, expires_on=v.expires_on,
                            redemption_id=v.redemption_id).model_dump(mode="json")


class DirectoryOut(BaseModel):
    """A provider in the directory: who it is, where, and what it is registered for."""

    credit_code: str
    name: str
    city: str
    district: str
    categories: list[str]


def directory_out(e: DirectoryEntry) -> dict[str, Any]:
    """As JSON."""
    return DirectoryOut(credit_code=e.credit_code, name=e.name, city=e.city,
                        district=e.district, categories=list(e.categories)).model_dump()
