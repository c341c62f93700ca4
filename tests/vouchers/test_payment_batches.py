"""Payment batches as a bureau pays: chosen lines, release by an approver, the bank's reference
or confirmation file, bank returns by linked reversal, paid again once corrected, reconciled."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from voucher_helpers import APPROVER, CODE, FIRM, OPERATOR, PDF, PNG, PROVIDER

from ledger.budget import budget
from ledger.core.acting import By, today
from ledger.core.db import transaction
from ledger.core.errors import Conflict, DomainError, ImportRejected, PermissionDenied
from ledger.core.models import JournalEntry
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments import confirmation, reconciliation, returns
from ledger.payments.batches import PayableFilter, PaymentConfirmation, PaymentReturn
from ledger.reading import audit_queries
from ledger.registry.evidence import Upload
from ledger.registry.providers import PROVIDERS, Provider
from ledger.vouchers import claims, redemptions
from ledger.vouchers import voucher as vouchers
from tests.authorised import authorised_book

EVIDENCE = (Upload("contract", "contract.pdf", PDF), Upload("invoice", "invoice.png", PNG),
            Upload("service_report", "report.pdf", PDF + b"r"))
APPROVER2 = By(5, "appr2")
DAY = dt.date(2026, 6, 1)


def _approved_claims(sessions, *costs: int, provider_id: int = 1) -> list[int]:
    """Approved claims of provider 1 (testing, 50% subsidy): one per cost in fen."""
    with transaction(sessions) as s:
        v = vouchers.issue_voucher(s, CODE, 1, 10_000_000, by=OPERATOR)
    ids = []
    for cost in costs:
        with transaction(sessions) as s:
            r = authorised_book(s, voucher_id=v.id, provider_id=provider_id, category="testing",
                                cost_fen=cost, description="检测", by=PROVIDER)
            redemptions.complete(s, r.id, provider_id=provider_id, by=PROVIDER)
            redemptions.confirm(s, r.id, firm_id=1, by=FIRM)
            c = claims.file_claim(s, r.id, provider_id=provider_id, files=EVIDENCE, by=PROVIDER)
            claims.approve(s, c.id, by=APPROVER)
        ids.append(c.id)
    return ids


def _entries(sessions) -> int:
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(JournalEntry))


def _refused(sessions, call, *args, **kw) -> DomainError:
    """The refusal `call` raises; nothing it did is kept."""
    before = _entries(sessions)
    with pytest.raises(DomainError) as info, transaction(sessions) as s:
        call(s, *args, **kw)
    assert _entries(sessions) == before
    return info.value


def _released(sessions, claim_ids) -> int:
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=claim_ids)
        payments.release_batch(s, batch.id, by=APPROVER)
    return batch.id


def test_the_operator_chooses_lines_an_approver_releases_then_the_bank_file(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000, 2_000_000, 400_000)
    with transaction(sessions) as s:
        page = payments.list_payable(s, CODE, PayableFilter(), limit=10)
        big = payments.list_payable(s, CODE, PayableFilter(min_fen=500_000, kind="claim"),
                                    limit=10)
        none = payments.list_payable(s, CODE, PayableFilter(category="patent_application"),
                                     limit=10)
        today_only = payments.list_payable(s, CODE, PayableFilter(
            approved_from=dt.date(2000, 1, 1), approved_to=dt.date(2000, 1, 2)), limit=10)
        by_name = payments.list_payable(s, CODE, PayableFilter(payee_q="辽宁省检验"), limit=10)
        by_code = payments.list_payable(s, CODE, PayableFilter(payee_q="12210000"), limit=10)
        other = payments.list_payable(s, CODE, PayableFilter(payee_q="沈阳知行"), limit=10)
    assert [(p.kind, p.id, p.amount_fen, p.category) for p in page.items] == [
        ("claim", ids[0], 500_000, "testing"), ("claim", ids[1], 1_000_000, "testing"),
        ("claim", ids[2], 200_000, "testing")]
    assert all(p.bank_account == "06101101040001234" for p in page.items)
    assert [p.id for p in big.items] == ids[:2] and none.total == 0 and today_only.total == 0
    assert by_name.total == by_code.total == 3 and other.total == 0
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=ids[:2])
    assert (batch.status, batch.total_fen, [x.status for x in batch.lines]) == (
        "created", 1_500_000, ["held", "held"])
    assert batch.lines[0].bank_account == "06101101040001234"
    with transaction(sessions) as s:
        left = payments.list_payable(s, CODE, PayableFilter(), limit=10)
    assert [p.id for p in left.items] == [ids[2]]
    # A line in two open batches, the bank file before release, release by its maker: refused.
    assert _refused(sessions, payments.create_batch, CODE, by=OPERATOR,
                    claim_ids=[ids[1], ids[2]]).code == "already_in_batch"
    assert _refused(sessions, payments.bank_file, batch.id).code == "batch_not_released"
    maker = _refused(sessions, payments.release_batch, batch.id, by=OPERATOR)
    assert isinstance(maker, PermissionDenied) and maker.code == "self_approval"
    assert _refused(sessions, confirmation.mark_paid, batch.id, by=OPERATOR, reference="X1",
                    value_date=DAY).code == "batch_not_released"
    with transaction(sessions) as s:
        released = payments.release_batch(s, batch.id, by=APPROVER)
        text = payments.bank_file(s, batch.id)
    assert (released.status, released.released_by) == ("released", APPROVER.label)
    assert text.count("06101101040001234") == 2 and "5000.00" in text and "10000.00" in text
    assert _refused(sessions, payments.release_batch, batch.id,
                    by=APPROVER2).code == "already_released"


def test_a_line_without_a_bank_account_is_refused_when_chosen(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    with transaction(sessions) as s:
        s.get(Provider, 1).bank_account = None
        s.get(Provider, 1).bank_name = None
    refused = _refused(sessions, payments.create_batch, CODE, by=OPERATOR, claim_ids=ids)
    assert (refused.code, refused.detail["claim_id"], refused.detail["provider_id"]) == (
        "bank_account_missing", ids[0], 1)
    with transaction(sessions) as s:
        assert payments.list_payable(s, CODE, PayableFilter(), limit=5).items[0].bank_account \
            is None


def test_paid_with_one_reference_per_batch_and_never_twice(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000, 2_000_000)
    batch_id = _released(sessions, ids)
    # The bank has booked the money: a value date after today is a typing error.
    tomorrow = today() + dt.timedelta(days=1)
    late = _refused(sessions, confirmation.mark_paid, batch_id, by=OPERATOR, reference="CMB1",
                    value_date=tomorrow.isoformat())
    assert (late.code, late.detail["field"]) == ("invalid_input", "value_date")
    assert "lies in the future" in late.message
    with transaction(sessions) as s:
        paid = confirmation.mark_paid(s, batch_id, by=OPERATOR, reference="CMB20260601",
                                      value_date="2026-06-01")
    assert paid.status == "paid" and paid.paid_by == OPERATOR.label
    assert [(x.status, x.reference, x.value_date) for x in paid.lines] == [
        ("paid", "CMB20260601", DAY)] * 2
    assert _refused(sessions, confirmation.mark_paid, batch_id, by=OPERATOR, reference="X2",
                    value_date=DAY).code == "already_paid"
    with transaction(sessions) as s:
        assert [claims.get_claim(s, i).status for i in ids] == ["paid", "paid"]
        b = budget(s, CODE)
        assert (b.in_payment, b.paid) == (0, 1_500_000) and b.balanced and verify(s).ok


def _csv(*rows: str, header: str = "batch,line,amount_yuan,reference,value_date") -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


def test_the_banks_confirmation_file_marks_each_line(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000, 2_000_000)
    batch_id = _released(sessions, ids)
    good = (f"{batch_id},1,5000.00,CMB001,2026-06-01", f"{batch_id},2,10000,CMB002,20260602")
    refusals = {
        "confirmation_total_mismatch": _csv(good[0], f"{batch_id},2,9999.99,CMB002,2026-06-02"),
        "line_not_in_batch": _csv(good[0], f"{batch_id},3,10000,CMB002,2026-06-02"),
        "confirmation_amount_mismatch": _csv(f"{batch_id},1,10000,A,2026-06-01",
                                             f"{batch_id},2,5000,B,2026-06-01"),
        "confirmation_wrong_batch": _csv(f"{batch_id + 1},1,5000,A,2026-06-01",
                                         f"{batch_id},2,10000,B,2026-06-01"),
        "line_confirmed_twice": _csv(good[0], good[0], f"{batch_id},9,5000,C,2026-06-01"),
    }
    for code, data in refusals.items():
        assert _refused(sessions, confirmation.confirm_file, batch_id, data,
                        by=OPERATOR).code == code, code
    bad = _refused(sessions, confirmation.confirm_file, batch_id,
                   _csv(good[0], f"{batch_id},2,10000,CMB002,next week"), by=OPERATOR)
    assert isinstance(bad, ImportRejected) and bad.detail["errors"][0]["line"] == 3
    missing = _refused(sessions, confirmation.confirm_file, batch_id,
                       _csv("1,5000", header="line,amount_yuan"), by=OPERATOR)
    assert missing.detail["errors"][0]["column"] == "reference"
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(PaymentConfirmation)) == 0
    # The bank's own Chinese headers (GB18030), with a column of its own that is ignored.
    chinese = _csv("1,5000.00,CMB001,2026-06-01,成功", "2,10000.00,CMB002,2026/06/02,成功",
                   header="序号,金额,银行流水号,入账日期,状态").decode().encode("gb18030")
    with transaction(sessions) as s:
        paid = confirmation.confirm_file(s, batch_id, chinese, by=OPERATOR)
    assert [(x.reference, x.value_date) for x in paid.lines] == [
        ("CMB001", DAY), ("CMB002", dt.date(2026, 6, 2))]
    assert _refused(sessions, confirmation.confirm_file, batch_id, _csv(*good),
                    by=OPERATOR).code == "already_paid"


def test_an_xlsx_confirmation_is_read_too(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    batch_id = _released(sessions, ids)
    book = Workbook()
    sheet = book.active
    sheet.append(["line", "amount_yuan", "reference", "value_date"])
    sheet.append([1, "5000.00", "ICBC9", dt.datetime(2026, 6, 3)])
    data = io.BytesIO()
    book.save(data)
    with transaction(sessions) as s:
        paid = confirmation.confirm_file(s, batch_id, data.getvalue(), by=OPERATOR)
    assert [(x.reference, x.value_date) for x in paid.lines] == [("ICBC9", dt.date(2026, 6, 3))]
    assert _refused(sessions, confirmation.confirm_file, batch_id, b"PK\x03\x04broken",
                    by=OPERATOR).code == "import_rejected"


def test_a_returned_line_is_owed_again_and_paid_once_the_bank_is_corrected(sessions,
                                                                            programme):
    ids = _approved_claims(sessions, 1_000_000, 2_000_000)
    batch_id = _released(sessions, ids)
    assert _refused(sessions, returns.record_return, batch_id, 1, amount_fen=500_000,
                    reason="账户已销户", by=OPERATOR).code == "batch_not_paid"
    with transaction(sessions) as s:
        confirmation.mark_paid(s, batch_id, by=OPERATOR, reference="CMB1", value_date=DAY)
    for line, amount, code in ((3, 500_000, "line_not_in_batch"),
                               (1, 500_001, "return_exceeds_line"),
                               (1, 400_000, "return_not_whole")):
        assert _refused(sessions, returns.record_return, batch_id, line, amount_fen=amount,
                        reason="账户已销户", by=OPERATOR).code == code
    with transaction(sessions) as s:
        back = returns.record_return(s, batch_id, 1, amount_fen=500_000, reason="账户已销户",
                                     by=OPERATOR)
        reversal = s.scalar(select(PaymentReturn.entry_id))
        entry = s.get(JournalEntry, reversal)
        paid_entry = s.scalar(select(PaymentConfirmation.entry_id)
                              .where(PaymentConfirmation.line_id == back.lines[0].id))
        b = budget(s, CODE)
    assert [(x.status, x.return_reason) for x in back.lines] == [
        ("returned", "账户已销户"), ("paid", None)]
    with transaction(sessions) as s:
        year = audit_queries.Window(dt.date(2000, 1, 1), dt.date(2999, 12, 31),
                                    dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                                    dt.datetime(2999, 12, 31, tzinfo=dt.UTC))
        programme_id = payments.batch_row(s, batch_id)[0].programme_id
        assert audit_queries.returned_in(s, programme_id, year) == audit_queries.CountAmount(
            1, 500_000)
        # What the provider's money page takes off the credits to its account.
        assert returns.returned_to_provider_by_programme(s, 1, [programme_id]) == {
            programme_id: 500_000}
        assert returns.returned_to_provider_by_programme(s, 2, [programme_id]) == {}
    assert (entry.flow, entry.reverses_entry_id) == ("payment.return", paid_entry)
    assert (b.paid, b.balanced) == (1_000_000, True)
    assert _refused(sessions, returns.record_return, batch_id, 1, amount_fen=500_000,
                    reason="again", by=OPERATOR).code == "already_returned"
    with transaction(sessions) as s:
        claim = claims.get_claim(s, ids[0])
        report = reconciliation.reconcile_batch(s, batch_id)
    assert (claim.status, claim.batch_id) == ("approved", None)
    assert (report.paid_fen, report.returned_fen, report.owed_fen, report.net_paid_fen) == (
        1_500_000, 500_000, 500_000, 1_000_000) and report.agrees
    # Not payable to the same account again; payable once the provider's bank is corrected.
    assert _refused(sessions, payments.create_batch, CODE, by=OPERATOR,
                    claim_ids=[ids[0]]).code == "bank_details_not_corrected"
    # The payable list says so beside the line, before the operator chooses it.
    with transaction(sessions) as s:
        listed = payments.list_payable(s, CODE, payments.PayableFilter(), limit=10)
        assert [(p.id, p.bank_returned) for p in listed.items] == [(ids[0], True)]
        PROVIDERS.set_bank_account(s, 1, "中国银行沈阳分行", "6222 0000 1111 2222")
        listed = payments.list_payable(s, CODE, payments.PayableFilter(), limit=10)
        assert [(p.id, p.bank_returned) for p in listed.items] == [(ids[0], False)]
    again = _released(sessions, [ids[0]])
    with transaction(sessions) as s:
        repaid = confirmation.mark_paid(s, again, by=OPERATOR, reference="BOC2", value_date=DAY)
        report = reconciliation.reconcile_batch(s, batch_id)
        b = budget(s, CODE)
        assert claims.get_claim(s, ids[0]).status == "paid" and verify(s).ok
    assert repaid.lines[0].bank_account == "6222000011112222"
    assert (report.owed_fen, report.ledger_owed_fen, report.agrees) == (0, 0, True)
    assert (b.paid, b.in_payment, b.balanced) == (1_500_000, 0, True)


@pytest.mark.parametrize("data", [
    b"\r0\r",  # a bare carriage return where a cell goes on (a 500 found by the fuzz test)
    b"batch,line,amount_yuan,reference,value_date\r1,1,5,\"CMB\rX\",2026-06-01\r",
    # a cell past the csv module's field size limit
    b"batch,line,amount_yuan,reference,value_date\n1,1,5,R" + b"x" * 140_000 + b",2026-06-01\n",
])
def test_a_confirmation_file_the_csv_reader_cannot_take_is_refused_not_a_crash(data):
    with pytest.raises(ImportRejected) as refused:
        confirmation.read_confirmation(data)
    assert refused.value.code == "import_rejected" and refused.value.detail["errors"]


def test_a_confirmation_file_is_compared_with_the_ledger(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000, 2_000_000)
    batch_id = _released(sessions, ids)
    with transaction(sessions) as s:
        confirmation.mark_paid(s, batch_id, by=OPERATOR, reference="CMB1", value_date=DAY)
    rows, _ = confirmation.read_confirmation(_csv(
        f"{batch_id},1,5000,CMB1,2026-06-01", f"{batch_id},2,10000,CMB9,2026-06-01",
        f"{batch_id},3,1,CMB1,2026-06-01"))
    with transaction(sessions) as s:
        found = reconciliation.compare_file(s, batch_id, rows)
        same = reconciliation.compare_file(s, batch_id, rows[:1])
    assert [(d.line, d.what) for d in found] == [(2, "reference"), (3, "not_in_batch")]
    assert [(d.line, d.what) for d in same] == [(2, "missing_in_file")]


def _race(sessions, work) -> list[str]:
    """Run `work(session)` in two threads at once; each outcome: "ok" or the refusal's code."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def one() -> None:
        start.wait()
        try:
            with transaction(sessions) as s:
                work(s)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_two_releases_of_one_batch_one_wins(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=ids)
    approvers = iter((APPROVER, APPROVER2))
    lock = threading.Lock()

    def release(s):
        with lock:
            who = next(approvers)
        payments.release_batch(s, batch.id, by=who)

    assert _race(sessions, release) == ["already_released", "ok"]


