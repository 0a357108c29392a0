"""Reading client input: JSON bodies and typed fields, with coded errors for every mistake."""

from __future__ import annotations

from typing import Any

from flask import request

from backend_app.errors import UNSTORABLE_MESSAGE, BadRequest, NotFound, ValidationError, unstorable

_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def check_storable(value: Any) -> None:
    """A coded 422 naming the field when ``value`` holds a string that cannot be stored."""
    where = unstorable(value)
    if where is not None:
        raise ValidationError(
            f"The field {where} {UNSTORABLE_MESSAGE}.", details={"fields": {where: UNSTORABLE_MESSAGE}}
        )


def refuse_nul_in_url_and_form() -> None:
    """Before every view: a NUL in the path is no object's address (404); in a query parameter or
    a plain form field it is a coded 422. (PostgreSQL fails on NUL in any text it is given;
    JSON bodies are checked by ``json_value``. Multipart forms are left to their views, which
    stream files.)"""
    if "\x00" in request.path:
        raise NotFound("No such page or object.")
    sources = [("query parameter", request.args)]
    if request.mimetype == "application/x-www-form-urlencoded":
        sources.append(("form field", request.form))
    for kind, values in sources:
        for name, value in values.items(multi=True):
            if "\x00" in name or "\x00" in value:
                label = name.replace("\x00", "")
                raise ValidationError(
                    f"The {kind} {label} contains a NUL character.",
                    details={"fields": {label: "contains a NUL character"}},
                )


def json_value() -> Any:
    """The request's JSON, whatever its type, or a coded 400/415/422.

    Nesting too deep for the parser is malformed JSON (a 400), not a crash; strings that
    cannot be stored are refused here once, for every view.
    """
    if not request.is_json:
        raise BadRequest(
            "Send a JSON object with Content-Type: application/json.", code="UNSUPPORTED_MEDIA_TYPE", status=415
        )
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if data is None:
        raise BadRequest("The body is not valid JSON.", code="MALFORMED_JSON")
    check_storable(data)
    return data


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a coded 400/415/422."""
    data = json_value()
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.", code="MALFORMED_JSON")
    return data


def integral(value: Any) -> bool:
    """An integer as JSON Schema counts them: 3 and 3.0 alike, never true or false."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _type_ok(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return integral(value)
    return isinstance(value, kind)


def fields(
    data: dict[str, Any], required: dict[str, type] | None = None, optional: dict[str, type] | None = None
) -> dict[str, Any]:
    """Pick typed fields from ``data``; every missing or mistyped field is reported at once."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name, kind in (required or {}).items():
        if name not in data or data[name] is None:
            errors[name] = "is required"
        elif not _type_ok(data[name], kind):
            errors[name] = f"must be a {_TYPE_NAMES.get(kind, kind.__name__)}"
        elif kind is str and not data[name].strip():
            errors[name] = "must not be empty"
        else:
            out[name] = int(data[name]) if kind is int else data[name]
    for name, kind in (optional or {}).items():
        if name in data and data[name] is not None:
            if not _type_ok(data[name], kind):
                errors[name] = f"must be a {_TYPE_NAMES.get(kind, kind.__name__)}"
            else:
                out[name] = int(data[name]) if kind is int else data[name]
    if errors:
        raise ValidationError("Some fields are missing or invalid.", details={"fields": errors})
    return out


def int_arg(name: str, default: int, *, low: int = 0, high: int = 10_000) -> int:
    """An integer query parameter within bounds, or a coded 422."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(
            f"Query parameter {name} must be an integer.", details={"fields": {name: "must be an integer"}}
        ) from None
    if not low <= value <= high:
        raise ValidationError(
            f"Query parameter {name} must be between {low} and {high}.",
            details={"fields": {name: f"must be between {low} and {high}"}},
        )
    return value
