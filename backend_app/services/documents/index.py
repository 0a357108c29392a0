"""Hands a document's pages to the chat's passage index, so chat can cite "file, page N".

The passage index (services/chat/passages.py) is another feature's; until it is part of this
build nothing is indexed and 0 is returned.
"""

from __future__ import annotations

from backend_app.models import Document, DocumentPage


def pages(document: Document, stored: list[DocumentPage]) -> int:
    """Replace the document's passages with its pages; how many were written."""
    return 0


def forget(document: Document) -> int:
    """Remove the document's passages (the caller commits)."""
    return 0
