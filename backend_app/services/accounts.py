"""Accounts: register, authenticate, revoke tokens, manage roles."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app, has_request_context
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from backend_app.errors import Conflict, NotFound, Unauthorized, ValidationError
from backend_app.extensions import db, request_memo
from backend_app.models import User
from backend_app.models.user import SignedInUser
from backend_app.services import login_throttle, signins
from backend_app.services.passwords import weak_password

log = logging.getLogger(__name__)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


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
    """The user with these credentials, or one uniform 401 (no hint which part was wrong).

    An unknown email costs the same scrypt work as a wrong password (a dummy hash), so the time
    of the answer does not tell which emails have accounts. Failures per account are throttled
    (``login_throttle``); LOGIN_THROTTLED is a 429 with the wait.
    """
    email = normalize_email(email)
    login_throttle.attempt(email)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        User(password_hash=_dummy_hash()).check_password(password)
        raise Unauthorized("Email or password is wrong.", code="INVALID_CREDENTIALS")
    if not user.check_password(password):
        raise Unauthorized("Email or password is wrong.", code="INVALID_CREDENTIALS")
    login_throttle.succeeded(email)
    if user.disabled:
        raise Unauthorized("This account is disabled.", code="ACCOUNT_DISABLED")
    return user


@cache
def _dummy_hash() -> str:
    """A hash made as real ones are (same method and cost), of a password nobody can type."""
    user = User()
    user.set_password(secrets.token_urlsafe(32))
    return user.password_hash


def issue_tokens(user: User | SignedInUser) -> dict[str, str]:
    """A new sign-in (a token family, ``services.signins``): its access and refresh tokens."""
    return signins.start(user.id, user.role)


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
