"""PDF audit reports built from ledger queries."""
