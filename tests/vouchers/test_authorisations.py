"""The firm's consent: a provider books only with the firm's one-time authorisation."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from voucher_helpers import CODE, FIRM, OPERATOR, PROVIDER

from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.core.errors import Conflict, DomainError, NotFound, PermissionDenied, PolicyRefused
from ledger.registry.providers import Provider
from ledger.vouchers import authorisations, redemptions
from ledger.vouchers import voucher as vouchers
from tests.authorised import grant


def _issue(sessions, firm_id=1):
    with transaction(sessions) as s:
        return vouchers.issue_voucher(s, CODE, firm_id, 5_000_000, by=OPERATOR)


def _code(sessions, provider_id):
    with transaction(sessions) as s:
        return s.scalar(select(Provider.credit_code).where(Provider.id == provider_id))


def _book(sessions, serial, code, provider_id=1, cost=1_000_000, **kw):
    with transaction(sessions) as s:
        return redemptions.book(s, voucher=serial, authorisation=code, provider_id=provider_id,
                                category="testing", cost_fen=cost, description="检测",
                                by=PROVIDER, **kw)


def _held(sessions, voucher_id):
    with transaction(sessions) as s:
        return vouchers.get_voucher(s, voucher_id).held_fen


def _bookings(sessions):
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(redemptions.Redemption))


def _refusal(sessions, serial, code, provider_id=1) -> DomainError:
    with pytest.raises(DomainError) as info:
        _book(sessions, serial, code, provider_id)
    return info.value


def test_without_authorisation_the_voucher_is_as_unknown_as_one_that_does_not_exist(
        sessions, programme):
    """A real voucher with a made-up code, and a serial no voucher has: the same 404, with
    nothing of the firm in it, and nothing held."""
    voucher = _issue(sessions)
    real = _refusal(sessions, voucher.serial, "ABCDEFGHJK")
    missing = _refusal(sessions, "V999999", "ABCDEFGHJK")
    assert isinstance(real, NotFound) and isinstance(missing, NotFound)
    assert (real.code, real.detail) == (missing.code, missing.detail) == (
        "not_found", {"field": "voucher"})
    assert real.message.replace(voucher.serial, "V999999") == missing.message
    # Another voucher's authorisation does not open this one either.
    with transaction(sessions) as s:
        other = grant(s, _issue(sessions).id, 1)
    assert isinstance(_refusal(sessions, voucher.serial, other.code), NotFound)
    assert (_held(sessions, voucher.id), _bookings(sessions)) == (0, 0)


def test_an_authorisation_books_once_and_names_the_redemption(sessions, programme):
    voucher = _issue(sessions)
    with transaction(sessions) as s:
        granted = authorisations.authorise(
            s, firm_id=1, voucher=voucher.serial.lower(), provider_credit_code=_code(sessions, 1),
            by=FIRM)
    assert granted.status == "open" and len(granted.code) == authorisations.CODE_LENGTH
    assert granted.expires_on == today() + dt.timedelta(days=30)
    booked = _book(sessions, f" {voucher.serial} ", granted.code.lower())
    assert booked.subsidy_fen == 500_000
    again = _refusal(sessions, voucher.serial, granted.code)
    assert isinstance(again, Conflict) and again.code == "authorisation_used"
    assert _held(sessions, voucher.id) == 500_000 and _bookings(sessions) == 1
    with transaction(sessions) as s:
        seen = authorisations.get_authorisation(s, granted.id, provider_id=1)
    assert (seen.status, seen.redemption_id, seen.voucher_serial) == (
        "used", booked.id, voucher.serial)


def test_expired_withdrawn_and_another_providers_authorisations_are_refused(
        sessions, programme):
    voucher = _issue(sessions)
    with transaction(sessions) as s:
        old = grant(s, voucher.id, 1, on=today() - dt.timedelta(days=31))
        current = grant(s, voucher.id, 1)
        withdrawn = grant(s, voucher.id, 1)
    expired = _refusal(sessions, voucher.serial, old.code)
    assert (type(expired), expired.code) == (Conflict, "authorisation_expired")
    other = _refusal(sessions, voucher.serial, current.code, provider_id=2)
    assert (type(other), other.code) == (PermissionDenied, "authorisation_other_provider")
    with transaction(sessions) as s:
        done = authorisations.withdraw(s, withdrawn.id, firm_id=1, by=FIRM)
    assert done.status == "withdrawn"
    refused = _refusal(sessions, voucher.serial, withdrawn.code)
    assert (type(refused), refused.code) == (Conflict, "authorisation_withdrawn")
    assert (_held(sessions, voucher.id), _bookings(sessions)) == (0, 0)
    # None of these refusals carries the voucher's balance or the firm's usage.
    for error in (expired, other, refused):
        assert not {"decision", "balance", "available"} & set(error.detail)
    with transaction(sessions) as s:
        assert authorisations.get_authorisation(s, old.id, firm_id=1).status == "expired"
        page = authorisations.list_authorisations(s, limit=10, firm_id=1, status="expired")
    assert [a.id for a in page.items] == [old.id]
    # The named provider still books with the one left open.
    assert _book(sessions, voucher.serial, current.code).status == "booked"


def test_withdrawal_is_the_firms_own_and_only_while_unused(sessions, programme):
    voucher = _issue(sessions)
    with transaction(sessions) as s:
        used = grant(s, voucher.id, 1)
        unused = grant(s, voucher.id, 1)
    _book(sessions, voucher.serial, used.code)
    with pytest.raises(Conflict) as info, transaction(sessions) as s:
        authorisations.withdraw(s, used.id, firm_id=1, by=FIRM)
    assert info.value.code == "authorisation_used"
    with pytest.raises(NotFound), transaction(sessions) as s:
        authorisations.withdraw(s, unused.id, firm_id=2, by=FIRM)
    with transaction(sessions) as s:
        authorisations.withdraw(s, unused.id, firm_id=1, by=FIRM)
    with pytest.raises(Conflict) as info, transaction(sessions) as s:
        authorisations.withdraw(s, unused.id, firm_id=1, by=FIRM)
    assert info.value.code == "authorisation_withdrawn"


def test_a_firm_authorises_only_its_own_voucher_and_a_registered_active_provider(
        sessions, programme):
    voucher = _issue(sessions)
    with pytest.raises(NotFound), transaction(sessions) as s:
        authorisations.authorise(s, firm_id=2, voucher=voucher.serial,
                                 provider_credit_code=_code(sessions, 1), by=FIRM)
    with pytest.raises(NotFound) as info, transaction(sessions) as s:
        authorisations.authorise(s, firm_id=1, voucher=voucher.serial,
                                 provider_credit_code="91210100MA00000000", by=FIRM)
    assert info.value.code == "provider_not_found"
    with transaction(sessions) as s:
        s.get(Provider, 2).status = "suspended"
    with pytest.raises(Conflict) as info, transaction(sessions) as s:
        authorisations.authorise(s, firm_id=1, voucher=voucher.serial,
                                 provider_credit_code=_code(sessions, 2), by=FIRM)
    assert info.value.code == "provider_not_active"


def test_a_refused_booking_leaves_the_authorisation_open(sessions, programme):
    """The policy's refusal rolls the whole booking back, the use of the authorisation too."""
    voucher = _issue(sessions)
    with transaction(sessions) as s:
        granted = grant(s, voucher.id, 1)
    with pytest.raises(PolicyRefused):
        _book(sessions, voucher.serial, granted.code, cost=1)
    with transaction(sessions) as s:
        assert authorisations.get_authorisation(s, granted.id).status == "open"
    assert _book(sessions, voucher.serial, granted.code).status == "booked"


