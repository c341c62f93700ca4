"""Imports every module that defines tables, so `Base.metadata` holds the whole schema.

Alembic's environment and the test harness import this module; a new model module adds
its import here.
"""

import ledger.awards.award
import ledger.awards.publicity
import ledger.core.models
import ledger.core.oplog
import ledger.payments.batches
import ledger.programmes.programme
import ledger.registry.evidence
import ledger.registry.firms
import ledger.registry.providers
import ledger.registry.sign_in_throttle
import ledger.registry.users
import ledger.vouchers.applications
import ledger.vouchers.authorisations
import ledger.vouchers.claims
import ledger.vouchers.csv_import
import ledger.vouchers.redemption_totals
import ledger.vouchers.redemptions
import ledger.vouchers.voucher
import ledger.vouchers.voucher_totals  # noqa: F401
from ledger.core.base import Base

metadata = Base.metadata
