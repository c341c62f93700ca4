"""Prometheus metrics through prometheus-client: requests, latency, bookings, refusals, journal.

Counters live in the process; with several workers (`serve --workers N`) each worker writes
them under `PROMETHEUS_MULTIPROC_DIR` and a scrape adds them up. Figures that the database
already knows (journal entries) are read from it at scrape time, so every worker agrees.
`/metrics` answers only a loopback client or a request bearing `VOUCHER_LEDGER_METRICS_TOKEN`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from api.problems import problem
from ledger.core.db import transaction
from ledger.core.journal import head

METRICS_TOKEN_ENV = "VOUCHER_LEDGER_METRICS_TOKEN"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
BOOKING_ACTIONS = frozenset({"redemptions.book"})

REQUESTS = Counter("voucher_ledger_http_requests", "HTTP requests by route and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("voucher_ledger_http_request_duration_seconds",
                    "Time to answer an HTTP request, by route.", ["method", "route"])
OPERATIONS = Counter("voucher_ledger_operations", "Mutating operations by action and outcome.",
                     ["action", "outcome"])
BOOKINGS = Counter("voucher_ledger_bookings", "Services booked against a voucher (holds).")
REFUSALS = Counter("voucher_ledger_refusals", "Refused operations by stable error code.",
                   ["code"])

router = APIRouter()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_operation(action: str, refused_code: str | None) -> None:
    """Count one logged operation: done, or refused with its code."""
    OPERATIONS.labels(action, "done" if refused_code is None else "refused").inc()
    if refused_code is not None:
        REFUSALS.labels(refused_code).inc()
    elif action in BOOKING_ACTIONS:
        BOOKINGS.inc()


class LedgerCollector(Collector):
    """Journal figures read from the database at scrape time."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def collect(self):  # type: ignore[no-untyped-def]
        with transaction(self.request.app.state.reader) as session:
            entries, _ = head(session)
        yield GaugeMetricFamily("voucher_ledger_journal_entries",
                                "Entries in the journal (posted).", value=entries)


def allowed(request: Request) -> bool:
    """A loopback client, or the configured bearer token (compared in constant time)."""
    token = os.environ.get(METRICS_TOKEN_ENV, "")
    sent = request.headers.get("authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus text exposition of this service's metrics."""
    if not allowed(request):
        return problem(403, "forbidden", "metrics are served to loopback or with the token")
    if os.environ.get(MULTIPROC_ENV):
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters)
    else:
        counters = REGISTRY
    ledger = CollectorRegistry()
    ledger.register(LedgerCollector(request))
    body = generate_latest(counters) + generate_latest(ledger)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