def test_providers_racing_on_one_authorisation_one_wins(sessions, programme):
    """Six bookings at once on one authorisation, four by the named provider and two by
    another: one hold, the rest refused with the authorisation's codes."""
    voucher = _issue(sessions)
    with transaction(sessions) as s:
        granted = grant(s, voucher.id, 1)
    racers = (1, 1, 1, 1, 2, 2)
    start = threading.Barrier(len(racers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(provider_id: int) -> None:
        start.wait()
        try:
            _book(sessions, voucher.serial, granted.code, provider_id=provider_id)
            outcome = "booked"
        except DomainError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(p,)) for p in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == sorted(["booked"] + ["authorisation_used"] * 3
                                      + ["authorisation_other_provider"] * 2)
    assert _held(sessions, voucher.id) == 500_000 and _bookings(sessions) == 1


def test_concurrent_bookings_of_one_firm_keep_its_yearly_cap(sessions, programme):
    """Eight bookings at once, on two vouchers of one firm, each worth the per-order cap of
    testing (30,000 yuan): the firm's yearly testing cap (150,000 yuan) lets exactly five
    through, though the vouchers hold 300,000. Each booking reads the others' holds: the
    firm's lock makes them queue for that read."""
    with transaction(sessions) as s:
        first, second = (vouchers.issue_voucher(s, CODE, 1, 15_000_000, by=OPERATOR)
                         for _ in range(2))
        racers = [(v.serial, grant(s, v.id, 1).code) for v in (first, second) * 4]
    start = threading.Barrier(len(racers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(serial: str, code: str) -> None:
        start.wait()
        try:
            _book(sessions, serial, code, cost=6_000_000)
            outcome = "booked"
        except DomainError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=racer) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["booked"] * 5 + ["cap_exceeded"] * 3
    assert _held(sessions, first.id) + _held(sessions, second.id) == 15_000_000
