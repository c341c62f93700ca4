"""CSV import: encodings, all-or-nothing with every bad row named, idempotent re-import."""

import pytest
from registry_factories import credit_code

from ledger.core.db import transaction
from ledger.core.errors import ImportRejected
from ledger.registry.csv_files import decode
from ledger.registry.firms import get_firm, list_firms
from ledger.registry.party_import import import_firms, import_providers
from ledger.registry.providers import list_providers

HEADER = "credit_code,name,city,district,size_class,legal_rep,shareholders,certifications\n"


def firm_row(n: int, **cells: str) -> str:
    values = {
        "credit_code": credit_code(n), "name": f"营口测试装备有限公司{n}", "city": "营口",
        "district": "鲅鱼圈区", "size_class": "small", "legal_rep": f"张{n}",
        "shareholders": f"张{n};营口产业基金", "certifications": "tech_sme@2026-03-01",
    }
    values.update(cells)
    return ",".join(values.values()) + "\n"


def count_firms(sessions) -> int:
    with transaction(sessions) as s:
        return list_firms(s, limit=1).total


def test_utf8_import_creates_every_row(sessions):
    data = (HEADER + firm_row(1) + firm_row(2) + firm_row(3)).encode()
    with transaction(sessions) as s:
        result = import_firms(s, data)
    assert (result.rows, len(result.created), result.skipped) == (3, 3, 0)
    with transaction(sessions) as s:
        firm = list_firms(s, limit=1).items[0]
    assert firm.party.city == "营口市"
    assert firm.party.shareholders == ("张1", "营口产业基金")
    assert [(c.kind, c.year) for c in firm.certifications] == [("tech_sme", 2026)]


def test_one_bad_row_writes_nothing_and_every_bad_row_is_named(sessions):
    data = (HEADER + firm_row(1)
            + firm_row(2, credit_code=credit_code(2)[:17] + "Z")  # line 3: Z is not allowed
            + firm_row(3)
            + firm_row(4, city="苏州", size_class="giant")  # line 5: two bad cells
            + firm_row(1, name="重复")).encode()  # line 6: code repeated from line 2
    with pytest.raises(ImportRejected) as info, transaction(sessions) as s:
        import_firms(s, data)
    errors = info.value.detail["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (3, "credit_code"), (5, "city"), (5, "size_class"), (6, "credit_code")]
    assert "line 2" in errors[-1]["reason"]
    assert "line 3" in info.value.message
    assert count_firms(sessions) == 0


def test_gb18030_file_with_chinese_headers_is_read_correctly(sessions):
    text = ("统一社会信用代码,企业名称,城市,区县,规模,法定代表人,股东,状态\r\n"
            f"{credit_code(9)},锦州恒瑞汽车零部件有限公司,锦州市,太和区,小型,李娜,李娜、王刚,正常\r\n")
    data = text.encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    with transaction(sessions) as s:
        import_firms(s, data)
    with transaction(sessions) as s:
        firm = list_firms(s, limit=1).items[0]
    assert firm.party.name == "锦州恒瑞汽车零部件有限公司"
    assert firm.party.shareholders == ("李娜", "王刚")
    assert (firm.party.size_class, firm.status) == ("small", "active")


def test_utf8_with_bom_is_read(sessions):
    data = b"\xef\xbb\xbf" + (HEADER + firm_row(1)).encode()
    with transaction(sessions) as s:
        assert len(import_firms(s, data).created) == 1


def test_reimporting_the_same_file_adds_nothing(sessions):
    data = (HEADER + firm_row(1) + firm_row(2)).encode("gb18030")
    with transaction(sessions) as s:
        import_firms(s, data)
    with transaction(sessions) as s:
        again = import_firms(s, data)
    assert (len(again.created), again.skipped) == (0, 2)
    assert count_firms(sessions) == 2


def test_a_changed_row_for_a_registered_firm_is_refused(sessions):
    with transaction(sessions) as s:
        import_firms(s, (HEADER + firm_row(1)).encode())
    changed = (HEADER + firm_row(2) + firm_row(1, legal_rep="新法人")).encode()
    with pytest.raises(ImportRejected) as info, transaction(sessions) as s:
        import_firms(s, changed)
    assert [(e["line"], e["column"]) for e in info.value.detail["errors"]] == [(3, "legal_rep")]
    assert count_firms(sessions) == 1


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("", ""),
        ("credit_code,name\n", "city"),
        (HEADER.replace("shareholders", "owners"), "owners"),
    ],
)
def test_bad_headers_are_refused_at_line_one(sessions, text, column):
    with pytest.raises(ImportRejected) as info, transaction(sessions) as s:
        import_firms(s, text.encode())
    assert info.value.detail["errors"][0]["line"] == 1
    assert column in {e["column"] for e in info.value.detail["errors"]}


