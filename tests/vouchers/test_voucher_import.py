"""The set-based voucher import decides every row as a one-by-one issue would, all or none."""

from __future__ import annotations

import pytest
from voucher_helpers import CODE, OPERATOR

from demo.seed import FIRMS
from ledger.budget import budget
from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.core.errors import ImportRejected
from ledger.core.models import JournalEntry
from ledger.core.verify import verify
from ledger.vouchers.csv_import import import_vouchers
from ledger.vouchers.voucher import get_voucher, issue_voucher, list_vouchers

A, B = FIRMS[0][0].credit_code, FIRMS[1][0].credit_code


def _csv(*rows: tuple[str, str]) -> bytes:
    return ("credit_code,amount\n" + "".join(f"{c},{a}\n" for c, a in rows)).encode()


def test_rows_become_vouchers_with_serials_entries_and_balances(sessions, programme):
    with transaction(sessions) as s:
        issue_voucher(s, CODE, 1, 1_000, by=OPERATOR)  # V000001 exists: the batch follows it
        done = import_vouchers(s, CODE, _csv((A, "100"), (B, "200.50"), (A, "0.01")),
                               by=OPERATOR)
    assert (done.rows, done.serials, done.already_imported) == (
        3, ["V000002", "V000003", "V000004"], False)
    with transaction(sessions) as s:
        views = [get_voucher(s, i) for i in done.ids]
        assert [(v.firm_id, v.amount_fen, v.available_fen, v.status) for v in views] == [
            (1, 10_000, 10_000, "active"), (2, 20_050, 20_050, "active"),
            (1, 1, 1, "active")]
        assert {v.issued_on for v in views} == {today()}
        assert all(v.expires_on > today() for v in views)
        refs = [e.ref for e in s.query(JournalEntry).order_by(JournalEntry.id)
                if e.flow == "voucher.issue"]
        assert refs[-3:] == [f"voucher:{CODE}:V00000{n}" for n in (2, 3, 4)]
        assert budget(s, CODE).issued == 1_000 + 30_051
        assert verify(s).ok


def test_the_firm_yearly_cap_counts_the_rows_before_and_refuses_everything(sessions,
                                                                           programme):
    # 500,000 yuan a firm a year: the fourth 150,000 of firm A is over; nothing is issued.
    rows = [(A, "150000"), (B, "1000"), (A, "150000"), (A, "150000"), (A, "150000")]
    with transaction(sessions) as s, pytest.raises(ImportRejected) as refused:
        import_vouchers(s, CODE, _csv(*rows), by=OPERATOR)
    errors = refused.value.detail["errors"]
    assert [(e["line"], e["column"], e["code"]) for e in errors] == [
        (6, "amount", "cap_exceeded")]
    with transaction(sessions) as s:
        assert list_vouchers(s, limit=10).total == 0
        assert budget(s, CODE).issued == 0


def test_bad_cells_and_unknown_firms_are_named_by_line_and_column(sessions, programme):
    # A row over the per-voucher cap is listed with the bad cells and the unknown firm, in one
    # refusal (it was found only once they had been fixed).
    data = _csv((A, "100"), (A, "1.234"), ("91210000000000000X", "5"), (B, "-1"),
                (B, "9000000"))
    with transaction(sessions) as s, pytest.raises(ImportRejected) as refused:
        import_vouchers(s, CODE, data, by=OPERATOR)
    assert [(e["line"], e["column"]) for e in refused.value.detail["errors"]] == [
        (3, "amount"), (4, "credit_code"), (5, "amount"), (6, "amount")]
    assert refused.value.detail["errors"][-1]["code"] == "cap_exceeded"
    with transaction(sessions) as s:
        assert list_vouchers(s, limit=10).total == 0


def test_the_same_file_twice_adds_nothing(sessions, programme):
    data = _csv((A, "100"), (B, "200"))
    with transaction(sessions) as s:
        first = import_vouchers(s, CODE, data, by=OPERATOR)
    with transaction(sessions) as s:
        again = import_vouchers(s, CODE, data, by=OPERATOR)
    assert (len(first.ids), again.rows, again.ids, again.already_imported) == (2, 2, [], True)
    with transaction(sessions) as s:
        assert list_vouchers(s, limit=10).total == 2


