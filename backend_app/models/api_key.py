"""Personal API keys for machine clients, and their audit trail (created, used, refused, revoked).

A key is shown once, when it is made; the database keeps only its SHA-256 (``key_hash``) and
its first characters (``prefix``) so the owner can tell keys apart. A revoked key keeps its row
(revoked_at set) so that using it again is answered ``API_KEY_REVOKED``, not "unknown".
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow

SCOPES = ("read", "write", "admin")
# What an audit row records: a key made, used, refused (expired, revoked, wrong scope) or revoked.
EVENTS = ("create", "use", "refuse", "revoke")


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(String(100), nullable=False)
    scope = db.Column(String(8), nullable=False, default="read")
    key_hash = db.Column(String(64), nullable=False, unique=True)
    prefix = db.Column(String(16), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=True)
    last_used_at = db.Column(UTCDateTime, nullable=True)
    revoked_at = db.Column(UTCDateTime, nullable=True)

    def to_dict(self) -> dict:
        """The key as its owner sees it in a listing: never the key, never its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "prefix": self.prefix,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "expires_at": iso(self.expires_at),
        }


class ApiKeyEvent(db.Model):
    __tablename__ = "api_key_events"

    # An increasing integer: the newest event is the highest id, even when timestamps tie.
    id = db.Column(Integer, primary_key=True, autoincrement=True)
    key_id = db.Column(String(32), ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    action = db.Column(String(8), nullable=False)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    method = db.Column(String(8), nullable=True)
    path = db.Column(String(300), nullable=True)
    address = db.Column(String(64), nullable=True)
    code = db.Column(String(40), nullable=True)  # the refusal's code

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "key_id": self.key_id,
            "action": self.action,
            "at": iso(self.at),
            "method": self.method,
            "path": self.path,
            "address": self.address,
            "code": self.code,
        }
