"""The tenancy rule in code: every read of a user's rows goes through these helpers.

A ``Tenant`` is required, never optional: there is no way to ask for "all analyses".
Another user's object is simply not found (404), so its existence never leaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Row, Select, bindparam, select

from backend_app.errors import NotFound
from backend_app.extensions import db

M = TypeVar("M")


@dataclass(frozen=True)
class Tenant:
    """Who is asking: a user, optionally narrowed to one of their sessions."""

    user_id: str
    session_id: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("a tenant needs a user id")

    def in_session(self, session_id: str | None) -> Tenant:
        return Tenant(self.user_id, session_id)


def scoped(model: type[M], tenant: Tenant, columns: tuple[str, ...] = ()) -> Select:
    """SELECT of ``model`` limited to the tenant's rows (and session, when narrowed).

    With ``columns`` (names), a plain Core SELECT of those columns of the model's table.
    """
    if not isinstance(tenant, Tenant):
        raise TypeError("scoped() needs a Tenant")
    owned = model.__table__.c if columns else model
    selected = [owned[name] for name in columns] if columns else [model]
    stmt = select(*selected).where(owned.user_id == tenant.user_id)
    if tenant.session_id is not None and hasattr(model, "session_id"):
        stmt = stmt.where(owned.session_id == tenant.session_id)
    return stmt


def get_owned(model: type[M], tenant: Tenant, object_id: str, *, what: str | None = None) -> M:
    """The tenant's object with this id, or NotFound (also when it belongs to someone else).

    An id no object can have (a NUL in it, from a multipart form field: PostgreSQL refuses such
    text) is not found without asking the database."""
    row = (
        None
        if "\x00" in object_id
        else db.session.execute(scoped(model, tenant).where(model.id == object_id)).scalar_one_or_none()
    )
    if row is None:
        label = what or model.__name__.lower()
        raise NotFound(f"No {label} with id {object_id!r}.", code=f"{label.upper()}_NOT_FOUND")
    return row


def list_owned(model: type[M], tenant: Tenant, *criteria, order_by=None, limit: int | None = None) -> list[M]:
    """The tenant's objects, filtered further by ``criteria``."""
    return list(db.session.execute(_listing(scoped(model, tenant), criteria, order_by, limit)).scalars())


class OwnedRows:
    """A listing read on every page load, prepared once: the tenant's rows of the named
    ``columns`` as read-only rows (attribute access), read with Core.

    The SELECT is built once with the tenant's ids as bound parameters (building and keying a
    fresh statement cost more than running it); ``order_by`` and ``limit`` are fixed with it.
    """

    def __init__(self, model: type, columns: tuple[str, ...], *, order_by=None, limit: int | None = None):
        table = model.__table__.c
        owned = select(*(table[name] for name in columns)).where(table.user_id == bindparam("user_id"))
        self._by_user = _listing(owned, (), order_by, limit)
        self._by_session = (
            _listing(owned.where(table.session_id == bindparam("session_id")), (), order_by, limit)
            if "session_id" in table
            else None
        )

    def read(self, tenant: Tenant) -> list[Row]:
        """The tenant's rows (and session's, when the tenant is narrowed to one)."""
        if not isinstance(tenant, Tenant):
            raise TypeError("OwnedRows.read() needs a Tenant")
        if tenant.session_id is not None and self._by_session is not None:
            return list(
                db.session.execute(self._by_session, {"user_id": tenant.user_id, "session_id": tenant.session_id})
            )
        return list(db.session.execute(self._by_user, {"user_id": tenant.user_id}))


def _listing(stmt: Select, criteria, order_by, limit: int | None) -> Select:
    stmt = stmt.where(*criteria)
    if order_by is not None:
        stmt = stmt.order_by(order_by)
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt
