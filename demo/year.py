"""The demo year, played through the services: every figure is a real journal entry.

Reads the registry, lays out the year (demo/plan.py) and performs each event with the
service a person would have used, as the demo user of the right role: the operator issues,
records and pays, providers book, complete and claim, firms confirm, the approver decides
and claws back. Firms and providers without a demo sign-in act as `demo:firm:<id>` and
`demo:provider:<id>` (user id 0, like the command line). Every step is logged; refusals
are tried in a savepoint, rolled back and logged as refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo.plan import (
    AWARD_CLAWBACK,
    AWARD_REJECTIONS,
    CLAIM_REJECTIONS,
    CLAWBACK_REASONS,
    PAID_FATES,
    PUBLICITY_START,
    REJECTED,
    BookingPlan,
    Event,
    FirmFacts,
    Planner,
    Policy,
    ProviderFacts,
    Script,
    Timeline,
)
from ledger.awards.award import (
    apply_award,
    approve_award,
    clawback_award,
    reject_award,
)
from ledger.awards.publicity import decide_objection, publish_awards, record_objection
from ledger.core import oplog
from ledger.core.acting import SHANGHAI, By, business_clock
from ledger.core.errors import Conflict, DomainError, PolicyRefused
from ledger.core.money import fen_to_yuan
from ledger.payments.batches import batch_row, create_batch, get_batch, release_batch
from ledger.payments.confirmation import mark_paid
from ledger.payments.returns import record_return
from ledger.programmes.programme import Programme, appropriate, create_programme, policies
from ledger.registry.evidence import Upload
from ledger.registry.firms import FIRMS, Certification, Firm, add_certification
from ledger.registry.providers import PROVIDERS, Provider
from ledger.vouchers.applications import (
    ApplicationView,
    apply_for_voucher,
    approve_application,
    record_refusal,
    reject_application,
)
from ledger.vouchers.authorisations import AuthorisationView, authorise, withdraw
from ledger.vouchers.claims import approve, file_claim, reject
from ledger.vouchers.clawbacks import clawback
from ledger.vouchers.expiry import expire
from ledger.vouchers.redemptions import book, cancel, complete, confirm
from ledger.vouchers.voucher import issue_voucher
from rules import application_window, voucher_expiry

POLICY, AWARD_POLICY = "LN-CXQ", "LN-AWARD"
DESCRIPTIONS = {
    "testing": "产品型式试验与性能检测", "patent_application": "发明专利申请代理",
    "instrument_sharing": "扫描电镜与质谱仪机时共享", "rd_design": "新产品结构设计与仿真分析",
    "technology_transfer": "科技成果转化服务（许可谈判与技术合同登记）",
}
Progress = Callable[[str, int, int], None]
T = TypeVar("T")
# One booking in this many starts with an authorisation the firm withdraws and grants again.
WITHDRAWN_EVERY = 17


@dataclass(frozen=True)
class Cast:
    """The demo users who act, and the firm and provider bound to the demo sign-ins."""

    operator: By
    approver: By
    firm_user: By
    provider_user: By
    firm_id: int
    provider_id: int


@dataclass
class YearResult:
    """What the year produced, by kind; `refused` counts the logged refusals."""

    voucher_programme: str
    award_programme: str
    counts: dict[str, int] = field(default_factory=dict)


def programme_codes(year: int) -> tuple[str, str]:
    """The voucher and award programme codes of a demo year."""
    return f"LN-CXQ-{year}", f"LN-AWARD-{year}"


def year_built(session: Session, operator: By) -> str | None:
    """The code of a programme the demo operator created, if the demo year was built."""
    return session.scalar(select(Programme.code).where(Programme.created_by == operator.label)
                          .order_by(Programme.id).limit(1))


def _pdf(*lines: str) -> bytes:
    """A one-page PDF showing `lines` (ASCII), small and valid: the demo's evidence files."""
    text = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 11 Tf 56 780 Td {text} ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _evidence(redemption_id: int, provider_id: int, amount_fen: int, day: dt.date) -> list[Upload]:
    facts = (f"Redemption {redemption_id}, provider {provider_id}",
             f"Amount {fen_to_yuan(amount_fen)} yuan, {day.isoformat()}")
    return [Upload(kind, f"{kind}-{redemption_id}.pdf", _pdf(title, *facts))
            for kind, title in (("contract", "Service contract"), ("invoice", "VAT invoice"),
                                ("service_report", "Service report"))]


