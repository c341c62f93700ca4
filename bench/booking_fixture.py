"""The booking benches' fixture (api_bench, booking_bench, http_write_bench): a database with
the demo registry, a programme, one voucher for firm 1 and the demo provider's authorisations.

The project is imported when called, from whatever checkout is first on `sys.path` (the
benches can time an older one).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


def prepare_bookings(url: str, programme: str, grants: int) -> tuple[Any, str, list[str]]:
    """Migrate, seed the demo, create `programme` with a voucher of 150,000 yuan for firm 1 and
    grant provider 1 `grants` authorisations on it: the engine, the serial and the codes."""
    from demo.seed import seed_demo
    from ledger.core.acting import By
    from ledger.core.db import make_engine, make_sessionmaker, transaction
    from ledger.core.migrations import upgrade
    from ledger.programmes.programme import appropriate, create_programme
    from ledger.registry.providers import Provider
    from ledger.vouchers.authorisations import authorise
    from ledger.vouchers.voucher import issue_voucher

    upgrade(url)
    engine = make_engine(url)
    by = By(0, "bench")
    with transaction(make_sessionmaker(engine)) as s:
        seed_demo(s)
        create_programme(s, code=programme, name="bench", fiscal_year=2026, policy="LN-CXQ",
                         by=by)
        appropriate(s, programme, 100_000_000, by=by)
        voucher = issue_voucher(s, programme, 1, 15_000_000, by=by)
        provider = s.get(Provider, 1)
        assert provider is not None
        codes = [authorise(s, firm_id=1, voucher=voucher.serial, programme=programme,
                           provider_credit_code=provider.credit_code, by=by).code
                 for _ in range(grants)]
    return engine, voucher.serial, codes


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
