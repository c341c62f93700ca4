"""Property-based tests of every operation against the OpenAPI schema (schemathesis, in-process).

No input may produce a 5xx, and every response must match what the schema documents: its
status code, content type, headers and body. Every operation runs as an operator; the reads
also run as an auditor and as a firm.

schemathesis's pytest fixture loader does not run under pytest 9 (it sets a private node
attribute), so each test builds the schema on its own app and drives hypothesis directly.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Modest by default so the suite stays fast; raise it for a deeper run.
MAX_EXAMPLES = int(os.environ.get("VOUCHER_LEDGER_FUZZ_EXAMPLES", "6"))
# Derandomised by default, so CI draws the same cases on every run and a red run can be
# repeated; VOUCHER_LEDGER_FUZZ_RANDOM=1 explores new cases (what a deeper run is for).
DERANDOMIZE = os.environ.get("VOUCHER_LEDGER_FUZZ_RANDOM", "") != "1"
# The operations, read from the app's schema once (an app on an unused in-memory database).
OPERATIONS = [
    (method.upper(), path)
    for path, item in create_app(url="sqlite://", key="k" * 32).openapi()["paths"].items()
    for method in item
]


# The operator may call everything; readers are run on the reads, where their view differs.
# The firm's and the provider's own mutations (the operator is refused them) run as them too.
OWN = {"firm": ("/api/v1/authorisations", "/api/v1/authorisations/{authorisation_id}/withdraw"),
       "provider": ("/api/v1/redemptions",)}
CASES = [("operator", m, p) for m, p in OPERATIONS] + [
    (who, m, p) for who in ("auditor", "firm") for m, p in OPERATIONS if m == "GET"
] + [(who, "POST", p) for who, paths in OWN.items() for p in paths]


@pytest.mark.parametrize(("who", "method", "path"), CASES,
                         ids=[f"{w} {m} {p}" for w, m, p in CASES])
def test_no_5xx_and_responses_match_the_schema(app, world, who, method, path):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]
    headers = world.auth(who)

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case):  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
