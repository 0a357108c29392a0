"""Shapes of the API's answers and of the fields it checks, for the OpenAPI document (api/openapi.py).

Each schema states what the server returns or enforces; tests/api/test_schemathesis.py runs
generated requests against a live server and fails when one and the other disagree.
"""

from __future__ import annotations

from typing import Any

from backend_app.models.job import STATUSES

# No NUL: what ``validation`` refuses in every string it is sent. (It refuses unpaired surrogates
# too, which JSON text can only spell as escapes; schemathesis cannot use a pattern naming them.)
STORABLE = r"^[^\x00]*$"
STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}
ARRAY = {"type": "array"}
TIME = {"type": ["string", "null"], "format": "date-time"}
# A string ``validation.fields`` accepts as required: something besides white space.
TEXT = {"type": "string", "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"}
BINARY_FIELD = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
# What an SSE stream's events look like (http.sse_response): a name and a JSON text.
SSE_EVENT = {"type": "object", "properties": {"event": {"type": "string"}, "data": {"type": "string"}}}
JOB_STATUS = {"type": "string", "enum": list(STATUSES)}

# Operator pins on a flag (FEATURE_FLAG_USE_V2, CANARY_PERCENT): empty when the stored flag rules.
PINS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["field", "env", "value"],
        "properties": {"field": STRING, "env": STRING, "value": {"type": ["boolean", "integer"]}},
    },
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def shape(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object that always carries ``required`` (field -> schema), and may carry ``optional``."""
    return {"type": "object", "required": sorted(required), "properties": {**(optional or {}), **required}}


def list_of(key: str, item: dict[str, Any], **more: Any) -> dict[str, Any]:
    """``{key: [item, ...], **more}``."""
    return shape({key: {"type": "array", "items": item}, **more})


def storable_json() -> dict[str, Any]:
    """Any JSON value whose strings (and keys) are storable."""
    return {"$ref": "#/components/schemas/AnyJSON"}


def text(max_length: int | None = None) -> dict[str, Any]:
    """A required, not blank string of at most ``max_length`` characters."""
    return {**TEXT, "maxLength": max_length} if max_length else dict(TEXT)


COMPONENTS: dict[str, dict[str, Any]] = {
    "AnyJSON": {
        "anyOf": [
            {"type": "string", "pattern": STORABLE},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": {"$ref": "#/components/schemas/AnyJSON"}},
            {
                "type": "object",
                "propertyNames": {"pattern": STORABLE},
                "additionalProperties": {"$ref": "#/components/schemas/AnyJSON"},
            },
        ]
    },
    "Account": shape(
        {
            "id": STRING,
            "email": STRING,
            "role": {"type": "string", "enum": ["user", "admin"]},
            "disabled": BOOLEAN,
            "created_at": TIME,
            "monthly_budget_usd": {"type": ["number", "null"]},
        }
    ),
    "Session": shape({"id": STRING, "name": STRING, "created_at": TIME}),
    "Job": shape(
        {
            "id": STRING,
            "kind": STRING,
            "queue": STRING,
            "status": JOB_STATUS,
            "stage": NULLABLE_STRING,
            "progress": INTEGER,
            "attempts": INTEGER,
            "error_code": NULLABLE_STRING,
            "error_message": NULLABLE_STRING,
            "retryable": BOOLEAN,
            "retry_note": NULLABLE_STRING,
            "created_at": TIME,
        }
    ),
    "AnalysisStatus": shape(
        {
            "id": STRING,
            "session_id": STRING,
            "status": JOB_STATUS,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "eta_s": {"type": ["number", "null"]},
            "error_code": NULLABLE_STRING,
            "error_message": NULLABLE_STRING,
            "retryable": BOOLEAN,
            "retry_note": NULLABLE_STRING,
        }
    ),
    "Accepted": shape({"analysis_id": STRING, "status": {"type": ["string", "null"]}}),
    "DocumentAccepted": shape({"document_id": STRING, "status": {"type": ["string", "null"]}}),
    "DocumentStatus": shape(
        {
            "id": STRING,
            "session_id": STRING,
            "filename": STRING,
            "kind": {"type": "string", "enum": ["pdf", "docx", "pptx", "odt", "markdown", "text", "image"]},
            "status": JOB_STATUS,
            "stage": NULLABLE_STRING,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "page_count": {"type": ["integer", "null"]},
            "error_code": NULLABLE_STRING,
            "error_message": NULLABLE_STRING,
        },
        {
            "pages": {
                "type": "array",
                "items": shape({"number": INTEGER, "words": INTEGER, "ocr": BOOLEAN, "language": STRING}),
            },
            "language": NULLABLE_STRING,
        },
    ),
    "DocumentPage": shape(
        {
            "document_id": STRING,
            "number": {"type": "integer", "minimum": 1},
            "words": INTEGER,
            "ocr": BOOLEAN,
            "language": STRING,
            "headings": {"type": "array", "items": STRING},
            "text": STRING,
        }
    ),
    "Flag": shape(
        {
            "key": STRING,
            "description": NULLABLE_STRING,
            "enabled": BOOLEAN,
            "rollout_percent": {"type": "integer", "minimum": 0, "maximum": 100},
            "updated_at": TIME,
            "rolled_back": BOOLEAN,
            "pinned_by_environment": PINS,
        }
    ),
    "Requirement": shape(
        {"criteria": {"type": "array", "items": STRING}, "mode": STRING, "variant": STRING},
        {"findings": ARRAY, "scores": OBJECT, "overall": {"type": ["integer", "null"]}},
    ),
    "BatchSubmitted": shape(
        {
            "batch_id": STRING,
            "status": STRING,
            "mode": STRING,
            "variant": STRING,
            "total_rows": INTEGER,
            "rejected": {"type": ["integer", "array", "null"]},
        }
    ),
    "NewApiKey": shape(
        {
            "id": STRING,
            "name": STRING,
            "scope": {"type": "string", "enum": ["read", "write", "admin"]},
            "key": {"type": "string", "pattern": "^fw_[A-Za-z0-9_-]{43}$"},
            "expires_at": TIME,
        }
    ),
    "ApiKey": shape(
        {
            "id": STRING,
            "name": STRING,
            "scope": {"type": "string", "enum": ["read", "write", "admin"]},
            "created_at": TIME,
            "last_used_at": TIME,
            "expires_at": TIME,
        },
        {"prefix": STRING},
    ),
    "ApiKeyEvent": shape(
        {
            "id": INTEGER,
            "key_id": STRING,
            "action": {"type": "string", "enum": ["create", "use", "refuse", "revoke"]},
            "at": TIME,
        },
        {"method": NULLABLE_STRING, "path": NULLABLE_STRING, "address": NULLABLE_STRING, "code": NULLABLE_STRING},
    ),
    "ChatAnswer": shape(
        {
            "answer": STRING,
            "citations": {"type": "array", "items": OBJECT},
            "provider": STRING,
            "message_id": NULLABLE_STRING,
        }
    ),
}


# A user's quotas, as GET /usage and the admin quota routes show them: each limit with used and remaining.
QUOTA_SUMMARY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": shape(
        {"limit": {"type": "integer"}, "used": {"type": "integer"}, "remaining": {"type": "integer"}},
        {"resets_in_s": {"type": ["number", "null"]}},
    ),
}
QUOTA_OVERRIDES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["integer", "null"]},
}