def test_a_refused_file_can_be_corrected_and_imported(sessions, programme):
    with transaction(sessions) as s, pytest.raises(ImportRejected):
        import_vouchers(s, CODE, _csv((A, "100"), (A, "x")), by=OPERATOR)
    with transaction(sessions) as s:
        done = import_vouchers(s, CODE, _csv((A, "100"), (A, "1")), by=OPERATOR)
    assert done.serials == ["V000001", "V000002"]


def test_a_cell_the_csv_reader_cannot_take_refuses_the_file_by_its_line(sessions, programme):
    data = _csv((A, "100")) + b"91210100MA0Y7K3N5H," + b"9" * 200_000 + b"\n"
    with transaction(sessions) as s, pytest.raises(ImportRejected) as refused:
        import_vouchers(s, CODE, data, by=OPERATOR)
    assert [e["line"] for e in refused.value.detail["errors"]] == [3]


def test_the_chinese_headers_offices_write_are_read(sessions, programme):
    data = (f"统一社会信用代码,金额（元）\n{A},100\n").encode("gb18030")
    with transaction(sessions) as s:
        done = import_vouchers(s, CODE, data, by=OPERATOR)
        assert [get_voucher(s, i).amount_fen for i in done.ids] == [10_000]
    with pytest.raises(ImportRejected), transaction(sessions) as s:
        import_vouchers(s, CODE, f"企业,金额\n{A},100\n".encode(), by=OPERATOR)


def test_the_same_rows_saved_again_another_way_add_nothing(sessions, programme):
    english = _csv((A, "100"), (B, "200.50"))
    resaved = f"统一社会信用代码,金额\r\n{A},100.00\r\n\r\n{B},200.5\r\n".encode("utf-8-sig")
    with transaction(sessions) as s:
        first = import_vouchers(s, CODE, english, by=OPERATOR)
    with transaction(sessions) as s:
        again = import_vouchers(s, CODE, resaved, by=OPERATOR)
    assert (first.rows, again.already_imported, again.rows) == (2, True, 2)
    with transaction(sessions) as s:
        assert list_vouchers(s, limit=10).total == 2


def test_a_file_recorded_by_its_bytes_before_is_still_recognised(sessions, programme):
    import hashlib

    from ledger.vouchers.csv_import import ImportBatch

    data = _csv((A, "100"))
    with transaction(sessions) as s:
        import_vouchers(s, CODE, data, by=OPERATOR)
    with transaction(sessions) as s:  # as an import before row digests recorded it
        s.query(ImportBatch).one().file_sha256 = hashlib.sha256(data).hexdigest()
    with transaction(sessions) as s:
        assert import_vouchers(s, CODE, data, by=OPERATOR).already_imported


def test_a_bad_row_beside_rows_imported_before_is_still_refused(sessions, programme):
    with transaction(sessions) as s:
        import_vouchers(s, CODE, _csv((A, "100")), by=OPERATOR)
    with pytest.raises(ImportRejected), transaction(sessions) as s:
        import_vouchers(s, CODE, _csv((A, "100"), (B, "abc")), by=OPERATOR)


def test_a_mistyped_credit_code_is_named_as_such_not_as_an_unknown_firm(sessions, programme):
    from ledger.registry.credit_code import check_character

    unregistered = "91210100MA0999999" + check_character("91210100MA0999999")
    typo = A[:-1] + ("0" if A[-1] != "0" else "1")
    with transaction(sessions) as s, pytest.raises(ImportRejected) as refused:
        import_vouchers(s, CODE, _csv((typo, "100"), (unregistered, "100"), ("", "5")),
                        by=OPERATOR)
    reasons = {e["line"]: e["reason"] for e in refused.value.detail["errors"]}
    assert reasons[2].startswith("check character is ")
    assert reasons[3] == f"no firm {unregistered}"
    assert reasons[4] == "required"
