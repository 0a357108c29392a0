"""The requirements feature's lifecycle hooks, registered on the app by the factory (services/lifecycle.py)."""

from __future__ import annotations

from flask import Flask

from backend_app.services import hooks
from backend_app.services.requirements import cleanup


def init_app(app: Flask) -> None:
    """The purge, session deletion and account erasure leave no batch behind, in Redis either."""
    registry = hooks.of(app)
    registry.purge.append(cleanup.purge_requirements)
    registry.session_cleanup.append(cleanup.cleanup_session)
    registry.erase.append(cleanup.erase_user)