def test_short_rows_and_bad_certifications_are_named(sessions):
    data = (HEADER + "91210100MA00000011,太短\n"
            + firm_row(2, certifications="tech_sme@2026-13-01")
            + firm_row(3, certifications="platinum@2026-01-01")
            + firm_row(4, certifications="gazelle@1999-05-01")
            + firm_row(5, certifications="gazelle@2099-01-01")).encode()
    with pytest.raises(ImportRejected) as info, transaction(sessions) as s:
        import_firms(s, data)
    errors = info.value.detail["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (2, ""), (3, "certifications"), (4, "certifications"), (5, "certifications"),
        (6, "certifications")]
    # A certification is granted on a day already past (a later one is a typing error).
    assert errors[-1]["reason"] == "gazelle: certified_on 2099-01-01 lies in the future"


def test_providers_import_with_categories(sessions):
    data = ("credit_code,name,city,district,size_class,legal_rep,categories\n"
            f"{credit_code(5)},本溪检测有限公司,本溪,平山区,small,周五,"
            "testing@2025-01-01;rd_design@2025-02-01\n").encode()
    with transaction(sessions) as s:
        assert len(import_providers(s, data).created) == 1
    with transaction(sessions) as s:
        assert import_providers(s, data).skipped == 1
        assert list_providers(s, limit=10).items[0].current_categories == ("testing", "rd_design")


def test_progress_is_reported(sessions):
    seen = []
    with transaction(sessions) as s:
        import_firms(s, (HEADER + firm_row(1) + firm_row(2)).encode(),
                     progress=lambda kind, done, total: seen.append((kind, done, total)))
    assert seen[-1] == ("firms", 2, 2)


def test_undecodable_bytes_are_refused():
    # 0x80 alone is neither valid UTF-8 nor a valid GB18030 sequence.
    with pytest.raises(ImportRejected):
        decode(b"credit_code\n\x80")


def test_a_large_file_imports_in_batches(sessions):
    rows = "".join(firm_row(n) for n in range(1, 1201))
    seen = []
    with transaction(sessions) as s:
        result = import_firms(s, (HEADER + rows).encode(),
                              progress=lambda kind, done, total: seen.append(done))
    assert len(result.created) == 1200 and seen == [500, 1000, 1200]
    with transaction(sessions) as s:
        page = list_firms(s, limit=1, offset=1199)
    assert page.total == 1200
    assert page.items[0].party.credit_code == credit_code(1200)
    assert [c.kind for c in page.items[0].certifications] == ["tech_sme"]


def test_a_header_without_rows_is_refused_not_counted_as_nothing_imported(sessions):
    with pytest.raises(ImportRejected) as info, transaction(sessions) as s:
        import_firms(s, (HEADER + "\n").encode())  # the header and a blank line
    assert info.value.detail["errors"] == [{"line": 2, "column": "", "reason": "no rows"}]
    assert count_firms(sessions) == 0


def test_a_status_written_as_the_console_labels_it_is_read(sessions):
    text = HEADER.strip() + ",status\n" + firm_row(71).strip() + ",有效\n"
    with transaction(sessions) as s:
        [firm_id] = import_firms(s, text.encode()).created
        assert get_firm(s, firm_id).status == "active"
