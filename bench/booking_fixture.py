"""The booking benches' fixture (api_bench, booking_bench, http_write_bench): a database with
the demo registry, a programme, and firm-provider pairs, each firm a voucher and each pair's
provider a pool of the firm's authorisations (one pair: firm 1 and the demo provider).

The project is imported when called, from whatever checkout is first on `sys.path` (the
benches can time an older one).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pair:
    """One firm and one provider: the provider's sign-in, the firm's voucher, the codes."""

    username: str
    password: str
    serial: str
    codes: list[str]


BENCH_PASSWORD = "bench-provider-2026"
# Each pair's voucher: 50,000 yuan, thousands of the benches' 1.00-yuan holds.
_PAIR_VOUCHER_FEN = 5_000_000


def prepare_pairs(url: str, programme: str, grants: int, pairs: int) -> tuple[Any, list[Pair]]:
    """As `prepare_bookings`, spread over `pairs` firm-provider pairs: pair 0 is the demo's
    firm 1 and provider 1 (demo-provider); each other pair a firm and a provider registered
    here (demo.names' made-up parties, the provider registered for testing) with a provider
    user of its own. Each firm gets a voucher; `grants` authorisations are shared out."""
    import datetime as dt

    from demo.names import demo_firms, demo_providers
    from demo.seed import seed_demo
    from ledger.core.acting import By, today
    from ledger.core.db import make_engine, make_sessionmaker, transaction
    from ledger.core.errors import DomainError
    from ledger.core.migrations import upgrade
    from ledger.programmes.programme import appropriate, create_programme
    from ledger.registry.firms import Certification, create_firm
    from ledger.registry.providers import Provider, Registration, create_provider
    from ledger.registry.users import create_user
    from ledger.vouchers.authorisations import authorise
    from ledger.vouchers.voucher import issue_voucher

    upgrade(url)
    engine = make_engine(url)
    by = By(0, "bench")
    day = today()
    year = day.year
    out: list[Pair] = []
    with transaction(make_sessionmaker(engine)) as s:
        seed_demo(s)
        create_programme(s, code=programme, name="bench", fiscal_year=year, policy="LN-CXQ",
                         by=by)
        appropriate(s, programme, pairs * _PAIR_VOUCHER_FEN, by=by)
        demo = s.get(Provider, 1)
        assert demo is not None
        parties = [(1, demo.credit_code, "demo-provider", "demo-provider-2026")]
        providers = demo_providers(pairs, year)
        firms = demo_firms(pairs, year, providers)
        certified = (Certification("tech_sme", year, min(dt.date(year, 1, 2), day)),)
        for n, (provider, firm) in enumerate(zip(providers[:pairs - 1], firms, strict=False)):
            provider_id = create_provider(s, provider.party, categories=(
                Registration("testing", dt.date(year - 1, 1, 10)),)).id
            firm_id = create_firm(s, firm.party, certifications=certified).id
            username = f"bench-provider-{n + 1}"
            create_user(s, username=username, password=BENCH_PASSWORD, role="provider",
                        provider_id=provider_id)
            parties.append((firm_id, provider.party.credit_code, username, BENCH_PASSWORD))
        per_pair = -(-grants // pairs)
        for firm_id, provider_code, username, password in parties:
            try:
                serial = issue_voucher(s, programme, firm_id, _PAIR_VOUCHER_FEN, by=by).serial
            except DomainError as exc:
                raise RuntimeError(f"bench firm {firm_id}: {exc}") from exc
            codes = [authorise(s, firm_id=firm_id, voucher=serial, programme=programme,
                               provider_credit_code=provider_code, by=by).code
                     for _ in range(per_pair)]
            out.append(Pair(username, password, serial, codes))
    return engine, out


def prepare_bookings(url: str, programme: str, grants: int) -> tuple[Any, str, list[str]]:
    """`prepare_pairs` with one pair (firm 1, demo-provider): the engine, the voucher's serial
    and the `grants` authorisation codes."""
    engine, (pair,) = prepare_pairs(url, programme, grants, 1)
    return engine, pair.serial, pair.codes


@dataclass
class Figures:
    """What one kind of operation (`per`: op, req) cost: statements, wall ms and CPU ms each."""

    name: str
    statements: list[int]
    ms: list[float]
    cpu_ms: list[float]
    per: str = "op"

    def line(self) -> str:
        return (f"{self.name}: n={len(self.ms)} "
                f"statements/{self.per}={statistics.mean(self.statements):.1f} "
                f"median_ms={statistics.median(self.ms):.2f} "
                f"mean_ms={statistics.mean(self.ms):.2f} "
                f"cpu_ms={statistics.mean(self.cpu_ms):.2f}")

    @property
    def rps(self) -> float:
        return 1000 / statistics.mean(self.ms)
