"""The JSON API under /api/v1, one module per resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from werkzeug.routing import BaseConverter

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# A JSON Schema, or a function of the settings returning one (limits that are settings).
Schema = dict[str, Any] | Callable[[Any], dict[str, Any]]

# Ids are uuid4 hex (models/base.new_id). A route whose id segment could also spell a sibling
# action (/admin/jobs/<job_id> beside /admin/jobs/selftest) takes <hexid:...>, so the action's
# URL answers 405 with its own Allow header instead of also matching GET of a job.
HEX_ID = "[0-9a-f]{32}"


class HexIdConverter(BaseConverter):
    regex = HEX_ID


bp.record_once(lambda state: state.app.url_map.converters.setdefault("hexid", HexIdConverter))


def doc(
    summary: str,
    *,
    tag: str,
    body: Schema | None = None,
    responses: dict[int, str | tuple[str, Schema]] | None = None,
    auth: str = "user",
    params: dict[str, str | dict[str, Any]] | None = None,
    returns: Schema | None = None,
    form: Schema | None = None,
    media: str | list[str] | None = None,
    path: dict[str, dict[str, Any]] | None = None,
    optional_body: bool | Callable[[Any], bool] = False,
) -> Callable:
    """Describe a view for the OpenAPI document.

    ``body`` is the JSON request body's schema (``form``: a multipart/form-data one instead);
    ``responses`` maps each status to a description (error statuses answer the error shape), or to
    (description, schema) for a status with a body of its own; ``returns`` the success body's
    schema, or ``media`` its type when it is not JSON (image/jpeg,
    text/event-stream, ...); ``params`` maps each query parameter to a description or to a schema
    (with its own ``description``); ``path`` gives path parameters a schema (default: a string;
    ``<int:...>`` an integer >= 0). Any schema may be a function of the settings.
    """

    def decorate(view: Callable) -> Callable:
        view._openapi = {
            "summary": summary,
            "tag": tag,
            "body": body,
            "form": form,
            "optional_body": optional_body,
            "auth": auth,
            "responses": responses or {200: "OK"},
            "returns": returns,
            "media": media,
            "params": params or {},
            "path": path or {},
        }
        return view

    return decorate


def _field(kind: str | dict[str, Any], nullable: bool = False) -> dict[str, Any]:
    schema = {"type": kind} if isinstance(kind, str) else dict(kind)
    if nullable and isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    return schema


def obj(
    required: dict[str, str | dict[str, Any]] | None = None, optional: dict[str, str | dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A small JSON Schema object: field name -> JSON type, or -> a full schema for that field.
    An optional field may also be null, which means absent (as ``validation.fields`` reads it)."""
    props = {k: _field(v, nullable=True) for k, v in (optional or {}).items()}
    props.update({k: _field(v) for k, v in (required or {}).items()})
    return {"type": "object", "properties": props, "required": sorted(required or {})}


def register_modules() -> None:
    """Import every resource module in this package so its routes attach to ``bp``."""
    import importlib
    import pkgutil

    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
