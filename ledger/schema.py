"""Imports every module that defines tables, so `Base.metadata` holds the whole schema.

Alembic's environment and the test harness import this module; a new model module adds
its import here.
"""

import ledger.awards
import ledger.claims
import ledger.evidence
import ledger.firms
import ledger.models
import ledger.oplog
import ledger.payments
import ledger.programs
import ledger.providers
import ledger.redemption_totals
import ledger.redemptions
import ledger.users
import ledger.vouchers  # noqa: F401
from ledger.base import Base

metadata = Base.metadata
