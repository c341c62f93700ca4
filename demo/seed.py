"""The demo: a small registry with one user per role, then a living year on top of it.

`seed_demo` adds the sign-ins and a few hand-written Liaoning firms and providers (what the
API tests use). `build_demo` adds a few hundred generated firms and dozens of providers
(demo/names.py) and plays a whole voucher and award year through the services
(demo/year.py). For `make run` and for trying the product; never for a real
deployment: the demo passwords are printed, so both refuse a database that holds any other
user. Re-running either adds nothing that is already there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from demo.names import DemoParty, demo_firms, demo_providers
from demo.plan import timeline
from demo.year import Cast, YearResult, build_year, programme_codes, year_built
from ledger.core import oplog
from ledger.core.acting import By, today
from ledger.core.errors import Conflict
from ledger.registry.firms import FIRMS as FIRM_REGISTRY
from ledger.registry.firms import (
    Certification,
    Firm,
    check_certification,
    create_firm,
)
from ledger.registry.parties import PartyData, check_party
from ledger.registry.providers import PROVIDERS as PROVIDER_REGISTRY
from ledger.registry.providers import (
    Provider,
    Registration,
    check_category,
    create_provider,
)
from ledger.registry.users import User, create_user, find_user

DEMO_PREFIX = "demo-"

# The hand-written firms are certified tech SMEs for 2026 (what the tests' explicit dates use)
# and for the current year, so that the demo's firms stay eligible on any day they are seeded.
_TECH_SME_YEARS = sorted({2026, today().year})


def _tech_sme(month: int, day: int) -> tuple[Certification, ...]:
    return tuple(Certification("tech_sme", y, date(y, month, day)) for y in _TECH_SME_YEARS)


def _granted_by_today(certs: tuple[Certification, ...]) -> tuple[Certification, ...]:
    """The hand-written certifications dated no later than today: early in a year this
    year's day has not come yet, and a certification is granted on a day already past."""
    day = today()
    return tuple(replace(c, certified_on=min(c.certified_on, day)) for c in certs)


