"""Passwords: a user changes its own; a reset gives a one-time password to change."""

from __future__ import annotations

import pytest

from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, NotFound, PermissionDenied
from ledger.registry import users


@pytest.fixture
def firm_user(sessions, fast_hashing):
    from demo.seed import seed_demo

    with transaction(sessions) as s:
        seed_demo(s)
        return users.find_user(s, "demo-firm")


@pytest.fixture
def fast_hashing(monkeypatch):
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    monkeypatch.setattr(users, "_hasher",
                        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),)))


def test_change_needs_the_current_password_and_a_new_one(sessions, firm_user):
    with transaction(sessions) as s, pytest.raises(PermissionDenied) as caught:
        users.change_password(s, firm_user.id, current="wrong", new="0123456789abc")
    assert caught.value.code == "wrong_password"
    with transaction(sessions) as s, pytest.raises(InvalidInput) as caught:
        users.change_password(s, firm_user.id, current="demo-firm-2026", new="short")
    assert caught.value.detail["field"] == "new_password"
    with transaction(sessions) as s, pytest.raises(InvalidInput) as caught:
        users.change_password(s, firm_user.id, current="demo-firm-2026", new="demo-firm-2026")
    assert caught.value.code == "password_unchanged"
    with transaction(sessions) as s:
        users.change_password(s, firm_user.id, current="demo-firm-2026", new="0123456789abc")
        assert users.authenticate(s, "demo-firm", "demo-firm-2026") is None
        assert users.authenticate(s, "demo-firm", "0123456789abc") is not None


def test_reset_sets_a_one_time_password_that_the_next_change_clears(sessions, firm_user):
    with transaction(sessions) as s:
        view, one_time = users.reset_password(s, "demo-firm")
    assert view.must_change_password and len(one_time) == 16
    assert not set(one_time) & set("0O1lI")
    with transaction(sessions) as s:
        signed = users.authenticate(s, "demo-firm", one_time)
        assert signed is not None and signed.must_change_password
        changed = users.change_password(s, firm_user.id, current=one_time, new="mine-at-last")
    assert not changed.must_change_password


def test_an_operator_cannot_reset_staff_the_cli_can(sessions, firm_user):
    with transaction(sessions) as s, pytest.raises(PermissionDenied) as caught:
        users.reset_password(s, "demo-approver")
    assert caught.value.code == "staff_reset_refused"
    with transaction(sessions) as s:
        view, _ = users.reset_password(s, "demo-approver", staff=True)
    assert view.must_change_password
    with transaction(sessions) as s, pytest.raises(NotFound):
        users.reset_password(s, "nobody-here")
