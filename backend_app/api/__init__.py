"""The JSON API under /api/v1, one module per resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def doc(
    summary: str,
    *,
    tag: str,
    body: dict[str, Any] | None = None,
    responses: dict[int, str] | None = None,
    auth: str = "user",
    params: dict[str, str] | None = None,
) -> Callable:
    """Describe a view for the OpenAPI document (summary, request body schema, responses)."""

    def decorate(view: Callable) -> Callable:
        view._openapi = {
            "summary": summary,
            "tag": tag,
            "body": body,
            "auth": auth,
            "responses": responses or {200: "OK"},
            "params": params or {},
        }
        return view

    return decorate


def obj(required: dict[str, str] | None = None, optional: dict[str, str] | None = None) -> dict[str, Any]:
    """A small JSON Schema object: field name -> JSON type."""
    props = {k: {"type": v} for k, v in {**(optional or {}), **(required or {})}.items()}
    return {"type": "object", "properties": props, "required": sorted(required or {})}


def register_modules() -> None:
    """Import every resource module in this package so its routes attach to ``bp``."""
    import importlib
    import pkgutil

    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