class YearRunner:
    """Performs a script's events in order through the services."""

    def __init__(self, session: Session, cast: Cast, script: Script, codes: tuple[str, str]):
        self.session, self.cast, self.script = session, cast, script
        self.code, self.award_code = codes
        self.vouchers: dict[int, int] = {}
        self.serials: dict[int, str] = {}
        self.credit_codes: dict[int, str] = {}
        self.redemptions: dict[int, tuple[int, int]] = {}  # key → (id, subsidy or amount)
        self.claims: dict[int, int] = {}
        self.batches: dict[int, int] = {}
        self.awards: dict[int, int] = {}
        self.award_batches: dict[int, int] = {}
        self.published: set[int] = set()  # award keys on a 公示 list
        self.firm_of_voucher = {k: v.firm_id for k, v in script.vouchers.items()}
        self.counts: dict[str, int] = {}
        self.supplement_fen = 0

    # ------------------------------------------------------------------ acting and logging
    def _firm(self, firm_id: int) -> By:
        if firm_id == self.cast.firm_id:
            return self.cast.firm_user
        return By(0, f"demo:firm:{firm_id}")

    def _provider(self, provider_id: int) -> By:
        if provider_id == self.cast.provider_id:
            return self.cast.provider_user
        return By(0, f"demo:provider:{provider_id}")

    def log(self, by: By, role: str, action: str, kind: str, object_id: object,
             refused: DomainError | None = None) -> None:
        actor = oplog.Actor(name=by.label, role=role, channel="cli")
        shown = None if object_id is None else str(object_id)
        oplog.record(self.session, actor, action, kind, shown,
                     refused_code=None if refused is None else refused.code,
                     message="" if refused is None else refused.message)
        self.counts[action if refused is None else f"refused:{refused.code}"] = (
            self.counts.get(action if refused is None else f"refused:{refused.code}", 0) + 1)

    def _try(self, by: By, role: str, action: str, kind: str, work: Callable[[], T],
             object_id: object = None) -> T | None:
        """Run `work` in a savepoint; a refusal rolls it back and is logged as refused."""
        try:
            with self.session.begin_nested():
                done = work()
        except DomainError as exc:
            self.log(by, role, action, kind, object_id, exc)
            return None
        self.log(by, role, action, kind, getattr(done, "id", object_id))
        return done

    def _expect_refusal(self, by: By, role: str, action: str, kind: str,
                        work: Callable[[], object], expected: str) -> None:
        nested = self.session.begin_nested()
        try:
            work()
        except DomainError as exc:  # usually `expected`; any refusal is logged as it was
            nested.rollback()
            self.log(by, role, action, kind, None, exc)
            return
        nested.rollback()
        raise Conflict(f"demo: the attempt meant to be refused ({expected}) was allowed")

    # ------------------------------------------------------------------ events
    def run(self, progress: Progress | None) -> None:
        """Perform every event in order."""
        events = self.script.ordered()
        second, day = 0, None
        for done, event in enumerate(events, start=1):
            # Each event happens on its day, a second after the one before it that day.
            second = second + 1 if event.day == day else 1
            day = event.day
            with business_clock(_at(event.day, second)):
                getattr(self, f"_on_{event.kind}")(event)
            if progress is not None and (done % 25 == 0 or done == len(events)):
                progress("year", done, len(events))

    def _on_issue(self, event: Event) -> None:
        plan = self.script.vouchers[event.key]
        view = issue_voucher(self.session, self.code, plan.firm_id, plan.amount_fen,
                             by=self.cast.operator, issued_on=plan.issued_on)
        self.vouchers[plan.key] = view.id
        self.serials[plan.key] = view.serial
        self.log(self.cast.operator, "operator", "vouchers.issue", "voucher", view.id)

    def _booking(self, event: Event) -> tuple[BookingPlan, int, int] | None:
        plan = self.script.bookings[event.key]
        if plan.key not in self.redemptions:
            return None
        rid, amount = self.redemptions[plan.key]
        return plan, rid, amount

    def _credit_code(self, provider_id: int) -> str:
        if provider_id not in self.credit_codes:
            provider = self.session.get(Provider, provider_id)
            assert provider is not None
            self.credit_codes[provider_id] = provider.credit_code
        return self.credit_codes[provider_id]

    def _grant(self, voucher: int, provider_id: int, day: dt.date) -> AuthorisationView:
        """The voucher's firm authorises the provider (the service, without logging)."""
        return authorise(self.session, firm_id=self.firm_of_voucher[voucher],
                         voucher=self.serials[voucher], programme=self.code,
                         provider_credit_code=self._credit_code(provider_id),
                         by=self._firm(self.firm_of_voucher[voucher]), on=day)

    def _authorise(self, voucher: int, provider_id: int, day: dt.date
                   ) -> AuthorisationView | None:
        """The firm authorises the provider, logged as the firm's own step."""
        firm = self._firm(self.firm_of_voucher[voucher])
        return self._try(firm, "firm", "authorisations.create", "authorisation",
                         lambda: self._grant(voucher, provider_id, day))

    def _on_book(self, event: Event) -> None:
        plan = self.script.bookings[event.key]
        by = self._provider(plan.provider_id)
        day = plan.days["book"]
        if plan.key % WITHDRAWN_EVERY == 0:
            # Now and then a firm withdraws its first authorisation and grants another.
            first = self._authorise(plan.voucher, plan.provider_id, day)
            if first is not None:
                firm = self._firm(self.firm_of_voucher[plan.voucher])
                self._try(firm, "firm", "authorisations.withdraw", "authorisation",
                          lambda: withdraw(self.session, first.id,
                                           firm_id=self.firm_of_voucher[plan.voucher], by=firm))
        granted = self._authorise(plan.voucher, plan.provider_id, day)
        if granted is None:
            return
        view = self._try(by, "provider", "redemptions.book", "redemption", lambda: book(
            self.session, voucher=granted.voucher_serial, authorisation=granted.code,
            provider_id=plan.provider_id, category=plan.category, cost_fen=plan.cost_fen,
            description=DESCRIPTIONS[plan.category], by=by, on=day))
        if view is not None:
            self.redemptions[plan.key] = (view.id, view.subsidy_fen)

    def _on_cancel(self, event: Event) -> None:
        if (found := self._booking(event)) is None:
            return
        plan, rid, _ = found
        by = self._provider(plan.provider_id)
        cancel(self.session, rid, by=by, provider_id=plan.provider_id)
        self.log(by, "provider", "redemptions.cancel", "redemption", rid)

    def _on_complete(self, event: Event) -> None:
        if (found := self._booking(event)) is None:
            return
        plan, rid, subsidy = found
        by = self._provider(plan.provider_id)
        amount = subsidy * 4 // 5 if plan.partial and subsidy > 1 else None
        view = complete(self.session, rid, provider_id=plan.provider_id, by=by, amount_fen=amount,
                        on=plan.days["complete"])
        self.redemptions[plan.key] = (rid, view.amount_fen)
        self.log(by, "provider", "redemptions.complete", "redemption", rid)

    def _on_confirm(self, event: Event) -> None:
        if (found := self._booking(event)) is None:
            return
        plan, rid, _ = found
        firm_id = self.firm_of_voucher[plan.voucher]
        by = self._firm(firm_id)
        confirm(self.session, rid, firm_id=firm_id, by=by)
        self.log(by, "firm", "redemptions.confirm", "redemption", rid)

    def _on_file(self, event: Event) -> None:
        if (found := self._booking(event)) is None:
            return
        plan, rid, amount = found
        by = self._provider(plan.provider_id)
        day = plan.days["file"]
        view = self._try(by, "provider", "claims.file", "claim", lambda: file_claim(
            self.session, rid, provider_id=plan.provider_id,
            files=_evidence(rid, plan.provider_id, amount, day), by=by, on=day))
        if view is not None:
            self.claims[plan.key] = view.id

    def _on_decide(self, event: Event) -> None:
        plan = self.script.bookings[event.key]
        claim_id = self.claims.get(plan.key)
        if claim_id is None:
            return
        by = self.cast.approver
        if plan.fate == REJECTED:
            reason = CLAIM_REJECTIONS[plan.key % len(CLAIM_REJECTIONS)]
            reject(self.session, claim_id, by=by, reason=reason)
            self.log(by, "approver", "claims.reject", "claim", claim_id)
        else:
            approve(self.session, claim_id, by=by, reason="材料齐全，同意支付")
            self.log(by, "approver", "claims.approve", "claim", claim_id)

    def _on_clawback(self, event: Event) -> None:
        if (found := self._booking(event)) is None:
            return
        plan, rid, _ = found
        by = self.cast.approver
        reason = CLAWBACK_REASONS[plan.key % len(CLAWBACK_REASONS)]
        self._try(by, "approver", "redemptions.clawback", "redemption",
                  lambda: clawback(self.session, rid, by=by, reason=reason), rid)

    def _on_batch(self, event: Event) -> None:
        try:
            with self.session.begin_nested():
                view = create_batch(self.session, self.code, by=self.cast.operator)
        except Conflict as exc:
            if exc.code == "nothing_to_pay":
                return
            raise
        self.batches[event.key] = view.id
        self.log(self.cast.operator, "operator", "payments.create", "batch", view.id)

    def _release_and_pay(self, batch_id: int, day: dt.date) -> None:
        """The approver releases the batch; the bank's reference marks it paid that day."""
        release_batch(self.session, batch_id, by=self.cast.approver)
        self.log(self.cast.approver, "approver", "payments.release", "batch", batch_id)
        mark_paid(self.session, batch_id, by=self.cast.operator,
                  reference=f"DEMO{day:%Y%m%d}{batch_id:06d}", value_date=day)
        self.log(self.cast.operator, "operator", "payments.paid", "batch", batch_id)

    def finish_payments(self) -> None:
        """Leave a batch in every state: the oldest open award batch released (its bank file
        ready), and one line of the first paid voucher batch returned by the bank (退票), its
        claim owed to the provider again."""
        open_awards = [b for b in self.award_batches.values()
                       if batch_row(self.session, b)[0].status == "created"]
        if len(open_awards) > 1:
            release_batch(self.session, open_awards[0], by=self.cast.approver)
            self.log(self.cast.approver, "approver", "payments.release", "batch", open_awards[0])
        paid = [b for b in sorted(self.batches.values())
                if batch_row(self.session, b)[0].status == "paid"]
        if paid:
            line = get_batch(self.session, paid[0]).lines[0]
            record_return(self.session, paid[0], line.number, amount_fen=line.amount_fen,
                          reason="收款账户已销户（演示）", by=self.cast.operator)
            self.log(self.cast.operator, "operator", "payments.return", "batch", paid[0])

    def _on_paid(self, event: Event) -> None:
        batch_id = self.batches.get(event.key)
        if batch_id is not None:
            self._release_and_pay(batch_id, event.day)

    def _on_expire(self, event: Event) -> None:
        result = expire(self.session, self.code, as_of=event.day, by=self.cast.operator)
        self.log(self.cast.operator, "operator", "programs.expire", "programme", self.code)
        self.counts["vouchers expired"] = result.vouchers_expired

    def _on_refuse_issue(self, event: Event) -> None:
        refusal = self.script.refusals[event.key]
        cap = _cap_on(event.day)
        amount = cap + 50_000_00 if refusal.expected == "cap_exceeded" else cap // 5
        self._expect_refusal(self.cast.operator, "operator", "vouchers.issue", "voucher",
                             lambda: issue_voucher(self.session, self.code, refusal.firm_id,
                                                   amount, by=self.cast.operator,
                                                   issued_on=event.day), refusal.expected)

    def _on_refuse_book(self, event: Event) -> None:
        refusal = self.script.refusals[event.key]
        by = self._provider(refusal.provider_id)
        def attempt() -> object:
            granted = self._grant(refusal.voucher, refusal.provider_id, event.day)
            return book(self.session, voucher=granted.voucher_serial,
                        authorisation=granted.code, provider_id=refusal.provider_id,
                        category=refusal.category, cost_fen=20_000_00,
                        description=DESCRIPTIONS[refusal.category], by=by, on=event.day)

        # The firm's authorisation and the refused booking roll back together.
        self._expect_refusal(by, "provider", "redemptions.book", "redemption", attempt,
                             refusal.expected)

    def _on_apply(self, event: Event) -> None:
        plan = self.script.awards[event.key]
        by = self.cast.operator
        view = self._try(by, "operator", "awards.apply", "award", lambda: apply_award(
            self.session, self.award_code, firm_id=plan.firm_id, tier=plan.tier,
            level="national" if plan.tier == "little_giant" else "provincial",
            document_no=plan.document_no, certified_on=plan.certified_on, by=by,
            on=plan.days["apply"], requested_fen=plan.requested_fen))
        if view is not None:
            self.awards[plan.key] = view.id

    def _on_refuse_award(self, event: Event) -> None:
        refusal = self.script.refusals[event.key]
        assert refusal.day is not None
        self._expect_refusal(self.cast.operator, "operator", "awards.apply", "award",
                             lambda: apply_award(
                                 self.session, self.award_code, firm_id=refusal.firm_id,
                                 tier=refusal.category, level="provincial",
                                 document_no=f"辽科发〔{refusal.day.year}〕7号",
                                 certified_on=refusal.day, by=self.cast.operator, on=event.day),
                             refusal.expected)

    def _on_award_decide(self, event: Event) -> None:
        plan = self.script.awards[event.key]
        award_id = self.awards.get(plan.key)
        if award_id is None:
            return
        by = self.cast.approver
        if plan.fate == "rejected":
            reject_award(self.session, award_id, by=by,
                         reason=AWARD_REJECTIONS[plan.key % len(AWARD_REJECTIONS)])
            self.log(by, "approver", "awards.reject", "award", award_id)
        else:
            approve_award(self.session, award_id, by=by, reason="经审核符合奖励条件")
            self.log(by, "approver", "awards.approve", "award", award_id)

    def _on_award_clawback(self, event: Event) -> None:
        award_id = self.awards.get(event.key)
        if award_id is not None:
            clawback_award(self.session, award_id, by=self.cast.approver, reason=AWARD_CLAWBACK)
            self.log(self.cast.approver, "approver", "awards.clawback", "award", award_id)

    def _publish_round(self, day: dt.date) -> None:
        """The 公示 list of the awards to be paid that were decided before `day` and are not
        yet published: its period ends before the batches that pay them."""
        keys = sorted(plan.key for plan in self.script.awards.values()
                      if plan.fate in PAID_FATES and plan.key in self.awards
                      and plan.key not in self.published
                      and plan.days.get("award_decide", day) < day)
        if not keys:
            return
        pub = publish_awards(self.session, self.award_code, by=self.cast.operator,
                             award_ids=[self.awards[k] for k in keys], on=day)
        self.published.update(keys)
        self.log(self.cast.operator, "operator", "awards.publish", "award_publication", pub.id)

    def _on_award_batch(self, event: Event) -> None:
        award_id = self.awards.get(event.key)
        if award_id is not None:
            if event.key not in self.published:
                self._publish_round(event.day - dt.timedelta(days=PUBLICITY_START))
            view = create_batch(self.session, self.award_code, award_ids=[award_id],
                                by=self.cast.operator)
            self.award_batches[event.key] = view.id
            self.log(self.cast.operator, "operator", "payments.create", "batch", view.id)

    def _on_award_paid(self, event: Event) -> None:
        batch_id = self.award_batches.get(event.key)
        if batch_id is not None:
            self._release_and_pay(batch_id, event.day)

    def _on_appropriate(self, event: Event) -> None:
        appropriate(self.session, self.code, self.supplement_fen, by=self.cast.operator,
                    memo="年中追加预算")
        self.log(self.cast.operator, "operator", "programs.appropriate", "programme", self.code)


