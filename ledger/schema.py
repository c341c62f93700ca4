"""Imports every module that defines tables, so `Base.metadata` holds the whole schema.

Alembic's environment and the test harness import this module; a new model module adds
its import here.
"""

import ledger.firms
import ledger.models
import ledger.oplog
import ledger.providers
import ledger.users  # noqa: F401
from ledger.base import Base

metadata = Base.metadata
