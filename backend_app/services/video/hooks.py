"""The video feature's lifecycle hooks, registered on the app by the factory (services/lifecycle.py)."""

from __future__ import annotations

from flask import Flask

from backend_app.services import hooks
from backend_app.services.hooks import HealthCheck
from backend_app.services.video import data


def init_app(app: Flask) -> None:
    """Deleting a session, erasing or exporting an account, the purge and /health reach the videos' data."""
    registry = hooks.of(app)
    registry.session_cleanup.append(data.cleanup_session)
    registry.erase.append(data.erase_objects)
    registry.file_export.append(data.export_objects)
    registry.purge.append(data.purge_abandoned_uploads)
    registry.health.append(HealthCheck("storage", data.check_storage))
