"""Valid registry data for tests: credit codes with correct check characters."""

from __future__ import annotations

from ledger.registry.credit_code import check_character
from ledger.registry.parties import PartyData


def credit_code(n: int, prefix: str = "91210100MA") -> str:
    """The n-th test credit code (valid check character), distinct for distinct n."""
    body = f"{prefix}{n:07d}"[:17]
    return body + check_character(body)


def party(n: int, **changes: object) -> PartyData:
    """A valid firm or provider identity numbered n."""
    values: dict[str, object] = {
        "credit_code": credit_code(n),
        "name": f"沈阳测试科技有限公司{n}",
        "city": "沈阳市",
        "district": "浑南区",
        "size_class": "small",
        "legal_rep": f"法人{n}",
        "shareholders": (f"法人{n}", "沈阳创投"),
        "bank_name": "中国银行沈阳分行",
        "bank_account": f"62170000{n:08d}",
    }
    values.update(changes)
    return PartyData(**values)  # type: ignore[arg-type]
