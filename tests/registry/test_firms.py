"""Firms: registration, validation naming the field, status, certifications, pagination."""

from datetime import date

import pytest
from registry_factories import credit_code, party

from ledger.core.db import transaction
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.registry.firms import (
    CERTIFICATIONS,
    FIRMS,
    Certification,
    add_certification,
    create_firm,
    get_firm,
    list_firms,
)
from ledger.registry.parties import LIAONING_CITIES, mask_account
from rules.schema import TIERS


def test_create_and_read_back(sessions):
    with transaction(sessions) as s:
        created = create_firm(s, party(1, city="大连"),
                              certifications=(Certification("tech_sme", 2026, date(2026, 3, 1)),))
    with transaction(sessions) as s:
        firm = get_firm(s, created.id)
    assert firm == created
    assert firm.party.city == "大连市"
    assert firm.party.shareholders == ("法人1", "沈阳创投")
    assert firm.status == "active"
    assert firm.certifications == (Certification("tech_sme", 2026, date(2026, 3, 1)),)


def test_a_second_firm_with_the_same_code_is_refused(sessions):
    with transaction(sessions) as s:
        create_firm(s, party(1))
    with pytest.raises(AlreadyExists) as info, transaction(sessions) as s:
        create_firm(s, party(1, name="另一家"))
    assert info.value.detail["field"] == "credit_code"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"credit_code": credit_code(1)[:17] + ("0" if credit_code(1)[17] != "0" else "1")},
         "credit_code"),
        ({"city": "北京"}, "city"),
        ({"size_class": "huge"}, "size_class"),
        ({"name": "   "}, "name"),
        ({"legal_rep": ""}, "legal_rep"),
        ({"district": "x" * 40}, "district"),
        ({"bank_account": "12ab"}, "bank_account"),
        ({"bank_name": None}, "bank_account"),
        ({"shareholders": ("甲", "甲")}, "shareholders"),
    ],
)
def test_invalid_fields_are_refused_by_name(sessions, changes, field):
    with pytest.raises(InvalidInput) as info, transaction(sessions) as s:
        create_firm(s, party(1, **changes))
    assert info.value.detail["field"] == field
    assert field in {e["field"] for e in info.value.detail["errors"]}
    with transaction(sessions) as s:
        assert list_firms(s, limit=10).total == 0


def test_every_problem_is_reported_not_only_the_first(sessions):
    with pytest.raises(InvalidInput) as info, transaction(sessions) as s:
        create_firm(s, party(1, city="上海", size_class="x", legal_rep=""))
    assert {e["field"] for e in info.value.detail["errors"]} == {"city", "size_class", "legal_rep"}


def test_all_fourteen_cities_accepted_with_or_without_shi(sessions):
    with transaction(sessions) as s:
        for n, city in enumerate(LIAONING_CITIES):
            short = city.removesuffix("市") if n % 2 else city
            assert create_firm(s, party(n, city=short)).party.city == city
    assert len(LIAONING_CITIES) == 14


def test_status_changes(sessions):
    with transaction(sessions) as s:
        firm = create_firm(s, party(1))
    with transaction(sessions) as s:
        assert FIRMS.set_status(s, firm.id, "blacklisted").status == "blacklisted"
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        FIRMS.set_status(s, firm.id, "closed")
    with pytest.raises(NotFound), transaction(sessions) as s:
        FIRMS.set_status(s, 999, "active")


def test_certifications_once_per_kind_and_year(sessions):
    with transaction(sessions) as s:
        firm = create_firm(s, party(1))
        add_certification(s, firm.id, Certification("gazelle", 2025, date(2025, 6, 30)))
        add_certification(s, firm.id, Certification("gazelle", 2026, date(2026, 6, 30)))
    with pytest.raises(AlreadyExists), transaction(sessions) as s:
        add_certification(s, firm.id, Certification("gazelle", 2026, date(2026, 7, 1)))
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        add_certification(s, firm.id, Certification("platinum", 2026, date(2026, 7, 1)))
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        add_certification(s, firm.id, Certification("unicorn", 2026, date(2026, 7, 1),
                                                    valid_until=date(2026, 1, 1)))
    with transaction(sessions) as s:
        assert [c.year for c in get_firm(s, firm.id).certifications] == [2025, 2026]


def test_certification_kinds_cover_the_award_tiers_and_voucher_eligibility():
    assert set(TIERS) | {"tech_sme"} <= set(CERTIFICATIONS)


def test_pages_are_bounded_and_counted_in_sql(sessions):
    with transaction(sessions) as s:
        for n in range(7):
            create_firm(s, party(n, city="鞍山" if n % 2 else "沈阳"))
    with transaction(sessions) as s:
        first = list_firms(s, limit=3)
        last = list_firms(s, limit=3, offset=6)
        anshan = list_firms(s, limit=100, city="鞍山")
        with pytest.raises(InvalidInput):
            list_firms(s, limit=101)
        with pytest.raises(InvalidInput):
            list_firms(s, limit=10, offset=-1)
    assert (first.total, len(first.items), first.next_offset) == (7, 3, 3)
    assert (len(last.items), last.next_offset) == (1, None)
    assert anshan.total == 3


def test_mask_account_keeps_only_the_last_four():
    assert mask_account("6217000012345678") == "************5678"
    assert mask_account("12345678") == "****5678"
    assert mask_account(None) is None


def test_control_characters_are_refused_before_the_database(sessions):
    with pytest.raises(InvalidInput) as info, transaction(sessions) as s:
        create_firm(s, party(1, name="坏\x00名", shareholders=("甲\x00",), city="\x00"))
    assert {e["field"] for e in info.value.detail["errors"]} == {"name", "shareholders", "city"}


def _full_width(text: str) -> str:
    """What a Chinese input method in full-width mode types for ASCII letters and digits."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_full_width_and_spaced_input_is_normalised_before_checks_and_storage(sessions):
    """A credit code typed full-width, in lower case and with spaces is the valid code; names
    and shareholders are NFKC'd and trimmed; the stored code then refuses a duplicate."""
    code = credit_code(7)
    typed = "　" + _full_width(code[:9].lower()) + " " + code[9:] + " "
    with transaction(sessions) as s:
        firm = create_firm(s, party(7, credit_code=typed, name=" 沈阳ＡＢＣ科技　有限公司 ",
                                    legal_rep="张三　",
                                    shareholders=("Ｌｉ　Ｗｅｉ ", " 沈阳创投")))
    assert firm.party.credit_code == code
    assert firm.party.name == "沈阳ABC科技 有限公司"
    assert firm.party.legal_rep == "张三"
    assert firm.party.shareholders == ("Li Wei", "沈阳创投")
    with pytest.raises(AlreadyExists), transaction(sessions) as s:
        create_firm(s, party(8, credit_code=_full_width(code)))
    with pytest.raises(InvalidInput) as info, transaction(sessions) as s:
        create_firm(s, party(9, shareholders=("沈阳创投", "沈阳创投　")))
    assert info.value.detail["field"] == "shareholders"