def test_two_returns_of_one_line_one_wins(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    batch_id = _released(sessions, ids)
    with transaction(sessions) as s:
        confirmation.mark_paid(s, batch_id, by=OPERATOR, reference="CMB1", value_date=DAY)
    assert _race(sessions, lambda s: returns.record_return(
        s, batch_id, 1, amount_fen=500_000, reason="户名不符", by=OPERATOR)) == [
        "already_returned", "ok"]
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(PaymentReturn)) == 1
        assert budget(s, CODE).paid == 0 and verify(s).ok


def test_the_reconcile_command_checks_the_banks_file_against_the_ledger(
        tmp_path, db_url, sessions, programme):
    from typer.testing import CliRunner

    from api.cli import app

    ids = _approved_claims(sessions, 1_000_000, 2_000_000)
    batch_id = _released(sessions, ids)
    with transaction(sessions) as s:
        confirmation.mark_paid(s, batch_id, by=OPERATOR, reference="CMB1", value_date=DAY)
        returns.record_return(s, batch_id, 2, amount_fen=1_000_000, reason="户名不符",
                              by=OPERATOR)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    header = "line,amount_yuan,reference,value_date"
    good.write_bytes(_csv("1,5000,CMB1,2026-06-01", "2,10000,CMB1,2026-06-01", header=header))
    bad.write_bytes(_csv("1,5000,CMB7,2026-06-01", header=header))
    runner = CliRunner()
    ok = runner.invoke(app, ["payments", "reconcile", str(good), "--batch", str(batch_id),
                             "--url", db_url])
    assert ok.exit_code == 0, ok.output
    assert "reconciled: yes; net paid 5,000.00, still owed 10,000.00" in ok.output
    differ = runner.invoke(app, ["payments", "reconcile", str(bad), "--batch", str(batch_id),
                                 "--url", db_url])
    assert differ.exit_code == 1
    assert "line 1: reference (file: CMB7, ledger: CMB1)" in differ.output
    assert "line 2: missing_in_file" in differ.output
