"""Shared by the voucher tests: the acting users, the programme code, evidence bytes."""

from __future__ import annotations

from ledger.core.acting import By

OPERATOR, PROVIDER, APPROVER, FIRM = By(1, "op"), By(2, "prov"), By(3, "appr"), By(4, "firm")
CODE = "LN-CXQ-2026"
PDF = b"%PDF-1.7\n" + b"x" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"y" * 50
