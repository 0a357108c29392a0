"""The document feature's lifecycle hooks, registered on the app by the factory (services/lifecycle.py)."""

from __future__ import annotations

from flask import Flask

from backend_app.services import hooks
from backend_app.services.documents import data


def init_app(app: Flask) -> None:
    """Deleting a session and the purge reach the documents' objects."""
    registry = hooks.of(app)
    registry.session_cleanup.append(data.cleanup_session)
    registry.purge.append(data.purge_documents)
