"""Console tests: the app with strict translations on this test's database, and for browser
tests a real server (uvicorn, own SQLite file) driven by Debian's Chromium through Playwright.

Browser tests are marked `browser` and always use their own SQLite file, whatever engine the
rest of the suite runs on. Set VOUCHER_LEDGER_SCREENSHOTS=<dir> to save screenshots there.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import uvicorn
from console_helpers import KEY, PASSWORDS, World, build_world, granted
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine

from api.app import create_app
from ledger.core.db import make_engine, make_sessionmaker
from ledger.core.migrations import upgrade
from ledger.registry import users

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS_ENV = "VOUCHER_LEDGER_SCREENSHOTS"
FAST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the smallest cost: the real parameters take 0.2 s a hash."""
    monkeypatch.setattr(users, "_hasher", FAST_HASHER)


@pytest.fixture
def app(engine) -> FastAPI:
    """The app on this test's database; a missing translation fails the request."""
    application = create_app(engine, key=KEY, minutes=30)
    application.state.console_strict_i18n = True
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A browser-like client (cookies kept) on the app, in process."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def world(sessions) -> World:
    """The demo registry, a funded programme and a voucher each for firms 1 and 2."""
    return build_world(sessions)


# ------------------------------------------------------------------------------ browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def console_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the browser tests' own SQLite file (the server's database)."""
    return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'console.db'}"


@pytest.fixture
def ledger_reader(console_database: str):  # type: ignore[no-untyped-def]
    """Read-only sessions on the browser server's own database, to check pages against it."""
    engine = make_engine(console_database)
    yield make_sessionmaker(engine, read_only=True)
    engine.dispose()


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    """The whole app (strict translations) served by uvicorn on a free port: its base URL."""
    application = create_app(engine, key=KEY, minutes=30)
    application.state.console_strict_i18n = True
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the console server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def console_server(console_database: str) -> Iterator[str]:
    """The whole app served by uvicorn on a free port over its own SQLite file: its base URL."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "_hasher", FAST_HASHER)
        url = console_database
        upgrade(url)
        engine = make_engine(url)
        build_world(make_sessionmaker(engine))
        with serving(engine) as base_url:
            yield base_url
        engine.dispose()


@pytest.fixture
def server_grant(console_database: str, console_server: str
                 ) -> Iterator[Callable[..., dict[str, str]]]:
    """`server_grant(voucher_id, provider_id=1)`: the firm's authorisation, granted on the
    browser server's database; the booking form's voucher serial and code."""
    engine = make_engine(console_database)
    sessions = make_sessionmaker(engine)
    yield lambda voucher_id, provider_id=1: granted(sessions, voucher_id, provider_id)
    engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def signed_in(chromium, base_url: str, username: str,  # type: ignore[no-untyped-def]
              language: str = "zh-CN"):
    """A page in a fresh browser context of `language`, signed in through the form."""
    context = chromium.new_context(base_url=base_url, locale=language,
                                   viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto("/sign-in")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORDS[username])
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture(scope="session")
def console_serving() -> Callable[..., AbstractContextManager[str]]:
    """`with console_serving(engine) as base_url:` the app served over another database."""
    return serving


@pytest.fixture(scope="session")
def sign_in_at() -> Callable[..., object]:
    """`sign_in_at(chromium, base_url, username, language)`: a signed-in page there."""
    return signed_in


@pytest.fixture
def signed_in_page(chromium, console_server: str) -> Iterator[Callable[[str], object]]:
    """`signed_in_page(username)`: a fresh browser context signed in through the form."""
    contexts = []

    def open_as(username: str, language: str = "zh-CN"):  # type: ignore[no-untyped-def]
        page = signed_in(chromium, console_server, username, language)
        contexts.append(page.context)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[object, str], None]:
    """`screenshot(page, name)`: save <dir>/<name>.png when VOUCHER_LEDGER_SCREENSHOTS is set."""

    def take(page, name: str) -> None:  # type: ignore[no-untyped-def]
        directory = os.environ.get(SCREENSHOTS_ENV)
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)

    return take
