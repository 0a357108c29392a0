"""DOCX (python-docx), PPTX (python-pptx) and ODT (its content.xml, read with defusedxml).

Call ``zipguard.check`` first: these readers open zips and trust their declared sizes.

- DOCX: paragraphs and tables in reading order; a paragraph styled "Title" or "Heading N" is a
  heading. Pages are cut at explicit page breaks when the document has any, else into sections
  at top-level headings and ~500 words (``sections.split``): Word's own pagination is not in the
  file.
- PPTX: one slide = one page; the title placeholder is the page's heading; text of every shape
  (tables and groups included) in the slide's order.
- ODT: ``text:h`` are headings (``text:outline-level``); the ``text:soft-page-break`` marks the
  office suite writes where its pages ended are page breaks; without them, as for DOCX.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import docx
import pptx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from pptx.exc import PackageNotFoundError as PptxPackageNotFoundError

from backend_app.adapters.documents.errors import DocumentError
from backend_app.adapters.documents.sections import Block, Section, split

_HEADING = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _corrupt(kind: str, exc: Exception) -> DocumentError:
    return DocumentError("DOCUMENT_CORRUPT", f"The {kind.upper()} file cannot be read: {str(exc)[:200]}.")


def _level(paragraph: Paragraph) -> int | None:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 1
    match = _HEADING.match(name.strip())
    return int(match.group(1)) if match else None


def _has_page_break(paragraph: Paragraph) -> bool:
    element = paragraph._p
    for br in element.iter(f"{_W}br"):
        if br.get(f"{_W}type") == "page":
            return True
    return False


def _docx_blocks(document) -> list[Block]:
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in item.rows]
            blocks.append(Block("\n".join(row for row in rows if row.strip(" |"))))
            continue
        if item.paragraph_format.page_break_before:
            blocks.append(Block(brk=True))
        blocks.append(Block(item.text, level=_level(item)))
        if _has_page_break(item):
            blocks.append(Block(brk=True))
    return blocks


def read_docx(path: str | Path) -> list[Section]:
    """The pages of a DOCX (see the module docstring for where they are cut)."""
    try:
        document = docx.Document(str(path))
        blocks = _docx_blocks(document)
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise _corrupt("docx", exc) from exc
    except Exception as exc:  # lxml's syntax errors and python-docx's own, on a damaged part
        raise _corrupt("docx", exc) from exc
    return split(blocks)


def _shape_texts(shapes) -> list[str]:
    texts: list[str] = []
    for shape in shapes:
        if shape.shape_type == 6 and hasattr(shape, "shapes"):  # a group: its members, in order
            texts += _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                line = " | ".join(cell.text.strip() for cell in row.cells)
                if line.strip(" |"):
                    texts.append(line)
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = shape.text_frame.text.strip()
            if text:
                texts.append(text)
    return texts


def read_pptx(path: str | Path) -> list[Section]:
    """One page per slide: its title as the heading, then the text of its shapes."""
    try:
        presentation = pptx.Presentation(str(path))
        pages = []
        for slide in presentation.slides:
            title_shape = slide.shapes.title
            title = title_shape.text_frame.text.strip() if title_shape is not None else ""
            texts = _shape_texts(slide.shapes)
            pages.append(Section("\n".join(texts), [title] if title else []))
    except (PptxPackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise _corrupt("pptx", exc) from exc
    except Exception as exc:  # lxml's syntax errors and python-pptx's own, on a damaged part
        raise _corrupt("pptx", exc) from exc
    return pages or [Section("", [])]


_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def _odt_text(element) -> str:
    """The text of a paragraph, with ODF's space, tab and line-break elements spelled out."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{_TEXT}s":
            parts.append(" " * int(child.get(f"{_TEXT}c", "1") or 1))
        elif tag == f"{_TEXT}tab":
            parts.append("\t")
        elif tag == f"{_TEXT}line-break":
            parts.append("\n")
        elif tag not in (f"{_TEXT}note", f"{_TEXT}soft-page-break"):
            parts.append(_odt_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _odt_blocks(element, blocks: list[Block]) -> None:
    for child in element:
        tag = child.tag
        if tag == f"{_TEXT}h":
            level = int(child.get(f"{_TEXT}outline-level", "1") or 1)
            blocks.append(Block(_odt_text(child), level=level))
        elif tag == f"{_TEXT}p":
            if child.find(f"{_TEXT}soft-page-break") is not None:
                blocks.append(Block(brk=True))
            blocks.append(Block(_odt_text(child)))
        elif tag == f"{_TEXT}soft-page-break":
            blocks.append(Block(brk=True))
        else:
            _odt_blocks(child, blocks)


def read_odt(path: str | Path) -> list[Section]:
    """The pages of an ODT text document (see the module docstring)."""
    try:
        with zipfile.ZipFile(path) as archive:
            root = ElementTree.fromstring(archive.read("content.xml"))
    except (zipfile.BadZipFile, KeyError, OSError, ElementTree.ParseError, DefusedXmlException) as exc:
        raise _corrupt("odt", exc) from exc
    body = root.find(f"{_OFFICE}body")
    text = body.find(f"{_OFFICE}text") if body is not None else None
    if text is None:
        raise DocumentError("DOCUMENT_CORRUPT", "The ODT file has no text body (is it a text document?).")
    blocks: list[Block] = []
    _odt_blocks(text, blocks)
    return split(blocks)
