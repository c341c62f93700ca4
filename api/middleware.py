"""What every response passes through: a request id, security headers, metrics and a log line.

A plain ASGI middleware (no BaseHTTPMiddleware: it would buffer streamed PDFs). The request id
is the caller's `X-Request-ID` when it is short and plain, else a new one; it is echoed in the
response, put on every log record and stored with every operation the request logs.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import observe_request
from api.problems import problem
from ledger.core.oplog import REQUEST_ID

REQUEST_ID_HEADER = "x-request-id"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("voucher_ledger.access")

# No inline script or style anywhere in the console; the Swagger page's two inline scripts
# are allowed by their hashes (api.docs_ui), nothing else.
BASE_CSP = ("default-src 'self'; script-src 'self'{scripts}; style-src 'self'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
DROPPED = frozenset({b"server", b"x-powered-by"})


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The CSP: scripts from the app itself, plus inline scripts with these sha256 hashes."""
    extra = "".join(f" 'sha256-{h}'" for h in script_hashes)
    return BASE_CSP.format(scripts=extra)


class ServiceMiddleware:
    """Request id, security headers, the access log line and the request metrics."""

    def __init__(self, app: ASGIApp, docs_paths: tuple[str, ...] = (),
                 docs_hashes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.csp = content_security_policy().encode()
        self.docs_csp = content_security_policy(docs_hashes).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        csp = self.docs_csp if scope["path"] in self.docs_paths else self.csp

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = self._headers(message.get("headers", []), scope, csp,
                                                   request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not response_started:
                # The error handler answers outside this middleware: answer here, with headers.
                response = problem(500, "internal_error",
                                   "an unexpected error occurred; it has been logged")
                await response(scope, receive, send_with_headers)
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            observe_request(scope["method"], route, status, elapsed)
            access_log.info("%s %s %s %.1fms", scope["method"], scope["path"], status,
                            elapsed * 1000, extra={
                                "method": scope["method"], "path": scope["path"],
                                "route": route, "status": status,
                                "duration_ms": round(elapsed * 1000, 1),
                                "client": (scope.get("client") or ("", 0))[0]})
            REQUEST_ID.reset(token)

    def _headers(self, headers: Iterable[tuple[bytes, bytes]], scope: Scope, csp: bytes,
                 request_id: str) -> list[tuple[bytes, bytes]]:
        kept = [(k, v) for k, v in headers if k.lower() not in DROPPED]
        kept += [*STATIC_HEADERS, (b"content-security-policy", csp),
                 (REQUEST_ID_HEADER.encode(), request_id.encode())]
        if scope.get("scheme") == "https":
            kept.append(HSTS)
        return kept


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == REQUEST_ID_HEADER.encode():
            sent = value.decode("latin-1")
            if _PLAIN_ID.fullmatch(sent):
                return sent
    return uuid.uuid4().hex


def _route_of(scope: Scope) -> str:
    """The route's template (`/api/v1/vouchers/{voucher_id}`), never the raw path's ids.

    Rebuilt from the path and its parameters: a metric label must not grow with every id,
    and an included router's route knows only its own part of the path.
    """
    if "endpoint" not in scope and "route" not in scope:
        return "unmatched"
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    return "/".join(f"{{{names[part]}}}" if part in names else part
                    for part in str(scope["path"]).split("/"))
