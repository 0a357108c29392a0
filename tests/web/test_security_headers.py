"""Security headers on every response, no inline script in the pages, cookies that live as long as
their tokens and are Secure in production (issue 26: admin pages could be framed for one-click
toggles; cookies had a one-year Max-Age and no Secure flag in production)."""

from __future__ import annotations

import re

import pytest

from backend_app.services import sessions
from backend_app.settings import load_settings
from backend_app.tenancy import Tenant
from tests.factories import PASSWORD, make_user, page_login
from tests.helpers import ROOT

pytestmark = pytest.mark.sqlite_only

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split("; ")}


def _assert_secured(response, where: str) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (where, name, dict(response.headers))
    csp = _directives(response)
    assert csp["frame-ancestors"] == "'none'", where
    assert csp["script-src"] == "'self'", where  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert "unsafe" not in csp["style-src"]


def test_every_kind_of_response_carries_the_headers(app, admin_page):
    client = app.test_client()
    responses = {
        "login page": client.get("/login"),
        "signed-in page": admin_page.get("/sessions"),
        "admin page": admin_page.get("/admin/flags"),
        "htmx fragment": admin_page.get("/admin/health", htmx=True),
        "api": client.get("/api/v1/simple-health"),
        "api error": client.get("/api/v1/sessions"),
        "api 404": client.get("/api/v1/no-such-thing"),
        "page 404": admin_page.get("/no-such-page"),
        "csrf refusal": admin_page.post("/sessions", data={"name": "x"}, csrf=False),
        "static": client.get("/static/app.js"),
        "vendored htmx": client.get("/static/vendor/htmx-2.0.11.min.js"),
        "health": client.get("/health"),
        "openapi": client.get("/api/v1/openapi.json"),
    }
    statuses = {where: response.status_code for where, response in responses.items()}
    assert statuses["api error"] == 401 and statuses["api 404"] == 404 and statuses["page 404"] == 404
    assert statuses["csrf refusal"] == 403 and statuses["static"] == 200, statuses
    for where, response in responses.items():
        _assert_secured(response, where)
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP in development


@pytest.mark.settings(cookie_secure=True)
def test_hsts_and_secure_cookies_when_cookie_secure(app, client):
    user = make_user()
    response = page_login(client, user.email)
    assert response.status_code == 303
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/api/v1/simple-health").headers["Strict-Transport-Security"] == "max-age=31536000"
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) >= 4 and all("; Secure" in cookie for cookie in cookies if "Max-Age=0" not in cookie)
    form = app.test_client().get("/login")  # the pre-session CSRF cookie too
    assert "; Secure" in form.headers["Set-Cookie"]


