"""Hands a document's pages to the chat's passage index (services/chat/passages.py), so chat can
cite "file, page N"; the caller commits."""

from __future__ import annotations

from backend_app.models import Document, DocumentPage
from backend_app.services.chat import passages


def pages(document: Document, stored: list[DocumentPage]) -> int:
    """Replace the document's passages with its pages; how many were written."""
    return passages.index_document_pages(document.user_id, document.session_id, document.id, document.filename, stored)


def forget(document: Document) -> int:
    """Remove the document's passages."""
    return passages.delete_for_document(document.user_id, document.id)
