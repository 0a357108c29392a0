"""Where every feature's lifecycle hooks are wired: the one list the factory calls.

The order is the order the hooks run in, and it matters: an account's queued and running jobs
are stopped (``ownership``) before its stored objects are deleted (``video``), so no worker
writes after the erasure; the core health checks come before the features' own.
"""

from __future__ import annotations

from flask import Flask

from backend_app.services import api_keys, health, hooks, ownership
from backend_app.services.chat import hooks as chat
from backend_app.services.documents import hooks as documents
from backend_app.services.requirements import hooks as requirements
from backend_app.services.study import hooks as study
from backend_app.services.video import hooks as video

FEATURES = (health, ownership, video, documents, requirements, chat, study, api_keys)


def init_app(app: Flask) -> hooks.Hooks:
    """Give the app its hook registry and let every feature register its hooks, in order."""
    registry = hooks.install(app)
    for feature in FEATURES:
        feature.init_app(app)
    return registry
