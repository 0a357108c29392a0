"""Accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Float, String
from werkzeug.security import check_password_hash, generate_password_hash

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow

ROLES = ("user", "admin")


class User(db.Model):
    __tablename__ = "users"

    id = id_column()
    email = db.Column(String(254), unique=True, nullable=False)
    password_hash = db.Column(String(255), nullable=False)
    role = db.Column(String(16), nullable=False, default="user")
    disabled = db.Column(Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    # None: the MONTHLY_BUDGET_USD default applies.
    monthly_budget_usd = db.Column(Float, nullable=True)

    def set_password(self, password: str) -> None:
        # scrypt (werkzeug's default): a memory-hard KDF with a per-hash salt.
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict:
        return account_dict(self)


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """The account behind a request's token, as read once at the start of the request.

    A read-only snapshot (one Core query, no ORM identity): views read it; changes to an
    account go through ``services.accounts``, which load the ``User`` row themselves.
    """

    id: str
    email: str
    password_hash: str
    role: str
    disabled: bool
    created_at: datetime
    monthly_budget_usd: float | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def to_dict(self) -> dict:
        return account_dict(self)


def account_dict(user: User | SignedInUser) -> dict:
    """An account as the API shows it (never the password hash)."""
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": iso(user.created_at),
        "monthly_budget_usd": user.monthly_budget_usd,
    }