# Voucher applications (申领) in each state: one refused (an amount the window does not
# offer), one rejected, one approved (the firm applied again after the rejection), one applied.
APPLICATION_REJECTION = "营业执照扫描件不清晰，请重新上传"


def _application_day(line: Timeline) -> dt.date | None:
    """The latest day of the year on which an application window of the policy is open."""
    day = line.end
    while day >= line.start:
        if application_window(policies(), POLICY, day) is not None:
            return day
        day -= dt.timedelta(days=1)
    return None


def _application_documents(firm_id: int) -> list[Upload]:
    return [Upload("business_licence", f"licence-{firm_id}.pdf",
                   _pdf("Business licence", f"Firm {firm_id}")),
            Upload("plan", f"plan-{firm_id}.pdf",
                   _pdf("Innovation plan", f"Firm {firm_id}, R&D and testing services"))]


def play_applications(runner: YearRunner, firms: list[FirmFacts], line: Timeline) -> None:
    """Applications in every state, on the last day of the year a window is open."""
    day = _application_day(line)
    if day is None:
        return
    # In the afternoon: after that day's events of the year.
    with business_clock(_at(day, 6 * 3600)):
        _play_applications(runner, firms, day)


def _play_applications(runner: YearRunner, firms: list[FirmFacts], day: dt.date) -> None:
    window = application_window(policies(), POLICY, day)
    assert window is not None
    amount = min(window.amounts)
    eligible = [f.id for f in firms if f.status == "active"
                and ("tech_sme", day.year) in f.certifications][:2]
    session, code, approver = runner.session, runner.code, runner.cast.approver

    def apply(firm_id: int, fen: int) -> ApplicationView | None:
        by = runner._firm(firm_id)
        try:
            with session.begin_nested():
                view = apply_for_voucher(session, code, firm_id=firm_id, amount_fen=fen,
                                         documents=_application_documents(firm_id), by=by,
                                         on=day)
        except PolicyRefused as exc:
            record_refusal(session, code, firm_id=firm_id, amount_fen=fen,
                           decision=exc.detail["decision"], by=by, on=day)
            runner.log(by, "firm", "applications.apply", "application", None, exc)
            return None
        runner.log(by, "firm", "applications.apply", "application", view.id)
        return view

    if not eligible:
        return
    firm_id = eligible[0]
    apply(firm_id, max(window.amounts) + 100)  # not an amount the window offers
    first = apply(firm_id, amount)
    if first is not None:
        reject_application(session, first.id, by=approver, reason=APPLICATION_REJECTION)
        runner.log(approver, "approver", "applications.reject", "application", first.id)
    second = apply(firm_id, amount)
    if second is not None:
        approved_id = second.id
        runner._try(approver, "approver", "applications.approve", "application",
                    lambda: approve_application(session, approved_id, by=approver,
                                                reason="材料齐全，同意发放", on=day),
                    approved_id)
    for other in eligible[1:]:
        apply(other, amount)


