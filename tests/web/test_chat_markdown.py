"""The chat's Markdown renderer: the subset answers use, and nothing else becomes markup."""

from __future__ import annotations

import re
from html import unescape

import pytest

from backend_app.web.markdown import safe_url, to_html


@pytest.mark.parametrize(
    "source, html",
    [
        ("plain", "<p>plain</p>"),
        ("**bold** and __bold__", "<p><strong>bold</strong> and <strong>bold</strong></p>"),
        ("*it* and _it_", "<p><em>it</em> and <em>it</em></p>"),
        ("**bold with *it* inside**", "<p><strong>bold with <em>it</em> inside</strong></p>"),
        ("my_clip_01.mp4 stays", "<p>my_clip_01.mp4 stays</p>"),  # snake_case is no italics
        ("2 * 3 * 4", "<p>2 * 3 * 4</p>"),  # loose stars are no italics
        ("`**x**` <b>", "<p><code>**x**</code> &lt;b&gt;</p>"),  # code is literal
        ("line one\nline two", "<p>line one<br>line two</p>"),
        ("one\n\ntwo", "<p>one</p><p>two</p>"),
        ("Shots:\n- a\n* b\n+ c", "<p>Shots:</p><ul><li>a</li><li>b</li><li>c</li></ul>"),
        ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
        ("3) c\n4) d", '<ol start="3"><li>c</li><li>d</li></ol>'),
        ("- item\n  goes on\nafter", "<ul><li>item<br>goes on</li></ul><p>after</p>"),
        ("## Answer", "<p><strong>Answer</strong></p>"),
        (
            "[the report](/analyses/a1?t=4.5#shot-2)",
            '<p><a href="/analyses/a1?t=4.5#shot-2" rel="noopener noreferrer">the report</a></p>',
        ),
        (
            "[**x**](https://example.org/a?b=1&c=2)",
            '<p><a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer"><strong>x</strong></a></p>',
        ),
        ("", ""),
        (None, ""),
    ],
)
def test_the_subset_renders(source, html):
    assert to_html(source) == html


ALLOWED_TAGS = {"p", "br", "ul", "ol", "li", "strong", "em", "code", "a"}


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](//evil.example/)",
        "[x](/\\evil.example/)",
        "[x](vbscript:msgbox)",
        '[x](https://ok.example/"onmouseover="alert(1))',
        "**<script>alert(1)</script>**",
        "- <svg onload=alert(1)>",
        "`</code><script>alert(1)</script>`",
        "[<img src=x onerror=alert(1)>](/ok)",
    ],
)
def test_nothing_else_becomes_markup(source):
    html = str(to_html(source))
    assert {t.lower() for t in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", html)} <= ALLOWED_TAGS, html
    assert set(re.findall(r"<[^>]*?\s([a-zA-Z-]+)=", html)) <= {"href", "rel", "start"}, html
    assert all(safe_url(unescape(href)) for href in re.findall(r'href="([^"]*)"', html)), html


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/x", True),
        ("http://example.org", True),
        ("/analyses/a?t=1", True),
        ("/", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("javascript:alert(1)", False),
        ("mailto:a@b.c", False),
        ("analyses/a", False),  # relative paths resolve against wherever the page is
        ("https://", False),
    ],
)
def test_safe_urls(url, ok):
    assert safe_url(url) is ok
