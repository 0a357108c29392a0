"""Accounts: register, authenticate, revoke tokens, manage roles."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

from flask import current_app, has_request_context
from flask_jwt_extended import create_access_token, create_refresh_token
from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from backend_app.errors import Conflict, NotFound, Unauthorized, ValidationError
from backend_app.extensions import db, redis_store, request_memo
from backend_app.models import User
from backend_app.models.user import SignedInUser
from backend_app.services.passwords import weak_password

log = logging.getLogger(__name__)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
REVOKED_PREFIX = "framewise:revoked:"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_credentials_shape(email: str, password: str) -> None:
    errors = {}
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = "must be a valid email address"
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"must be at least {MIN_PASSWORD} characters"
    elif len(password) > 1024:
        errors["password"] = "must be at most 1024 characters"
    elif problem := weak_password(password, email):
        errors["password"] = problem
    if errors:
        raise ValidationError("Some fields are missing or invalid.", details={"fields": errors})


def register(email: str, password: str, role: str = "user") -> User:
    """Create an account; the email is unique regardless of case."""
    email = normalize_email(email)
    _check_credentials_shape(email, password)
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict("An account with this email already exists.", code="EMAIL_TAKEN")
    user = User(email=email, role=role)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("An account with this email already exists.", code="EMAIL_TAKEN") from None
    log.info("user registered", extra={"user_id": user.id})
    return user


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or one uniform 401 (no hint which part was wrong)."""
    user = db.session.execute(select(User).where(User.email == normalize_email(email))).scalar_one_or_none()
    if user is None or not user.check_password(password):
        raise Unauthorized("Email or password is wrong.", code="INVALID_CREDENTIALS")
    if user.disabled:
        raise Unauthorized("This account is disabled.", code="ACCOUNT_DISABLED")
    return user


def issue_tokens(user: User | SignedInUser) -> dict[str, str]:
    claims = {"role": user.role}
    return {
        "access_token": create_access_token(identity=user.id, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=user.id, additional_claims=claims),
    }


def active_user(user_id: str) -> SignedInUser:
    """The account behind a token, if it still exists and is enabled.

    Looked up once per request: the canary hook and the view's login check both ask.
    """
    memo = request_memo("active_users") if has_request_context() else {}
    user = memo.get(user_id)
    if user is None:
        row = db.session.execute(_ACCOUNT_BY_ID, {"user_id": user_id}).first()
        user = SignedInUser(**row._mapping) if row is not None else None
    if user is None or user.disabled:
        raise Unauthorized("This account no longer exists or is disabled.", code="ACCOUNT_DISABLED")
    memo[user_id] = user
    return user


# Every authenticated request reads its account: a Core select costs a third of an ORM get.
_ACCOUNT_BY_ID = select(*(User.__table__.c[name] for name in SignedInUser.__dataclass_fields__)).where(
    User.__table__.c.id == bindparam("user_id")
)


def revoke(jti: str, expires_in: timedelta) -> None:
    """Put a token id on the Redis blocklist until the token would expire anyway."""
    seconds = max(int(expires_in.total_seconds()), 1)
    redis_store.conn.set(REVOKED_PREFIX + jti, "1", ex=seconds)
    if has_request_context():
        request_memo("revocation_checks")[jti] = True


def is_revoked(jti: str, token_type: str) -> bool:
    """Whether a token was revoked.

    If Redis cannot be reached, refresh tokens are refused (fail closed) while short-lived
    access tokens are accepted, so a Redis blip does not sign everybody out.
    """
    # Several hooks of one request may verify the same token (the canary decision, then the
    # view's login check): ask Redis once per request and token.
    memo = request_memo("revocation_checks") if has_request_context() else {}
    if jti in memo:
        return memo[jti]
    try:
        revoked = bool(redis_store.conn.exists(REVOKED_PREFIX + jti))
    except RedisError:
        log.warning("revocation list unreachable", extra={"token_type": token_type})
        return token_type == "refresh"
    memo[jti] = revoked
    return revoked


def create_admin(email: str, password: str | None = None) -> tuple[User, str | None]:
    """Create an admin, or promote an existing account; returns a generated password if any."""
    generated = None
    email = normalize_email(email)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        if not password:
            password = generated = secrets.token_urlsafe(12)
        _check_credentials_shape(email, password)
        user = User(email=email, role="admin")
        user.set_password(password)
        db.session.add(user)
    else:
        user.role = "admin"
        if password:
            _check_credentials_shape(email, password)
            user.set_password(password)
    db.session.commit()
    return user, generated


def admin_exists() -> bool:
    return bool(db.session.execute(select(func.count()).select_from(User).where(User.role == "admin")).scalar())


def list_users(limit: int = 500) -> list[User]:
    return list(db.session.execute(select(User).order_by(User.created_at).limit(limit)).scalars())


def set_role_or_disabled(user_id: str, *, role: str | None = None, disabled: bool | None = None) -> User:
    """Admin action: promote/demote or disable/enable an account."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="USER_NOT_FOUND")
    if role is not None:
        if role not in ("user", "admin"):
            raise ValidationError("role must be user or admin", details={"fields": {"role": "must be user or admin"}})
        user.role = role
    if disabled is not None:
        user.disabled = disabled
    db.session.commit()
    return user


def access_ttl() -> timedelta:
    return current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
