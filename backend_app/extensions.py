"""Extensions, created unbound and bound to an app in ``create_app``."""

from __future__ import annotations

import threading
import time
from hmac import compare_digest

import click
import jwt as pyjwt
from flask import Flask, current_app, has_request_context, request
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.exceptions import CSRFError, JWTDecodeError
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from htmx_flask import Htmx
from redis import Redis
from rq import Queue
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

QUEUE_NAMES = ("video", "llm", "default")

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming))


class MigrateOnUse:
    """Flask-Migrate, imported and bound the first time a migration runs, not when the app is built.

    Importing Flask-Migrate imports Alembic and, through Alembic, Mako and Pygments: ~8 MB of RSS in
    every gunicorn worker and every work horse, which never migrate. ``init_app`` registers
    ``flask db`` and an ``app.extensions["migrate"]`` that binds the real one on first use, so
    ``flask db upgrade``, ``flask_migrate.upgrade()`` and migrations/env.py work as before.
    """

    def init_app(self, app: Flask, db: SQLAlchemy, **options) -> None:
        app.extensions["migrate"] = _BoundOnUse(app, db, options)
        app.cli.add_command(_MigrationCommands())


class _BoundOnUse:
    """Stands in ``app.extensions["migrate"]``: the first attribute asked for binds Flask-Migrate,
    which puts its own object there, and is read from it."""

    def __init__(self, app: Flask, db: SQLAlchemy, options: dict):
        self._app, self._db, self._options = app, db, options

    def __getattr__(self, name: str):
        from flask_migrate import Migrate

        Migrate(self._app, self._db, **self._options)
        return getattr(self._app.extensions["migrate"], name)


class _MigrationCommands(click.Command):
    """``flask db``: Flask-Migrate's command group, imported when it is run (or asked for help)."""

    def __init__(self):
        super().__init__("db", help="Perform database migrations.")

    def make_context(self, info_name, args, parent=None, **extra):
        from flask_migrate.cli import db as commands

        return commands.make_context(info_name, args, parent=parent, **extra)


migrate = MigrateOnUse()


def request_memo(name: str) -> dict:
    """A dict that lives exactly as long as the current request (``g`` can outlive one: tests
    run many requests inside one app context)."""
    return request.environ.setdefault(f"framewise.memo.{name}", {})


class RequestScopedJWTManager(JWTManager):
    """Decodes and verifies a given token once per request.

    The canary hook and the view's login check both verify the request's token; the second
    gets the first's verified claims (same token, same CSRF value) instead of decoding again.
    Failures are not remembered: they raise again, as before.

    flask-jwt-extended has no public hook for how a token is decoded: every path (its
    ``verify_jwt_in_request`` and public ``decode_token``) ends in the manager's private
    ``_decode_jwt_from_config``, overridden here. That one private name stays, with the
    version pinned (requirements.txt) and tests/test_dependencies.py failing, naming it, if
    a new version stops calling it. The verification itself is PyJWT's public ``jwt.decode``
    plus the claim checks flask-jwt-extended makes (``verified_claims``).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._verified_tokens: dict[tuple, dict] = {}
        self._verified_lock = threading.Lock()
        self._own_decode_key = False

    def decode_key_loader(self, callback):
        """As flask-jwt-extended's; with a key callback every token takes the stock path."""
        self._own_decode_key = True
        return super().decode_key_loader(callback)

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if not has_request_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        memo = request_memo("verified_jwts")
        key = (encoded_token, csrf_value, allow_expired)
        if key not in memo:
            memo[key] = self._verify(encoded_token, csrf_value, allow_expired)
        return dict(memo[key])

    def _verify(self, encoded_token: str, csrf_value, allow_expired: bool) -> dict:
        """flask-jwt-extended's verification, parsing the token once instead of three times.

        The stock method decodes the token twice unverified only to hand its header and claims
        to a decode-key callback; with the default callback the key is the configured one, so
        the verified decode (same checks, same errors) is all that is needed.
        """
        if self._own_decode_key:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        check = {
            "algorithms": jwt_config.decode_algorithms,
            "audience": jwt_config.decode_audience,
            "csrf_value": csrf_value,
            "identity_claim_key": jwt_config.identity_claim_key,
            "issuer": jwt_config.decode_issuer,
            "leeway": jwt_config.leeway,
            "secret": jwt_config.decode_key,
            "verify_sub": jwt_config.verify_sub,
        }
        try:
            if not csrf_value and not allow_expired:
                return self._verified_before(encoded_token, check)
            return verified_claims(encoded_token, **check, allow_expired=allow_expired)
        except pyjwt.ExpiredSignatureError as error:
            # As the stock method does: the expired-token callback receives header and claims.
            error.jwt_header = pyjwt.get_unverified_header(encoded_token)  # type: ignore[attr-defined]
            error.jwt_data = verified_claims(encoded_token, **check, allow_expired=True)  # type: ignore[attr-defined]
            raise

    def _verified_before(self, encoded_token: str, check: dict) -> dict:
        """Claims of a token this process has verified before, if it has not expired since.

        A client sends the same access token with every request for its lifetime; PyJWT's
        full verification costs ~0.2 ms. The key is the exact token text (signature included)
        plus every verification setting, so a hit means these very bytes passed every check
        under the same key; only the expiry moves with time, and it is checked on every use.
        Revocation is not cached (the blocklist callback asks Redis each request).
        """
        key = (encoded_token,) + tuple(
            (name, tuple(value) if isinstance(value, list) else value) for name, value in sorted(check.items())
        )
        claims = self._verified_tokens.get(key)
        if claims is not None and claims.get("exp", float("inf")) > time.time() - check["leeway"]:
            return dict(claims)
        claims = verified_claims(encoded_token, **check, allow_expired=False)  # raises when invalid or expired
        with self._verified_lock:
            if len(self._verified_tokens) >= VERIFIED_TOKENS_KEPT:
                self._verified_tokens.pop(next(iter(self._verified_tokens)))  # oldest first
            self._verified_tokens[key] = dict(claims)
        return claims


