"""The app's lifecycle hooks, by kind, in the order they run: one registry kept on the app.

Features add to it from their ``init_app(app)`` (``services/<feature>/hooks.py``), which
``services/lifecycle.py`` calls in one place; nothing registers itself on import. The areas
that run the hooks read them here: session deletion (``sessions``), the retention purge
(``retention``), account erasure and export (``ownership``) and ``/health`` (``health``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from backend_app.tenancy import Tenant

EXTENSION_KEY = "framewise.hooks"

SessionCleanup = Callable[["Tenant"], None]  # remove what a deleted session keeps outside its rows
Purger = Callable[[datetime, bool], dict[str, int]]  # (cutoff, dry_run) -> counts; commits its own deletions
Eraser = Callable[[str], dict[str, int]]  # user id -> counts (storage objects, queued jobs, index entries…)
FileExporter = Callable[[str], Iterable[tuple[str, Iterator[bytes]]]]  # user id -> (zip path, byte chunks)


@dataclass(frozen=True)
class HealthCheck:
    """One entry of /health: ``run`` returns a dict with at least ``{"ok": bool}`` (raising is "down").

    ``needs`` names a check listed before it that must have passed; when it did not, ``unmet``
    is reported instead (or, when ``unmet`` is None, the check is left out of the report)."""

    name: str
    run: Callable[[], dict[str, Any]]
    needs: str | None = None
    unmet: dict[str, Any] | None = None


@dataclass
class Hooks:
    """Every lifecycle hook of one app, by kind, in the order they run."""

    session_cleanup: list[SessionCleanup] = field(default_factory=list)
    purge: list[Purger] = field(default_factory=list)
    erase: list[Eraser] = field(default_factory=list)
    file_export: list[FileExporter] = field(default_factory=list)
    health: list[HealthCheck] = field(default_factory=list)

    def names(self) -> dict[str, list[str]]:
        """The qualified name of every hook, by kind (health checks as ``name=function``)."""
        listed = {kind: [_qualified(f) for f in getattr(self, kind)] for kind in KINDS if kind != "health"}
        listed["health"] = [f"{check.name}={_qualified(check.run)}" for check in self.health]
        return listed


KINDS = ("session_cleanup", "purge", "erase", "file_export", "health")


def _qualified(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def install(app: Flask) -> Hooks:
    """Give the app an empty registry (the factory does this once, before the features fill it)."""
    app.extensions[EXTENSION_KEY] = Hooks()
    return app.extensions[EXTENSION_KEY]


def of(app: Flask) -> Hooks:
    """The app's registry."""
    return app.extensions[EXTENSION_KEY]


def current() -> Hooks:
    """The registry of the app in context."""
    return of(current_app)
