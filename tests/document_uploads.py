"""Uploading documents through the real API in tests."""

from __future__ import annotations

from tests.uploading import send

TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "md": "text/markdown",
    "txt": "text/plain",
    "png": "image/png",
}


def init_document(client, headers, session_id: str, data: bytes, filename: str, content_type: str | None = None):
    content_type = content_type or TYPES[filename.rsplit(".", 1)[-1]]
    body = {"filename": filename, "content_type": content_type, "file_size": len(data), "session_id": session_id}
    return client.post("/api/v1/uploads/init", headers=headers, json=body)


def put_and_complete(client, headers, ticket: dict, data: bytes):
    status, body, _ = send(client, ticket["method"], ticket["upload_url"], data=data, headers=ticket["headers"])
    assert status in (200, 201), body[:300]
    return client.post("/api/v1/uploads/complete", json={"document_id": ticket["document_id"]}, headers=headers)


def upload_document(client, headers, session_id: str, data: bytes, filename: str) -> str:
    """init → PUT → complete; the document's id (asserting each step worked)."""
    ticket = init_document(client, headers, session_id, data, filename)
    assert ticket.status_code == 201, ticket.get_json()
    done = put_and_complete(client, headers, ticket.get_json(), data)
    assert done.status_code == 202, done.get_json()
    assert done.get_json()["status"] == "queued"
    return ticket.get_json()["document_id"]
