"""The OpenAPI 3.1 document, assembled from each view's ``@doc`` description.

Request schemas say what the server enforces (tests/api/test_schemathesis.py holds the server
to them): every string in a JSON body, query or form is storable (no NUL, no unpaired
surrogate: ``validation.json_value`` and ``refuse_nul_in_url_and_form`` refuse those), so the
document adds that constraint to every request string and property name here, once.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from flask import current_app, jsonify
from werkzeug.routing import IntegerConverter

from backend_app.api import HexIdConverter, bp, doc, schemas
from backend_app.api.schemas import SSE_EVENT, STORABLE

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
        }
    },
}
BINARY = {"type": "string", "format": "binary"}
SSE = "text/event-stream"
# A file whose type is JSON (the batch export) is still JSON: a client parses it, so its schema says so.
JSON_FILE = {"type": ["object", "array"]}
MEDIA_SCHEMAS = {SSE: SSE_EVENT, "application/json": JSON_FILE}


def documented_routes():
    """(rule, method, view) for every /api/v1 route, documented or not, and every other documented route."""
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/v1") and not hasattr(view, "_openapi"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method, view


def _resolve(schema: Any, settings) -> Any:
    return schema(settings) if callable(schema) else schema


def storable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every string and property name refused when it holds NUL or a lone surrogate."""
    schema = copy.deepcopy(schema)
    pending = [schema]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "string" in kinds and node.get("format") != "binary" and "enum" not in node and "pattern" not in node:
            node["pattern"] = STORABLE
        if "object" in kinds:
            node.setdefault("propertyNames", {"pattern": STORABLE})
        for key in ("properties", "patternProperties"):
            pending.extend((node.get(key) or {}).values())
        for key in ("items", "additionalProperties", "not"):
            pending.append(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            pending.extend(node.get(key) or [])
    return schema


def _path_schema(rule, name: str, meta: dict) -> dict[str, Any]:
    if name in meta["path"]:
        return meta["path"][name]
    converter = rule._converters.get(name)
    if isinstance(converter, IntegerConverter):
        return {"type": "integer", "minimum": 0}
    if isinstance(converter, HexIdConverter):
        return {"type": "string", "pattern": f"^{converter.regex}$"}
    return {"type": "string", "minLength": 1}


def _query_param(name: str, spec: str | dict[str, Any], settings) -> dict[str, Any]:
    if isinstance(spec, str):
        spec = {"description": spec, "type": "string"}
    spec = dict(_resolve(spec, settings))
    description = spec.pop("description", "")
    return {"name": name, "in": "query", "required": False, "description": description, "schema": storable(spec)}


def _responses(meta: dict, settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code, text in meta["responses"].items():
        text, schema = text if isinstance(text, tuple) else (text, None)
        entry: dict[str, Any] = {"description": text}
        if schema is not None:
            entry["content"] = {"application/json": {"schema": _resolve(schema, settings)}}
        elif 200 <= code < 300 and code != 204:
            if meta["media"]:
                media = [meta["media"]] if isinstance(meta["media"], str) else meta["media"]
                entry["content"] = {kind: {"schema": MEDIA_SCHEMAS.get(kind, BINARY)} for kind in media}
            elif meta["returns"] is not None:
                entry["content"] = {"application/json": {"schema": _resolve(meta["returns"], settings)}}
        elif code >= 400:
            entry["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        out[str(code)] = entry
    out["default"] = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    return out


def _operation(rule, method: str, meta: dict, settings) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{rule.endpoint}_{method.lower()}",
        "summary": meta["summary"],
        "tags": [meta["tag"]],
        "responses": _responses(meta, settings),
    }
    if meta["auth"] == "none":
        op["security"] = []
    body, form = _resolve(meta["body"], settings), _resolve(meta["form"], settings)
    if body is not None or form is not None:
        content = {}
        if body is not None:
            content["application/json"] = {"schema": storable(body)}
        if form is not None:
            content["multipart/form-data"] = {"schema": storable(form)}
        optional = meta["optional_body"]
        optional = optional(settings) if callable(optional) else optional
        op["requestBody"] = {"required": not optional, "content": content}
    params = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(rule, name, meta)}
        for name in _PARAM.findall(rule.rule)
    ]
    params += [_query_param(name, spec, settings) for name, spec in meta["params"].items()]
    if params:
        op["parameters"] = params
    return op


def build_spec() -> dict:
    settings = current_app.config["SETTINGS"]
    paths: dict[str, dict] = {}
    for rule, method, view in documented_routes():
        meta = getattr(view, "_openapi", None)
        path = _PARAM.sub(r"{\1}", rule.rule)
        if meta is None:
            op = {
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "x-undocumented": True,
                "responses": {"default": {"description": "undocumented"}},
            }
        else:
            op = _operation(rule, method, meta, settings)
        paths.setdefault(path, {})[method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Framewise API",
            "version": "1.0.0",
            "description": "Videos and requirements, analysed by background workers.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT or fw_ API key",
                    "description": "An access token from /api/v1/auth/login, or an API key (fw_…) from /api/v1/me/api-keys",
                },
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "An API key (fw_…) from POST /api/v1/me/api-keys",
                },
            },
            "schemas": {"Error": ERROR_SCHEMA, **schemas.COMPONENTS},
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


@bp.get("/openapi.json")
@doc("This document", tag="meta", auth="none", returns={"type": "object", "required": ["openapi", "paths"]})
def openapi_json():
    return jsonify(build_spec())
