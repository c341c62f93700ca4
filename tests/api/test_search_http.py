"""`q` on the API's lists (a prefix of a name, credit code or serial) and the name fields
beside the ids (issue 17, item 1)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ledger.awards.award import apply_award
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry.evidence import KINDS, Upload
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.claims import file_claim
from ledger.vouchers.redemptions import complete, confirm, list_redemptions
from ledger.vouchers.voucher import issue_voucher
from tests.authorised import authorised_book

CODE = "LN-CXQ-2026"


@pytest.fixture
def booked(sessions, world):
    """Vouchers for firms 1 and 2, a booking by provider 1 on firm 1's, an award of firm 2."""
    operator = By(world.users["operator"].id, "demo-operator")
    with transaction(sessions) as s:
        create_programme(s, code=CODE, name="创新券2026", fiscal_year=2026, policy="LN-CXQ",
                         by=operator)
        appropriate(s, CODE, 100_000_000, by=operator)
        mine = issue_voucher(s, CODE, 1, 5_000_000, by=operator)
        other = issue_voucher(s, CODE, 2, 3_000_000, by=operator)
        authorised_book(s, voucher_id=mine.id, provider_id=1, category="testing",
                        cost_fen=1_000_000, description="检测",
                        by=By(world.users["provider"].id, "demo-provider"))
        create_programme(s, code="LN-AWARD-2022", name="奖励2022", fiscal_year=2022,
                         policy="LN-AWARD", by=operator)
        appropriate(s, "LN-AWARD-2022", 100_000_000, by=operator)
        apply_award(s, "LN-AWARD-2022", firm_id=2, tier="gazelle", level="provincial",
                    document_no="辽科发〔2022〕1号", certified_on=dt.date(2022, 6, 1),
                    by=operator, on=dt.date(2022, 12, 1))
        firms = dict(s.execute(select(Firm.id, Firm.name).where(Firm.id.in_((1, 2)))).all())
        codes = dict(s.execute(select(Firm.id, Firm.credit_code)
                               .where(Firm.id.in_((1, 2)))).all())
        provider = s.execute(select(Provider.name, Provider.credit_code)
                             .where(Provider.id == 1)).one()
    return {"mine": mine, "other": other, "firms": firms, "codes": codes,
            "provider": provider}


def _items(client, world, who, path):
    response = client.get(path, headers=world.auth(who))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_vouchers_carry_the_firm_name_and_search_by_serial_name_and_code(
        client, world, booked):
    everything = _items(client, world, "operator", "/api/v1/vouchers")
    assert {v["firm_id"]: v["firm_name"] for v in everything} == booked["firms"]
    serial = booked["other"].serial
    assert [v["serial"] for v in _items(client, world, "operator",
                                        f"/api/v1/vouchers?q={serial}")] == [serial]
    name = booked["firms"][1]
    assert [v["firm_id"] for v in _items(client, world, "operator",
                                         f"/api/v1/vouchers?q={name[:3]}")] == [1]
    code = booked["codes"][2][:12].lower()
    assert [v["firm_id"] for v in _items(client, world, "operator",
                                         f"/api/v1/vouchers?q={code}")] == [2]
    # A firm's search stays inside its own vouchers.
    assert _items(client, world, "firm", f"/api/v1/vouchers?q={serial}") == []
    # LIKE's wildcards are searched for as themselves.
    assert _items(client, world, "operator", "/api/v1/vouchers?q=%25") == []
    assert _items(client, world, "operator", "/api/v1/vouchers?q=_") == []


def test_redemptions_and_parties_search(client, world, booked):
    (line,) = _items(client, world, "operator", "/api/v1/redemptions")
    provider_name, provider_code = booked["provider"]
    assert (line["firm_name"], line["provider_name"], line["voucher_serial"]) == (
        booked["firms"][1], provider_name, booked["mine"].serial)
    for q in (provider_name[:2], provider_code[:8], booked["mine"].serial,
              booked["firms"][1][:3]):
        assert [r["id"] for r in _items(client, world, "operator",
                                        f"/api/v1/redemptions?q={q}")] == [line["id"]], q
    assert _items(client, world, "operator",
                  f"/api/v1/redemptions?q={booked['other'].serial}") == []
    assert _items(client, world, "provider2",
                  f"/api/v1/redemptions?q={provider_name[:2]}") == []
    firms = _items(client, world, "operator", f"/api/v1/firms?q={booked['codes'][2]}")
    assert [f["id"] for f in firms] == [2]
    providers = _items(client, world, "operator", f"/api/v1/providers?q={provider_name}")
    assert [p["id"] for p in providers] == [1]


def test_awards_carry_and_search_the_firm_name(client, world, booked):
    (award,) = _items(client, world, "operator", "/api/v1/awards")
    assert award["firm_name"] == booked["firms"][2]
    assert len(_items(client, world, "operator",
                      f"/api/v1/awards?q={booked['firms'][2][:3]}")) == 1
    assert _items(client, world, "operator", "/api/v1/awards?q=无此企业") == []


def test_claims_carry_names_and_take_q(client, sessions, world, booked):
    provider = By(world.users["provider"].id, "demo-provider")
    with transaction(sessions) as s:
        (booking,) = list_redemptions(s, limit=1).items
        complete(s, booking.id, provider_id=1, by=provider)
        confirm(s, booking.id, firm_id=1, by=By(world.users["firm"].id, "demo-firm"))
        file_claim(s, booking.id, provider_id=1, by=provider, files=[
            Upload(kind, f"{kind}.pdf", b"%PDF-1.7\n" + kind.encode() * 20) for kind in KINDS])
    (claim,) = _items(client, world, "operator", "/api/v1/claims")
    assert (claim["provider_name"], claim["firm_name"], claim["voucher_serial"]) == (
        booked["provider"][0], booked["firms"][1], booked["mine"].serial)
    for q in (booked["provider"][0][:2], booked["firms"][1][:3], booked["mine"].serial):
        assert [c["id"] for c in _items(client, world, "operator",
                                        f"/api/v1/claims?q={q}")] == [claim["id"]], q
    assert _items(client, world, "operator", "/api/v1/claims?q=无此机构") == []
    assert _items(client, world, "operator",
                  f"/api/v1/claims?q={booked['other'].serial}") == []


def test_too_long_a_search_is_refused(client, world):
    response = client.get("/api/v1/vouchers?q=" + "x" * 65, headers=world.auth("operator"))
    assert response.status_code == 422
    # A NUL would reach PostgreSQL as text it refuses: a clear 422 on both engines instead.
    response = client.get("/api/v1/firms?q=a%00b", headers=world.auth("operator"))
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"


@pytest.mark.parametrize("q", ["²", "①", "１２"])
def test_digits_python_calls_digits_but_int_does_not_are_searched_not_crashed(client, world, q):
    # '²' and '①' are str.isdigit() yet int() refuses them; '１２' (full width) int() reads.
    for path in ("/api/v1/applications", "/api/v1/vouchers", "/api/v1/claims"):
        response = client.get(f"{path}?q={q}", headers=world.auth("operator"))
        assert response.status_code == 200, (path, response.text)