def test_cookie_secure_is_on_by_default_in_production_and_can_be_turned_off(tmp_path):
    strong = {"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40, "DATA_DIR": str(tmp_path)}
    assert load_settings({**strong, "APP_ENV": "production"}).cookie_secure is True
    assert load_settings({**strong, "APP_ENV": "production", "COOKIE_SECURE": "false"}).cookie_secure is False
    assert load_settings({**strong, "APP_ENV": "development"}).cookie_secure is False
    assert load_settings({**strong, "APP_ENV": "development", "COOKIE_SECURE": "true"}).cookie_secure is True


def _max_ages(response) -> dict[str, int]:
    found = {}
    for cookie in response.headers.getlist("Set-Cookie"):
        name = cookie.split("=", 1)[0]
        match = re.search(r"Max-Age=(\d+)", cookie)
        if match:
            found[name] = int(match.group(1))
    return found


@pytest.mark.settings(access_token_minutes=7, refresh_token_days=3)
def test_jwt_cookies_live_exactly_as_long_as_their_tokens(app, client):
    user = make_user()
    ages = _max_ages(page_login(client, user.email))
    access, refresh = 7 * 60, 3 * 86400
    for name, lifetime in (
        ("access_token_cookie", access),
        ("csrf_access_token", access),
        ("refresh_token_cookie", refresh),
        ("csrf_refresh_token", refresh),
    ):
        assert lifetime - 5 <= ages[name] <= lifetime, (name, ages)

    # The access cookie the pages mint silently from the refresh cookie lives as long as it.
    client.delete_cookie("access_token_cookie")
    client.delete_cookie("csrf_access_token")
    renewed = _max_ages(client.get("/sessions"))
    assert access - 5 <= renewed["access_token_cookie"] <= access, renewed


def test_templates_and_static_files_hold_no_inline_script():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|hx-on", re.IGNORECASE)
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert found == []


def test_storage_on_another_origin_is_allowed_for_media_images_and_uploads_only(app):
    from backend_app.security_headers import content_security_policy

    settings = app.config["SETTINGS"].replace(
        storage_backend="s3", s3_endpoint_url="http://minio:9000", s3_public_endpoint_url="https://files.example.test/x"
    )
    csp = dict(part.split(" ", 1) for part in content_security_policy(settings).split("; "))
    for directive in ("img-src", "media-src", "connect-src"):
        assert "https://files.example.test" in csp[directive] and "minio" not in csp[directive]
    assert "files.example.test" not in csp["script-src"] + csp["default-src"]
    aws = content_security_policy(
        settings.replace(s3_endpoint_url="", s3_public_endpoint_url="", s3_region="eu-west-3")
    )
    assert "https://s3.eu-west-3.amazonaws.com" in aws


@pytest.mark.timeout(180)
def test_pages_run_under_the_policy_without_a_violation_and_htmx_still_swaps(app, live_server, browser):
    """Chromium reports every CSP violation (securitypolicyviolation events, console errors);
    the main pages load with none, and htmx posts forms and swaps fragments without eval."""
    admin = make_user(role="admin", email="csp-admin@example.test")
    sessions.create(Tenant(admin.id), "CSP project")
    base = live_server.url
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: message.type == "error" and console.append(message.text))
    page.on("pageerror", lambda exc: console.append(str(exc)))
    seen: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        response = page.goto(base + path)
        assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("load")
        seen[path] = page.evaluate("window.__violations")

    visit("/register")
    visit("/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions$"))
    seen["/sessions (after sign-in)"] = page.evaluate("window.__violations")
    for path in ("/usage", "/account", "/admin/health", "/admin/jobs", "/admin/users", "/no-such-page"):
        visit(path)

    visit("/requirements")  # htmx: the form posts and the result fragment is swapped in
    page.fill("[data-testid=requirement-text]", "The system should respond quickly and be user-friendly.")
    page.click("[data-testid=check]")
    page.locator("[data-testid=requirement-result]").wait_for()
    assert page.locator("[data-testid=highlighted] mark").count() >= 2
    seen["/requirements (checked)"] = page.evaluate("window.__violations")

    visit("/admin/flags")  # the slider shows its value (was an inline oninput)
    flag = page.locator("[data-flag=use_v2]")
    flag.locator("[data-testid=flag-enabled]").check()
    flag.locator("[data-testid=canary-slider]").fill("35")
    assert flag.locator("[data-testid=percent-output]").inner_text() == "35"
    flag.locator("[data-testid=save-flag]").click()  # htmx post, #flags swapped
    page.locator("[data-testid=message]", has_text="use_v2 is on for 35 %").wait_for()
    page.locator("[data-flag=use_v2] [data-testid=canary-slider]").fill("10")  # in the swapped fragment too
    assert page.locator("[data-flag=use_v2] [data-testid=percent-output]").inner_text() == "10"
    seen["/admin/flags (saved)"] = page.evaluate("window.__violations")

    visit("/chat")  # the scope select submits its form (was an inline onchange)
    page.select_option("[data-testid=scope]", label="Session: CSP project")
    page.wait_for_url(re.compile(r"/chat\?session_id=[0-9a-f]+$"))
    seen["/chat (scoped)"] = page.evaluate("window.__violations")

    assert {path: found for path, found in seen.items() if found} == {}
    refused = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    assert refused == [], refused

    # The listener hears what the policy refuses: an inline script injected now does not run.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.append(s); }"
    )
    page.wait_for_function("() => window.__violations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__violations")[0].startswith("script-src")