def verified_claims(
    encoded_token: str,
    *,
    secret: str,
    algorithms: list[str],
    audience,
    issuer: str | None,
    leeway: int,
    identity_claim_key: str,
    verify_sub: bool,
    csrf_value: str | None,
    allow_expired: bool,
) -> dict:
    """A token's claims after the checks flask-jwt-extended makes, with the same errors:
    PyJWT's signature, expiry, nbf, iat, audience and issuer checks, then the identity claim,
    the defaults for ``type``, ``fresh`` and ``jti``, and the CSRF double-submit value."""
    options: dict = {"verify_aud": audience is not None, "verify_sub": verify_sub}
    if allow_expired:
        options["verify_exp"] = False
    claims = pyjwt.decode(
        encoded_token, secret, algorithms=algorithms, audience=audience, issuer=issuer, leeway=leeway, options=options
    )
    if identity_claim_key not in claims:
        raise JWTDecodeError(f"Missing claim: {identity_claim_key}")
    claims.setdefault("type", "access")
    claims.setdefault("fresh", False)
    claims.setdefault("jti", None)
    if csrf_value:
        if "csrf" not in claims:
            raise JWTDecodeError("Missing claim: csrf")
        if not compare_digest(claims["csrf"], csrf_value):
            raise CSRFError("CSRF double submit tokens do not match")
    return claims


VERIFIED_TOKENS_KEPT = 4096  # per process; a token's claims are well under 1 kB
jwt = RequestScopedJWTManager()
cors = CORS()
htmx = Htmx()  # request.htmx: truthy for htmx requests, with the HX-* headers parsed
RATE_LIMITED = "framewise.rate_limited"  # set in the environ of a request that checked a limit


def _client_address() -> str:
    """The rate limits' key (the client's address). Asked for each limit a request checks, so it
    also marks the request: only those need the limiter's response hooks (``limited``)."""
    request.environ[RATE_LIMITED] = True
    return get_remote_address()


def limited() -> bool:
    """Whether this request checked a rate limit."""
    # The proxy's object, not ``request.environ``: 0.2 instead of 1.2 us, twice on every request.
    return RATE_LIMITED in request._get_current_object().environ


limiter = Limiter(key_func=_client_address, default_limits=[], headers_enabled=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets readers run beside the one writer; the busy timeout waits instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class RedisHolder:
    """One Redis connection per app; short timeouts so a down Redis fails fast, not slowly."""

    def init_app(self, app: Flask) -> None:
        url = app.config["SETTINGS"].redis_url
        app.extensions["redis"] = Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=5.0, health_check_interval=30
        )

    @property
    def conn(self) -> Redis:
        return current_app.extensions["redis"]


redis_store = RedisHolder()


def get_queue(name: str, connection: Redis | None = None) -> Queue:
    """The RQ queue ``name`` on the app's Redis connection."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection or redis_store.conn)
