"""Reading a batch from a markdown table: ``id | requirementText | context`` (context as JSON).

Structural problems (no table, a header without the required columns, no separator row) make
the whole table unusable: ``TableError`` names the line. Row problems (wrong number of cells,
broken context JSON, empty text or id, duplicate ids, a NUL or unpaired surrogate in the id
or context, rows past MAX_BATCH_ROWS) reject that
row only, with its line number; the good rows still run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from backend_app.errors import UNSTORABLE_MESSAGE, unstorable

REQUIRED = ("id", "requirementtext")
ALIASES = {"requirement": "requirementtext", "text": "requirementtext", "requirement_text": "requirementtext"}
MAX_ID_CHARS = 100
MAX_TEXT_CHARS = 5000
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_SPLIT = re.compile(r"(?<!\\)\|")


class TableError(ValueError):
    """The table as a whole cannot be read; ``code`` and ``line`` say why and where."""

    def __init__(self, code: str, message: str, line: int | None):
        super().__init__(message)
        self.code, self.message, self.line = code, message, line


@dataclass
class Row:
    line: int
    key: str
    text: str
    context: dict[str, Any]


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip().replace("\\|", "|") for c in _SPLIT.split(body)]


def _header(lines: list[str]) -> tuple[int, list[str]]:
    """The first line with a '|' is the header (prose and headings before it are skipped)."""
    for number, line in enumerate(lines, 1):
        if "|" in line:
            columns = [ALIASES.get(c.lower(), c.lower()) for c in _cells(line)]
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise TableError(
                    "TABLE_HEADER_INVALID",
                    "The header row must name the columns "
                    f"'id | requirementText | context'; missing: {', '.join(missing)}.",
                    number,
                )
            return number, columns
    raise TableError(
        "TABLE_NOT_FOUND",
        "No markdown table found: expected a header row "
        "'| id | requirementText | context |' followed by '|---|---|---|'.",
        None,
    )


def _reject(table: Table, line: int, code: str, message: str, key: str | None = None) -> None:
    table.rejected.append({"line": line, "row_id": key, "code": code, "message": message})


def parse(markdown: str, *, max_rows: int) -> Table:
    """Parse the table; raise TableError for a structural problem."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header_line, columns = _header(lines)
    if header_line >= len(lines) or not _SEPARATOR.match(lines[header_line].strip()):
        raise TableError(
            "TABLE_SEPARATOR_MISSING",
            "The header row must be followed by a separator row such as '|---|---|---|'.",
            header_line + 1,
        )
    table, seen = Table(), set()
    for number in range(header_line + 2, len(lines) + 1):
        raw = lines[number - 1]
        if not raw.strip():
            continue
        if "|" not in raw:
            break  # the table ends where the text after it begins
        _row(table, seen, number, _cells(raw), columns, max_rows)
    if not table.rows and not table.rejected:
        raise TableError("TABLE_EMPTY", "The table has a header but no rows.", header_line)
    return table


def _row(table: Table, seen: set, number: int, cells: list[str], columns: list[str], max_rows: int) -> None:
    if len(cells) != len(columns):
        return _reject(
            table,
            number,
            "ROW_COLUMN_COUNT",
            f"Expected {len(columns)} cells ({' | '.join(columns)}), found {len(cells)}; "
            "escape a '|' inside a cell as '\\|'.",
            _likely_id(cells, columns),
        )
    values = dict(zip(columns, cells))
    key, text = values["id"], values["requirementtext"]
    if not key:
        return _reject(table, number, "ROW_ID_EMPTY", "The id cell is empty.")
    if len(key) > MAX_ID_CHARS:
        return _reject(table, number, "ROW_ID_TOO_LONG", f"The id is longer than {MAX_ID_CHARS} characters.")
    if unstorable(key) is not None:
        return _reject(table, number, "ROW_ID_INVALID", f"The id {UNSTORABLE_MESSAGE}.")
    if key in seen:
        return _reject(table, number, "ROW_ID_DUPLICATE", "This id was already used by an earlier row.", key)
    seen.add(key)
    if not text:
        return _reject(table, number, "ROW_TEXT_EMPTY", "The requirementText cell is empty.", key)
    if len(text) > MAX_TEXT_CHARS:
        return _reject(table, number, "ROW_TEXT_TOO_LONG", f"The text is longer than {MAX_TEXT_CHARS} characters.", key)
    context, problem = _context(values.get("context", ""))
    if problem:
        return _reject(table, number, "ROW_CONTEXT_INVALID", problem, key)
    if len(table.rows) >= max_rows:
        return _reject(
            table,
            number,
            "ROW_LIMIT_EXCEEDED",
            f"A batch takes at most {max_rows} rows (MAX_BATCH_ROWS); this row was not run.",
            key,
        )
    table.rows.append(Row(number, key, text, context))


def _likely_id(cells: list[str], columns: list[str]) -> str | None:
    """The id of a row whose cells do not line up with the header, if it can only be one.

    With cells missing or split, the cell under "id" may be requirement text (a row that forgot
    its id), and requirement text is never stored: it is kept only when it has no whitespace,
    as ids do and sentences do not; otherwise the line number names the row."""
    position = columns.index("id")
    cell = cells[position] if position < len(cells) else ""
    return cell if cell and len(cell) <= MAX_ID_CHARS and not any(c.isspace() for c in cell) else None


def _context(cell: str) -> tuple[dict[str, Any], str | None]:
    if not cell or cell in ("-", "{}"):
        return {}, None
    try:
        value = json.loads(cell)
    except json.JSONDecodeError as exc:
        return {}, f"The context cell is not valid JSON ({exc.msg} at column {exc.colno})."
    except (ValueError, RecursionError):  # a number past Python's digit limit, nesting past the parser's
        return {}, "The context cell is not valid JSON (a number too long or nesting too deep)."
    if not isinstance(value, dict):
        return {}, 'The context cell must be a JSON object, e.g. {"component": "login"}.'
    where = unstorable(value)
    if where is not None:
        return {}, f"The context's {where} {UNSTORABLE_MESSAGE}."
    return value, None


def render(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table (cells with '|' escaped), used by the export."""

    def cell(value: Any) -> str:
        return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"
