"""Framewise: the Flask app factory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from backend_app.settings import PROJECT_ROOT, Settings, load_settings


class FramewiseFlask(Flask):
    """Flask, minus two per-request costs that buy Framewise nothing (profiled: ~15 % of a
    ``/ping``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sync_callables: dict = {}
        self.session_interface = LazyCookieSessionInterface()

    def ensure_sync(self, func):
        # Flask asks inspect whether each hook and view is a coroutine on every request
        # (a dozen times per request here); the answer never changes for a function.
        try:
            return self._sync_callables[func]
        except KeyError:
            return self._sync_callables.setdefault(func, super().ensure_sync(func))
        except TypeError:  # an unhashable callable: ask every time, as Flask does
            return super().ensure_sync(func)


class LazyCookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building its signer for requests that carry no
    session cookie (all of them today: identity lives in JWT cookies, not in ``session``).
    Same results as the stock interface in every case."""

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # the stock method would also set nothing
        super().save_session(app, session, response)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``overrides`` may hold Settings fields (lower case) or Flask config keys."""
    overrides = dict(overrides or {})
    setting_names = set(Settings.__dataclass_fields__)
    settings = load_settings(**{k: overrides.pop(k) for k in list(overrides) if k in setting_names})

    app = FramewiseFlask(
        __name__, template_folder=str(PROJECT_ROOT / "templates"), static_folder=str(PROJECT_ROOT / "static")
    )
    _configure(app, settings)
    app.config.update(overrides)

    from backend_app import observability

    observability.configure_logging(settings.log_level)
    _init_extensions(app, settings)
    from backend_app.services import lifecycle

    lifecycle.init_app(app)  # every feature's purge, erase, export, session clean-up and health hooks
    _register_blueprints(app)
    _register_errors(app)
    _register_request_limits(app)
    observability.init_app(app)
    from backend_app import canary

    canary.init_app(app)  # after observability: the variant header is set before metrics read it
    from backend_app import security_headers

    security_headers.init_app(app)  # CSP, frame and sniffing rules on every response

    from backend_app.cli import register_cli

    register_cli(app)
    return app


def _configure(app: Flask, settings: Settings) -> None:
    if settings.sqlalchemy_url.startswith("sqlite:///"):
        Path(settings.sqlalchemy_url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        JWT_SECRET_KEY=settings.jwt_secret_key,
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.access_token_minutes),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.refresh_token_days),
        JWT_COOKIE_SECURE=settings.cookie_secure,
        JWT_COOKIE_SAMESITE="Lax",
        JWT_COOKIE_CSRF_PROTECT=True,
        JWT_CSRF_CHECK_FORM=True,
        JWT_ACCESS_COOKIE_PATH="/",
        JWT_REFRESH_COOKIE_PATH="/",
        JWT_SESSION_COOKIE=False,
        RATELIMIT_STORAGE_URI=settings.redis_url,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 2},
        RATELIMIT_SWALLOW_ERRORS=True,
        MAX_CONTENT_LENGTH=None,
        JSON_SORT_KEYS=False,
    )


def _engine_options(settings: Settings) -> dict[str, Any]:
    if settings.sqlalchemy_url.startswith("sqlite"):
        # A file needs no liveness ping; a pool as large as a gunicorn worker's thread count
        # keeps connections (and their PRAGMAs) instead of reopening overflow ones per request.
        return {"pool_size": 16, "max_overflow": 16}
    return {"pool_pre_ping": True}


def _init_extensions(app: Flask, settings: Settings) -> None:
    from backend_app import models  # noqa: F401  (registers every table with the metadata)
    from backend_app.auth import register_jwt_callbacks
    from backend_app.extensions import cors, db, htmx, jwt, limiter, migrate, redis_store

    htmx.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    jwt.init_app(app)
    register_jwt_callbacks(app)
    if settings.cors_origins:
        # Without configured origins (the default) no response carries CORS headers, which is
        # what not installing flask-cors gives, minus its per-response resource matching.
        cors.init_app(
            app,
            resources={r"/api/*": {"origins": settings.cors_origins}},
            supports_credentials=False,
            expose_headers=["X-Variant", "X-Variant-Reason", "X-Request-ID"],
        )
    hooks_before = _request_hooks(app)
    limiter.init_app(app)
    _limiter_hooks_only_where_limited(app, hooks_before)
    redis_store.init_app(app)


def _request_hooks(app: Flask) -> list[list]:
    """The app-wide before-request, after-request and teardown hooks, as lists."""
    return [
        list(funcs[None]) for funcs in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    ]


def _limiter_hooks_only_where_limited(app: Flask, hooks_before: list[list]) -> None:
    """Only decorated limits exist (login, register); their decorator checks them when the view
    runs. flask-limiter (4.x has no ``auto_check=False`` any more) also adds a before-request hook
    that evaluates default and application limits on every request (there are none: ~0.2 ms
    each, a third of a /ping): drop it while that stays true. Its response hooks (X-RateLimit-*
    headers, per-request state) run only on requests that checked a limit; every other request
    skips ~0.05 ms of bookkeeping. The hooks are the ones ``init_app`` added, found by what it
    added rather than by the limiter's private names; a version adding others fails here."""
    from backend_app.extensions import limited, limiter

    if not limiter.enabled or limiter.limit_manager.default_limits or limiter.limit_manager.application_limits:
        return  # disabled (no hooks at all), or the before-request hook has limits to check
    added = [[f for f in now if f not in before] for now, before in zip(_request_hooks(app), hooks_before)]
    if [len(hooks) for hooks in added] != [1, 1, 1]:
        raise RuntimeError(f"flask-limiter added {added}, not one before, after and teardown hook each")
    (check,), (inject,), (release,) = added

    def rate_limit_headers(response):
        return inject(response) if limited() else response

    def release_limiter_context(exc=None) -> None:
        if limited():
            release(exc)

    app.before_request_funcs[None].remove(check)
    after, teardown = app.after_request_funcs[None], app.teardown_request_funcs[None]
    after[after.index(inject)] = rate_limit_headers
    teardown[teardown.index(release)] = release_limiter_context


def _register_blueprints(app: Flask) -> None:
    from backend_app.api import bp as api_bp
    from backend_app.api import register_modules
    from backend_app.api.compat import bp as compat_bp
    from backend_app.api.ops import bp as ops_bp
    from backend_app.web import bp as web_bp
    from backend_app.web import register_modules as register_pages

    register_modules()
    register_pages()
    app.register_blueprint(api_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(compat_bp)  # the original systems' routes, mapped onto v1
    app.register_blueprint(web_bp)


def _register_errors(app: Flask) -> None:
    from redis.exceptions import RedisError  # here, not at the top: importing backend_app stays light

    from backend_app.errors import ServiceUnavailable, register_error_handlers, render_error

    register_error_handlers(app)

    @app.errorhandler(RedisError)
    def _redis_down(_error: RedisError):
        return render_error(
            ServiceUnavailable("The queue service is unavailable; try again shortly.", code="REDIS_UNAVAILABLE")
        )


def _register_request_limits(app: Flask) -> None:
    from backend_app.validation import refuse_nul_in_url_and_form

    cap = app.config["SETTINGS"].max_json_bytes

    @app.before_request
    def _limit_body() -> None:
        # Only views that accept uploads read large bodies; everything else is capped.
        view = app.view_functions.get(request.endpoint or "")
        if not getattr(view, "_large_body", False):
            request.max_content_length = cap

    app.before_request(refuse_nul_in_url_and_form)  # after the cap: it may read a form body
