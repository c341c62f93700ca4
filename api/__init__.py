"""HTTP API and command line: parse, authenticate, authorise, call a ledger service, render."""
