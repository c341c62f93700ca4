"""Swagger UI at `/docs`, served from the app itself: bureaus run on closed networks, so the
page must not fetch its scripts from a CDN (FastAPI's default).

The two pages carry one inline script each; `inline_script_hashes` gives their sha256 so the
Content-Security-Policy can allow exactly them and no other inline script.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/static/swagger"
DOCS = "/docs"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
PAGES = (DOCS, OAUTH2_REDIRECT)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _swagger_page(title: str, openapi_url: str) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} — API",
        oauth2_redirect_url=OAUTH2_REDIRECT,
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": True},
    )


def inline_script_hashes(title: str, openapi_url: str) -> tuple[str, ...]:
    """Base64 sha256 of every inline script on the two pages, as CSP `'sha256-…'` wants."""
    pages = (_swagger_page(title, openapi_url), get_swagger_ui_oauth2_redirect_html())
    scripts = [m.group(1) for page in pages
               for m in _INLINE_SCRIPT.finditer(bytes(page.body).decode("utf-8"))]
    return tuple(base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode()
                 for s in scripts)


def install(app: FastAPI, openapi_url: str) -> None:
    """Serve the Swagger UI page, its assets and its OAuth2 redirect page locally."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-assets")

    @app.get(DOCS, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _swagger_page(app.title, openapi_url)

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
