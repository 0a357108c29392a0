"""Chat answers as safe Markdown: paragraphs, lists, bold, italics, inline code and links.

The text is parsed into a small tree and every text node and attribute is escaped when it is
written, so the only tags that can come out are the ones listed here; a link is kept only for
http(s) and same-origin paths (``javascript:``, ``data:``, ``//host`` stay text). static/app.js
has the same grammar (``markdown()`` there) for answers as they stream; a browser test checks
that both give the same HTML.
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[([^\]\n]+)\]\(([^()\s]+)\)")
SAFE_URL = re.compile(r"(?:https?://[^\s\\]+|/(?![/\\])[^\s\\]*)", re.IGNORECASE)
# Leftmost first, in this order: **bold**, __bold__, *italic*, _italic_ (underscores only at word
# edges, so snake_case_file.mp4 stays as it is).
EMPHASIS = re.compile(
    r"\*\*(?=\S)(.+?)(?<=\S)\*\*"
    r"|(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"
    r"|\*(?=[^\s*])(.+?)(?<=[^\s*])\*"
    r"|(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)"
)
BULLET = re.compile(r"^ {0,3}[-*+]\s+(.*)$")
NUMBERED = re.compile(r"^ {0,3}(\d{1,9})[.)]\s+(.*)$")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def safe_url(url: str) -> bool:
    """http(s) anywhere, or a path on this site; nothing a browser would run or resolve elsewhere."""
    return SAFE_URL.fullmatch(url) is not None


def _emphasis(text: str) -> str:
    out, at = [], 0
    for m in EMPHASIS.finditer(text):
        out.append(escape(text[at : m.start()]))
        inner = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        tag = "strong" if m.group(1) is not None or m.group(2) is not None else "em"
        out.append(f"<{tag}>{_emphasis(inner)}</{tag}>")
        at = m.end()
    out.append(escape(text[at:]))
    return "".join(out)


def _links(text: str) -> str:
    out, at = [], 0
    for m in LINK.finditer(text):
        if not safe_url(m.group(2)):
            continue  # stays text, brackets and all
        out.append(_emphasis(text[at : m.start()]))
        out.append(f'<a href="{escape(m.group(2))}" rel="noopener noreferrer">{_emphasis(m.group(1))}</a>')
        at = m.end()
    out.append(_emphasis(text[at:]))
    return "".join(out)


def inline(text: str) -> str:
    """One line: code spans first (their content is literal), then links, then emphasis."""
    out, at = [], 0
    for m in CODE.finditer(text):
        out.append(_links(text[at : m.start()]))
        out.append(f"<code>{escape(m.group(1))}</code>")
        at = m.end()
    out.append(_links(text[at:]))
    return "".join(out)


def to_html(text: str | None) -> Markup:
    """The answer as HTML: blank lines part paragraphs, ``-``/``*``/``1.`` lines make lists, a
    ``#`` heading is a bold paragraph, other line breaks are kept."""
    blocks: list[str] = []
    kind, items = None, []  # the open block: "p" (its lines), "ul"/"ol" (their items)
    start = 1

    def close():
        nonlocal kind, items
        if kind == "p":
            blocks.append("<p>" + "<br>".join(items) + "</p>")
        elif kind == "ul":
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
        elif kind == "ol":
            first = f' start="{start}"' if start != 1 else ""
            blocks.append(f"<ol{first}>" + "".join(f"<li>{i}</li>" for i in items) + "</ol>")
        kind, items = None, []

    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            close()
        elif m := BULLET.match(line):
            if kind != "ul":
                close()
                kind = "ul"
            items.append(inline(m.group(1)))
        elif m := NUMBERED.match(line):
            if kind != "ol":
                close()
                kind, start = "ol", int(m.group(1))
            items.append(inline(m.group(2)))
        elif m := HEADING.match(line):
            close()
            blocks.append(f"<p><strong>{inline(m.group(1))}</strong></p>")
        elif kind in ("ul", "ol") and line[:1].isspace():
            items[-1] += "<br>" + inline(line.strip())  # an indented line continues the item
        else:
            if kind != "p":
                close()
                kind = "p"
            items.append(inline(line.strip()))
    close()
    return Markup("".join(blocks))
