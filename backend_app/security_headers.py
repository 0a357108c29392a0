"""Security headers on every response the app writes: pages, API, errors and static files.

The pages run no inline script (static/app.js holds it all, htmx is configured not to eval),
so the Content-Security-Policy allows scripts from this origin only. Nothing may frame a page
(``frame-ancestors 'none'`` and, for older browsers, ``X-Frame-Options``): an admin page in a
hidden frame would take one-click toggles, rollbacks and promotions. Style *attributes* stay
allowed, because the report draws its shot strip with computed widths and colours; style
elements and sheets come from this origin only.
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Flask, Response

from backend_app.settings import Settings

HSTS = "max-age=31536000"  # a year; subdomains are the operator's to decide


def content_security_policy(settings: Settings) -> str:
    """The policy for this deployment: storage on another origin (S3, a public base URL) may
    serve the video, keyframes and the browser's direct uploads."""
    storage = " ".join(storage_origins(settings))
    media = f"'self' {storage}".strip()
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "style-src-attr": "'unsafe-inline'",
        "img-src": f"{media} data:",  # pico.css draws its icons as data: SVGs
        "media-src": media,
        "connect-src": media,  # uploads PUT straight to storage
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def storage_origins(settings: Settings) -> list[str]:
    """Origins other than the app's that signed storage links point at."""
    urls = [settings.public_base_url]
    if settings.storage_backend == "s3":
        endpoint = settings.s3_public_endpoint_url or settings.s3_endpoint_url
        # AWS itself (no endpoint): path-style links on the regional or the global S3 host.
        urls += (
            [endpoint] if endpoint else [f"https://s3.{settings.s3_region}.amazonaws.com", "https://s3.amazonaws.com"]
        )
    origins = []
    for url in urls:
        parts = urlparse(url)
        if parts.scheme and parts.netloc and f"{parts.scheme}://{parts.netloc}" not in origins:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


def headers_for(settings: Settings) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",  # signed storage links in page URLs never leave the site
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.cookie_secure:  # served over HTTPS: browsers should never try plain HTTP again
        headers["Strict-Transport-Security"] = HSTS
    return headers


def init_app(app: Flask) -> None:
    """Add the headers to every response; a view that sets one of them keeps its own."""
    headers = tuple(headers_for(app.config["SETTINGS"]).items())

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in headers:
            response.headers.setdefault(name, value)
        return response
