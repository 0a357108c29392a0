"""The study feature's lifecycle hooks, registered on the app by the factory (services/lifecycle.py).

Its rows go with the account (schema-derived export and erasure) and with their session or
document (the database's cascades); only the retention purge needs a hook.
"""

from __future__ import annotations

from flask import Flask

from backend_app.services import hooks
from backend_app.services.study import data


def init_app(app: Flask) -> None:
    """The purge removes study material (and its reviews) older than the retention cutoff."""
    hooks.of(app).purge.append(data.purge_study)
