"""The generated registry: valid, varied, Liaoning-wide and the same on every run."""

from __future__ import annotations

from demo.names import DISTRICTS, demo_firms, demo_providers
from ledger.registry.credit_code import is_valid_credit_code
from ledger.registry.parties import LIAONING_CITIES, party_problems
from rules.schema import CATEGORIES


def test_firms_and_providers_are_valid_distinct_and_cover_liaoning():
    providers = demo_providers(33, 2026)
    firms = demo_firms(295, 2026, providers)
    parties = [p.party for p in (*firms, *providers)]
    assert all(not party_problems(p)[1] for p in parties)
    assert all(is_valid_credit_code(p.credit_code) for p in parties)
    assert len({p.credit_code for p in parties}) == len(parties)
    assert len({p.name for p in parties}) == len(parties)
    assert {f.party.city for f in firms} == set(LIAONING_CITIES) == set(DISTRICTS)
    for p in parties:  # the credit code carries the district's division code
        assert (p.district, p.credit_code[2:8]) in DISTRICTS[p.city]
    assert {r.category for p in providers for r in p.registrations} == set(CATEGORIES)
    kinds = {c.kind for f in firms for c in f.certifications}
    assert {"tech_sme", "chuying", "gazelle", "specialised", "little_giant"} <= kinds
    with_bank = sum(1 for f in firms if f.party.bank_account)
    assert 0.7 * len(firms) < with_bank < len(firms)


def test_the_same_on_every_run_and_a_smaller_demo_is_a_prefix():
    providers = demo_providers(10, 2026)
    assert demo_providers(10, 2026) == providers
    assert demo_firms(40, 2026, providers)[:12] == demo_firms(12, 2026, providers)
