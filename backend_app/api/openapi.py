"""The OpenAPI 3.1 document, assembled from each view's ``@doc`` description."""

from __future__ import annotations

import re

from flask import current_app, jsonify

from backend_app.api import bp, doc

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


def documented_routes():
    """(rule, method, view) for every /api/v1 route, documented or not."""
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        view = current_app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method, view


def build_spec() -> dict:
    paths: dict[str, dict] = {}
    for rule, method, view in documented_routes():
        meta = getattr(view, "_openapi", None)
        path = _PARAM.sub(r"{\1}", rule.rule)
        op: dict = {"operationId": f"{rule.endpoint}_{method.lower()}"}
        if meta is None:
            op["x-undocumented"] = True
            op["responses"] = {"default": {"description": "undocumented"}}
        else:
            op["summary"] = meta["summary"]
            op["tags"] = [meta["tag"]]
            op["responses"] = {str(code): {"description": text} for code, text in meta["responses"].items()}
            op["responses"]["default"] = {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            if meta["auth"] == "none":
                op["security"] = []
            if meta["body"] is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta["body"]}}}
            params = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(rule.rule)
            ]
            params += [
                {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
                for name, text in meta["params"].items()
            ]
            if params:
                op["parameters"] = params
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
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearer": []}],
    }


@bp.get("/openapi.json")
@doc("This document", tag="meta", auth="none")
def openapi_json():
    return jsonify(build_spec())