def _facts(session: Session, cast: Cast) -> tuple[list[FirmFacts], list[ProviderFacts]]:
    """The registry as the planner sees it; the demo sign-ins' firm and provider first."""
    firm_ids = sorted(session.scalars(select(Firm.id)), key=lambda i: (i != cast.firm_id, i))
    firms = [FirmFacts(f.id, f.party.legal_rep, frozenset(f.party.shareholders),
                       f.party.credit_code, f.status,
                       frozenset((c.kind, c.year) for c in f.certifications),
                       tuple((c.kind, c.certified_on) for c in f.certifications),
                       bool(f.party.bank_account))
             for f in sorted(FIRMS.get_many(session, firm_ids),
                             key=lambda f: (f.id != cast.firm_id, f.id))]
    provider_ids = list(session.scalars(select(Provider.id)))
    providers = [ProviderFacts(p.id, p.party.legal_rep, frozenset(p.party.shareholders),
                               p.party.credit_code, frozenset(p.current_categories),
                               min(r.registered_on for r in p.categories))
                 for p in sorted(PROVIDERS.get_many(session, provider_ids),
                                 key=lambda p: (p.id != cast.provider_id, p.id))
                 if p.status == "active" and p.categories]
    return firms, providers


def _cap_on(day: dt.date) -> int:
    """The per-voucher cap of the voucher policy in force on `day`."""
    return policies().in_force(POLICY, day).model.issuance.per_voucher_cap  # type: ignore[union-attr]


