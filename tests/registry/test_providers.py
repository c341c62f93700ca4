"""Providers and their category registrations (备案), with history kept."""

from datetime import date

import pytest
from registry_factories import party

from ledger.core.db import transaction
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.registry.providers import (
    CATEGORY_NAMES,
    Registration,
    add_category,
    create_provider,
    get_provider,
    list_providers,
    remove_category,
)
from rules.schema import CATEGORIES


def test_category_names_follow_the_policy_schema():
    assert set(CATEGORY_NAMES) == set(CATEGORIES)


def test_register_with_categories(sessions):
    with transaction(sessions) as s:
        created = create_provider(s, party(1), categories=(
            Registration("testing", date(2025, 1, 10)),
            Registration("rd_design", date(2025, 2, 1)),
        ))
    with transaction(sessions) as s:
        provider = get_provider(s, created.id)
    assert provider.current_categories == ("testing", "rd_design")


def test_unknown_or_repeated_category_refused(sessions):
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        create_provider(s, party(1), categories=(Registration("catering", date(2025, 1, 1)),))
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        create_provider(s, party(1), categories=(Registration("testing", date(2025, 1, 1)),
                                                 Registration("testing", date(2025, 2, 1))))


def test_add_remove_and_re_add_keeps_history(sessions):
    with transaction(sessions) as s:
        provider = create_provider(s, party(1))
        add_category(s, provider.id, "testing", date(2025, 1, 1))
    with pytest.raises(AlreadyExists), transaction(sessions) as s:
        add_category(s, provider.id, "testing", date(2025, 3, 1))
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        remove_category(s, provider.id, "testing", date(2024, 12, 31))
    with transaction(sessions) as s:
        removed = remove_category(s, provider.id, "testing", date(2025, 6, 30))
    assert removed.current_categories == ()
    with pytest.raises(NotFound), transaction(sessions) as s:
        remove_category(s, provider.id, "testing", date(2025, 7, 1))
    with transaction(sessions) as s:
        again = add_category(s, provider.id, "testing", date(2026, 1, 1))
    assert again.categories == (
        Registration("testing", date(2025, 1, 1), date(2025, 6, 30)),
        Registration("testing", date(2026, 1, 1)),
    )
    assert again.current_categories == ("testing",)


def test_list_filters_by_current_category(sessions):
    with transaction(sessions) as s:
        a = create_provider(s, party(1), categories=(Registration("testing", date(2025, 1, 1)),))
        create_provider(s, party(2), categories=(Registration("rd_design", date(2025, 1, 1)),))
        remove_category(s, a.id, "testing", date(2025, 2, 1))
        create_provider(s, party(3), categories=(Registration("testing", date(2025, 1, 1)),))
    with transaction(sessions) as s:
        page = list_providers(s, limit=10, category="testing")
    assert [p.party.credit_code for p in page.items] == [party(3).credit_code]
