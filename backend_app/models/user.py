"""Accounts."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, String
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import UTCDateTime, id_column, iso, utcnow

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
        return {"id": self.id, "email": self.email, "role": self.role,
                "disabled": self.disabled, "created_at": iso(self.created_at),
                "monthly_budget_usd": self.monthly_budget_usd}
