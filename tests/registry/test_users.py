"""Users: roles bound to their party, Argon2 password hashes, authentication."""

import pytest
from registry_factories import party
from sqlalchemy import select

from ledger.core.db import transaction
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.registry.firms import create_firm
from ledger.registry.users import User, authenticate, create_user, list_users


def test_password_is_hashed_with_argon2_and_checked(sessions):
    with transaction(sessions) as s:
        user = create_user(s, username="Op.One", password="a long password", role="operator")
    with transaction(sessions) as s:
        stored = s.scalar(select(User.password_hash).where(User.id == user.id))
        assert stored.startswith("$argon2id$") and "a long password" not in stored
        assert authenticate(s, "op.one", "a long password") == user
        assert authenticate(s, "op.one", "a wrong password") is None
        assert authenticate(s, "nobody", "a long password") is None
    assert user.username == "op.one"


def test_firm_users_are_bound_to_a_firm_and_only_they(sessions):
    with transaction(sessions) as s:
        firm = create_firm(s, party(1))
        bound = create_user(s, username="firm1", password="0123456789", role="firm",
                            firm_id=firm.id)
    assert bound.firm_id == firm.id and not bound.is_bureau
    cases = [
        ({"role": "firm"}, InvalidInput),
        ({"role": "operator", "firm_id": firm.id}, InvalidInput),
        ({"role": "provider", "firm_id": firm.id}, InvalidInput),
        ({"role": "firm", "firm_id": 999}, NotFound),
        ({"role": "king"}, InvalidInput),
    ]
    for kwargs, error in cases:
        with pytest.raises(error), transaction(sessions) as s:
            create_user(s, username="someone", password="0123456789", **kwargs)


def test_usernames_unique_and_passwords_long_enough(sessions):
    with transaction(sessions) as s:
        create_user(s, username="aud", password="0123456789", role="auditor")
    with pytest.raises(AlreadyExists), transaction(sessions) as s:
        create_user(s, username="AUD", password="0123456789", role="auditor")
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        create_user(s, username="aud2", password="short", role="auditor")
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        create_user(s, username="has space", password="0123456789", role="auditor")
    with transaction(sessions) as s:
        assert list_users(s, limit=10, role="auditor").total == 1


def test_a_nul_in_a_username_is_a_failed_sign_in_not_an_error(sessions):
    with transaction(sessions) as s:
        assert authenticate(s, "\x00", "0123456789") is None
