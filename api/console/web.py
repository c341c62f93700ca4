"""The console's framework: templates, filters, navigation, rendering and the route class.

A page module makes its router with `console_router()`, adds its menu entries with
`add_nav`, and answers with `render(request, "template.html", **context)`. The route class
checks CSRF on every POST and turns sign-in, 403 and 404 refusals into pages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from api.console import i18n, session
from api.console.labels import (
    ERRORS,
    account_text,
    invalid_input_sentence,
    operation_name,
    reference_text,
    tier_or_label,
)
from api.console.traces import rule_label, sentence, yuan_figure
from api.problems import status_of
from ledger.core.acting import SHANGHAI
from ledger.core.errors import DomainError, NotFound, PermissionDenied

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    """A menu entry: its label (a message id), where it goes, and the roles that see it."""

    label: str
    href: str
    roles: tuple[str, ...]


NAV: list[NavItem] = []
HOMES: dict[str, str] = {}


def add_nav(label: str, href: str, *roles: str) -> None:
    """Add a menu entry for `roles`, in the order pages are installed."""
    NAV.append(NavItem(label, href, roles))


def set_home(role: str, href: str) -> None:
    """Where `/` sends a signed-in user of `role` (its main page)."""
    HOMES[role] = href


def nav_for(role: str | None) -> list[NavItem]:
    """The menu of a role."""
    return [item for item in NAV if role in item.roles]


# ------------------------------------------------------------------------------ filters


def yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators and two decimals, by Babel for the page's
    locale: 1234567 → 12,345.67."""
    page = i18n.current.get(None)
    language = page.language if page is not None else i18n.DEFAULT_LANGUAGE
    return "" if fen is None else yuan_figure(int(fen), language)


def local_time(moment: dt.datetime | None) -> str:
    """A UTC moment as Asia/Shanghai wall time, to the minute."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # SQLite hands back UTC without a zone
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def day(value: dt.date | None) -> str:
    """A calendar date as YYYY-MM-DD."""
    return "" if value is None else value.isoformat()


def label(code: object) -> str:
    """A status, category, bound or other code in the page language (unknown: the code)."""
    return tier_or_label(str(code) if code is not None else "")


def as_code(text: object) -> Markup:
    """Text a person types or a file carries as it is (column names): set as <code>."""
    return Markup("<code>{}</code>").format(text)


def error_text(code: str, message: str = "") -> str:
    """The sentence for a stable error code in the page language (unknown: empty); for a
    known `invalid_input` message, what is wrong."""
    if code == "invalid_input" and message:
        page = i18n.current.get()
        known = invalid_input_sentence(message, page.gettext)
        if known is not None:
            return known
    return i18n.gettext(ERRORS[code]) if code in ERRORS else ""


# An import row's reason that starts with its refusal's code ("cap_exceeded: refused by …").
_CODED_REASON = re.compile(r"^(?P<code>[a-z_]+): (?P<rest>.+)$", re.S)


def reason_words(reason: object, code: str | None = None) -> str:
    """An import row's reason in the page's language: a known check's words, else the
    sentence of its refusal's code (`code`, or the code the reason starts with), else as the
    file's check wrote it."""
    text = str(reason)
    coded = _CODED_REASON.match(text)
    if code is None and coded is not None and coded["code"] in ERRORS:
        code, text = coded["code"], coded["rest"]
    gettext = i18n.current.get().gettext
    known = invalid_input_sentence(text, gettext)
    if known is not None:
        return known
    if code in ERRORS and code != "invalid_input":
        return gettext(ERRORS[code])
    return str(reason)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(yuan=yuan, local_time=local_time, day=day, label=label,
                       reason_words=reason_words, error_text=error_text, sentence=sentence,
                       rule_label=rule_label,
                       operation=operation_name, reference=reference_text, account=account_text,
                       code=as_code)
    return env


ENV = _environment()


def url_with(request: Request, **changes: object) -> str:
    """This page's URL with query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` in the request's language with the common context.

    Every template sees: `request`, `user` (or None), `lang`, `nav`, `csrf_token`,
    `url_with(**changes)` and `next_url` (where this page is).
    """
    catalogue = i18n.for_request(request)
    user = getattr(request.state, "user", None)
    common = {
        "request": request,
        "user": user,
        "lang": catalogue.language,
        "html_lang": i18n.HTML_LANG[catalogue.language],
        "nav": nav_for(user.role if user else None),
        "csrf_token": session.csrf_token(request),
        "url_with": lambda **changes: url_with(request, **changes),
        "next_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    token = i18n.current.set(catalogue)
    try:
        html = ENV.get_template(template).render({**common, **context})
    finally:
        i18n.current.reset(token)
    response = HTMLResponse(html, status_code=status)
    session.keep_anonymous_cookie(request, response)
    return response


def error_page(request: Request, status: int, code: str, detail: str = "") -> HTMLResponse:
    """The error page: the status, the stable code and its sentence."""
    return render(request, "error.html", status=status, status_code=status, code=code,
                  detail=detail)


def redirect(url: str) -> RedirectResponse:
    """After a POST: see the result with a GET (303)."""
    return RedirectResponse(url, status_code=303)


class ConsoleRoute(APIRoute):
    """Every console route: CSRF checked on POST; refusals become pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    await session.check_csrf(request)
                return await original(request)
            except session.SignInRequired:
                return session.to_sign_in(request)
            except session.PasswordChangeRequired:
                return redirect(session.ACCOUNT)
            except session.CsrfRefused:
                return error_page(request, 403, "csrf_failed")
            except RequestValidationError:
                return error_page(request, 404 if request.method == "GET" else 422,
                                  "invalid_input")
            except NotFound:
                return error_page(request, 404, "not_found")
            except PermissionDenied as exc:
                return error_page(request, 403, exc.code)
            except DomainError as exc:
                return error_page(request, status_of(exc), exc.code, exc.message)

        return handler


def console_router(prefix: str = "") -> APIRouter:
    """A router for console pages (hidden from the OpenAPI schema)."""
    return APIRouter(prefix=prefix, route_class=ConsoleRoute, include_in_schema=False)
