"""Markdown and plain text: decoded (UTF-8, else Latin-1), cut at headings and ~500 words.

Markdown headings are ATX lines (``# Title`` … ``###### Title``); setext underlines (``===``,
``---``) mark the line above as a level 1 or 2 heading. Plain text has no headings: it is cut
every ~500 words at a blank line.
"""

from __future__ import annotations

import re
from pathlib import Path

from backend_app.adapters.documents.sections import Block, Section, split

_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")


def decode(data: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), else Latin-1, which never fails."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _paragraphs(lines: list[str]) -> list[str]:
    return [p.strip() for p in "\n".join(lines).split("\n\n") if p.strip()]


def markdown_blocks(text: str) -> list[Block]:
    """Headings and paragraphs of a Markdown text, in order."""
    blocks: list[Block] = []
    pending: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        atx = _ATX.match(line)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if atx:
            blocks += [Block(p) for p in _paragraphs(pending)]
            pending = []
            blocks.append(Block(atx.group(2), level=len(atx.group(1))))
        elif line.strip() and _SETEXT.match(following) and not _SETEXT.match(line):
            blocks += [Block(p) for p in _paragraphs(pending)]
            pending = []
            blocks.append(Block(line.strip(), level=1 if following.strip().startswith("=") else 2))
        elif _SETEXT.match(line) and index and lines[index - 1].strip() and not _ATX.match(lines[index - 1]):
            continue  # the underline of the heading just taken
        else:
            pending.append(line)
    blocks += [Block(p) for p in _paragraphs(pending)]
    return blocks


def read(path: str | Path, *, markdown: bool) -> list[Section]:
    """The pages of a Markdown or text file."""
    text = decode(Path(path).read_bytes())
    if markdown:
        return split(markdown_blocks(text), by_breaks=False)
    return split([Block(p) for p in _paragraphs(text.replace("\r\n", "\n").split("\n"))], by_breaks=False)