def _policy() -> Policy:
    return Policy(_cap_on, lambda day: voucher_expiry(policies(), POLICY, day))


def _expired_days(line: Timeline) -> list[dt.date]:
    """Days of last year whose vouchers expire before this year's expiry run (up to ten)."""
    found: list[dt.date] = []
    day = dt.date(line.year - 1, 12, 20)
    while day.year == line.year - 1 and len(found) < 10:
        if policies().in_force(POLICY, day) is not None and (
                voucher_expiry(policies(), POLICY, day) < line.expiry_run):
            found.append(day)
        day -= dt.timedelta(days=1)
    return found


def build_year(session: Session, cast: Cast, line: Timeline,
               progress: Progress | None = None) -> YearResult:
    """Create the year's voucher and award programmes and play the year through them."""
    firms, providers = _facts(session, cast)
    if ("tech_sme", line.year) not in firms[0].certifications:
        add_certification(session, cast.firm_id,
                          Certification("tech_sme", line.year, line.start - dt.timedelta(days=3)))
        firms[0] = replace(firms[0], certifications=firms[0].certifications
                           | {("tech_sme", line.year)})
    script = Planner(line, firms, providers, _policy(), _expired_days(line)).plan()
    codes = programme_codes(line.year)
    operator = cast.operator
    runner = YearRunner(session, cast, script, codes)
    # The programmes and their budgets open the year: before its first event (last year's
    # round of vouchers is issued in December).
    opening = min([line.start, *(event.day for event in script.events)])
    with business_clock(_at(opening)):
        create_programme(session, code=codes[0], name=f"辽宁省科技创新券（{line.year}年度）",
                         fiscal_year=line.year, policy=POLICY, by=operator)
        create_programme(session, code=codes[1], by=operator, policy=AWARD_POLICY,
                         name=f"辽宁省瞪羚、独角兽、专精特新企业奖励（{line.year}年度）",
                         fiscal_year=line.year)
        for code in codes:
            runner.log(operator, "operator", "programs.create", "programme", code)
        # The budget: what the first half-year issues, then a supplement in mid-year.
        midyear = line.at(0.45)
        early = sum(v.amount_fen for v in script.vouchers.values() if v.issued_on < midyear)
        late = sum(v.amount_fen for v in script.vouchers.values() if v.issued_on >= midyear)
        for code, amount, memo in ((codes[0], _millions(early * 11 // 10), "年初预算"),
                                   (codes[1], _award_funds(script), "年度奖励资金")):
            appropriate(session, code, amount, by=operator, memo=memo)
            runner.log(operator, "operator", "programs.appropriate", "programme", code)
    runner.supplement_fen = _millions(late * 12 // 10)
    script.add(midyear, "appropriate", 0)
    runner.run(progress)
    play_applications(runner, firms, line)
    publish_list(runner, line)
    runner.finish_payments()
    return YearResult(codes[0], codes[1], dict(sorted(runner.counts.items())))


# The year's last 公示 list (earlier ones came before each round of award payments): published
# three weeks before the year's end (its period has ended), with one objection raised by a
# competitor, dismissed by the approver, so the awards stay payable.
OBJECTION = ("某同行企业（实名来函）", "该企业研发投入数据与年报不一致，请核实")
OBJECTION_DISMISSED = "经核对年报及审计报告，研发投入数据一致，异议不成立"


def publish_list(runner: YearRunner, line: Timeline) -> None:
    """Publish the approved awards decided by three weeks before the end, with one objection."""
    day = line.end - dt.timedelta(days=21)
    award_ids = sorted(runner.awards[plan.key] for plan in runner.script.awards.values()
                       if plan.fate == "approved" and plan.key in runner.awards
                       and plan.days.get("award_decide", day) < day)
    if not award_ids:
        return
    cast = runner.cast
    # Each step in the afternoon of its own day, after that day's events of the year.
    with business_clock(_at(day, 7 * 3600)):
        pub = publish_awards(runner.session, runner.award_code, by=cast.operator,
                             award_ids=award_ids, on=day)
        runner.log(cast.operator, "operator", "awards.publish", "award_publication", pub.id)
    raised_on = min(pub.ends_on, day + dt.timedelta(days=2))
    with business_clock(_at(raised_on, 7 * 3600)):
        objection = record_objection(runner.session, pub.id, award_id=award_ids[0],
                                     raised_by=OBJECTION[0], text=OBJECTION[1],
                                     by=cast.operator, on=raised_on)
        runner.log(cast.operator, "operator", "awards.object", "award_objection",
                   objection.id)
    with business_clock(_at(raised_on, 8 * 3600)):
        decide_objection(runner.session, objection.id, decision="dismissed",
                         reason=OBJECTION_DISMISSED, by=cast.approver)
        runner.log(cast.approver, "approver", "awards.decide_objection", "award_objection",
                   objection.id)


def _at(day: dt.date, second: int = 0) -> dt.datetime:
    """A moment of the working day `day` (from 09:00 Beijing time): the business clock's."""
    return dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI) + dt.timedelta(seconds=second)


def _millions(fen: int) -> int:
    """`fen` rounded up to whole millions of yuan, as budgets are appropriated."""
    return -(-fen // 1_000_000_00) * 1_000_000_00


def _award_funds(script: Script) -> int:
    """Enough for every planned application at its full amount, and a fifth more."""
    total = 0
    for plan in script.awards.values():
        tiers = policies().in_force(AWARD_POLICY, plan.days["apply"]).model.tiers  # type: ignore[union-attr]
        total += plan.requested_fen or tiers[plan.tier].amount

    return _millions(total * 12 // 10)
