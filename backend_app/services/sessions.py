"""Sessions: a user's named collections."""

from __future__ import annotations

from sqlalchemy import Row, select

from backend_app.errors import ValidationError
from backend_app.extensions import db
from backend_app.models import Session
from backend_app.services import hooks
from backend_app.tenancy import OwnedRows, Tenant, get_owned

MAX_NAME = 200
# Where an upload that names no session goes (the compatibility routes: the original clients had
# no sessions). One per user, made on first use, found again by its name.
DEFAULT_NAME = "Default"


def create(tenant: Tenant, name: str) -> Session:
    if not name.strip() or len(name) > MAX_NAME:  # the length as sent, as the OpenAPI document says
        raise ValidationError(
            f"A session name needs 1 to {MAX_NAME} characters.",
            details={"fields": {"name": f"must be 1 to {MAX_NAME} characters"}},
        )
    session = Session(user_id=tenant.user_id, name=name.strip())
    db.session.add(session)
    db.session.commit()
    return session


def list_for(tenant: Tenant) -> list[Row]:
    """The tenant's sessions, newest first, as read-only rows (id, name, created_at)."""
    return _LISTING.read(tenant)


_LISTING = OwnedRows(Session, ("id", "name", "created_at"), order_by=Session.__table__.c.created_at.desc())


def default_for(tenant: Tenant) -> Session:
    """The user's default session (their oldest one named DEFAULT_NAME), made when they have none."""
    found = db.session.execute(
        select(Session)
        .where(Session.user_id == tenant.user_id, Session.name == DEFAULT_NAME)
        .order_by(Session.created_at, Session.id)
        .limit(1)
    ).scalar_one_or_none()
    return found if found is not None else create(tenant, DEFAULT_NAME)


def get(tenant: Tenant, session_id: str) -> Session:
    return get_owned(Session, tenant, session_id, what="session")


def delete(tenant: Tenant, session_id: str) -> None:
    """Delete a session and, through the session clean-up hooks, everything in it (storage
    objects, search index rows, Redis keys), so deleting a session never leaves orphans."""
    session = get(tenant, session_id)
    for hook in hooks.current().session_cleanup:
        hook(tenant.in_session(session.id))
    db.session.delete(session)
    db.session.commit()
