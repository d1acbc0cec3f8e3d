"""Swagger UI in a real browser: headless Chromium against a live server, no CDN involved.

Runs with Debian's chromium (`/usr/bin/chromium`) driven by Playwright for Python; the browser
Playwright would download itself is not needed. Without either, the test skips:
`make test-browser` installs both and runs just this test.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from settings import Settings

try:
    from playwright.sync_api import Locator, Page, Response, expect, sync_playwright
except ImportError:  # the test skips below
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = Path("/usr/bin/chromium")
HOW = "install Debian's chromium and `pip install playwright`, or run `make test-browser`"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium's own connections crowd out the page's: refused many at a time.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"  # git-ignored
SCREENSHOT = ARTIFACTS / "swagger-ui.png"
SECRET = "Shhh this is top secret spy stuff!"
NAME = "Grace Hopper"  # not the spec's example, "Hello John Doe", which the page also shows

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason=f"playwright is not installed: {HOW}"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: {HOW}"),
]


@pytest.fixture
def base_url(settings: Settings, request: pytest.FixtureRequest) -> str:
    """The live server, on SQLite only: the browser adds nothing per database backend."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the browser test runs once, on SQLite")
    url: str = request.getfixturevalue("live_server")
    return url


@pytest.fixture
def page() -> Iterator[Page]:
    """A page in headless Chromium with a fresh profile."""
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            context.close()


def login_prompts(page: Page) -> list[str]:
    """The URLs for which Chromium would open its own login prompt, each cancelled at once, as
    a user would (headless, an unanswered prompt leaves Swagger UI showing LOADING forever).

    A 401 with `WWW-Authenticate: Basic` brings that prompt before fetch() sees the response,
    even to a page's script; the list fills as the page runs.
    """
    prompted: list[str] = []
    cdp = page.context.new_cdp_session(page)
    cdp.on(
        "Fetch.requestPaused",
        lambda event: cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]}),
    )

    def cancel(event: dict[str, Any]) -> None:
        prompted.append(event["request"]["url"])
        cdp.send(
            "Fetch.continueWithAuth",
            {"requestId": event["requestId"], "authChallengeResponse": {"response": "CancelAuth"}},
        )

    cdp.on("Fetch.authRequired", cancel)
    cdp.send("Fetch.enable", {"handleAuthRequests": True, "patterns": [{"urlPattern": "*"}]})
    return prompted


def operation(page: Page, method: str, path: str) -> Locator:
    """An operation's block, opened, with "Try it out" pressed."""
    block = page.locator(f".opblock-{method}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    block.locator(".opblock-summary-control").click()
    block.get_by_role("button", name="Try it out").click()
    return block


def execute(block: Locator) -> Locator:
    """Press Execute; the live response's row (status and body) once it arrives."""
    block.get_by_role("button", name="Execute").click()
    row = block.locator(".live-responses-table tbody tr.response")
    row.scroll_into_view_if_needed()
    return row


def authorize_basic(page: Page, username: str, password: str) -> None:
    """Log in through the Authorize dialog's HTTP Basic form, then close the dialog."""
    page.locator(".auth-wrapper button.authorize").click()
    form = page.locator(".modal-ux .auth-container").filter(has_text="basicAuth")
    form.get_by_label("auth-basic-username").fill(username)
    form.get_by_label("auth-basic-password").fill(password)
    # Swagger UI 5 names these buttons by their aria-label, not their text.
    form.get_by_role("button", name="Apply credentials").click()
    expect(form.get_by_role("button", name="Remove authorization")).to_be_visible()
    form.get_by_role("button", name="Close").click()
    expect(page.locator(".modal-ux")).to_have_count(0)


def test_try_it_out_in_swagger_ui(base_url: str, page: Page) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    secrets_responses: list[Response] = []
    page.on(
        "response",
        lambda response: (
            secrets_responses.append(response) if response.url == f"{base_url}/secrets" else None
        ),
    )
    prompted = login_prompts(page)
    try:
        page.goto(f"{base_url}/ui/")

        hello = operation(page, "get", "/hello")
        hello.locator('tr[data-param-name="name"] input').fill(NAME)
        response = execute(hello)
        expect(response.locator(".response-col_status")).to_have_text("200")
        expect(response.locator(".response-col_description pre").first).to_have_text(
            f"Hello {NAME}"
        )

        # Before "Authorize": the 401 problem on the page, and no login prompt over it.
        secrets = operation(page, "get", "/secrets")
        response = execute(secrets)
        expect(response.locator(".response-col_status")).to_have_text("401")
        expect(response).to_contain_text('"title": "Unauthorized"')
        expect(response).to_contain_text('"message": "Authenticate."')
        expect(response).to_contain_text('www-authenticate: Bearer realm="Example"')
        expect(response).not_to_contain_text("Basic realm")
        expect(response).not_to_contain_text(SECRET)

        authorize_basic(page, "admin", "secret")
        response = execute(secrets)
        expect(response.locator(".response-col_status")).to_have_text("200")
        expect(response.locator(".response-col_description pre").first).to_have_text(SECRET)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOT)

    # What the browser itself received, not just what Swagger UI shows.
    assert prompted == []
    refused, allowed = secrets_responses
    assert refused.status == 401
    assert refused.request.header_value("x-requested-with") == "XMLHttpRequest"
    assert refused.header_values("www-authenticate") == ['Bearer realm="Example"']
    assert allowed.status == 200

    assert f"{base_url}/ui/swagger-ui-bundle.js" in requests
    assert f"{base_url}/openapi.json" in requests
    elsewhere = [url for url in requests if not url.startswith(f"{base_url}/")]
    assert elsewhere == [], "Swagger UI must load nothing from a CDN"


def test_swagger_ui_marks_the_deprecated_operation_at_its_deprecation_link(
    base_url: str, page: Page
) -> None:
    """`GET /healthz` answers with `Link: </ui/#/operations/get_healthz>; rel="deprecation"`:
    that page opens the operation, struck through as deprecated; `/livez` is not."""
    link = httpx.get(f"{base_url}/healthz").headers["link"]
    found = re.fullmatch(r'<(/ui/#/[^>]+)>; rel="deprecation"; type="text/html"', link)
    assert found is not None, link
    page.goto(f"{base_url}{found[1]}")
    healthz = page.locator("#operations-operations-get_healthz")
    expect(healthz).to_have_class(re.compile(r"\bopblock-deprecated\b"))
    expect(healthz).to_contain_text("Warning: Deprecated")
    expect(healthz.locator(".opblock-body")).to_be_visible()  # the deep link opened it
    livez = page.locator("#operations-operations-get_livez")
    expect(livez).to_be_visible()
    expect(livez).not_to_have_class(re.compile(r"\bopblock-deprecated\b"))