# Credit codes carry Liaoning's division codes (2101 沈阳, 2102 大连 …) and valid check characters.
FIRMS: tuple[tuple[PartyData, tuple[Certification, ...]], ...] = (
    (PartyData("91210100MA0Y7K3N5H", "沈阳新松智联机器人科技有限公司", "沈阳市", "浑南区", "small",
               "刘志远", ("刘志远", "沈阳创新投资有限公司"), "中国工商银行沈阳浑南支行",
               "3301020109200154321"),
     (*_tech_sme(3, 18),
      Certification("gazelle", 2025, date(2025, 11, 6)))),
    (PartyData("91210200MA0QF8LX24", "大连海创精密仪器有限公司", "大连市", "甘井子区", "medium",
               "王海燕", ("王海燕", "李建国"), "中国银行大连高新园区支行", "6217856000012345678"),
     (*_tech_sme(4, 2),
      Certification("specialised", 2025, date(2025, 9, 12)))),
    (PartyData("91210300MA10A6TG7G", "鞍山钢研新材料科技有限公司", "鞍山市", "铁东区", "small",
               "赵明", ("赵明", "孙丽"), None, None),
     _tech_sme(3, 30)),
    (PartyData("91210800MA0XR2DB4X", "营口港智能装备有限公司", "营口市", "鲅鱼圈区", "micro",
               "陈晓东", ("陈晓东",), "中国建设银行营口分行", "21050163830800001234"),
     (*_tech_sme(5, 8),
      Certification("chuying", 2026, date(2026, 6, 1)))),
    (PartyData("91210600MA0U9HJC13", "丹东北方光电技术有限公司", "丹东市", "振兴区", "small",
               "周静", ("周静", "丹东光电产业基金"), None, None),
     ()),
)
PROVIDERS: tuple[tuple[PartyData, tuple[Registration, ...]], ...] = (
    (PartyData("12210000455812673E", "辽宁省检验检测认证中心", "沈阳市", "皇姑区", "large",
               "郭永明", ("辽宁省市场监督管理局",), "中国农业银行沈阳皇姑支行",
               "06101101040001234"),
     (Registration("testing", date(2025, 1, 10)),
      Registration("instrument_sharing", date(2025, 1, 10)))),
    (PartyData("91210100MA0TL4W9XA", "沈阳知行专利代理事务所有限公司", "沈阳市", "和平区", "micro",
               "韩雪", ("韩雪", "吴鹏"), "招商银行沈阳分行", "124905678910201"),
     (Registration("patent_application", date(2025, 3, 1)),)),
    (PartyData("91210200764418923E", "大连理工技术转移中心有限公司", "大连市", "沙河口区",
               "small", "马骏", ("马骏", "大连科技服务集团"), "交通银行大连分行",
               "212060100018170012345"),
     (Registration("technology_transfer", date(2025, 2, 20)),
      Registration("rd_design", date(2025, 2, 20)))),
)


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in: username, password, role and what it is bound to."""

    username: str
    password: str
    role: str
    bound_to: str = ""


@dataclass(frozen=True)
class DemoResult:
    """What seeding added (zero on a re-run) and the demo sign-ins."""

    firms_added: int
    providers_added: int
    users_added: int
    accounts: tuple[DemoAccount, ...]


# The demo people's names, as the console and the reports show them (the sign-in names stay
# demo-<role>, as the README prints them).
DISPLAY_NAMES = {"operator": "王敏", "approver": "李建华", "auditor": "陈静", "firm": "刘洋",
                 "provider": "张伟"}


def _password(role: str) -> str:
    return f"demo-{role}-2026"


def seed_demo(session: Session) -> DemoResult:
    """Add whatever part of the demo is missing; refuse a database with non-demo users."""
    others = session.scalar(select(User.username).where(~User.username.startswith(DEMO_PREFIX)))
    if others is not None:
        raise Conflict(f"the database has real users (e.g. {others}); the demo seeds only a "
                       "database of its own")
    actor = oplog.Actor(name="demo-seeder", role="cli", channel="cli")
    firm_ids = FIRM_REGISTRY.find_ids(session, [p.credit_code for p, _ in FIRMS])
    firms_added = 0
    for party, certs in FIRMS:
        if party.credit_code not in firm_ids:
            view = create_firm(session, party, certifications=_granted_by_today(certs))
            firm_ids[party.credit_code] = view.id
            oplog.record(session, actor, "firms.create", "firm", view.id)
            firms_added += 1
    provider_ids = PROVIDER_REGISTRY.find_ids(session, [p.credit_code for p, _ in PROVIDERS])
    providers_added = 0
    for party, regs in PROVIDERS:
        if party.credit_code not in provider_ids:
            view = create_provider(session, party, categories=regs)
            provider_ids[party.credit_code] = view.id
            oplog.record(session, actor, "providers.create", "provider", view.id)
            providers_added += 1
    first_firm, first_provider = FIRMS[0][0], PROVIDERS[0][0]
    wanted = (
        ("operator", None, None, "bureau"),
        ("approver", None, None, "bureau"),
        ("auditor", None, None, "bureau"),
        ("firm", firm_ids[first_firm.credit_code], None, first_firm.name),
        ("provider", None, provider_ids[first_provider.credit_code], first_provider.name),
    )
    accounts: list[DemoAccount] = []
    users_added = 0
    for role, firm_id, provider_id, bound in wanted:
        username = DEMO_PREFIX + role
        if find_user(session, username) is None:
            view = create_user(session, username=username, password=_password(role), role=role,
                               display_name=DISPLAY_NAMES[role], firm_id=firm_id,
                               provider_id=provider_id)
            oplog.record(session, actor, f"users.create.{role}", "user", view.id)
            users_added += 1
        accounts.append(DemoAccount(username, _password(role), role, bound))
    return DemoResult(firms_added, providers_added, users_added, tuple(accounts))


DEMO_FIRMS, DEMO_PROVIDERS = 300, 36
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoYear:
    """What `build_demo` did: the registry added, the year (None when already built)."""

    registry: DemoResult
    firms_added: int
    providers_added: int
    year: YearResult | None
    built_before: str | None
    firm_name: str
    provider_name: str


def _generated(firms: int, providers: int, year: int) -> tuple[list[DemoParty], list[DemoParty]]:
    """The generated parties beyond the hand-written ones, `firms` and `providers` in all."""
    extra_providers = demo_providers(max(0, providers - len(PROVIDERS)), year)
    return demo_firms(max(0, firms - len(FIRMS)), year, extra_providers), extra_providers


def _add_registry(session: Session, firms: list[DemoParty],
                  providers: list[DemoParty]) -> tuple[int, int]:
    """Insert the generated parties not yet registered (validated as any registration is)."""
    actor = oplog.Actor(name="demo-seeder", role="cli", channel="cli")
    known = FIRM_REGISTRY.find_ids(session, [f.party.credit_code for f in firms])
    new_firms = [(check_party(f.party), "active",
                  tuple(check_certification(c) for c in f.certifications))
                 for f in firms if f.party.credit_code not in known]
    for firm_id in FIRM_REGISTRY.insert_many(session, new_firms):
        oplog.record(session, actor, "firms.create", "firm", firm_id)
    known = PROVIDER_REGISTRY.find_ids(session, [p.party.credit_code for p in providers])
    new_providers = []
    for p in providers:
        if p.party.credit_code not in known:
            for reg in p.registrations:
                check_category(reg.category)
            new_providers.append((check_party(p.party), "active", p.registrations))
    for provider_id in PROVIDER_REGISTRY.insert_many(session, new_providers):
        oplog.record(session, actor, "providers.create", "provider", provider_id)
    return len(new_firms), len(new_providers)


def _cast(session: Session) -> Cast:
    """The demo users who act in the year, by role."""
    users = {role: find_user(session, DEMO_PREFIX + role)
             for role in ("operator", "approver", "firm", "provider")}
    found = {role: u for role, u in users.items() if u is not None}
    if len(found) != len(users):
        raise Conflict("the demo sign-ins are incomplete; run `voucher-ledger demo seed` on an "
                       "empty database")
    by = {role: By(u.id, u.username) for role, u in found.items()}
    firm_id, provider_id = found["firm"].firm_id, found["provider"].provider_id
    assert firm_id is not None and provider_id is not None
    return Cast(by["operator"], by["approver"], by["firm"], by["provider"], firm_id, provider_id)


def build_demo(
    session: Session,
    *,
    firms: int = DEMO_FIRMS,
    providers: int = DEMO_PROVIDERS,
    on: date | None = None,
    progress: Progress | None = None,
) -> DemoYear:
    """The demo registry and a living year up to `on` (today); what is there is not redone."""
    registry = seed_demo(session)
    line = timeline(on or today())
    if progress is not None:
        progress("registry", 0, 1)
    extra_firms, extra_providers = _generated(firms, providers, line.year)
    firms_added, providers_added = _add_registry(session, extra_firms, extra_providers)
    if progress is not None:
        progress("registry", 1, 1)
    cast = _cast(session)
    built = year_built(session, cast.operator)
    year = None if built is not None else build_year(session, cast, line, progress)
    firm = session.get(Firm, cast.firm_id)
    provider = session.get(Provider, cast.provider_id)
    assert firm is not None and provider is not None
    return DemoYear(registry, firms_added, providers_added, year, built, firm.name,
                    provider.name)


__all__ = ["DEMO_PREFIX", "FIRMS", "PROVIDERS", "DemoAccount", "DemoResult", "DemoYear",
           "build_demo", "programme_codes", "seed_demo"]
