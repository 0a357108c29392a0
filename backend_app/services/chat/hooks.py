"""The chat feature's lifecycle hooks, registered on the app by the factory (services/lifecycle.py).

A thread's messages go with the account (schema-derived erasure) and with their session (the
database's cascade); only the retention purge needs a hook.
"""

from __future__ import annotations

from flask import Flask

from backend_app.services import hooks
from backend_app.services.chat import conversation


def init_app(app: Flask) -> None:
    """The purge removes chat messages older than the retention cutoff."""
    hooks.of(app).purge.append(conversation.purge_messages)
